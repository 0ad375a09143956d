/** A small AdapterContext for driving the Telegram adapter directly in tests: records what it is given. */
import pino from "pino";
import type { AdapterContext, ChannelInbound, IngestResult } from "../../src/channels/types.ts";

export interface RecordingContext extends AdapterContext {
  ingested: ChannelInbound[];
  skips: Array<{ reason: string; detail?: Record<string, unknown> }>;
  lost: unknown[];
  stateMap: Map<string, string>;
  /** Makes the next `n` ingest calls reject (the gateway could not make them durable). */
  failIngest(n: number): void;
  /** Each ingest resolves after this many ms (unordered completion, as a real journal's). */
  ingestDelay?: () => number;
}

export function recordingContext(stateMap = new Map<string, string>()): RecordingContext {
  let failures = 0;
  const ctx: RecordingContext = {
    ingested: [],
    skips: [],
    lost: [],
    stateMap,
    failIngest(n) {
      failures = n;
    },
    async ingest(msg): Promise<IngestResult> {
      if (failures > 0) {
        failures--;
        throw new Error("store unavailable");
      }
      const delay = ctx.ingestDelay?.() ?? 0;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      ctx.ingested.push(msg);
      return { status: "accepted", sessionKey: `agent:main:telegram:${msg.envelope.peerId}` };
    },
    skipped(reason, detail) {
      ctx.skips.push({ reason, ...(detail ? { detail } : {}) });
    },
    disconnected(err) {
      ctx.lost.push(err);
    },
    state: {
      async get(name) {
        return stateMap.get(name);
      },
      async set(name, value) {
        stateMap.set(name, value);
      },
    },
    log: pino({ level: "silent" }),
    now: () => Date.now(),
  };
  return ctx;
}

/** Polls `cond` every 10 ms until it holds (a wait, not a timing assertion); throws after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
