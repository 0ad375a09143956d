/**
 * `list` and `cleanup`: the real CLI in a child process over a 100 000-row fs store with a transcript
 * file per row (what a real sessions directory holds), wall time and peak RSS per command, for this
 * checkout and, with PINCER_BENCH_BASELINE=<checkout dir>, for that checkout's bin/pincer.js on the
 * same home in the same run. Each command is run PINCER_BENCH_CLI_RUNS times (default 3); the best
 * run counts. A run past PINCER_BENCH_CLI_TIMEOUT_MS (default 60 s) is killed and reported as such.
 * PINCER_BENCH_CLI_ONLY=listJson,cleanupDryRunJson runs only those commands (for iterating). CPU
 * time (user + system, from /usr/bin/time) is reported beside wall time: on a shared machine it
 * drifts far less.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { makeStore, tempHome } from "./fixtures.ts";

const HERE = path.join(import.meta.dirname, "..");

interface Run {
  ms: number;
  cpuMs: number;
  peakRssMb: number;
  bytes: number;
  timedOut: boolean;
}

/** Peak RSS from /usr/bin/time when present (exact), else from polling the child's VmHWM. */
const TIME_BIN = fs.existsSync("/usr/bin/time") ? "/usr/bin/time" : null;

function vmHwmKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function runOnce(checkout: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  const bin = path.join(checkout, "bin", "pincer.js");
  const rssFile = path.join(env.PINCER_HOME!, `.rss-${process.pid}`);
  const [cmd, argv] = TIME_BIN
    ? [TIME_BIN, ["-o", rssFile, "-f", "%M %U %S", process.execPath, bin, ...args]]
    : [process.execPath, [bin, ...args]];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
    let bytes = 0;
    let hwm = 0;
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (bytes += c.length));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const poll = TIME_BIN ? null : setInterval(() => (hwm = Math.max(hwm, vmHwmKb(child.pid!))), 10);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = Math.round(performance.now() - started);
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      if (!timedOut && code !== 0) {
        reject(new Error(`${bin} ${args.join(" ")} exited ${code}: ${stderr.slice(0, 500)}`));
        return;
      }
      let cpuMs = NaN;
      if (TIME_BIN && !timedOut) {
        const [kb, user, sys] = fs.readFileSync(rssFile, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
        hwm = kb!;
        cpuMs = Math.round((user! + sys!) * 1000);
        fs.rmSync(rssFile, { force: true });
      }
      resolve({ ms, cpuMs, peakRssMb: Math.round(hwm / 1024), bytes, timedOut });
    });
  });
}

async function measure(
  checkout: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  runs: number,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const all: Run[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await runOnce(checkout, args, env, timeoutMs);
    all.push(r);
    if (r.timedOut) break; // once is enough to know
  }
  const done = all.filter((r) => !r.timedOut);
  if (done.length === 0) return { timedOut: true, msAtLeast: timeoutMs, runs: all.length };
  return {
    ms: Math.min(...done.map((r) => r.ms)),
    cpuMs: Math.min(...done.map((r) => r.cpuMs)),
    peakRssMb: Math.min(...done.map((r) => r.peakRssMb)),
    runsMs: done.map((r) => r.ms),
    runsCpuMs: done.map((r) => r.cpuMs),
    runsPeakRssMb: done.map((r) => r.peakRssMb),
    outputBytes: done[0]!.bytes,
  };
}

/** One transcript file per row, named as the store names them (`<sessionId>.jsonl`), with a header line. */
function writeTranscripts(storePath: string): number {
  const snapshot = JSON.parse(fs.readFileSync(storePath, "utf8")) as Record<string, { sessionId: string }>;
  const dir = path.dirname(storePath);
  let n = 0;
  for (const { sessionId } of Object.values(snapshot)) {
    const header = { type: "session", version: 3, id: sessionId, timestamp: new Date().toISOString(), cwd: "/" };
    fs.writeFileSync(path.join(dir, `${sessionId}.jsonl`), `${JSON.stringify(header)}\n`, { mode: 0o600 });
    n++;
  }
  return n;
}

function ratio(current: Record<string, unknown>, base: Record<string, unknown> | undefined, field: string): unknown {
  if (!base) return undefined;
  const a = current[field];
  const b = base[field] ?? (field === "ms" ? base.msAtLeast : undefined);
  if (typeof a !== "number" || typeof b !== "number" || a === 0) return null;
  // baseline / current: >1 means this checkout is better; "at least" when the baseline timed out.
  return base.timedOut ? `>=${Math.round((b / a) * 100) / 100}` : Math.round((b / a) * 100) / 100;
}

export async function benchCli(sessions: number): Promise<Record<string, unknown>> {
  const home = tempHome(`cli-${sessions}`);
  const baseline = process.env.PINCER_BENCH_BASELINE?.trim() || null;
  const runs = Number(process.env.PINCER_BENCH_CLI_RUNS ?? 3);
  const timeoutMs = Number(process.env.PINCER_BENCH_CLI_TIMEOUT_MS ?? 60_000);
  try {
    const storePath = await makeStore(home, sessions);
    const transcripts = writeTranscripts(storePath);
    // The default maintenance (cap 500: a dry run plans 99 500 removals) and one that removes
    // nothing (the cost of reading the store alone).
    const noCap = path.join(home, "no-cap.json");
    fs.writeFileSync(noCap, JSON.stringify({ session: { maintenance: { maxEntries: 0, pruneAfter: "3650d" } } }));
    const env = { ...process.env, PINCER_HOME: home, PINCER_CONFIG: "" };
    const commands: Record<string, { args: string[]; env: NodeJS.ProcessEnv }> = {
      listJson: { args: ["sessions", "--json", "--store", storePath], env },
      listLimit50: { args: ["sessions", "--json", "--limit", "50", "--store", storePath], env },
      cleanupDryRunJson: { args: ["sessions", "cleanup", "--dry-run", "--json", "--store", storePath], env },
      cleanupDryRunText: { args: ["sessions", "cleanup", "--dry-run", "--store", storePath], env },
      cleanupDryRunJsonNoCap: {
        args: ["sessions", "cleanup", "--dry-run", "--json", "--store", storePath],
        env: { ...env, PINCER_CONFIG: noCap },
      },
    };
    const results: Record<string, unknown> = {};
    const only = process.env.PINCER_BENCH_CLI_ONLY?.split(",").map((s) => s.trim());
    for (const [name, c] of Object.entries(commands)) {
      if (only && !only.includes(name)) {
        results[name] = { current: { skipped: true } };
        continue;
      }
      // Interleaved: the baseline right after this checkout, so both see the same machine load.
      const current = await measure(HERE, c.args, c.env, runs, timeoutMs);
      const base = baseline ? await measure(baseline, c.args, c.env, runs, timeoutMs) : undefined;
      results[name] = {
        current,
        ...(base
          ? {
              baseline: base,
              speedup: ratio(current, base, "ms"),
              cpuRatio: ratio(current, base, "cpuMs"),
              rssRatio: ratio(current, base, "peakRssMb"),
            }
          : {}),
      };
    }
    return {
      sessions,
      transcripts,
      storeBytes: fs.statSync(storePath).size,
      baseline,
      rssFrom: TIME_BIN ? "/usr/bin/time %M" : "/proc/<pid>/status VmHWM, polled every 10 ms",
      ...results,
    };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}
