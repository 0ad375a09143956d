/**
 * A scripted in-process ChannelAdapter for the delivery tests: the adapter boundary is exactly what
 * the queue talks to, so a fake here tests the queue itself (the real adapters have their own tests
 * against platform fakes). Each `send` takes the next scripted outcome (default: accepted).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino, { type Logger } from "pino";
import type { ChannelLimits } from "../../src/channels/rate-limit.ts";
import {
  ChannelSendError,
  type AdapterContext,
  type ChannelAdapter,
  type ChannelCaps,
  type ChannelName,
  type DeliveryReceipt,
  type OutboundChunk,
  type ProbeResult,
  type ReplyTarget,
  type TransportStatus,
} from "../../src/channels/types.ts";

export type Step = "ok" | ChannelSendError | Error | (() => Promise<DeliveryReceipt>);

export class ScriptedAdapter implements ChannelAdapter {
  readonly channel: ChannelName;
  readonly accountId: string;
  readonly caps: ChannelCaps;
  /** Every send attempt, in order (failed ones too). */
  readonly attempts: OutboundChunk[] = [];
  /** Accepted sends, in order. */
  readonly accepted: OutboundChunk[] = [];
  readonly script: Step[] = [];
  /** Per chat (`to`) scripts, taken before the shared one. */
  readonly scriptFor = new Map<string, Step[]>();
  typingCalls = 0;
  typingStep: (() => Promise<void>) | undefined;
  private seq = 0;

  constructor(opts: { channel?: ChannelName; accountId?: string; caps?: Partial<ChannelCaps> } = {}) {
    this.channel = opts.channel ?? "telegram";
    this.accountId = opts.accountId ?? "default";
    this.caps = { maxChars: 4096, countUnit: "utf16", typing: true, ...opts.caps };
  }

  start(_ctx: AdapterContext): Promise<void> {
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  async send(chunk: OutboundChunk): Promise<DeliveryReceipt> {
    this.attempts.push(chunk);
    const step = this.scriptFor.get(chunk.target.to)?.shift() ?? this.script.shift() ?? "ok";
    if (step instanceof Error) throw step;
    if (typeof step === "function") {
      const r = await step();
      this.accepted.push(chunk);
      return r;
    }
    this.accepted.push(chunk);
    return { messageIds: [String(++this.seq)] };
  }
  async typing(_target: ReplyTarget): Promise<void> {
    this.typingCalls++;
    if (this.typingStep) await this.typingStep();
  }
  probe(): Promise<ProbeResult> {
    return Promise.resolve({ ok: true });
  }
  status(): TransportStatus {
    return { connected: true };
  }
  render(markdown: string): string {
    return markdown.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
}

export const sendError = (kind: ChannelSendError["kind"], retryAfterMs?: number, scope?: "chat" | "account") =>
  new ChannelSendError(`scripted ${kind}`, kind, retryAfterMs, scope ? { scope } : undefined);

/** Buckets that never make a test wait (the bucket itself has unit tests). */
const FAST = { chat: { ratePerSec: 1e6, burst: 1e6 }, account: { ratePerSec: 1e6, burst: 1e6 } };
export const FAST_LIMITS: Record<ChannelName, ChannelLimits> = {
  telegram: { ...FAST, group: FAST.chat },
  slack: FAST,
  discord: FAST,
  signal: FAST,
};

export function tmpDir(prefix = "pincer-delivery-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A logger whose lines the test can read. */
export function memoryLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

export function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export const target = (to: string, extra: Partial<ReplyTarget> = {}): ReplyTarget => ({
  channel: "telegram",
  accountId: "default",
  to,
  ...extra,
});

export const origin = { agentId: "main", kind: "reply" as const };
