/**
 * The Signal adapter over a signal-cli daemon's HTTP API (no client library): inbound from the SSE
 * stream `GET /api/v1/events?account=…` (parsed by ./sse.ts), sends and typing through JSON-RPC.
 * A stream that ends or breaks is reopened here — at once, then 1 s → 10 s ×2 with jitter
 * (OpenClaw's policy) — and handed to the supervisor after repeated failures; a 401/403 from the
 * daemon (an authenticating proxy in front of it) stops the account for good.
 */
import type {
  AccountSettings,
  AdapterContext,
  ChannelAdapter,
  ChannelCaps,
  DeliveryReceipt,
  OutboundChunk,
  ProbeResult,
  ReplyTarget,
  TransportStatus,
} from "../types.ts";
import { ChannelFatalError, ChannelSendError, transportStatus } from "../types.ts";
import { settleSettings } from "../adapter-settings.ts";
import { backoffMs, type BackoffPolicy } from "../backoff.ts";
import { mapSignalReceive, type SignalSelf } from "./inbound.ts";
import { markdownToPlain } from "./render.ts";
import { httpFailure, networkFailure, SignalRpc, SignalRpcError, toSendError } from "./rpc.ts";
import { resolveSignalSettings, type SignalSettings } from "./settings.ts";
import { SseParser } from "./sse.ts";

const REOPEN_BACKOFF: BackoffPolicy = { firstMs: 1000, maxMs: 10_000, factor: 2, jitter: 0.2 };
/** Consecutive failed reopenings before the supervisor takes over. */
const MAX_ATTEMPTS = 8;

type Reader = ReadableStreamDefaultReader<Uint8Array>;

/** signal-cli's `recipient` / `groupId` parameters for a reply target. */
export function targetParams(to: string): Record<string, unknown> {
  if (to.startsWith("group:")) return { groupId: to.slice(6) };
  if (to.startsWith("uuid:")) return { recipient: [to.slice(5)] };
  return { recipient: [to] };
}

function fatalIfAuth(err: unknown, what: string): unknown {
  return err instanceof SignalRpcError && err.kind === "auth"
    ? new ChannelFatalError(`signal: the daemon refused ${what} (HTTP ${err.status})`, { cause: err })
    : err;
}

export class SignalAdapter implements ChannelAdapter {
  readonly channel = "signal" as const;
  readonly accountId: string;
  readonly caps: ChannelCaps;
  private readonly settings: SignalSettings | undefined;
  private readonly settingsError: unknown;
  private readonly rpc: SignalRpc | undefined;
  private readonly self: SignalSelf;
  private ctx: AdapterContext | undefined;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private connected = false;
  private stopping = false;
  private lastActivity: number | undefined;
  private wake: (() => void) | undefined;

  constructor(settings: AccountSettings) {
    this.accountId = settings.accountId;
    const { settings: resolved, error } = settleSettings(() => resolveSignalSettings(settings));
    this.settings = resolved;
    this.settingsError = error;
    this.self = { number: resolved?.account ?? "" };
    this.rpc = resolved ? new SignalRpc(resolved.httpUrl, resolved.account) : undefined;
    this.caps = { maxChars: resolved?.maxChars ?? 4000, countUnit: "chars", typing: true };
  }

  async start(ctx: AdapterContext): Promise<void> {
    if (!this.settings || !this.rpc) throw this.settingsError;
    // A restart without a stop in between must not leave the old stream reader running.
    if (this.loop) await this.stop();
    this.ctx = ctx;
    this.stopping = false;
    try {
      await this.rpc.check();
    } catch (err) {
      throw fatalIfAuth(err, "/api/v1/check");
    }
    let reader: Reader;
    try {
      reader = await this.open();
    } catch (err) {
      throw fatalIfAuth(err, "the event stream");
    }
    this.loop = this.run(ctx, reader);
  }

  private async open(): Promise<Reader> {
    const s = this.settings as SignalSettings;
    const abort = new AbortController();
    this.abort = abort;
    let res: Response;
    try {
      res = await fetch(`${s.httpUrl}/api/v1/events?account=${encodeURIComponent(s.account)}`, {
        headers: { accept: "text/event-stream" },
        signal: abort.signal,
      });
    } catch (err) {
      throw networkFailure(err, "events");
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      throw httpFailure(res.status, "events");
    }
    this.connected = true;
    this.lastActivity = this.ctx?.now() ?? Date.now();
    return res.body.getReader();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async run(ctx: AdapterContext, first: Reader): Promise<void> {
    let reader: Reader | undefined = first;
    let failures = 0;
    let last: unknown;
    while (!this.stopping) {
      if (reader) {
        try {
          const events = await this.consume(ctx, reader);
          if (events > 0) failures = 0;
          last = new Error("signal: the event stream ended");
        } catch (err) {
          last = err;
        }
        reader = undefined;
        this.connected = false;
        if (this.stopping) return;
        ctx.log.info({ err: last }, "signal: event stream lost; reopening");
      }
      if (failures >= MAX_ATTEMPTS) {
        ctx.disconnected(last);
        return;
      }
      if (failures > 0) {
        await this.sleep(backoffMs(failures, REOPEN_BACKOFF));
        if (this.stopping) return;
      }
      failures++;
      try {
        reader = await this.open();
      } catch (err) {
        if (this.stopping) return;
        const fatal = fatalIfAuth(err, "the event stream");
        if (fatal instanceof ChannelFatalError) {
          ctx.disconnected(fatal);
          return;
        }
        last = err;
        ctx.log.warn({ err, failures }, "signal: reopening the event stream failed");
      }
    }
  }

  /** Reads one stream to its end; returns how many events it carried. Events are handled in order. */
  private async consume(ctx: AdapterContext, reader: Reader): Promise<number> {
    const decoder = new TextDecoder();
    const parser = new SseParser();
    let count = 0;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.lastActivity = ctx.now();
        for (const ev of parser.push(decoder.decode(value, { stream: true }))) {
          count++;
          if (ev.event !== "receive") continue;
          await this.handle(ctx, ev.data);
        }
      }
    } finally {
      reader.releaseLock();
    }
    return count;
  }

  private async handle(ctx: AdapterContext, data: string): Promise<void> {
    try {
      let payload: unknown;
      try {
        payload = JSON.parse(data);
      } catch {
        ctx.skipped("malformed", { reason: "event data is not JSON" });
        return;
      }
      const result = mapSignalReceive(payload, { accountId: this.accountId, self: this.self });
      if (result.kind === "skip") {
        if (result.selfUuid) this.self.uuid = result.selfUuid;
        ctx.skipped(result.reason, result.detail);
        return;
      }
      if (this.stopping) return;
      await ctx.ingest(result.inbound);
    } catch (err) {
      ctx.log.warn({ err }, "signal: inbound event failed");
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort?.abort();
    this.wake?.();
    await this.loop?.catch(() => undefined);
    this.loop = undefined;
    this.connected = false;
  }

  async send(chunk: OutboundChunk): Promise<DeliveryReceipt> {
    if (!this.rpc) throw new ChannelSendError(`signal: ${String(this.settingsError)}`, "permanent");
    let result: unknown;
    try {
      result = await this.rpc.call("send", { ...targetParams(chunk.target.to), message: chunk.text });
    } catch (err) {
      throw toSendError(err, "send");
    }
    const r = (result ?? {}) as { timestamp?: unknown; results?: unknown };
    failedForAll(r.results);
    this.lastActivity = this.ctx?.now() ?? Date.now();
    return { messageIds: typeof r.timestamp === "number" ? [String(r.timestamp)] : [] };
  }

  async typing(target: ReplyTarget): Promise<void> {
    if (!this.rpc) return;
    try {
      await this.rpc.call("sendTyping", targetParams(target.to));
    } catch (err) {
      throw toSendError(err, "sendTyping");
    }
  }

  async probe(): Promise<ProbeResult> {
    if (!this.rpc || !this.settings) return { ok: false, error: String(this.settingsError) };
    try {
      await this.rpc.check();
      return { ok: true, identity: { id: this.settings.account } };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  status(): TransportStatus {
    return transportStatus(this.connected, "sse", this.lastActivity);
  }

  render(markdown: string): string {
    return markdownToPlain(markdown);
  }
}

/** signal-cli reports per recipient; when none got it, the send failed (its type says how). */
function failedForAll(results: unknown): void {
  if (!Array.isArray(results) || results.length === 0) return;
  const types = results.map((r) => String((r as { type?: unknown } | null)?.type ?? "SUCCESS"));
  if (types.some((t) => t === "SUCCESS")) return;
  const t = types[0] ?? "UNKNOWN";
  if (t === "RATE_LIMIT_FAILURE") throw new ChannelSendError(`signal send: ${t}`, "rate-limited", 60_000);
  if (t === "NETWORK_FAILURE") throw new ChannelSendError(`signal send: ${t}`, "transient");
  throw new ChannelSendError(`signal send: ${t}`, "permanent");
}
