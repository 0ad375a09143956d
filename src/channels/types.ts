/**
 * The contract between Pincer and one chat platform account (a Telegram bot, a Slack app, a
 * Discord bot, a signal-cli number). An adapter only speaks its platform: it turns platform events
 * into `ChannelInbound` and sends already rendered, already split chunks. Everything shared — the
 * access gate (dmPolicy, pairing, allowlists, mention gating), dedupe of platform redeliveries,
 * the durable outbound queue, chunking, rate limits, reconnect with backoff — lives in the channel
 * layer around it (`src/channels/*.ts`), so each rule exists once.
 */
import type { Logger } from "pino";
import type { InboundEnvelope } from "../keys/envelope.ts";
import { PincerError } from "../errors.ts";

export type ChannelName = "telegram" | "slack" | "discord" | "signal";

/** Where an answer goes: enough for the adapter to post into the same chat, topic or thread. */
export interface ReplyTarget {
  channel: ChannelName;
  accountId: string;
  /** Telegram chat id, Slack/Discord channel id, Signal recipient (E.164 / `uuid:<id>`) or `group:<id>`. */
  to: string;
  /** Telegram `message_thread_id`, Slack `thread_ts`, Discord thread channel id (then `to` is the thread). */
  threadId?: string;
  /** The platform message to answer (Telegram `reply_parameters`, Discord `message_reference`). */
  replyToMessageId?: string;
}

/** One platform event, normalised. `envelope.wasMentioned` is the adapter's native mention signal. */
export interface ChannelInbound {
  envelope: InboundEnvelope & { channel: ChannelName; accountId: string; messageId: string };
  reply: ReplyTarget;
  /** Mention facts the shared gate combines with `messages.groupChat.mentionPatterns`. */
  mention?: {
    /** A native mention of the bot (entity, `<@id>`, `@username` text). */
    explicit: boolean;
    /** A reply to one of the bot's own messages (counts as a mention, as in OpenClaw). */
    replyToBot: boolean;
  };
  /** Group display name when the platform gives one (row `subject` / `displayName`). */
  groupName?: string;
}

/** What `ingest` decided; the adapter acknowledges to the platform (offset, envelope ack) after it resolves. */
export type IngestResult =
  | { status: "accepted"; sessionKey: string }
  | { status: "duplicate" }
  | { status: "refused"; reason: string }
  | { status: "pending-history" };

/** Durable per-account state the adapter may keep (Telegram's update offset, Discord's resume). */
export interface ChannelStateStore {
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
}

export interface AdapterContext {
  /**
   * Hands one inbound message to the gateway. Resolves once it is durable (or refused, or a known
   * redelivery); the turn itself runs afterwards. Only then may the platform be acknowledged.
   */
  ingest(msg: ChannelInbound): Promise<IngestResult>;
  /** An event the adapter skips on purpose (edited, deleted, from a bot, media-only, malformed). */
  skipped(reason: string, detail?: Record<string, unknown>): void;
  /** The transport is gone after it had started; the supervisor restarts the adapter (or stops it for good on `ChannelFatalError`). */
  disconnected(err: unknown): void;
  state: ChannelStateStore;
  log: Logger;
  now(): number;
}

/** Platform limits and formats, used by the shared chunker and queue. */
export interface ChannelCaps {
  /** Largest rendered message. Telegram 4096 (UTF-16), Slack 4000, Discord 2000. */
  maxChars: number;
  /** Discord's soft line limit (17); absent: none. */
  maxLines?: number;
  countUnit: "utf16" | "chars";
  typing: boolean;
  /**
   * `send` is idempotent per `idempotencyKey` (Discord `nonce` + `enforce_nonce`): a chunk whose
   * outcome is unknown (timeout after the write, a crash mid-send) may be sent again with the same
   * key. Absent/false: such a chunk is never resent (marked uncertain) — a duplicate is worse.
   */
  idempotentSends?: boolean;
}

/** One outbound message, already rendered for the platform and within its limits. */
export interface OutboundChunk {
  target: ReplyTarget;
  /** Rendered text (`adapter.render` output) of this chunk. */
  text: string;
  /** Stable per chunk across retries and restarts (`<outbox id>:<chunk index>`): platform idempotency where it exists. */
  idempotencyKey: string;
}

export interface DeliveryReceipt {
  /** The platform's id(s) of what it accepted. Once returned, the chunk is never sent again. */
  messageIds: string[];
}

export interface ProbeResult {
  ok: boolean;
  /** The bot's own identity on the platform (username, user id, phone number). */
  identity?: { id: string; name?: string };
  error?: string;
}

/** Transport facts the adapter knows; the supervisor adds attempts, inbound liveness and errors. */
export interface TransportStatus {
  connected: boolean;
  mode?: string;
  lastTransportActivityAt?: number;
}

/** An adapter's `status()`: `lastTransportActivityAt` only once something has moved. */
export function transportStatus(connected: boolean, mode: string, lastActivity: number | undefined): TransportStatus {
  return { connected, mode, ...(lastActivity !== undefined ? { lastTransportActivityAt: lastActivity } : {}) };
}

export interface ChannelAdapter {
  readonly channel: ChannelName;
  readonly accountId: string;
  readonly caps: ChannelCaps;
  /** Connects; resolves once events can arrive. Rejects with `ChannelFatalError` when retrying cannot help. */
  start(ctx: AdapterContext): Promise<void>;
  /** Disconnects; resolves once no more `ingest` calls will be made. Idempotent. */
  stop(): Promise<void>;
  /** Sends one chunk. Throws `ChannelSendError` classified by the platform's structured error. */
  send(chunk: OutboundChunk): Promise<DeliveryReceipt>;
  /** Shows "typing…" in the target chat once (the layer repeats it while a turn runs). */
  typing?(target: ReplyTarget): Promise<void>;
  probe(): Promise<ProbeResult>;
  status(): TransportStatus;
  /** Markdown (as models write it) → the platform's text format (Telegram HTML, Slack mrkdwn, Discord markdown, plain). */
  render(markdown: string): string;
}

/** The transport cannot work without an operator's change: revoked token, 401, Discord 4004/4010–4014. */
export class ChannelFatalError extends PincerError {
  override readonly code = "channel_fatal";
}

export type SendFailureKind =
  /** Wait `retryAfterMs` and send again (429). */
  | "rate-limited"
  /** Not sent; safe to retry (5xx before the platform accepted, connection refused). */
  | "transient"
  /** Never retried: chat not found, message too long, bot removed from the group, 400. */
  | "permanent"
  /** 401/403: the account's token no longer works; also stops typing indicators. */
  | "auth"
  /** The platform may have accepted it (timeout after the request was written): not resent blindly. */
  | "unknown";

export class ChannelSendError extends PincerError {
  override readonly code = "channel_send_failed";
  readonly kind: SendFailureKind;
  readonly retryAfterMs?: number;
  /** "account": a "rate-limited" that holds for the whole account (Discord `global: true`), not only this chat. */
  readonly scope?: "chat" | "account";
  // Fields assigned in the body, not as parameter properties: Node's type stripping (bin/pincer.js) rejects those.
  constructor(
    message: string,
    kind: SendFailureKind,
    retryAfterMs?: number,
    options?: ErrorOptions & { scope?: "chat" | "account" },
  ) {
    super(message, options);
    this.kind = kind;
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
    if (options?.scope !== undefined) this.scope = options.scope;
  }
}

/** Settings one account runs with after channel-level keys, account keys and environment tokens are merged. */
export interface AccountSettings {
  channel: ChannelName;
  accountId: string;
  /** Telegram/Discord bot token, Slack bot token; Signal: the account number. */
  token?: string;
  /** Slack Socket Mode app token (`xapp-…`). */
  appToken?: string;
  /** Slack HTTP Events mode. */
  signingSecret?: string;
  /** Signal account (E.164). */
  account?: string;
  /** Base URL override: telegram `apiRoot`, slack `apiUrl`, discord `apiRoot`, signal `httpUrl`. */
  baseUrl?: string;
  /** Adapter-specific keys as written (mode, webhookUrl, …). */
  raw: Record<string, unknown>;
}
