/**
 * The Slack adapter (real @slack/bolt, Socket Mode) against the in-repo Slack fake: how events
 * become envelopes, when envelopes are acked, what is skipped, redeliveries, reconnects, sends and
 * how their failures look to the channel layer.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSlackAdapter } from "../../src/channels/slack/index.ts";
import { ChannelFatalError, ChannelSendError, type ChannelAdapter } from "../../src/channels/types.ts";
import { startSlackFake, type SlackFake } from "./fakes/slack.ts";
import { freePort, recorder, sendError, until, type Recorder } from "./fakes/slack-signal-context.ts";

let fake: SlackFake;
let adapter: ChannelAdapter;
let rec: Recorder;

function settings(extra: Record<string, unknown> = {}) {
  return {
    channel: "slack" as const,
    accountId: "default",
    token: fake.botToken,
    appToken: fake.appToken,
    baseUrl: fake.apiUrl,
    raw: { ...extra },
  };
}

beforeAll(async () => {
  fake = await startSlackFake();
  adapter = createSlackAdapter(settings());
  rec = recorder({ dedupe: true });
  await adapter.start(rec.ctx);
});

afterAll(async () => {
  await adapter.stop();
  await fake.close();
});

const alice = { id: "UALICE01", name: "Alice" };

describe("slack inbound: chat types and keys", () => {
  it("a DM is direct with the user as peer, replies to the DM channel", async () => {
    const ts = await fake.sendDirect(alice, "hello there");
    const m = await rec.next((x) => x.envelope.text === "hello there");
    expect(m.envelope).toMatchObject({
      channel: "slack",
      accountId: "default",
      chatType: "direct",
      peerId: "UALICE01",
      senderId: "UALICE01",
      senderName: "Alice",
      messageId: `DALICE01:${ts}`,
      teamId: fake.teamId,
      wasMentioned: false,
    });
    expect(m.envelope.groupId).toBeUndefined();
    expect(m.envelope.threadId).toBeUndefined();
    expect(m.reply).toEqual({ channel: "slack", accountId: "default", to: "DALICE01" });
  });

  it("a channel message is chatType channel with the channel as peer and group name from conversations.info", async () => {
    await fake.sendGroup({ id: "CGENERAL1", name: "general" }, alice, "morning all");
    const m = await rec.next((x) => x.envelope.text === "morning all");
    expect(m.envelope).toMatchObject({
      chatType: "channel",
      peerId: "CGENERAL1",
      groupId: "CGENERAL1",
      wasMentioned: false,
    });
    expect(m.groupName).toBe("general");
    expect(m.mention).toEqual({ explicit: false, replyToBot: false });
    expect(m.reply).toEqual({ channel: "slack", accountId: "default", to: "CGENERAL1" });
  });

  it("an MPIM is a group keyed by its channel", async () => {
    fake.setConversation("GMPIM0001", { type: "mpim" });
    await fake.sendGroup({ id: "GMPIM0001" }, alice, "three of us");
    const m = await rec.next((x) => x.envelope.text === "three of us");
    expect(m.envelope).toMatchObject({ chatType: "group", peerId: "GMPIM0001", groupId: "GMPIM0001" });
  });

  it("a private channel (channel_type group) is a channel", async () => {
    fake.setConversation("GPRIV0001", { type: "group", name: "secret" });
    await fake.sendGroup({ id: "GPRIV0001" }, alice, "private words");
    const m = await rec.next((x) => x.envelope.text === "private words");
    expect(m.envelope).toMatchObject({ chatType: "channel", peerId: "GPRIV0001" });
  });

  it("a thread reply carries threadId = thread_ts and replies into the thread", async () => {
    const root = fake.nextTs();
    await fake.sendGroup({ id: "CGENERAL1", threadId: root }, alice, "in the thread");
    const m = await rec.next((x) => x.envelope.text === "in the thread");
    expect(m.envelope.threadId).toBe(root);
    expect(m.reply).toEqual({ channel: "slack", accountId: "default", to: "CGENERAL1", threadId: root });
  });

  it("a thread in a DM keeps its thread id too", async () => {
    const root = fake.nextTs();
    const ev = fake.messageEvent({
      channel: "DALICE01",
      user: alice.id,
      text: "dm thread",
      thread_ts: root,
      parent_user_id: alice.id,
    });
    await fake.waitForAck(fake.pushEvent(ev).envelope_id);
    const m = await rec.next((x) => x.envelope.text === "dm thread");
    expect(m.envelope).toMatchObject({ chatType: "direct", peerId: "UALICE01", threadId: root });
  });

  it("the root message of a thread (thread_ts = ts, no parent) is not a thread reply", async () => {
    const ts = fake.nextTs();
    const ev = fake.messageEvent({ channel: "CGENERAL1", user: alice.id, text: "root itself", ts, thread_ts: ts });
    await fake.waitForAck(fake.pushEvent(ev).envelope_id);
    const m = await rec.next((x) => x.envelope.text === "root itself");
    expect(m.envelope.threadId).toBeUndefined();
  });
});

describe("slack inbound: mentions", () => {
  it("<@BOTID> in the text is an explicit mention", async () => {
    await fake.sendGroup({ id: "CGENERAL1" }, alice, "can you help", { mention: true });
    const m = await rec.next((x) => x.envelope.text.endsWith("can you help"));
    expect(m.envelope.text).toBe(`<@${fake.bot.id}> can you help`);
    expect(m.mention).toEqual({ explicit: true, replyToBot: false });
    expect(m.envelope.wasMentioned).toBe(true);
  });

  it("another user's mention is not ours", async () => {
    await fake.sendGroup({ id: "CGENERAL1" }, alice, "<@UBOB0001> look");
    const m = await rec.next((x) => x.envelope.text === "<@UBOB0001> look");
    expect(m.mention?.explicit).toBe(false);
  });

  it("a reply in a thread the bot started counts as replyToBot", async () => {
    const root = fake.nextTs();
    const ev = fake.messageEvent({
      channel: "CGENERAL1",
      user: alice.id,
      text: "following up",
      thread_ts: root,
      parent_user_id: fake.bot.id,
    });
    await fake.waitForAck(fake.pushEvent(ev).envelope_id);
    const m = await rec.next((x) => x.envelope.text === "following up");
    expect(m.mention).toEqual({ explicit: false, replyToBot: true });
    expect(m.envelope.wasMentioned).toBe(true);
  });

  it("a reply in a thread the bot posted in counts as replyToBot", async () => {
    const root = fake.nextTs();
    await adapter.send({
      target: { channel: "slack", accountId: "default", to: "CGENERAL1", threadId: root },
      text: "I am here",
      idempotencyKey: "t:0",
    });
    await fake.sendGroup({ id: "CGENERAL1", threadId: root }, alice, "thanks bot");
    const m = await rec.next((x) => x.envelope.text === "thanks bot");
    expect(m.mention?.replyToBot).toBe(true);
  });

  it("an app_mention event for a message already ingested is a duplicate of it (same message id)", async () => {
    const before = rec.inbound.length;
    const ev = fake.messageEvent({ channel: "CGENERAL1", user: alice.id, text: `<@${fake.bot.id}> both events` });
    await fake.waitForAck(fake.pushEvent(ev).envelope_id);
    const mention = {
      type: "app_mention",
      channel: "CGENERAL1",
      user: alice.id,
      text: ev.text,
      ts: ev.ts,
      event_ts: ev.ts,
    };
    await fake.waitForAck(fake.pushEvent(mention).envelope_id);
    expect(rec.inbound.length).toBe(before + 1);
    expect(rec.timeline).toContain(`duplicate:CGENERAL1:${String(ev.ts)}`);
  });
});

describe("slack inbound: acks and redeliveries", () => {
  it("acks the envelope after ingest resolved, before the turn", async () => {
    let release!: () => void;
    rec.holdIngest(new Promise<void>((r) => (release = r)));
    const ev = fake.messageEvent({ channel: "DALICE01", user: alice.id, text: "slow store" });
    const env = fake.pushEvent(ev);
    const id = `DALICE01:${String(ev.ts)}`;
    await until(() => rec.timeline.includes(`ingest:${id}`));
    // ingest has been called and is not done: the envelope must still be unacknowledged.
    expect(fake.acked(env.envelope_id)).toBe(false);
    release();
    rec.holdIngest(undefined);
    await fake.waitForAck(env.envelope_id);
    expect(rec.timeline).toContain(`ingested:${id}`);
  });

  it("acks anyway at the 3 s deadline when ingest hangs", async () => {
    let release!: () => void;
    rec.holdIngest(new Promise<void>((r) => (release = r)));
    const env = fake.pushEvent(fake.messageEvent({ channel: "DALICE01", user: alice.id, text: "stuck store" }));
    const ms = await fake.waitForAck(env.envelope_id, 5000);
    expect(ms).toBeLessThan(3000);
    release();
    rec.holdIngest(undefined);
    await rec.next((x) => x.envelope.text === "stuck store");
  });

  it("an ingest that fails leaves the envelope unacknowledged; Slack's retry is then ingested", async () => {
    rec.failNextIngest();
    const ev = fake.messageEvent({ channel: "DALICE01", user: alice.id, text: "store was down" });
    const first = fake.pushEvent(ev);
    await until(() => rec.timeline.includes(`failed:DALICE01:${String(ev.ts)}`));
    const retry = fake.redeliver(first);
    await fake.waitForAck(retry.envelope_id);
    await rec.next((x) => x.envelope.text === "store was down");
    expect(fake.acked(first.envelope_id)).toBe(false);
  });

  it("a retry_attempt redelivery carries the same messageId and is refused as a duplicate", async () => {
    const ev = fake.messageEvent({ channel: "DALICE01", user: alice.id, text: "say once" });
    const first = fake.pushEvent(ev);
    await fake.waitForAck(first.envelope_id);
    const again = fake.redeliver(first);
    expect(again.retry_attempt).toBe(1);
    await fake.waitForAck(again.envelope_id);
    const third = fake.redeliver(again);
    await fake.waitForAck(third.envelope_id);
    const id = `DALICE01:${String(ev.ts)}`;
    expect(rec.inbound.filter((m) => m.envelope.messageId === id)).toHaveLength(1);
    expect(rec.timeline.filter((t) => t === `ingest:${id}`)).toHaveLength(3);
  });
});

describe("slack inbound: skipped input", () => {
  const skipCase = async (event: Record<string, unknown>, reason: string): Promise<void> => {
    const before = rec.inbound.length;
    const env = fake.pushEvent(event);
    await fake.waitForAck(env.envelope_id);
    await rec.nextSkip(reason);
    expect(rec.inbound.length).toBe(before);
  };

  it("edits (message_changed) are skipped", () =>
    skipCase(
      fake.messageEvent({
        channel: "CGENERAL1",
        subtype: "message_changed",
        message: { user: alice.id, text: "edited", ts: "1.1" },
        hidden: true,
      }),
      "edited",
    ));
  it("deletions (message_deleted) are skipped", () =>
    skipCase(
      fake.messageEvent({ channel: "CGENERAL1", subtype: "message_deleted", deleted_ts: "1.1", hidden: true }),
      "deleted",
    ));
  it("bot messages (bot_id) are skipped", () =>
    skipCase(
      fake.messageEvent({ channel: "CGENERAL1", user: "UOTHERBOT", bot_id: "BOTHER01", text: "beep" }),
      "from-bot",
    ));
  it("bot_message subtype is skipped", () =>
    skipCase(
      fake.messageEvent({ channel: "CGENERAL1", subtype: "bot_message", bot_id: "BOTHER01", text: "beep" }),
      "from-bot",
    ));
  it("our own messages are skipped (no reply loop)", () =>
    skipCase(fake.messageEvent({ channel: "CGENERAL1", user: fake.bot.id, text: "I said this" }), "self"));
  it("a file-only message is skipped", () =>
    skipCase(
      fake.messageEvent({
        channel: "CGENERAL1",
        user: alice.id,
        subtype: "file_share",
        text: "",
        files: [{ id: "F1", name: "a.png" }],
      }),
      "media-only",
    ));
  it("channel joins and other subtypes are skipped", () =>
    skipCase(
      fake.messageEvent({
        channel: "CGENERAL1",
        user: alice.id,
        subtype: "channel_join",
        text: "<@UALICE01> has joined",
      }),
      "subtype",
    ));
  it("an event without user or ts is malformed", () =>
    skipCase({ type: "message", channel: "CGENERAL1", text: "who?" }, "malformed"));

  it("a file with a caption is a message", async () => {
    fake.pushEvent(
      fake.messageEvent({
        channel: "CGENERAL1",
        user: alice.id,
        subtype: "file_share",
        text: "see picture",
        files: [{ id: "F2" }],
      }),
    );
    const m = await rec.next((x) => x.envelope.text === "see picture");
    expect(m.envelope.chatType).toBe("channel");
  });

  it("a 20 000-character message is ingested whole (the gateway's size limit decides)", async () => {
    const text = "x".repeat(20_000);
    fake.pushEvent(fake.messageEvent({ channel: "DALICE01", user: alice.id, text }));
    const m = await rec.next((x) => x.envelope.text.length === 20_000);
    expect(m.envelope.text).toBe(text);
  });

  it("garbage frames and envelopes without an event do not break the socket", async () => {
    fake.pushRaw("{not json");
    fake.pushRaw("null");
    fake.pushRaw(JSON.stringify({ type: "events_api", envelope_id: "e-garbage", payload: { type: "event_callback" } }));
    const nullEvent = fake.pushEvent({}, { payload: { type: "event_callback", event: null } });
    await fake.sendDirect(alice, "still alive");
    await rec.next((x) => x.envelope.text === "still alive");
    // Malformed envelopes are acknowledged (Slack must not send them again) and counted.
    await fake.waitForAck("e-garbage");
    await fake.waitForAck(nullEvent.envelope_id);
    expect(rec.skipped.filter((s) => s.reason === "malformed").length).toBeGreaterThanOrEqual(4);
  });

  it("the bot leaving a channel is noted; sends there fail as permanent", async () => {
    const env = fake.pushEvent({
      type: "member_left_channel",
      user: fake.bot.id,
      channel: "CGONE0001",
      channel_type: "C",
    });
    await fake.waitForAck(env.envelope_id);
    await rec.nextSkip("removed-from-channel");
    fake.removeBotFrom("CGONE0001");
    const err = await adapter
      .send({
        target: { channel: "slack", accountId: "default", to: "CGONE0001" },
        text: "hello?",
        idempotencyKey: "g:0",
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelSendError);
    expect((err as ChannelSendError).kind).toBe("permanent");
  });
});

describe("slack send", () => {
  it("posts with chat.postMessage (thread_ts for threads) and returns the ts", async () => {
    const before = fake.sent().length;
    const r = await adapter.send({
      target: { channel: "slack", accountId: "default", to: "CGENERAL1", threadId: "1700000000.000100" },
      text: "*bold* reply",
      idempotencyKey: "o:0",
    });
    expect(r.messageIds).toHaveLength(1);
    expect(r.messageIds[0]).toMatch(/^\d+\.\d+$/);
    expect(fake.sent()[before]).toEqual({ to: "CGENERAL1", threadId: "1700000000.000100", text: "*bold* reply" });
  });

  it("a 429 is rate-limited with Retry-After, and is not retried by the client itself", async () => {
    const calls = fake.calls("chat.postMessage").length;
    fake.rateLimitNextSend(7);
    const err = await adapter
      .send({
        target: { channel: "slack", accountId: "default", to: "CGENERAL1" },
        text: "wait",
        idempotencyKey: "r:0",
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelSendError);
    expect((err as ChannelSendError).kind).toBe("rate-limited");
    expect((err as ChannelSendError).retryAfterMs).toBe(7000);
    expect(fake.calls("chat.postMessage").length).toBe(calls + 1);
  });

  it("too long and unknown channels are permanent", async () => {
    const long = await sendError(adapter, {
      target: { channel: "slack", accountId: "default", to: "CGENERAL1" },
      text: "y".repeat(40_001),
      idempotencyKey: "l:0",
    });
    expect(long.kind).toBe("permanent");
    expect(long.message).toContain("msg_too_long");
    const none = await sendError(adapter, {
      target: { channel: "slack", accountId: "default", to: "" },
      text: "x",
      idempotencyKey: "n:0",
    });
    expect(none.kind).toBe("permanent");
  });

  it("a refused connection is transient", async () => {
    const dead = createSlackAdapter({ ...settings(), baseUrl: `http://127.0.0.1:${await freePort()}/api/` });
    const err = await sendError(dead, {
      target: { channel: "slack", accountId: "default", to: "C1" },
      text: "x",
      idempotencyKey: "d:0",
    });
    expect(err).toBeInstanceOf(ChannelSendError);
    expect(err.kind).toBe("transient");
  });

  it("probe answers with the bot identity", async () => {
    expect(await adapter.probe()).toEqual({ ok: true, identity: { id: fake.bot.id, name: "pincer" } });
    expect(adapter.status()).toMatchObject({ connected: true, mode: "socket" });
  });
});

describe("slack socket mode: reconnects and fatal errors", () => {
  let f2: SlackFake | undefined;
  let a2: ChannelAdapter | undefined;
  afterEach(async () => {
    await a2?.stop();
    await f2?.close();
    a2 = undefined;
    f2 = undefined;
  });

  it("a disconnect frame makes the client dial again; events flow on the new socket", async () => {
    const n = fake.connections;
    fake.sendDisconnect();
    await fake.waitForConnections(n + 1);
    await fake.sendDirect(alice, "after refresh");
    await rec.next((x) => x.envelope.text === "after refresh");
    expect(rec.disconnects).toHaveLength(0);
  });

  it("a dropped socket comes back by itself", async () => {
    const n = fake.connections;
    await fake.dropConnection();
    await fake.waitForConnections(n + 1);
    await fake.sendDirect(alice, "after drop");
    await rec.next((x) => x.envelope.text === "after drop");
    expect(rec.disconnects).toHaveLength(0);
  });

  it("a revoked bot token fails start with ChannelFatalError", async () => {
    f2 = await startSlackFake();
    f2.revokeToken();
    a2 = createSlackAdapter({ ...settings(), token: f2.botToken, appToken: f2.appToken, baseUrl: f2.apiUrl });
    await expect(a2.start(recorder().ctx)).rejects.toBeInstanceOf(ChannelFatalError);
  });

  it("a wrong app token fails start with ChannelFatalError", async () => {
    f2 = await startSlackFake();
    a2 = createSlackAdapter({ ...settings(), token: f2.botToken, appToken: "xapp-wrong", baseUrl: f2.apiUrl });
    await expect(a2.start(recorder().ctx)).rejects.toBeInstanceOf(ChannelFatalError);
  });

  it("a token revoked while connected reaches ctx.disconnected as ChannelFatalError, sends fail as auth", async () => {
    f2 = await startSlackFake();
    const r2 = recorder();
    a2 = createSlackAdapter({ ...settings(), token: f2.botToken, appToken: f2.appToken, baseUrl: f2.apiUrl });
    await a2.start(r2.ctx);
    f2.revokeToken();
    expect(await r2.nextDisconnect()).toBeInstanceOf(ChannelFatalError);
    const err = await sendError(a2, {
      target: { channel: "slack", accountId: "default", to: "C1" },
      text: "x",
      idempotencyKey: "a:0",
    });
    expect(err.kind).toBe("auth");
  });

  it("missing credentials fail start naming the key", async () => {
    a2 = createSlackAdapter({ ...settings(), appToken: undefined });
    await expect(a2.start(recorder().ctx)).rejects.toThrow(/channels\.slack\.appToken/);
    const bad = createSlackAdapter({ ...settings(), raw: { mode: "websocket" } });
    await expect(bad.start(recorder().ctx)).rejects.toThrow(/channels\.slack\.mode/);
  });
});
