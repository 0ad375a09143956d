/**
 * Events waiting to ride along with the next write of a shared store (`StoreEvents.publishSoon`):
 * on Postgres a NOTIFY costs a commit of its own and on Redis a command, unless it goes with a write
 * that happens anyway. A write takes every waiting event, front first; one whose outcome leaves its
 * events unsent puts them back in front, so order is kept. When no write comes within `waitMs`, the
 * store sends them together by themselves.
 */

/** One waiting event: its serialised payload, and how to tell the publisher it went out or not. */
export interface Rider {
  text: string;
  sent(): void;
  failed(err: unknown): void;
}

export class RideAlongQueue {
  private riders: Rider[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly sendAlone: (riders: Rider[]) => Promise<void>;
  private readonly waitMs: number;

  /** `sendAlone` publishes riders no write carried, and settles each of them. */
  constructor(sendAlone: (riders: Rider[]) => Promise<void>, waitMs = 5) {
    this.sendAlone = sendAlone;
    this.waitMs = waitMs;
  }

  /** Queues an event; settles once a write (or the lone send) carried it. */
  add(text: string): Promise<void> {
    return new Promise<void>((sent, failed) => {
      this.riders.push({ text, sent, failed });
      this.arm();
    });
  }

  /** Every waiting event, for the write about to be sent. */
  take(): Rider[] {
    const all = this.riders;
    this.riders = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return all;
  }

  /** Events a write did not carry after all: back in front, in their order. */
  putBack(riders: readonly Rider[]): void {
    if (riders.length === 0) return;
    this.riders = [...riders, ...this.riders];
    this.arm();
  }

  /** Sends what waits now, by itself (the store is closing). */
  async flush(): Promise<void> {
    const riders = this.take();
    if (riders.length > 0) await this.sendAlone(riders);
  }

  private arm(): void {
    if (this.timer || this.riders.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.waitMs);
    this.timer.unref();
  }
}
