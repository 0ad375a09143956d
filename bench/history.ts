/**
 * Cost per turn against the length of a session's history: one session grown to N transcript
 * messages (default 10 000: a user message and a reply per turn) through `POST /v1/inbound`, one
 * turn after another, against a gateway in its own process, with the offline echo model and with an
 * OpenAI-compatible provider (bench/mock-openai-server.ts, its own process, O(1) work). Reports
 * the p50 turn latency and the gateway's RSS per 1 000-message bucket and the slope of latency
 * over history (least squares over the buckets' p50, in ms per 1 000 messages). The same run is
 * made from a baseline checkout (PINCER_BENCH_BASELINE) so both figures come from one machine state.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort, rssMiB, startMockModelServer } from "./processes.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const TOKEN = "bench-token-0123456789abcdef";
const BUCKET = 1000;

export interface HistoryBucket {
  /** Transcript messages before the bucket's first turn. */
  fromMessages: number;
  turns: number;
  p50Ms: number;
  p90Ms: number;
  rssMb: number;
}

export interface HistoryRun {
  checkout: string;
  model: string;
  messages: number;
  textChars: number;
  seconds: number;
  buckets: HistoryBucket[];
  slopeMsPer1000: number;
  failures: number;
}

async function startGateway(root: string, home: string, port: number): Promise<ChildProcess> {
  // PINCER_BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the gateway, not the bench.
  const nodeArgs = (process.env.PINCER_BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const args = [...nodeArgs, path.join(root, "bin/pincer.js"), "gateway", "--port", String(port)];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, PINCER_HOME: home, PINCER_LOG_LEVEL: "warn", PINCER_GATEWAY_TOKEN: TOKEN },
    stdio: ["ignore", "ignore", "pipe"],
  });
  // Kept for the error below; the gateway's banner and logs stay out of the bench's JSON.
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGTERM");
  throw new Error(`the gateway from ${root} did not answer /healthz on port ${port} within 20 s:\n${stderr}`);
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Least-squares slope of p50 over the bucket's start, in ms per 1 000 messages. */
export function slopePer1000(buckets: readonly HistoryBucket[]): number {
  const xs = buckets.map((b) => b.fromMessages / 1000);
  const ys = buckets.map((b) => b.p50Ms);
  const n = xs.length;
  if (n < 2) return Number.NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return Math.round((num / den) * 1000) / 1000;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** One run: `modelUrl` set = through the OpenAI-compatible provider at that server, else echo. */
export async function benchHistory(
  root: string,
  messages: number,
  textChars: number,
  modelUrl?: string,
): Promise<HistoryRun> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-bench-history-"));
  const config = {
    session: { reset: { mode: "none" } },
    ...(modelUrl
      ? {
          models: {
            providers: {
              mock: { api: "openai-compatible", baseUrl: `${modelUrl}/v1`, models: [{ id: "bench-model" }] },
            },
          },
          agents: { defaults: { model: "mock/bench-model" } },
        }
      : {}),
  };
  fs.writeFileSync(path.join(home, "pincer.json"), JSON.stringify(config));
  const port = await freePort();
  const child = await startGateway(root, home, port);
  const started = performance.now();
  const buckets: HistoryBucket[] = [];
  const filler = "x".repeat(Math.max(0, textChars - 8));
  let failures = 0;
  try {
    let latencies: number[] = [];
    let bucketStart = 0;
    // Each turn adds two transcript messages: the user's and the reply.
    for (let turn = 0, held = 0; held < messages; turn++, held += 2) {
      const body = JSON.stringify({
        channel: "bench",
        chatType: "direct",
        peerId: "p0",
        senderId: "p0",
        text: `m${turn} ${filler}`,
      });
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/v1/inbound`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        body,
      });
      const answer = (await res.json()) as { reply?: unknown };
      latencies.push(performance.now() - t0);
      if (res.status !== 200 || typeof answer.reply !== "string") failures++;
      if (held + 2 - bucketStart >= BUCKET || held + 2 >= messages) {
        const sorted = latencies.sort((a, b) => a - b);
        buckets.push({
          fromMessages: bucketStart,
          turns: sorted.length,
          p50Ms: round2(quantile(sorted, 0.5)),
          p90Ms: round2(quantile(sorted, 0.9)),
          rssMb: rssMiB(child.pid),
        });
        latencies = [];
        bucketStart = held + 2;
      }
    }
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    fs.rmSync(home, { recursive: true, force: true });
  }
  return {
    checkout: root,
    model: modelUrl ? "openai-compatible (mock server)" : "echo",
    messages,
    textChars,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    buckets,
    slopeMsPer1000: slopePer1000(buckets),
    failures,
  };
}

/**
 * This checkout and, when given, the baseline, for each model of PINCER_BENCH_HISTORY_MODELS
 * (default "echo,openai"): same history, one run after the other.
 */
export async function benchHistoryPart(): Promise<Record<string, unknown>> {
  const messages = Number(process.env.PINCER_BENCH_HISTORY_MESSAGES ?? 10_000);
  const textChars = Number(process.env.PINCER_BENCH_HISTORY_CHARS ?? 200);
  const baselineDir = process.env.PINCER_BENCH_BASELINE;
  const models = (process.env.PINCER_BENCH_HISTORY_MODELS ?? "echo,openai").split(",").map((m) => m.trim());
  const last = (r: HistoryRun) => r.buckets[r.buckets.length - 1]!;
  const report: Record<string, unknown> = {};
  let pass = true;
  for (const model of models) {
    if (model !== "echo" && model !== "openai")
      throw new Error(`PINCER_BENCH_HISTORY_MODELS: unknown model ${JSON.stringify(model)}; expected echo or openai`);
    const mock = model === "openai" ? await startMockModelServer() : undefined;
    try {
      const current = await benchHistory(ROOT, messages, textChars, mock?.url);
      const baseline = baselineDir
        ? await benchHistory(path.resolve(baselineDir), messages, textChars, mock?.url)
        : undefined;
      report[model] = {
        current,
        baseline,
        ratios: baseline
          ? {
              // Slopes near zero make a ratio meaningless: the difference is reported too.
              slope: round2(current.slopeMsPer1000 / baseline.slopeMsPer1000),
              slopeDifferenceMsPer1000: round2(current.slopeMsPer1000 - baseline.slopeMsPer1000),
              lastBucketP50: round2(last(current).p50Ms / last(baseline).p50Ms),
              lastBucketRss: round2(last(current).rssMb / last(baseline).rssMb),
            }
          : undefined,
      };
      pass &&= current.slopeMsPer1000 <= 1 && current.failures === 0;
    } finally {
      mock?.child.kill("SIGTERM");
    }
  }
  return { ...report, targets: { maxSlopeMsPer1000: 1 }, pass };
}
