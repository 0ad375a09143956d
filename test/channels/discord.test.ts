/**
 * The Discord adapter (real discord.js) against crabline's Discord server: how events become
 * envelopes and keys' inputs, what is skipped, how sends and failures look to the channel layer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { ChannelType, MessageType, type Message } from "discord.js";
import { createDiscordAdapter } from "../../src/channels/discord/index.ts";
import { toInbound } from "../../src/channels/discord/inbound.ts";
import {
  ChannelFatalError,
  ChannelSendError,
  type AdapterContext,
  type ChannelAdapter,
  type ChannelInbound,
} from "../../src/channels/types.ts";
import { snowflake, startDiscordFake, type DiscordFake } from "./fakes/discord.ts";

interface Recorder {
  ctx: AdapterContext;
  inbound: ChannelInbound[];
  skipped: string[];
  disconnects: unknown[];
  next(pred?: (m: ChannelInbound) => boolean, timeoutMs?: number): Promise<ChannelInbound>;
}

function recorder(): Recorder {
  const inbound: ChannelInbound[] = [];
  const skipped: string[] = [];
  const disconnects: unknown[] = [];
  const state = new Map<string, string>();
  return {
    inbound,
    skipped,
    disconnects,
    ctx: {
      async ingest(msg) {
        inbound.push(msg);
        return { status: "accepted", sessionKey: "test" };
      },
      skipped: (reason) => skipped.push(reason),
      disconnected: (err) => disconnects.push(err),
      state: { get: async (k) => state.get(k), set: async (k, v) => void state.set(k, v) },
      log: pino({ level: "silent" }),
      now: Date.now,
    },
    async next(pred = () => true, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const hit = inbound.find(pred);
        if (hit) return hit;
        if (Date.now() > until)
          throw new Error(`no matching inbound; got ${JSON.stringify(inbound.map((m) => m.envelope.text))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

function adapterFor(fake: DiscordFake, accountId = "default"): ChannelAdapter {
  const cfg = fake.channelConfig();
  return createDiscordAdapter({
    channel: "discord",
    accountId,
    token: cfg.token as string,
    baseUrl: cfg.apiRoot as string,
    raw: cfg,
  });
}

describe("discord adapter", () => {
  let fake: DiscordFake;
  let adapter: ChannelAdapter;
  let rec: Recorder;

  beforeAll(async () => {
    fake = await startDiscordFake();
    adapter = adapterFor(fake);
    rec = recorder();
    await adapter.start(rec.ctx);
  });
  afterAll(async () => {
    await adapter?.stop();
    await fake?.close();
  });

  it("a DM becomes a direct envelope with the author as peer, answered in the DM as a reply", async () => {
    const id = await fake.sendDirect({ id: "alice", name: "Alice" }, "hello there");
    const msg = await rec.next((m) => m.envelope.messageId === id);
    expect(msg.envelope).toMatchObject({
      channel: "discord",
      accountId: "default",
      chatType: "direct",
      peerId: snowflake("alice"),
      senderId: snowflake("alice"),
      text: "hello there",
    });
    expect(msg.reply.replyToMessageId).toBe(id);
    const receipt = await adapter.send({ target: msg.reply, text: "**hi** Alice", idempotencyKey: "o1:0" });
    expect(receipt.messageIds).toHaveLength(1);
    const posts = await fake.waitForSent(1);
    expect(posts.at(-1)).toMatchObject({ to: msg.reply.to, text: "**hi** Alice", replyTo: id });
    // The bot's own post comes back over the Gateway: skipped, never ingested.
    await vi_waitFor(() => rec.skipped.includes("own-message"));
    expect(rec.inbound.some((m) => m.envelope.text === "**hi** Alice")).toBe(false);
  });

  it("a guild channel message is a channel envelope; a native mention and a reply to the bot both count", async () => {
    const plain = await fake.sendGroup({ id: "general" }, { id: "bob" }, "just chatting");
    const m1 = await rec.next((m) => m.envelope.messageId === plain);
    expect(m1.envelope).toMatchObject({ chatType: "channel", peerId: snowflake("general"), guildId: fake.guildId });
    expect(m1.envelope.wasMentioned).toBe(false);
    expect(m1.mention).toEqual({ explicit: false, replyToBot: false });

    const mentioned = await fake.sendGroup({ id: "general" }, { id: "bob" }, "what time is it?", { mention: true });
    const m2 = await rec.next((m) => m.envelope.messageId === mentioned);
    expect(m2.envelope.wasMentioned).toBe(true);
    expect(m2.mention?.explicit).toBe(true);

    const botPost = await adapter.send({ target: m2.reply, text: "noon", idempotencyKey: "o2:0" });
    const replied = await fake.inject({
      guildId: fake.guildId,
      channelId: snowflake("general"),
      senderId: snowflake("bob"),
      content: "thanks!",
      message_reference: { message_id: botPost.messageIds[0] },
    });
    const m3 = await rec.next((m) => m.envelope.messageId === replied.id);
    expect(m3.mention).toEqual({ explicit: false, replyToBot: true });
    expect(m3.envelope.wasMentioned).toBe(true);
  });

  it("a thread is its own channel session with its parent kept for bindings", async () => {
    const id = await fake.sendGroup({ id: "general", threadId: "thread-1" }, { id: "carol" }, "in a thread");
    const msg = await rec.next((m) => m.envelope.messageId === id);
    expect(msg.envelope).toMatchObject({
      chatType: "channel",
      peerId: snowflake("thread-1"),
      parentPeerId: snowflake("general"),
      guildId: fake.guildId,
    });
    expect(msg.envelope.threadId).toBeUndefined();
    expect(msg.reply.to).toBe(snowflake("thread-1"));
  });

  it("a 429 is a rate-limited send failure carrying Discord's retry_after", async () => {
    const target = { channel: "discord" as const, accountId: "default", to: snowflake("general") };
    fake.rateLimitNextSend(2);
    const err = await adapter.send({ target, text: "x", idempotencyKey: "o3:0" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelSendError);
    expect((err as ChannelSendError).kind).toBe("rate-limited");
    expect((err as ChannelSendError).retryAfterMs).toBeGreaterThanOrEqual(1000);
    // The next send goes through.
    await expect(adapter.send({ target, text: "after the wait", idempotencyKey: "o3:1" })).resolves.toBeTruthy();
  });

  it("content over Discord's limit, or to a channel that does not exist, fails permanently", async () => {
    const target = { channel: "discord" as const, accountId: "default", to: snowflake("general") };
    const long = await adapter
      .send({ target, text: "x".repeat(2001), idempotencyKey: "o4:0" })
      .catch((e: unknown) => e);
    expect((long as ChannelSendError).kind).toBe("permanent");
    const missing = await adapter
      .send({ target: { ...target, to: snowflake("no-such-channel") }, text: "hi", idempotencyKey: "o5:0" })
      .catch((e: unknown) => e);
    expect((missing as ChannelSendError).kind).toBe("permanent");
  });

  it("a dropped Gateway connection comes back by itself and messages arrive again", async () => {
    await fake.dropConnection();
    // Messages sent while the socket is down are the platform's to replay (crabline replays the
    // message but not the new DM channel's CHANNEL_CREATE); what matters here is that the adapter
    // reconnects without the supervisor: keep writing, from new senders, until one arrives live.
    let arrived: ChannelInbound | undefined;
    for (let i = 0; i < 20 && !arrived; i++) {
      const id = await fake.sendDirect({ id: `dave-${i}` }, `are you back? ${i}`);
      arrived = await rec.next((m) => m.envelope.messageId === id, 1000).catch(() => undefined);
    }
    expect(arrived?.envelope.text).toMatch(/^are you back\?/);
    expect(rec.disconnects).toHaveLength(0);
  });

  it("probe reports the bot's identity", async () => {
    const p = await adapter.probe();
    expect(p).toMatchObject({ ok: true, identity: { id: fake.bot.id } });
  });
});

describe("discord adapter: credentials", () => {
  it("a revoked token stops a running adapter for good and refuses a new start as fatal", async () => {
    const fake = await startDiscordFake();
    const adapter = adapterFor(fake);
    const rec = recorder();
    try {
      await adapter.start(rec.ctx);
      fake.revokeToken();
      await vi_waitFor(() => rec.disconnects.length > 0, 15_000);
      expect(rec.disconnects[0]).toBeInstanceOf(ChannelFatalError);
      await adapter.stop();
      const again = adapterFor(fake);
      await expect(again.start(recorder().ctx)).rejects.toBeInstanceOf(ChannelFatalError);
      await again.stop();
    } finally {
      await adapter.stop();
      await fake.close();
    }
  });

  it("no token is fatal at start", async () => {
    const adapter = createDiscordAdapter({ channel: "discord", accountId: "default", raw: {} });
    await expect(adapter.start(recorder().ctx)).rejects.toBeInstanceOf(ChannelFatalError);
  });
});

async function vi_waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("discord inbound mapping: what is skipped", () => {
  const base = {
    id: "1",
    content: "hi",
    channelId: "10",
    guildId: null,
    webhookId: null,
    system: false,
    type: MessageType.Default,
    createdTimestamp: 0,
    author: { id: "7", bot: false, username: "u", globalName: null },
    member: null,
    attachments: new Map(),
    stickers: new Map(),
    mentions: { users: new Map(), repliedUser: null },
    channel: { type: ChannelType.DM, isThread: () => false },
  };
  const map = (over: Record<string, unknown>) => toInbound({ ...base, ...over } as unknown as Message, "default", "99");

  it.each([
    ["own-message", { author: { ...base.author, id: "99" } }],
    ["from-bot", { author: { ...base.author, bot: true } }],
    ["from-bot", { webhookId: "5" }],
    ["service-message", { system: true }],
    ["service-message", { type: MessageType.ChannelPinnedMessage }],
    ["media-only", { content: "", attachments: new Map([["a", {}]]) }],
    ["media-only", { content: "  ", stickers: new Map([["s", {}]]) }],
    ["empty", { content: "" }],
  ])("%s", (reason, over) => {
    expect(map(over)).toEqual({ skip: reason });
  });

  it("a 20 000-character message is passed on whole (the gateway's size limit decides)", () => {
    const r = map({ content: "y".repeat(20_000) });
    expect("inbound" in r && r.inbound.envelope.text.length).toBe(20_000);
  });
});
