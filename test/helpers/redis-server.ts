/**
 * A real Redis server for tests: Debian's `redis-server`, started on a free loopback port with no
 * persistence. When the binary is missing the caller skips, with a message saying how to install
 * it; CI installs it (see .ci/run) and sets PINCER_REQUIRE_REDIS=1 so the tests cannot skip there.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "./postgres-server.ts";

export const REDIS_MISSING_MESSAGE =
  "redis-server not found: install it with `apt-get install redis-server` to run the Redis tests";

export function redisAvailable(): boolean {
  const found = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
  if (!found && process.env.PINCER_REQUIRE_REDIS === "1") throw new Error(REDIS_MISSING_MESSAGE);
  if (!found) console.warn(REDIS_MISSING_MESSAGE);
  return found;
}

export interface TestRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startTestRedis(): Promise<TestRedis> {
  return startTestRedisOnPort(await freePort());
}

/**
 * Starts a server on a given port: a test restarts one where its clients expect it. `settings`
 * are passed as `--<name> <value>` (the benchmark turns persistence on this way).
 */
export async function startTestRedisOnPort(
  port: number,
  settings: Readonly<Record<string, string>> = { appendonly: "no" },
): Promise<TestRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir];
  for (const [k, v] of Object.entries(settings)) args.push(`--${k}`, v);
  const child: ChildProcess = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${out}`));
    });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
