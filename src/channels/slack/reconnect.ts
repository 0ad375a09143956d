/**
 * Socket Mode reconnects after the socket had been up: the first attempt at once (a `disconnect`
 * frame is Slack recycling its side, routine), then 2 s → 30 s ×1.8 with jitter (OpenClaw's
 * policy), at most 12 attempts; then the supervisor takes over. An auth refusal stops at once.
 */
import type { Logger } from "pino";
import { backoffMs, type BackoffPolicy } from "../backoff.ts";

const BACKOFF: BackoffPolicy = { firstMs: 2000, maxMs: 30_000, factor: 1.8, jitter: 0.2 };
const MAX_ATTEMPTS = 12;

export interface ReconnectOptions {
  connect(): Promise<void>;
  isFatal(err: unknown): boolean;
  fatal(err: unknown): Error;
  /** Retrying here did not help (or cannot): hand the account to the supervisor. */
  giveUp(err: unknown): void;
  log: Logger;
}

export class ReconnectLoop {
  private readonly opts: ReconnectOptions;
  private running = false;
  private cancelled = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(opts: ReconnectOptions) {
    this.opts = opts;
  }

  run(): void {
    if (this.running || this.cancelled) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
    });
  }

  cancel(): void {
    this.cancelled = true;
    clearTimeout(this.timer);
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }

  private async loop(): Promise<void> {
    let last: unknown;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && !this.cancelled; attempt++) {
      if (attempt > 0) {
        await this.sleep(backoffMs(attempt, BACKOFF));
        if (this.cancelled) return;
      }
      try {
        await this.opts.connect();
        if (attempt > 0) this.opts.log.info({ attempt }, "slack: socket mode reconnected");
        return;
      } catch (err) {
        last = err;
        if (this.opts.isFatal(err)) {
          this.opts.giveUp(this.opts.fatal(err));
          return;
        }
        this.opts.log.warn({ err, attempt }, "slack: socket mode reconnect failed");
      }
    }
    if (!this.cancelled) this.opts.giveUp(last);
  }
}
