/**
 * Gateway throughput: turns/s through `POST /v1/inbound`, measured by autocannon in this process
 * against a gateway running in a separate child process, with the gateway process's CPU per turn
 * (utime+stime from /proc/<pid>/stat around the measured run). Each session has at most one
 * request in flight (except in the one-session run), so every session's messages are sent strictly
 * in order; afterwards every transcript is read back and checked: no gaps, no duplicates, no
 * reordering. The model is the offline echo provider, or an OpenAI-compatible provider pointed at
 * bench/mock-openai-server.ts (its own process); the gateway can be spawned from another checkout
 * (the baseline) to compare both in one run.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import autocannon from "autocannon";
import { cpuMsOf, freePort, startMockModelServer } from "./processes.ts";

const ROOT = path.resolve(import.meta.dirname, "..");

async function startChild(home: string, port: number, root = ROOT): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(root, "bin/pincer.js"), "gateway", "--port", String(port)], {
    env: {
      ...process.env,
      PINCER_HOME: home,
      PINCER_LOG_LEVEL: "warn",
      PINCER_GATEWAY_TOKEN: "bench-token-0123456789abcdef",
      // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the gateway alone.
      ...(process.env.PINCER_BENCH_GATEWAY_NODE_OPTIONS
        ? { NODE_OPTIONS: process.env.PINCER_BENCH_GATEWAY_NODE_OPTIONS }
        : {}),
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("gateway did not start");
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

interface OrderCheck {
  sessionsChecked: number;
  messagesChecked: number;
  violations: number;
}

/** Reads every transcript: user messages of each peer must be 0,1,2,... with no gap or repeat, each answered. */
function checkOrdering(home: string, sent: Map<string, number>, concurrentSameSession: boolean): OrderCheck {
  const dir = path.join(home, "agents", "main", "sessions");
  const index = JSON.parse(fs.readFileSync(path.join(dir, "sessions.json"), "utf8")) as Record<
    string,
    { sessionId: string }
  >;
  let violations = 0;
  let messages = 0;
  let sessions = 0;
  for (const [peer, count] of sent) {
    const key = `agent:main:bench:direct:${peer}`;
    const row = index[key];
    if (!row) {
      violations++;
      continue;
    }
    sessions++;
    const lines = fs
      .readFileSync(path.join(dir, `${row.sessionId}.jsonl`), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; message?: { role: string; content: unknown } });
    const users = lines
      .filter((l) => l.type === "message" && l.message?.role === "user")
      .map((l) => String(l.message!.content));
    const replies = lines.filter((l) => l.type === "message" && l.message?.role === "assistant").length;
    if (users.length !== count) violations++;
    if (concurrentSameSession) {
      // Concurrent senders to one session: arrival order is not defined, but none may be lost or doubled.
      if (new Set(users).size !== users.length) violations++;
    } else {
      users.forEach((u, i) => {
        if (u !== `m${i}`) violations++;
      });
    }
    if (replies < 1) violations++;
    messages += users.length;
  }
  return { sessionsChecked: sessions, messagesChecked: messages, violations };
}

export interface GatewayBenchOptions {
  /** The checkout whose bin/pincer.js runs the gateway (default: this one). */
  root?: string;
  /** Merged into the gateway's pincer.json (e.g. a model provider and agents.defaults.model). */
  config?: { models?: unknown; defaultModel?: string };
  /** Send exactly this many turns instead of running for `durationS`. */
  turns?: number;
}

export async function benchGateway(
  sessionCount: number,
  durationS: number,
  connections: number,
  options: GatewayBenchOptions = {},
): Promise<Record<string, unknown>> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-bench-gw-"));
  // Per-peer sessions, so 1 000 peers are 1 000 sessions.
  fs.writeFileSync(
    path.join(home, "pincer.json"),
    JSON.stringify({
      session: { dmScope: "per-channel-peer", reset: { mode: "none" } },
      ...(options.config?.models ? { models: options.config.models } : {}),
      agents: {
        defaults: {
          compaction: { memoryFlush: { enabled: false } },
          ...(options.config?.defaultModel ? { model: options.config.defaultModel } : {}),
        },
      },
    }),
  );
  const port = await freePort();
  const child = await startChild(home, port, options.root);
  const sent = new Map<string, number>();
  const inflight = new Set<number>();
  let cursor = 0;
  let failures = 0;
  try {
    // Warm the whole turn path (JIT, the model connection) on a session the checks do not read.
    await autocannon({
      url: `http://127.0.0.1:${port}/v1/inbound`,
      connections: 4,
      amount: 200,
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer bench-token-0123456789abcdef" },
      body: JSON.stringify({ channel: "warmup", chatType: "direct", peerId: "w", senderId: "w", text: "warm" }),
    });
    const cpuBefore = cpuMsOf(child.pid!);
    const startedAt = performance.now();
    const result = await autocannon({
      url: `http://127.0.0.1:${port}`,
      connections,
      ...(options.turns ? { amount: options.turns } : { duration: durationS }),
      pipelining: 1,
      requests: [
        {
          method: "POST",
          path: "/v1/inbound",
          headers: { "content-type": "application/json", authorization: "Bearer bench-token-0123456789abcdef" },
          setupRequest: (req: autocannon.Request, ctxObj: object) => {
            // Round robin over the sessions, skipping any with a request in flight: each session's
            // messages are then sent strictly one after another, so the transcript order is defined.
            const context = ctxObj as { s?: number };
            let s = 0;
            if (sessionCount > 1) {
              for (let tries = 0; tries < sessionCount; tries++) {
                s = cursor++ % sessionCount;
                if (!inflight.has(s)) break;
              }
              inflight.add(s);
            }
            context.s = s;
            const peer = `p${s}`;
            const n = sent.get(peer) ?? 0;
            sent.set(peer, n + 1);
            return {
              ...req,
              body: JSON.stringify({
                channel: "bench",
                chatType: "direct",
                peerId: peer,
                senderId: peer,
                text: `m${n}`,
              }),
            };
          },
          onResponse: (status: number, body: string, ctxObj: object) => {
            void body;
            if (status !== 200) failures++;
            inflight.delete((ctxObj as { s?: number }).s ?? -1);
          },
        },
      ],
    });
    const cpuAfter = cpuMsOf(child.pid!);
    // autocannon's own `duration` is in whole seconds: too coarse for a counted run of a few seconds.
    const wallS = (performance.now() - startedAt) / 1000;
    const cpuMs = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
    // Stop the gateway first: a graceful stop leaves sessions.json complete.
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    // With one session every connection writes to it concurrently: order across connections is not defined, so only count.
    const ordering = checkOrdering(home, sent, sessionCount === 1);
    return {
      sessions: sessionCount,
      connections,
      durationS: options.turns ? round3(wallS) : durationS,
      // A counted run ends mid-second: the per-second average would count its last partial second.
      turnsPerSecond: options.turns ? Math.round(result.requests.total / wallS) : Math.round(result.requests.average),
      totalTurns: result.requests.total,
      gatewayCpuMsPerTurn: cpuMs === null ? null : round3(cpuMs / Math.max(1, result.requests.total)),
      latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
      non2xx: result.non2xx,
      failedReplies: failures,
      errors: result.errors,
      timeouts: result.timeouts,
      ordering,
    };
  } finally {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    fs.rmSync(home, { recursive: true, force: true });
  }
}

type Run = Record<string, unknown> & { turnsPerSecond: number; gatewayCpuMsPerTurn: number | null };
const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : round3(a / b));

/**
 * The model path against the echo path, 32 clients: the same gateway with the built-in echo model
 * and with an OpenAI-compatible provider (the mock server), and the same two against the baseline
 * checkout when one is given, interleaved so drift hits both sides. Every run sends the same
 * `turnsPerSession` turns to each of `sessions` sessions, so the runs differ only in the model:
 * same session creations, same history lengths (a timed run would give the faster path longer
 * histories and the slower one more first turns).
 */
export async function benchModelPath(
  baselineRoot: string | undefined,
  sessions = 200,
  turnsPerSession = 20,
  connections = 32,
): Promise<Record<string, unknown>> {
  const mock = await startMockModelServer();
  const provider = {
    models: {
      providers: {
        mock: { api: "openai-compatible", baseUrl: `${mock.url}/v1`, models: [{ id: "bench-model" }] },
      },
    },
    defaultModel: "mock/bench-model",
  };
  try {
    const sides: Array<[string, string | undefined]> = [["current", undefined]];
    if (baselineRoot) sides.unshift(["baseline", baselineRoot]);
    const runs: Record<string, { echo?: Run; openaiCompatible?: Run }> = {};
    for (const model of ["echo", "openaiCompatible"] as const)
      for (const [side, root] of sides) {
        const run = (await benchGateway(sessions, 0, connections, {
          root,
          config: model === "echo" ? undefined : provider,
          turns: sessions * turnsPerSession,
        })) as Run;
        (runs[side] ??= {})[model] = run;
      }
    const summary = (side: string) => {
      const r = runs[side]!;
      return {
        echo: r.echo,
        openaiCompatible: r.openaiCompatible,
        providerCpuOverEcho: ratio(r.openaiCompatible!.gatewayCpuMsPerTurn, r.echo!.gatewayCpuMsPerTurn),
      };
    };
    const current = summary("current");
    const baseline = baselineRoot ? summary("baseline") : undefined;
    const vsBaseline = baseline
      ? {
          openaiCompatibleTurnsPerSecond: ratio(
            current.openaiCompatible!.turnsPerSecond,
            baseline.openaiCompatible!.turnsPerSecond,
          ),
          openaiCompatibleCpuPerTurn: ratio(
            current.openaiCompatible!.gatewayCpuMsPerTurn,
            baseline.openaiCompatible!.gatewayCpuMsPerTurn,
          ),
          echoTurnsPerSecond: ratio(current.echo!.turnsPerSecond, baseline.echo!.turnsPerSecond),
        }
      : undefined;
    const targets = { maxProviderCpuOverEcho: 2, minTurnsPerSecondOverBaseline: 2 };
    return {
      sessions,
      turnsPerSession,
      connections,
      current,
      ...(baseline ? { baseline: { root: baselineRoot, ...baseline }, vsBaseline } : {}),
      targets,
      pass:
        current.providerCpuOverEcho !== null &&
        current.providerCpuOverEcho <= targets.maxProviderCpuOverEcho &&
        (vsBaseline === undefined ||
          (vsBaseline.openaiCompatibleTurnsPerSecond ?? 0) >= targets.minTurnsPerSecondOverBaseline),
    };
  } finally {
    mock.child.kill("SIGTERM");
    if (mock.child.exitCode === null) await new Promise((r) => mock.child.once("exit", r));
  }
}
