/**
 * Gateway throughput: turns/s through `POST /v1/inbound` with the offline echo provider, measured
 * by autocannon in this process against a gateway running in a separate child process. Each
 * session has at most one request in flight (except in the one-session run), so every session's
 * messages are sent strictly in order; afterwards every transcript is read back and checked:
 * no gaps, no duplicates, no reordering.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import autocannon from "autocannon";

const ROOT = path.resolve(import.meta.dirname, "..");

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function startChild(home: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, "bin/pincer.js"), "gateway", "--port", String(port)], {
    env: {
      ...process.env,
      PINCER_HOME: home,
      PINCER_LOG_LEVEL: "warn",
      PINCER_GATEWAY_TOKEN: "bench-token-0123456789abcdef",
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

export async function benchGateway(
  sessionCount: number,
  durationS: number,
  connections: number,
): Promise<Record<string, unknown>> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-bench-gw-"));
  // Per-peer sessions, so 1 000 peers are 1 000 sessions.
  fs.writeFileSync(
    path.join(home, "pincer.json"),
    JSON.stringify({
      session: { dmScope: "per-channel-peer", reset: { mode: "none" } },
      agents: { defaults: { compaction: { memoryFlush: { enabled: false } } } },
    }),
  );
  const port = await freePort();
  const child = await startChild(home, port);
  const sent = new Map<string, number>();
  const inflight = new Set<number>();
  let cursor = 0;
  let failures = 0;
  try {
    const warm = await autocannon({ url: `http://127.0.0.1:${port}/healthz`, connections: 4, amount: 200 });
    void warm;
    const result = await autocannon({
      url: `http://127.0.0.1:${port}`,
      connections,
      duration: durationS,
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
    // Stop the gateway first: a graceful stop leaves sessions.json complete.
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    // With one session every connection writes to it concurrently: order across connections is not defined, so only count.
    const ordering = checkOrdering(home, sent, sessionCount === 1);
    return {
      sessions: sessionCount,
      connections,
      durationS,
      turnsPerSecond: Math.round(result.requests.average),
      totalTurns: result.requests.total,
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
