/**
 * The Slack adapter on @slack/bolt. Socket Mode by default (bolt's SocketModeReceiver: the app
 * token's `apps.connections.open` gives the WebSocket URL), HTTP Events mode with a signing secret
 * (bolt's HTTPReceiver on its own listener, signatures checked by bolt). Either way the envelope is
 * acknowledged once `ctx.ingest` has made the message durable, and never later than 2.5 s
 * (DeferredAckReceiver); Slack's redeliveries carry the same `<channel>:<ts>` message id, which the
 * layer's inbound dedupe refuses. Sends go through a Web API client without its own retries and
 * without waiting out 429s by itself: the delivery layer decides.
 */
import pino from "pino";
import { App, HTTPReceiver, SocketModeReceiver, webApi, type Receiver } from "@slack/bolt";
import type {
  AccountSettings,
  AdapterContext,
  ChannelAdapter,
  ChannelCaps,
  DeliveryReceipt,
  OutboundChunk,
  ProbeResult,
  TransportStatus,
} from "../types.ts";
import { ChannelFatalError, ChannelSendError, transportStatus } from "../types.ts";
import { settleSettings } from "../adapter-settings.ts";
import { DeferredAckReceiver } from "./deferred-ack.ts";
import { isSlackAuthError, slackErrorCode, toSendError } from "./errors.ts";
import {
  conversationTypeFromId,
  mapSlackMessage,
  normalizeConversationType,
  type SlackConversationType,
  type SlackIdentity,
  type SlackMessageEvent,
} from "./inbound.ts";
import { slackLogger } from "./logger.ts";
import { markdownToMrkdwn } from "./mrkdwn.ts";
import { resolveSlackSettings, type SlackSettings } from "./settings.ts";
import { ReconnectLoop } from "./reconnect.ts";
import { guardSocketFrames } from "./socket-guard.ts";

/** Slack wants the ack within 3 s; this leaves room for the frame/response to travel. */
const ACK_DEADLINE_MS = 2500;
const API_TIMEOUT_MS = 15_000;
const MAX_REMEMBERED = 5000;
const STOP_TIMEOUT_MS = 3000;

type SocketClient = SocketModeReceiver["client"];

/** Before `start` there is no account logger; the Web API client must not print to the console. */
const QUIET = slackLogger(pino({ level: "silent" }));

/** A bounded insertion-ordered set/map: the oldest entries go first. */
function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_REMEMBERED) map.delete(map.keys().next().value as K);
}

export class SlackAdapter implements ChannelAdapter {
  readonly channel = "slack" as const;
  readonly accountId: string;
  readonly caps: ChannelCaps;
  private readonly settings: SlackSettings | undefined;
  private readonly settingsError: unknown;
  private web: webApi.WebClient | undefined;
  private ctx: AdapterContext | undefined;
  private app: App | undefined;
  private socket: SocketClient | undefined;
  private receiver: DeferredAckReceiver | undefined;
  private reconnect: ReconnectLoop | undefined;
  private identity: SlackIdentity | undefined;
  private connected = false;
  private stopping = false;
  private lastActivity: number | undefined;
  private readonly inflight = new Set<Promise<void>>();
  /** Threads the bot posted in (`channel:thread_ts`): a reply there counts as a mention. */
  private readonly threads = new Map<string, true>();
  private readonly conversations = new Map<string, { type: SlackConversationType; name?: string }>();

  constructor(settings: AccountSettings) {
    this.accountId = settings.accountId;
    const { settings: resolved, error } = settleSettings(() => resolveSlackSettings(settings));
    this.settings = resolved;
    this.settingsError = error;
    this.caps = { maxChars: resolved?.maxChars ?? 4000, countUnit: "chars", typing: false };
    this.web = resolved ? this.webClient(resolved) : undefined;
  }

  private webClient(s: SlackSettings, log?: AdapterContext["log"]): webApi.WebClient {
    return new webApi.WebClient(s.botToken, {
      logger: log ? slackLogger(log) : QUIET,
      slackApiUrl: s.apiUrl,
      // The delivery layer retries; a blind retry of chat.postMessage could post twice.
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: API_TIMEOUT_MS,
    });
  }

  async start(ctx: AdapterContext): Promise<void> {
    if (!this.settings) throw this.settingsError;
    const s = this.settings;
    // A restart without a stop in between must not leave the old socket or listener behind.
    if (this.app || this.socket) await this.stop();
    this.ctx = ctx;
    this.stopping = false;
    const logger = slackLogger(ctx.log);
    const web = this.webClient(s, ctx.log);
    this.web = web;
    this.identity = await this.authTest(web);

    const inner: Receiver =
      s.mode === "socket"
        ? new SocketModeReceiver({
            appToken: s.appToken ?? "",
            logger,
            // Reconnects are ours (ReconnectLoop): bolt's would retry a revoked token forever.
            autoReconnectEnabled: false,
            installerOptions: {
              clientOptions: { slackApiUrl: s.apiUrl, retryConfig: { retries: 0 }, timeout: API_TIMEOUT_MS },
            },
          })
        : new HTTPReceiver({
            signingSecret: s.signingSecret ?? "",
            endpoints: [s.webhookPath],
            logger,
            unhandledRequestTimeoutMillis: 3001,
          });
    const receiver = new DeferredAckReceiver(inner, {
      deadlineMs: ACK_DEADLINE_MS,
      onAckError: (err) => ctx.log.warn({ err }, "slack: acknowledging an event failed"),
    });
    this.receiver = receiver;
    const identity = this.identity;
    const app = new App({
      receiver,
      logger,
      // Our own messages are skipped (and counted) by the mapping, not silently by bolt.
      ignoreSelf: false,
      authorize: async () => ({
        botToken: s.botToken,
        botUserId: identity.botUserId,
        ...(identity.botId ? { botId: identity.botId } : {}),
        ...(identity.teamId ? { teamId: identity.teamId } : {}),
      }),
    });
    app.error(async (err) => ctx.log.warn({ err }, "slack: event processing failed"));
    app.event("message", async ({ event, body }) => this.track(event, body, false));
    app.event("app_mention", async ({ event, body }) => this.track(event, body, true));
    app.event("member_left_channel", async ({ event }) => {
      if (event.user === identity.botUserId) ctx.skipped("removed-from-channel", { channel: event.channel });
    });
    this.app = app;

    if (inner instanceof SocketModeReceiver) {
      const socket = inner.client;
      this.socket = socket;
      guardSocketFrames(
        socket,
        (detail) => ctx.skipped("malformed", detail),
        (err) => ctx.log.warn({ err }, "slack: socket frame failed"),
      );
      this.reconnect = new ReconnectLoop({
        connect: () => socket.start().then(() => undefined),
        isFatal: isSlackAuthError,
        fatal: (err) =>
          new ChannelFatalError(`slack: socket mode refused: ${slackErrorCode(err) ?? String(err)}`, { cause: err }),
        giveUp: (err) => ctx.disconnected(err),
        log: ctx.log,
      });
      socket.on("connected", () => {
        this.connected = true;
        this.lastActivity = ctx.now();
      });
      socket.on("disconnected", () => {
        const wasUp = this.connected;
        this.connected = false;
        // A `disconnect` frame, a dead ping or a dropped socket: dial again (start's own failures
        // are handled by whoever called start).
        if (wasUp && !this.stopping) this.reconnect?.run();
      });
      try {
        await app.start();
      } catch (err) {
        throw isSlackAuthError(err)
          ? new ChannelFatalError(`slack: apps.connections.open refused the app token: ${slackErrorCode(err)}`, {
              cause: err,
            })
          : err;
      }
    } else {
      await app.start({ port: s.webhookPort, host: s.webhookHost });
      this.connected = true;
    }
  }

  private async authTest(web: webApi.WebClient): Promise<SlackIdentity> {
    try {
      const res = await web.auth.test();
      if (typeof res.user_id !== "string") throw new Error("auth.test answered without user_id");
      return {
        botUserId: res.user_id,
        ...(typeof res.bot_id === "string" ? { botId: res.bot_id } : {}),
        ...(typeof res.team_id === "string" ? { teamId: res.team_id } : {}),
        ...(typeof res.user === "string" ? { name: res.user } : {}),
      };
    } catch (err) {
      if (isSlackAuthError(err)) {
        throw new ChannelFatalError(`slack: auth.test refused the bot token: ${slackErrorCode(err) ?? "401"}`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  /** Each event's handling is tracked so `stop` can wait for ingest calls already under way. */
  private async track(event: unknown, body: unknown, appMention: boolean): Promise<void> {
    const p = this.handle(event, body, appMention);
    this.inflight.add(p);
    try {
      await p;
    } finally {
      this.inflight.delete(p);
    }
  }

  private async handle(event: unknown, body: unknown, appMention: boolean): Promise<void> {
    const ctx = this.ctx;
    const identity = this.identity;
    if (!ctx || !identity || this.stopping) return;
    this.lastActivity = ctx.now();
    try {
      if (!event || typeof event !== "object") {
        ctx.skipped("malformed", { reason: "event is not an object" });
        return;
      }
      const ev = event as SlackMessageEvent;
      const channel = typeof ev.channel === "string" ? ev.channel : "";
      const conv = channel ? await this.conversation(channel, ev.channel_type) : undefined;
      const teamId = (body as { team_id?: unknown } | undefined)?.team_id;
      const result = mapSlackMessage(ev, {
        accountId: this.accountId,
        identity,
        conversationType: conv?.type ?? "channel",
        ...(typeof teamId === "string" ? { teamId } : {}),
        participated: (c, t) => this.threads.has(`${c}:${t}`),
        appMention,
        ...(conv?.name ? { groupName: conv.name } : {}),
      });
      if (result.kind === "skip") {
        ctx.skipped(result.reason, { ...result.detail, channel, ts: ev.ts });
        return;
      }
      try {
        await ctx.ingest(result.inbound);
      } catch (err) {
        // Not durable: Slack must deliver it again (the layer's dedupe makes that safe).
        this.receiver?.withhold(body);
        ctx.log.warn(
          { err, messageId: result.inbound.envelope.messageId },
          "slack: ingest failed; left unacknowledged",
        );
      }
    } catch (err) {
      // Never out of an event handler: a mapping failure is logged, the envelope acknowledged.
      ctx.log.warn({ err }, "slack: inbound event failed");
    }
  }

  /** The event's own `channel_type` when it has one, else `conversations.info` once per channel. */
  private async conversation(
    channel: string,
    given: unknown,
  ): Promise<{ type: SlackConversationType; name?: string } | undefined> {
    const known = this.conversations.get(channel);
    const fromEvent = normalizeConversationType(given, channel);
    if (known && (!fromEvent || known.type === fromEvent)) return known;
    if (fromEvent === "im") return { type: "im" };
    try {
      const res = await this.web?.conversations.info({ channel });
      const c = res?.channel;
      const type: SlackConversationType =
        fromEvent ??
        (c?.is_im
          ? "im"
          : c?.is_mpim
            ? "mpim"
            : c?.is_private || c?.is_group
              ? "group"
              : c
                ? "channel"
                : conversationTypeFromId(channel));
      const entry = { type, ...(c?.name ? { name: c.name } : {}) };
      remember(this.conversations, channel, entry);
      return entry;
    } catch (err) {
      this.ctx?.log.debug({ err, channel }, "slack: conversations.info failed; type from the event or the id");
      return { type: fromEvent ?? conversationTypeFromId(channel) };
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.reconnect?.cancel();
    const app = this.app;
    this.app = undefined;
    if (this.socket) {
      // The close handshake may wait on a peer that is gone; stop must not.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.socket.disconnect().catch(() => undefined),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
    } else if (app) await app.stop().catch(() => undefined);
    this.socket = undefined;
    this.connected = false;
    await Promise.allSettled([...this.inflight]);
  }

  async send(chunk: OutboundChunk): Promise<DeliveryReceipt> {
    if (!this.web) throw new ChannelSendError(`slack: ${String(this.settingsError)}`, "permanent");
    const { to, threadId } = chunk.target;
    let res: Awaited<ReturnType<webApi.WebClient["chat"]["postMessage"]>>;
    try {
      res = await this.web.chat.postMessage({
        channel: to,
        text: chunk.text,
        ...(threadId ? { thread_ts: threadId } : {}),
      });
    } catch (err) {
      throw toSendError(err, "chat.postMessage");
    }
    if (threadId) remember(this.threads, `${to}:${threadId}`, true);
    this.lastActivity = this.ctx?.now() ?? Date.now();
    return { messageIds: typeof res.ts === "string" ? [res.ts] : [] };
  }

  async probe(): Promise<ProbeResult> {
    if (!this.web) return { ok: false, error: String(this.settingsError) };
    try {
      const id = await this.authTest(this.web);
      return { ok: true, identity: { id: id.botUserId, ...(id.name ? { name: id.name } : {}) } };
    } catch (err) {
      return { ok: false, error: slackErrorCode(err) ?? (err instanceof Error ? err.message : String(err)) };
    }
  }

  status(): TransportStatus {
    return transportStatus(this.connected, this.settings?.mode ?? "socket", this.lastActivity);
  }

  render(markdown: string): string {
    return markdownToMrkdwn(markdown);
  }
}
