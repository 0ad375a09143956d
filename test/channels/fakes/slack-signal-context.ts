/** A small AdapterContext for driving one adapter directly: records what it ingests, skips and reports. */
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import type {
  AdapterContext,
  ChannelAdapter,
  ChannelInbound,
  ChannelSendError,
  IngestResult,
  OutboundChunk,
} from "../../../src/channels/types.ts";

export interface Recorder {
  ctx: AdapterContext;
  inbound: ChannelInbound[];
  skipped: Array<{ reason: string; detail?: Record<string, unknown> }>;
  disconnects: unknown[];
  /** Events in order: "ingest:<messageId>" when ingest is called, "ingested:<id>" when it resolves. */
  timeline: string[];
  /** Makes the next ingest calls wait for this promise first (a slow store). */
  holdIngest(p: Promise<void> | undefined): void;
  /** The next ingest call rejects (a store that failed), recorded as "failed:<id>". */
  failNextIngest(): void;
  next(pred?: (m: ChannelInbound) => boolean, timeoutMs?: number): Promise<ChannelInbound>;
  nextSkip(reason: string, timeoutMs?: number): Promise<void>;
  nextDisconnect(timeoutMs?: number): Promise<unknown>;
}

export async function until(pred: () => boolean, timeoutMs = 10_000, what = "a condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A loopback port nothing listens on (now): for a refused connection, or a listener of one's own. */
export async function freePort(): Promise<number> {
  const s = http.createServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The error a send that must fail failed with. */
export async function sendError(a: ChannelAdapter, c: OutboundChunk): Promise<ChannelSendError> {
  return a.send(c).then(
    () => {
      throw new Error("send succeeded");
    },
    (e: unknown) => e as ChannelSendError,
  );
}

/** `dedupe`: answer "duplicate" for a message id seen before, as the layer's InboundDedupe does. */
export function recorder(opts: { dedupe?: boolean } = {}): Recorder {
  const inbound: ChannelInbound[] = [];
  const skipped: Recorder["skipped"] = [];
  const disconnects: unknown[] = [];
  const timeline: string[] = [];
  const seen = new Set<string>();
  const state = new Map<string, string>();
  let hold: Promise<void> | undefined;
  let failNext = false;
  let cursor = 0;
  const rec: Recorder = {
    inbound,
    skipped,
    disconnects,
    timeline,
    holdIngest(p) {
      hold = p;
    },
    failNextIngest() {
      failNext = true;
    },
    ctx: {
      async ingest(msg): Promise<IngestResult> {
        const id = msg.envelope.messageId;
        timeline.push(`ingest:${id}`);
        if (hold) await hold;
        if (failNext) {
          failNext = false;
          timeline.push(`failed:${id}`);
          throw new Error("store unavailable");
        }
        if (opts.dedupe && seen.has(id)) {
          timeline.push(`duplicate:${id}`);
          return { status: "duplicate" };
        }
        seen.add(id);
        inbound.push(msg);
        timeline.push(`ingested:${id}`);
        return { status: "accepted", sessionKey: "test" };
      },
      skipped: (reason, detail) => skipped.push({ reason, ...(detail ? { detail } : {}) }),
      disconnected: (err) => disconnects.push(err),
      state: {
        get: async (k) => state.get(k),
        set: async (k, v) => {
          state.set(k, v);
        },
      },
      log: pino({ level: process.env.PINCER_TEST_LOG ?? "silent" }),
      now: () => Date.now(),
    },
    async next(pred = () => true, timeoutMs = 10_000) {
      await until(() => inbound.slice(cursor).some(pred), timeoutMs, "an inbound message");
      const i = inbound.findIndex((m, idx) => idx >= cursor && pred(m));
      cursor = i + 1;
      return inbound[i] as ChannelInbound;
    },
    async nextSkip(reason, timeoutMs = 10_000) {
      await until(() => skipped.some((s) => s.reason === reason), timeoutMs, `a skip "${reason}"`);
    },
    async nextDisconnect(timeoutMs = 10_000) {
      await until(() => disconnects.length > 0, timeoutMs, "ctx.disconnected");
      return disconnects[0];
    },
  };
  return rec;
}
