/**
 * Token buckets for outbound sends: one per chat and one per account, so a busy chat cannot starve
 * the others and the account as a whole stays under the platform's global limit (OpenClaw #50866:
 * no global limiter, a 429 spiral). The defaults are the platforms' published guidance — Telegram
 * the grammY throttler's (1/s per private chat, 20/min per group, 30/s per bot), Discord 5 per 5 s
 * per channel and 50/s per bot, Slack about 1/s per channel. A bucket never sleeps itself: it says
 * how long to wait, the queue schedules.
 */
import type { ChannelName } from "./types.ts";

export interface BucketSpec {
  /** Tokens added per second. */
  ratePerSec: number;
  /** Largest burst (bucket size). */
  burst: number;
}

export interface ChannelLimits {
  /** Per private chat / DM / channel. */
  chat: BucketSpec;
  /** Per group chat where the platform limits groups separately (Telegram: 20 per minute); checked as well as `chat`. */
  group?: BucketSpec;
  account: BucketSpec;
}

export const DEFAULT_LIMITS: Record<ChannelName, ChannelLimits> = {
  telegram: {
    chat: { ratePerSec: 1, burst: 1 },
    group: { ratePerSec: 20 / 60, burst: 20 },
    account: { ratePerSec: 30, burst: 30 },
  },
  slack: { chat: { ratePerSec: 1, burst: 3 }, account: { ratePerSec: 20, burst: 20 } },
  discord: { chat: { ratePerSec: 1, burst: 5 }, account: { ratePerSec: 50, burst: 50 } },
  signal: { chat: { ratePerSec: 1, burst: 3 }, account: { ratePerSec: 5, burst: 10 } },
};

/** Telegram group and supergroup chat ids are negative; private chats are positive user ids. */
export function isGroupChat(channel: ChannelName, to: string): boolean {
  if (channel === "telegram") return to.startsWith("-");
  if (channel === "signal") return to.startsWith("group:");
  return false;
}

export class TokenBucket {
  private readonly spec: BucketSpec;
  private tokens: number;
  private last: number;

  constructor(spec: BucketSpec, now: number) {
    this.spec = spec;
    this.tokens = spec.burst;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.spec.burst, this.tokens + ((now - this.last) / 1000) * this.spec.ratePerSec);
      this.last = now;
    }
  }

  /** Milliseconds until one token is available (0: now). */
  waitMs(now: number): number {
    this.refill(now);
    if (this.tokens >= 1) return 0;
    // The epsilon keeps float noise (0.998 tokens → 1.0000000001 ms) from adding a millisecond.
    return Math.ceil(((1 - this.tokens) / this.spec.ratePerSec) * 1000 - 1e-6);
  }

  /** Takes one token; call only when `waitMs` said 0. */
  take(now: number): void {
    this.refill(now);
    this.tokens -= 1;
  }

  /** Full again: nothing was taken for long enough that the bucket can be dropped. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.spec.burst;
  }
}

/**
 * Takes a token from every bucket at once, or none: the wait is the longest of them, so a chat's
 * token is not used up while the account's bucket is empty.
 */
export function takeAll(buckets: TokenBucket[], now: number): number {
  let wait = 0;
  for (const b of buckets) wait = Math.max(wait, b.waitMs(now));
  if (wait > 0) return wait;
  for (const b of buckets) b.take(now);
  return 0;
}
