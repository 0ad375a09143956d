/**
 * The Telegram adapter on grammY: long polling by default (polling.ts), webhook mode optional
 * (webhook.ts), updates mapped in inbound.ts, Markdown rendered to Telegram HTML in render.ts,
 * failures classified in errors.ts. grammY's client does the HTTP; no auto-retry plugin is
 * installed, so a send is made once and the delivery layer decides about retries.
 */
import { Api, Bot } from "grammy";
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
import { ChannelSendError, transportStatus } from "../types.ts";
import { classifySendError, isEntityParseError, startError } from "./errors.ts";
import { mapUpdate, updateIdOf } from "./inbound.ts";
import type { BotIdentity } from "./mentions.ts";
import { readTelegramOptions, type TelegramOptions } from "./options.ts";
import { ALLOWED_UPDATES, Poller } from "./polling.ts";
import { htmlToPlain, renderTelegramHtml } from "./render.ts";
import { WebhookListener } from "./webhook.ts";

export function createTelegramAdapter(settings: AccountSettings): ChannelAdapter {
  return new TelegramAdapter(settings);
}

/** The General forum topic: sendMessage must leave it out ("thread not found"), typing keeps it. */
const GENERAL_TOPIC = 1;

class TelegramAdapter implements ChannelAdapter {
  readonly channel = "telegram" as const;
  readonly accountId: string;
  readonly caps: ChannelCaps = { maxChars: 4096, countUnit: "utf16", typing: true };
  private readonly options: TelegramOptions | undefined;
  /** A bad account block: reported by start(), so making the adapter never throws. */
  private readonly optionsError: unknown;
  private readonly bot: Bot | undefined;
  private identity: BotIdentity | undefined;
  private ctx: AdapterContext | undefined;
  private poller: Poller | undefined;
  private webhook: WebhookListener | undefined;
  private connected = false;
  private lastActivity: number | undefined;
  private lost = false;

  constructor(settings: AccountSettings) {
    this.accountId = settings.accountId;
    try {
      this.options = readTelegramOptions(settings);
      this.bot = new Bot(this.options.token, {
        client: {
          ...(this.options.apiRoot ? { apiRoot: this.options.apiRoot } : {}),
          timeoutSeconds: this.options.timeoutSeconds,
        },
      });
    } catch (err) {
      this.optionsError = err;
    }
  }

  private get api(): Api {
    if (!this.bot)
      throw new ChannelSendError(String(this.optionsError), "auth", undefined, { cause: this.optionsError });
    return this.bot.api;
  }

  async start(ctx: AdapterContext): Promise<void> {
    if (!this.options || !this.bot) throw this.optionsError;
    this.ctx = ctx;
    this.lost = false;
    let me;
    try {
      me = await this.api.getMe();
    } catch (err) {
      throw startError(err, this.accountId);
    }
    this.identity = { id: String(me.id), username: me.username ?? "" };
    this.touch();
    const o = this.options;
    if (o.mode === "webhook") {
      this.webhook = new WebhookListener({
        host: o.webhookHost,
        port: o.webhookPort,
        path: o.webhookPath,
        secret: o.webhookSecret!,
        handle: (u) => this.handle(u),
        rejected: (reason) => this.skip(reason),
        onRequest: () => this.touch(),
      });
      await this.webhook.listen();
      try {
        await this.api.setWebhook(o.webhookUrl!, {
          secret_token: o.webhookSecret!,
          allowed_updates: ALLOWED_UPDATES as never,
        });
      } catch (err) {
        await this.webhook.close();
        this.webhook = undefined;
        throw startError(err, this.accountId);
      }
    } else {
      try {
        // A webhook left by an earlier run would make every getUpdates a 409.
        await this.api.deleteWebhook({ drop_pending_updates: false });
      } catch (err) {
        throw startError(err, this.accountId);
      }
      // getUpdates gets its own client: its timeout must outlast the long poll.
      const pollApi = new Api(o.token, {
        ...(o.apiRoot ? { apiRoot: o.apiRoot } : {}),
        timeoutSeconds: o.pollingTimeoutSec + 15,
      });
      this.poller = new Poller({
        api: pollApi,
        accountId: this.accountId,
        botId: this.identity.id,
        timeoutSec: o.pollingTimeoutSec,
        state: ctx.state,
        log: ctx.log,
        handle: (u) => this.handle(u),
        giveUp: (u) => this.skip("ingest_failed", { updateId: updateIdOf(u) }),
        onPoll: (ok) => {
          this.connected = ok;
          if (ok) this.touch();
        },
        onLost: (err) => this.transportLost(err),
      });
      await this.poller.open();
    }
    this.connected = true;
  }

  async stop(): Promise<void> {
    const poller = this.poller;
    const webhook = this.webhook;
    this.poller = undefined;
    this.webhook = undefined;
    this.connected = false;
    await poller?.stop();
    await webhook?.close();
  }

  async send(chunk: OutboundChunk): Promise<DeliveryReceipt> {
    const t = chunk.target;
    const base = { ...sendThread(t), ...replyParams(t) };
    try {
      const m = await this.api.sendMessage(chatId(t.to), chunk.text, { ...base, parse_mode: "HTML" });
      this.touch();
      return { messageIds: [String(m.message_id)] };
    } catch (err) {
      if (!isEntityParseError(err)) throw classifySendError(err, "sendMessage");
      // The markup was refused, not the message: the same words as plain text.
      this.ctx?.log.warn({ err }, "telegram refused the HTML; sending plain text");
    }
    try {
      const m = await this.api.sendMessage(chatId(t.to), htmlToPlain(chunk.text), base);
      this.touch();
      return { messageIds: [String(m.message_id)] };
    } catch (err) {
      throw classifySendError(err, "sendMessage");
    }
  }

  async typing(target: ReplyTarget): Promise<void> {
    const thread = threadNumber(target.threadId);
    try {
      await this.api.sendChatAction(chatId(target.to), "typing", thread ? { message_thread_id: thread } : {});
    } catch (err) {
      throw classifySendError(err, "sendChatAction");
    }
  }

  async probe(): Promise<ProbeResult> {
    try {
      const me = await this.api.getMe();
      return { ok: true, identity: { id: String(me.id), ...(me.username ? { name: me.username } : {}) } };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  status(): TransportStatus {
    return transportStatus(this.connected, this.options?.mode ?? "polling", this.lastActivity);
  }

  render(markdown: string): string {
    return renderTelegramHtml(markdown);
  }

  /** One update into the gateway. True once it is taken (ingested or skipped on purpose). */
  private async handle(update: unknown): Promise<boolean> {
    const ctx = this.ctx;
    if (!ctx || !this.identity) return false;
    let mapped;
    try {
      mapped = mapUpdate(update, this.identity, this.accountId);
    } catch (err) {
      ctx.log.warn({ err }, "telegram update could not be read");
      mapped = { kind: "skip" as const, reason: "malformed" };
    }
    if (mapped.kind === "skip") {
      this.skip(mapped.reason, { updateId: updateIdOf(update), ...mapped.detail });
      return true;
    }
    try {
      await ctx.ingest(mapped.msg);
      return true;
    } catch (err) {
      ctx.log.warn({ err, updateId: updateIdOf(update) }, "telegram update not taken; it will be polled again");
      return false;
    }
  }

  private skip(reason: string, detail?: Record<string, unknown>): void {
    try {
      this.ctx?.skipped(reason, detail);
    } catch (err) {
      this.ctx?.log.warn({ err }, "skipped() threw");
    }
  }

  private transportLost(err: unknown): void {
    this.connected = false;
    if (this.lost) return;
    this.lost = true;
    this.poller = undefined;
    this.ctx?.disconnected(err);
  }

  private touch(): void {
    this.lastActivity = this.ctx?.now() ?? Date.now();
  }
}

/** Numeric ids as numbers (what Telegram documents); `@channelusername` stays a string. */
function chatId(to: string): number | string {
  const n = Number(to);
  return /^-?\d+$/.test(to) && Number.isSafeInteger(n) ? n : to;
}

function threadNumber(threadId: string | undefined): number | undefined {
  const n = Number(threadId);
  return threadId !== undefined && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function sendThread(t: ReplyTarget): { message_thread_id?: number } {
  const n = threadNumber(t.threadId);
  if (n === undefined) return {};
  // A group's General topic is addressed without a thread id; DM topics keep any id.
  if (n === GENERAL_TOPIC && String(t.to).startsWith("-")) return {};
  return { message_thread_id: n };
}

function replyParams(t: ReplyTarget): {
  reply_parameters?: { message_id: number; allow_sending_without_reply: boolean };
} {
  const n = Number(t.replyToMessageId);
  return t.replyToMessageId !== undefined && Number.isSafeInteger(n) && n > 0
    ? { reply_parameters: { message_id: n, allow_sending_without_reply: true } }
    : {};
}
