/**
 * What several benchmarks need around the processes they measure: a free port, a process's
 * resident set size, and the mock OpenAI-compatible model server in its own process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export { freePort } from "../test/helpers/postgres-server.ts";

const ROOT = path.resolve(import.meta.dirname, "..");

/** Resident set size of a process in MiB (Linux /proc; NaN when it cannot be read). */
export function rssMiB(pid: number | undefined): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Math.round(kb / 1024);
  } catch {
    return Number.NaN;
  }
}

/** Starts bench/mock-openai-server.ts in its own process; resolves with its base URL. */
export async function startMockModelServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [path.join(ROOT, "bench/mock-openai-server.ts")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString("utf8");
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`mock model server exited with ${code} before listening`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}
