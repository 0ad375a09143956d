/**
 * `npm run bench`: prints one JSON document of measured figures. Benchmarks are separate from the
 * test suite on purpose: timings belong here, not in pass/fail tests.
 * `npm run bench -- ingest`, `-- snapshot`, `-- cli`, `-- store`, `-- gateway`, `-- memory`, `-- history` or `-- channels` runs one part
 * (`-- gateway-model` and `-- gateway-prompt` one piece of `-- gateway`).
 */
import * as os from "node:os";
import { benchCli } from "./cli.ts";
import { benchIngest } from "./ingest.ts";
import { benchGateway, benchModelPath } from "./gateway.ts";
import { benchHistoryPart } from "./history.ts";
import { benchPromptAssembly } from "./prompt.ts";
import { benchMemory } from "./memory.ts";
import { benchSnapshotLive, type SnapshotLiveResult } from "./snapshot-live.ts";
import { benchSharedStores, benchStoreIngest, stopStoreServers } from "./store.ts";

const only = process.argv[2];
const report: Record<string, unknown> = {
  machine: {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  },
  startedAt: new Date().toISOString(),
};

if (!only || only === "ingest") {
  const turns = Number(process.env.PINCER_BENCH_TURNS ?? 20_000);
  // Same traffic (100 active conversations) against stores of growing size: isolates store size.
  const runs = [];
  for (const n of [100, 10_000, 100_000]) runs.push(await benchIngest(n, turns, 32, false, 100));
  // Every turn to a different session across the whole store: the cold-session worst case.
  const spread = [];
  for (const n of [10_000, 100_000]) spread.push(await benchIngest(n, turns, 32, false, Math.min(n, turns)));
  const fsyncRun = await benchIngest(100, Math.min(turns, 2000), 32, true, 100);
  const small = runs[0]!.turnsPerSecond;
  const large = runs[2]!.turnsPerSecond;
  report.ingest = {
    runs,
    spreadOverStore: spread,
    fsyncEveryAppend: fsyncRun,
    ratio100kTo100: Math.round((large / small) * 1000) / 1000,
    targets: { minTurnsPerSecond: 2000, minRatio: 0.8 },
    pass: large >= 2000 && large / small >= 0.8,
  };
}
if (!only || only === "snapshot") {
  // The background sessions.json rewrite under saturating ingest: per-turn cost at 100 vs 100 000
  // sessions, rewrite on and off (timed runs: a rewrite is due 2 s after the first change).
  const seconds = Number(process.env.PINCER_BENCH_SECONDS ?? 10);
  const runs: SnapshotLiveResult[] = [];
  for (const n of [100, 100_000]) for (const on of [false, true]) runs.push(await benchSnapshotLive(n, seconds, on));
  const at = (n: number, on: boolean) => runs.find((r) => r.sessions === n && r.backgroundSnapshot === on)!;
  const ratio = at(100_000, true).turnsPerSecond / at(100, true).turnsPerSecond;
  report.snapshotLive = {
    runs,
    ratio100kTo100: Math.round(ratio * 1000) / 1000,
    targets: { minRatio: 0.8, maxSnapshotGapMs: 5000 },
    pass: ratio >= 0.8 && at(100_000, true).maxSnapshotGapMs <= 5000,
  };
}
if (!only || only === "cli") {
  // 100 000 rows with a transcript each; PINCER_BENCH_BASELINE=<checkout> measures that checkout too.
  const cli = await benchCli(100_000);
  const cur = (name: string) => (cli[name] as { current: { ms?: number; peakRssMb?: number } }).current;
  const within = (name: string) => (cur(name).ms ?? Infinity) <= 800 && (cur(name).peakRssMb ?? Infinity) <= 200;
  report.list = {
    ...cli,
    targets: { listJson: { maxMs: 800, maxPeakRssMb: 200 }, cleanupDryRunJson: { maxMs: 800, maxPeakRssMb: 200 } },
    pass: within("listJson") && within("cleanupDryRunJson"),
  };
}
if (!only || only === "store") {
  // Two gateways sharing one durable PostgreSQL / Redis, against the baseline checkout in the same
  // run; then (unless PINCER_BENCH_STORE_INGEST=0) the same ingest on every durable backend at 100
  // and 100 000 sessions.
  const turns = Number(process.env.PINCER_BENCH_TURNS ?? 10_000);
  const seconds = Number(process.env.PINCER_BENCH_SECONDS ?? 15);
  const sessions = Number(process.env.PINCER_BENCH_SESSIONS ?? 200);
  try {
    // Load average before and after: other work on the machine skews every figure here.
    const loadBefore = os.loadavg()[0];
    const shared = await benchSharedStores({
      sessions,
      concurrency: 32,
      seconds,
      countSeconds: Math.min(seconds, 5),
      baseline: process.env.PINCER_BENCH_BASELINE || undefined,
    });
    const ingest = process.env.PINCER_BENCH_STORE_INGEST === "0" ? "skipped" : await benchStoreIngest(turns);
    report.store = { shared, ingest, loadAverage1m: { before: loadBefore, after: os.loadavg()[0] } };
  } finally {
    await stopStoreServers();
  }
}
if (!only || only === "gateway") {
  const duration = Number(process.env.PINCER_BENCH_SECONDS ?? 10);
  const one = await benchGateway(1, duration, 10);
  const many = await benchGateway(1000, duration, 50);
  report.gateway = {
    oneSession: one,
    thousandSessions: many,
    targets: { minTurnsPerSecond: 1500, maxP99Ms: 50 },
    pass:
      (many.turnsPerSecond as number) >= 1500 &&
      (many.latencyMs as { p99: number }).p99 < 50 &&
      (many.ordering as { violations: number }).violations === 0,
  };
}
if (!only || only === "gateway" || only === "gateway-model") {
  // A turn through an OpenAI-compatible provider (a mock server in its own process) against the
  // echo turn, 32 clients; and both against PINCER_BENCH_BASELINE=<checkout> when set, in the same
  // run. `-- gateway-model` runs only this part.
  const turnsPerSession = Number(process.env.PINCER_BENCH_MODEL_TURNS ?? 20);
  report.gatewayModelPath = await benchModelPath(process.env.PINCER_BENCH_BASELINE || undefined, 200, turnsPerSession);
}
if (!only || only === "gateway" || only === "gateway-prompt") {
  // Per-turn system-prompt assembly with a full workspace as the history grows; `-- gateway-prompt` runs only this.
  report.gatewayPrompt = await benchPromptAssembly();
}
if (!only || only === "channels") report.channels = await (await import("./channels.ts")).benchChannels();
if (!only || only === "memory") {
  // ~460 MB of 1 MB messages over 60 sessions: RSS must level off (caches are bounded in bytes).
  report.memory = await benchMemory();
}
if (!only || only === "history") {
  // One session grown to 10 000 messages: turn latency per 1 000-message bucket, its slope and RSS.
  report.history = await benchHistoryPart();
}
report.finishedAt = new Date().toISOString();
process.stdout.write(JSON.stringify(report, null, 2) + "\n");
