/**
 * The Telegram adapter (grammY) against the crabline Bot API server behind the fake's proxy,
 * driven through a recording AdapterContext: how updates map to envelopes and reply targets,
 * native mention signals, and the bad-input list (each skipped and counted, the poll going on).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTelegramAdapter } from "../../src/channels/telegram/index.ts";
import type { ChannelAdapter, ChannelInbound } from "../../src/channels/types.ts";
import { resolveRoute } from "../../src/keys/routing.ts";
import { startTelegramFake, type TelegramFake } from "./fakes/telegram.ts";
import { recordingContext, until, type RecordingContext } from "./telegram-context.ts";

let fake: TelegramFake;
let adapter: ChannelAdapter;
let ctx: RecordingContext;

beforeEach(async () => {
  fake = await startTelegramFake();
  adapter = createTelegramAdapter({
    channel: "telegram",
    accountId: "default",
    token: fake.token,
    baseUrl: fake.apiRoot,
    raw: fake.channelConfig(),
  });
  ctx = recordingContext();
  await adapter.start(ctx);
});

afterEach(async () => {
  await adapter.stop();
  await fake.close();
});

const alice = { id: "1001", name: "Alice" };
/** The session key routing builds for what the adapter produced (OpenClaw's key shapes). */
const keyOf = (m: ChannelInbound) => resolveRoute(m.envelope, { session: { dmScope: "per-channel-peer" } }).sessionKey;
const botUser = () => ({ id: Number(fake.bot.id), is_bot: true, first_name: "Pincer", username: fake.bot.name });

describe("mapping", () => {
  it("a DM: peer = sender, reply to the chat with reply_parameters", async () => {
    const id = await fake.sendDirect(alice, "hello");
    await until(() => ctx.ingested.length === 1, "the DM");
    const m = ctx.ingested[0]!;
    expect(m.envelope).toMatchObject({
      channel: "telegram",
      accountId: "default",
      chatType: "direct",
      peerId: "1001",
      senderId: "1001",
      senderName: "Alice",
      text: "hello",
      messageId: id,
    });
    expect(m.envelope.threadId).toBeUndefined();
    expect(m.reply).toEqual({ channel: "telegram", accountId: "default", to: "1001", replyToMessageId: id });
    expect(keyOf(m)).toBe("agent:main:telegram:direct:1001");
  });

  it("a group without and with a native mention: peer = chat, wasMentioned from the entity", async () => {
    await fake.sendGroup({ id: "-100555", name: "Team" }, alice, "just chatting");
    await fake.sendGroup({ id: "-100555", name: "Team" }, alice, "what time is it?", { mention: true });
    await until(() => ctx.ingested.length === 2, "two group messages");
    const [plain, mentioned] = ctx.ingested;
    expect(plain!.envelope).toMatchObject({
      chatType: "group",
      peerId: "-100555",
      groupId: "-100555",
      wasMentioned: false,
    });
    expect(plain!.envelope.topicId).toBeUndefined();
    expect(plain!.groupName).toBe("Team");
    expect(plain!.envelope).toMatchObject({ groupSubject: "Team", isForum: false });
    expect(keyOf(plain!)).toBe("agent:main:telegram:group:-100555");
    expect(plain!.mention).toEqual({ explicit: false, replyToBot: false });
    expect(mentioned!.envelope.wasMentioned).toBe(true);
    expect(mentioned!.mention).toEqual({ explicit: true, replyToBot: false });
    expect(mentioned!.reply).toMatchObject({ to: "-100555" });
    expect(mentioned!.reply.threadId).toBeUndefined();
  });

  it("forum topics: topic n, and the General topic as 1", async () => {
    await fake.sendGroup({ id: "-100777", threadId: "42" }, alice, "in a topic");
    await fake.sendGroup({ id: "-100777", threadId: "1" }, alice, "in General");
    await until(() => ctx.ingested.length === 2, "two forum messages");
    const [topic, general] = ctx.ingested;
    expect(topic!.envelope).toMatchObject({ chatType: "group", peerId: "-100777", topicId: "42" });
    expect(topic!.reply).toMatchObject({ to: "-100777", threadId: "42" });
    expect(general!.envelope).toMatchObject({ peerId: "-100777", topicId: "1" });
    expect(general!.reply.threadId).toBe("1");
    expect(keyOf(topic!)).toBe("agent:main:telegram:group:-100777:topic:42");
    expect(keyOf(general!)).toBe("agent:main:telegram:group:-100777:topic:1");
    expect(fake.groupPeer("-100777", "42").peer).toBe("-100777:topic:42");
  });

  it("a DM topic is keyed :thread:<chatId>:<threadId>; the reply keeps the raw thread id", async () => {
    await fake.sendDirect(alice, "in a DM topic", { messageThreadId: 9 });
    await until(() => ctx.ingested.length === 1, "the DM topic message");
    const m = ctx.ingested[0]!;
    expect(m.envelope).toMatchObject({ chatType: "direct", peerId: "1001", threadId: "9" });
    expect(m.reply).toMatchObject({ to: "1001", threadId: "9" });
    expect(keyOf(m)).toBe("agent:main:telegram:direct:1001:thread:1001:9");
  });

  it("a reply thread in a non-forum group is no thread", async () => {
    fake.sendRaw({
      message: {
        chat: { id: -100888, type: "supergroup", title: "Plain" },
        from: { id: 1001, is_bot: false, first_name: "Alice" },
        text: "replying in a thread",
        message_thread_id: 77,
        reply_to_message: {
          message_id: 77,
          chat: { id: -100888, type: "supergroup" },
          from: { id: 1002, is_bot: false, first_name: "Bob" },
          text: "root",
        },
      },
    });
    await until(() => ctx.ingested.length === 1, "the reply");
    const m = ctx.ingested[0]!;
    expect(m.envelope.topicId).toBeUndefined();
    expect(m.envelope.threadId).toBeUndefined();
    expect(m.reply.threadId).toBeUndefined();
    expect(m.mention).toEqual({ explicit: false, replyToBot: false });
    expect(keyOf(m)).toBe("agent:main:telegram:group:-100888");
  });
});

describe("mentions", () => {
  it("by @username text without an entity, case-insensitive, but not inside a longer handle", async () => {
    await fake.sendGroup({ id: "-100555" }, alice, `hey @${fake.bot.name!.toUpperCase()}, ping`);
    await fake.sendGroup({ id: "-100555" }, alice, `hey @${fake.bot.name}x not me`);
    await until(() => ctx.ingested.length === 2, "two messages");
    expect(ctx.ingested[0]!.mention!.explicit).toBe(true);
    expect(ctx.ingested[1]!.mention!.explicit).toBe(false);
  });

  it("/cmd@bot is a mention and reaches the runtime as /cmd; /cmd@otherbot stays as written", async () => {
    const name = fake.bot.name!;
    fake.sendRaw({
      message: {
        chat: { id: -100555, type: "supergroup" },
        from: { id: 1001, is_bot: false, first_name: "Alice" },
        text: `/status@${name} now`,
        entities: [{ type: "bot_command", offset: 0, length: 8 + name.length }],
      },
    });
    await fake.sendGroup({ id: "-100555" }, alice, "/new@some_other_bot");
    await until(() => ctx.ingested.length === 2, "two commands");
    expect(ctx.ingested[0]!.envelope.text).toBe("/status now");
    expect(ctx.ingested[0]!.mention!.explicit).toBe(true);
    expect(ctx.ingested[1]!.envelope.text).toBe("/new@some_other_bot");
    expect(ctx.ingested[1]!.mention!.explicit).toBe(false);
  });

  it("by a text_mention of the bot's user id", async () => {
    fake.sendRaw({
      message: {
        chat: { id: -100555, type: "supergroup" },
        from: { id: 1001, is_bot: false, first_name: "Alice" },
        text: "Pincer look",
        entities: [{ type: "text_mention", offset: 0, length: 6, user: botUser() }],
      },
    });
    await until(() => ctx.ingested.length === 1, "the message");
    expect(ctx.ingested[0]!.envelope.wasMentioned).toBe(true);
  });

  it("by replying to the bot; a forum topic's root message is not a reply to the bot", async () => {
    fake.sendRaw({
      message: {
        chat: { id: -100555, type: "supergroup" },
        from: { id: 1001, is_bot: false, first_name: "Alice" },
        text: "and then?",
        reply_to_message: {
          message_id: 3,
          chat: { id: -100555, type: "supergroup" },
          from: botUser(),
          text: "an answer",
        },
      },
    });
    fake.sendRaw({
      message: {
        chat: { id: -100777, type: "supergroup", is_forum: true },
        from: { id: 1001, is_bot: false, first_name: "Alice" },
        text: "first line in a topic the bot made",
        message_thread_id: 50,
        is_topic_message: true,
        reply_to_message: {
          message_id: 50,
          chat: { id: -100777, type: "supergroup", is_forum: true },
          from: botUser(),
          forum_topic_created: { name: "t", icon_color: 1 },
        },
      },
    });
    await until(() => ctx.ingested.length === 2, "two messages");
    expect(ctx.ingested[0]!.mention).toEqual({ explicit: false, replyToBot: true });
    expect(ctx.ingested[0]!.envelope.wasMentioned).toBe(true);
    expect(ctx.ingested[1]!.mention).toEqual({ explicit: false, replyToBot: false });
    expect(ctx.ingested[1]!.envelope.topicId).toBe("50");
  });
});

describe("bad input: skipped and counted, never a crash, the poll goes on", () => {
  it("malformed, bot and self senders, edits, channel posts, sticker/media-only, service, bot removed", async () => {
    const chat = { id: -100555, type: "supergroup" };
    const person = { id: 1001, is_bot: false, first_name: "Alice" };
    fake.sendGarbage(42);
    fake.sendRaw({ message: { text: "no chat at all" } });
    fake.sendRaw({ message: "not an object" });
    fake.sendRaw({ message: { chat, from: { id: 2002, is_bot: true, first_name: "OtherBot" }, text: "hi" } });
    fake.sendRaw({ message: { chat, from: botUser(), text: "my own message" } });
    fake.sendRaw({ edited_message: { message_id: 5, date: 1, chat, from: person, text: "edited" } });
    fake.sendRaw({ channel_post: { message_id: 6, date: 1, chat: { id: -100999, type: "channel" }, text: "post" } });
    fake.sendRaw({ message: { chat, from: person, sticker: { file_id: "s", file_unique_id: "s", type: "regular" } } });
    fake.sendRaw({
      message: { chat, from: person, photo: [{ file_id: "p", file_unique_id: "p", width: 1, height: 1 }] },
    });
    fake.sendRaw({ message: { chat, from: person, new_chat_members: [person] } });
    fake.sendRaw({
      my_chat_member: {
        chat,
        from: person,
        date: 1,
        old_chat_member: { status: "member", user: botUser() },
        new_chat_member: { status: "kicked", user: botUser(), until_date: 0 },
      },
    });
    fake.sendRaw({ message: { chat, from: person, left_chat_member: botUser() } });
    fake.sendRaw({ callback_query: { id: "1", from: person, chat_instance: "x" } });
    // Still handled: a photo with a caption, and a 20 000-character text (Telegram's own limit is
    // 4096; the gateway's message-size rule decides, the adapter does not truncate or crash).
    fake.sendRaw({
      message: {
        chat,
        from: person,
        caption: "look",
        photo: [{ file_id: "p", file_unique_id: "p", width: 1, height: 1 }],
      },
    });
    const long = "x".repeat(20_000);
    fake.sendRaw({ message: { chat: { id: 1001, type: "private" }, from: person, text: long } });
    const after = await fake.sendDirect(alice, "still here");
    await until(() => ctx.ingested.some((m) => m.envelope.messageId === after), "the DM after the bad input");
    // Chats are taken side by side (each in order), so compare as sets.
    expect(ctx.ingested.map((m) => m.envelope.text.length).sort((a, b) => a - b)).toEqual([4, 10, 20_000]);
    const reasons = ctx.skips.map((s) => s.reason).sort();
    expect(reasons).toEqual(
      [
        "malformed",
        "malformed",
        "malformed",
        "from_bot",
        "self",
        "edited",
        "channel_post",
        "media_only",
        "media_only",
        "service",
        "bot_removed",
        "bot_removed",
        "unsupported_update",
      ].sort(),
    );
    expect(ctx.lost).toEqual([]);
    // The offset moved past every one of them.
    await until(() => Number(ctx.stateMap.get("offset")) > 16, "the offset past the DM");
  });
});
