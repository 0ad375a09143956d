/**
 * What several benchmarks need around the processes they measure: a free port, a process's
 * resident set size and CPU time, and the mock OpenAI-compatible model server in its own process.
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

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat (Linux only). */
export function cpuMsOf(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/**
 * CPU time so far of every process named `comm` (e.g. every PostgreSQL server process), in ms, by
 * pid; null without /proc. Compare two readings pid by pid: processes that ended in between are
 * not counted.
 */
export function cpuMsByName(comm: string): Map<number, number> | null {
  let pids: string[];
  try {
    pids = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  const out = new Map<number, number>();
  for (const d of pids) {
    try {
      if (fs.readFileSync(`/proc/${d}/comm`, "utf8").trim() !== comm) continue;
    } catch {
      continue; // gone meanwhile
    }
    const ms = cpuMsOf(Number(d));
    if (ms !== null) out.set(Number(d), ms);
  }
  return out;
}

/** CPU ms spent between two `cpuMsByName` readings by the processes in both. */
export function cpuMsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, ms] of after) {
    const was = before.get(pid);
    if (was !== undefined) sum += ms - was;
  }
  return sum;
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
