/** `list` and `cleanup`: the real CLI in a child process over a large store, wall-clock timed. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { makeStore, tempHome } from "./fixtures.ts";

const BIN = path.join(import.meta.dirname, "..", "bin", "pincer.js");

function timeCommand(args: string[], env: NodeJS.ProcessEnv): { ms: number; bytes: number } {
  const start = performance.now();
  const out = execFileSync(process.execPath, [BIN, ...args], { env, maxBuffer: 1 << 30 });
  return { ms: Math.round(performance.now() - start), bytes: out.length };
}

function best(runs: number, f: () => { ms: number; bytes: number }): { ms: number; bytes: number; runsMs: number[] } {
  const all = Array.from({ length: runs }, f);
  return { ms: Math.min(...all.map((r) => r.ms)), bytes: all[0]!.bytes, runsMs: all.map((r) => r.ms) };
}

export async function benchCli(sessions: number): Promise<Record<string, unknown>> {
  const home = tempHome(`cli-${sessions}`);
  try {
    const storePath = await makeStore(home, sessions);
    const env = { ...process.env, PINCER_HOME: home };
    const full = best(3, () => timeCommand(["sessions", "--json", "--store", storePath], env));
    const limited = best(3, () => timeCommand(["sessions", "--json", "--limit", "50", "--store", storePath], env));
    const cleanup = best(3, () =>
      timeCommand(["sessions", "cleanup", "--dry-run", "--json", "--store", storePath], env),
    );
    return {
      sessions,
      storeBytes: fs.statSync(storePath).size,
      listJsonMs: full.ms,
      listJsonRunsMs: full.runsMs,
      listJsonOutputBytes: full.bytes,
      listLimit50Ms: limited.ms,
      listLimit50RunsMs: limited.runsMs,
      cleanupDryRunMs: cleanup.ms,
      cleanupDryRunRunsMs: cleanup.runsMs,
    };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}
