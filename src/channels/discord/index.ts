/**
 * The Discord adapter on discord.js: the Gateway WebSocket for inbound messages (discord.js resumes
 * and re-identifies by itself; only close codes it gives up on reach the supervisor), REST for
 * sends and typing. `channels.discord.apiRoot` points both at another server (the Gateway URL
 * comes from that server's `GET /gateway/bot`).
 */
import { Client, Events, GatewayIntentBits, Partials, Routes, type Message } from "discord.js";
import type {
  AccountSettings,
  AdapterContext,
  ChannelAdapter,
  DeliveryReceipt,
  OutboundChunk,
  ProbeResult,
  ReplyTarget,
  TransportStatus,
} from "../types.ts";
import { ChannelFatalError, transportStatus } from "../types.ts";
import { classifySendError, fatalCloseCode, fatalStartError } from "./errors.ts";
import { toInbound } from "./inbound.ts";

const DEFAULT_API_ROOT = "https://discord.com/api";
/** How long `start` waits for READY after login before the supervisor retries. */
const READY_TIMEOUT_MS = 30_000;

export function createDiscordAdapter(settings: AccountSettings): ChannelAdapter {
  return new DiscordAdapter(settings);
}

class DiscordAdapter implements ChannelAdapter {
  readonly channel = "discord" as const;
  readonly accountId: string;
  // Sends carry an enforced nonce (see nonceOf): a chunk whose outcome is unknown may be sent again.
  readonly caps = { maxChars: 2000, maxLines: 17, countUnit: "chars" as const, typing: true, idempotentSends: true };
  private client: Client | null = null;
  private ctx: AdapterContext | null = null;
  private botUserId = "";
  private connected = false;
  private lastActivity: number | undefined;

  private readonly settings: AccountSettings;

  constructor(settings: AccountSettings) {
    this.settings = settings;
    this.accountId = settings.accountId;
  }

  async start(ctx: AdapterContext): Promise<void> {
    const token = this.settings.token;
    if (!token) throw new ChannelFatalError(`discord account ${this.accountId}: no token configured`);
    await this.stop();
    this.ctx = ctx;
    const client = new Client({
      intents: [
        GatewayIntentBits.Guilds,
        GatewayIntentBits.GuildMessages,
        GatewayIntentBits.MessageContent,
        GatewayIntentBits.DirectMessages,
      ],
      // DM channels are not cached before their first message.
      partials: [Partials.Channel],
      rest: {
        api: this.settings.baseUrl ?? DEFAULT_API_ROOT,
        // Posts have no idempotency key: the channel layer decides what may be sent again.
        retries: 0,
        // A 429 goes back to the layer's queue (it pauses that chat) instead of blocking here.
        rejectOnRateLimit: () => true,
        timeout: 15_000,
      },
    });
    this.client = client;
    client.on(Events.MessageCreate, (message) => void this.onMessage(message));
    client.on(Events.Raw, () => {
      this.lastActivity = ctx.now();
    });
    client.on(Events.ShardResume, () => {
      this.connected = true;
    });
    client.on(Events.ShardReconnecting, () => {
      this.connected = false;
    });
    client.on(Events.ShardDisconnect, (event) => {
      this.connected = false;
      const err = fatalCloseCode(event.code)
        ? new ChannelFatalError(`discord gateway closed with ${event.code}: not recoverable`)
        : new Error(`discord gateway closed with ${event.code}`);
      ctx.disconnected(err);
    });
    client.on(Events.GuildDelete, (guild) => ctx.skipped("removed-from-guild", { guildId: guild.id }));
    client.on(Events.Error, (err) => ctx.log.warn({ err, channel: "discord" }, "discord client error"));
    client.on(Events.ShardError, (err) => ctx.log.debug({ err, channel: "discord" }, "discord gateway socket error"));
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("discord: no READY within 30 s")), READY_TIMEOUT_MS);
      client.once(Events.ClientReady, (c) => {
        clearTimeout(timer);
        this.botUserId = c.user.id;
        this.connected = true;
        resolve();
      });
    });
    try {
      await Promise.all([client.login(token), ready]);
    } catch (err) {
      await this.stop();
      throw fatalStartError(err) ?? err;
    }
  }

  private async onMessage(message: Message): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    try {
      const mapped = toInbound(message, this.accountId, this.botUserId);
      if ("skip" in mapped) {
        ctx.skipped(mapped.skip, { messageId: message.id });
        return;
      }
      await ctx.ingest(mapped.inbound);
    } catch (err) {
      // One bad event never takes the connection down.
      ctx.log.error({ err, channel: "discord", messageId: message.id }, "discord message not ingested");
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.connected = false;
    if (client) {
      client.removeAllListeners();
      await client.destroy();
    }
  }

  async send(chunk: OutboundChunk): Promise<DeliveryReceipt> {
    const client = this.requireClient();
    const body: Record<string, unknown> = {
      content: chunk.text,
      // Model text never pings @everyone, roles or users.
      allowed_mentions: { parse: [], replied_user: false },
      nonce: nonceOf(chunk.idempotencyKey),
      enforce_nonce: true,
    };
    if (chunk.target.replyToMessageId) {
      body.message_reference = { message_id: chunk.target.replyToMessageId, fail_if_not_exists: false };
    }
    try {
      const sent = (await client.rest.post(Routes.channelMessages(chunk.target.threadId ?? chunk.target.to), {
        body,
      })) as { id: string };
      return { messageIds: [sent.id] };
    } catch (err) {
      throw classifySendError(err);
    }
  }

  async typing(target: ReplyTarget): Promise<void> {
    const client = this.requireClient();
    try {
      await client.rest.post(Routes.channelTyping(target.threadId ?? target.to));
    } catch (err) {
      throw classifySendError(err);
    }
  }

  async probe(): Promise<ProbeResult> {
    const client = this.client;
    if (!client) return { ok: false, error: "not started" };
    try {
      const me = (await client.rest.get(Routes.user("@me"))) as { id: string; username?: string };
      return { ok: true, identity: { id: me.id, ...(me.username ? { name: me.username } : {}) } };
    } catch (err) {
      return { ok: false, error: classifySendError(err).message };
    }
  }

  status(): TransportStatus {
    return transportStatus(this.connected, "gateway", this.lastActivity);
  }

  /** Discord renders Markdown itself. */
  render(markdown: string): string {
    return markdown;
  }

  private requireClient(): Client {
    if (!this.client) throw classifySendError(Object.assign(new Error("not connected"), { code: "ECONNREFUSED" }));
    return this.client;
  }
}

/**
 * Discord dedupes a post with `enforce_nonce` when the nonce repeats within minutes: a chunk
 * re-sent after an ambiguous failure is not posted twice. Nonces are at most 25 characters.
 */
function nonceOf(idempotencyKey: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(idempotencyKey)) h = BigInt.asUintN(64, (h ^ BigInt(byte)) * 0x100000001b3n);
  return h.toString(36);
}
