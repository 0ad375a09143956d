/**
 * An in-memory ChannelAdapter for the channel layer's own tests (supervisor, gate wiring, outbound
 * routing): no platform, no sockets. The adapter-level tests run the real libraries against fakes.
 */
import {
  ChannelFatalError,
  ChannelSendError,
  type AccountSettings,
  type AdapterContext,
  type ChannelAdapter,
  type ChannelInbound,
  type ChannelName,
  type DeliveryReceipt,
  type IngestResult,
  type OutboundChunk,
  type ReplyTarget,
} from "../../src/channels/types.ts";

export interface FakeBehaviour {
  /** Start attempts that reject (transient), before one succeeds. */
  failStarts?: number;
  /** Every start rejects with ChannelFatalError. */
  fatal?: boolean;
  /** Next sends answer 429 with this wait. */
  rateLimitMs?: number;
}

/** Every adapter the factory made, newest last, and everything any of them sent. */
export class FakePlatform {
  readonly adapters: FakeAdapter[] = [];
  readonly sent: OutboundChunk[] = [];
  readonly typing: ReplyTarget[] = [];
  startAttempts = 0;
  behaviour: FakeBehaviour = {};
  private seq = 0;

  factory = (settings: AccountSettings): ChannelAdapter => {
    const a = new FakeAdapter(this, settings.channel, settings.accountId);
    this.adapters.push(a);
    return a;
  };

  get current(): FakeAdapter | undefined {
    return this.adapters.at(-1);
  }

  nextId(): string {
    return String(++this.seq);
  }

  /** Waits until `n` chunks were sent. */
  async waitForSent(n: number, timeoutMs = 10_000): Promise<OutboundChunk[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.sent.length < n) {
      if (Date.now() > deadline)
        throw new Error(`expected ${n} sends, got ${this.sent.length}: ${JSON.stringify(this.sent)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.sent;
  }

  async waitForAdapter(pred: (a: FakeAdapter) => boolean, timeoutMs = 10_000): Promise<FakeAdapter> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const a = this.adapters.find((x) => pred(x));
      if (a) return a;
      if (Date.now() > deadline) throw new Error("no adapter matched");
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export class FakeAdapter implements ChannelAdapter {
  readonly caps = { maxChars: 4000, countUnit: "chars" as const, typing: true };
  ctx: AdapterContext | undefined;
  running = false;
  stopped = false;
  lastActivity: number | undefined;
  private readonly platform: FakePlatform;
  readonly channel: ChannelName;
  readonly accountId: string;

  constructor(platform: FakePlatform, channel: ChannelName, accountId: string) {
    this.platform = platform;
    this.channel = channel;
    this.accountId = accountId;
  }

  start(ctx: AdapterContext): Promise<void> {
    this.platform.startAttempts++;
    const b = this.platform.behaviour;
    if (b.fatal) return Promise.reject(new ChannelFatalError("401 Unauthorized: token revoked"));
    if ((b.failStarts ?? 0) > 0) {
      b.failStarts!--;
      return Promise.reject(new Error("ECONNREFUSED"));
    }
    this.ctx = ctx;
    this.running = true;
    this.lastActivity = ctx.now();
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    return Promise.resolve();
  }

  send(chunk: OutboundChunk): Promise<DeliveryReceipt> {
    const b = this.platform.behaviour;
    if (b.rateLimitMs !== undefined) {
      const wait = b.rateLimitMs;
      delete b.rateLimitMs;
      return Promise.reject(new ChannelSendError("429 Too Many Requests", "rate-limited", wait));
    }
    this.platform.sent.push(chunk);
    return Promise.resolve({ messageIds: [this.platform.nextId()] });
  }

  typing(target: ReplyTarget): Promise<void> {
    this.platform.typing.push(target);
    return Promise.resolve();
  }

  probe() {
    return Promise.resolve({ ok: this.running, identity: { id: "bot", name: "fakebot" } });
  }

  status() {
    return {
      connected: this.running,
      mode: "fake",
      ...(this.lastActivity !== undefined ? { lastTransportActivityAt: this.lastActivity } : {}),
    };
  }

  render(markdown: string): string {
    return markdown;
  }

  /** A platform event, handed to the layer as a real adapter would (awaiting ingest before the ack). */
  async inject(
    msg: Partial<ChannelInbound["envelope"]> &
      Pick<ChannelInbound["envelope"], "chatType" | "peerId" | "senderId" | "text">,
    extra: Partial<ChannelInbound> = {},
  ): Promise<IngestResult> {
    if (!this.ctx || !this.running) throw new Error("adapter not running");
    const envelope = { channel: this.channel, accountId: this.accountId, messageId: this.platform.nextId(), ...msg };
    return this.ctx.ingest({
      envelope,
      reply: {
        channel: this.channel,
        accountId: this.accountId,
        to: envelope.peerId,
        ...(envelope.threadId ? { threadId: envelope.threadId } : {}),
      },
      ...extra,
    });
  }
}
