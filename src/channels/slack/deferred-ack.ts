/**
 * Bolt acknowledges an Events API envelope before any listener runs. Pincer's contract is the
 * other way round: the message is made durable (`ctx.ingest`) first, then acknowledged, so a crash
 * in between makes Slack redeliver instead of losing it. This receiver wraps bolt's own (Socket
 * Mode or HTTP): it holds the ack until bolt's processing — our listener awaiting ingest — is
 * done, and sends it anyway at `deadlineMs` so Slack never sees more than 3 s.
 */
import type { App, Receiver, ReceiverEvent } from "@slack/bolt";

export class DeferredAckReceiver implements Receiver {
  readonly inner: Receiver;
  readonly deadlineMs: number;
  private readonly onAckError: (err: unknown) => void;
  private readonly refused = new WeakSet<object>();

  constructor(inner: Receiver, opts: { deadlineMs: number; onAckError: (err: unknown) => void }) {
    this.inner = inner;
    this.deadlineMs = opts.deadlineMs;
    this.onAckError = opts.onAckError;
  }

  /**
   * The event (its body, as bolt hands it to listeners) could not be made durable: leave it
   * unacknowledged so Slack delivers it again — unless the deadline already acknowledged it.
   */
  withhold(body: unknown): void {
    if (body && typeof body === "object") this.refused.add(body);
  }

  init(app: App): void {
    // Bolt's receivers only call `processEvent` on the app they are given.
    const shim = { processEvent: (event: ReceiverEvent) => this.process(app, event) };
    this.inner.init(shim as unknown as App);
  }

  start(...args: unknown[]): Promise<unknown> {
    return this.inner.start(...args);
  }

  stop(...args: unknown[]): Promise<unknown> {
    return this.inner.stop(...args);
  }

  private async process(app: App, event: ReceiverEvent): Promise<void> {
    let body: unknown;
    let sent: Promise<void> | undefined;
    const ackNow = (): Promise<void> => {
      sent ??= Promise.resolve(event.ack(body as never)).catch(this.onAckError);
      return sent;
    };
    const timer = setTimeout(() => void ackNow(), this.deadlineMs);
    try {
      await app.processEvent({
        ...event,
        ack: async (response?: unknown) => {
          body = response;
        },
      });
    } finally {
      clearTimeout(timer);
      const withheld = event.body && typeof event.body === "object" && this.refused.has(event.body);
      if (!withheld || sent) await ackNow();
    }
  }
}
