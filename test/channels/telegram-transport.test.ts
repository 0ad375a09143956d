/**
 * The Telegram adapter's transport against the crabline-backed fake: the offset across restarts
 * and failed ingests, a dropped long poll, revoked tokens and 409s, webhook mode, and sends —
 * reply_parameters, the General topic, HTML with its plain-text fallback, error classification.
 */
import * as http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { createTelegramAdapter } from "../../src/channels/telegram/index.ts";
import { ChannelFatalError, ChannelSendError, type ChannelAdapter } from "../../src/channels/types.ts";
import { freePort } from "../helpers/postgres-server.ts";
import { startTelegramFake, type TelegramFake } from "./fakes/telegram.ts";
import { recordingContext, until } from "./telegram-context.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(extra: Record<string, unknown> = {}): Promise<{ fake: TelegramFake; make(): ChannelAdapter }> {
  const fake = await startTelegramFake();
  cleanups.push(() => fake.close());
  const make = () => {
    const a = createTelegramAdapter({
      channel: "telegram",
      accountId: "default",
      token: fake.token,
      baseUrl: fake.apiRoot,
      raw: fake.channelConfig(extra),
    });
    cleanups.push(() => a.stop());
    return a;
  };
  return { fake, make };
}

const alice = { id: "1001", name: "Alice" };

describe("offset", () => {
  it("is saved after ingest: a restart reads nothing twice and misses nothing sent while down", async () => {
    const { fake, make } = await setup();
    const state = new Map<string, string>();
    const first = make();
    const ctx1 = recordingContext(state);
    await first.start(ctx1);
    await fake.sendDirect(alice, "one");
    await fake.sendDirect(alice, "two");
    await until(() => ctx1.ingested.length === 2, "two messages");
    await until(() => state.get("offset") !== undefined, "a saved offset");
    await first.stop();
    await fake.sendDirect(alice, "three (while down)");
    const ctx2 = recordingContext(state);
    await make().start(ctx2);
    await until(() => ctx2.ingested.length === 1, "the message sent while down");
    await fake.sendDirect(alice, "four");
    await until(() => ctx2.ingested.length === 2, "the next message");
    expect(ctx2.ingested.map((m) => m.envelope.text)).toEqual(["three (while down)", "four"]);
  });

  it("is saved with the bot's id; an offset saved for another bot (token changed) is not used", async () => {
    const { fake, make } = await setup();
    const state = new Map([
      ["offset", "999999"],
      ["botId", "1"],
    ]);
    const ctx = recordingContext(state);
    await make().start(ctx);
    await fake.sendDirect(alice, "for the new bot");
    await until(() => ctx.ingested.length === 1, "the message");
    await until(() => state.get("botId") === fake.bot.id, "the bot id saved");
    expect(Number(state.get("offset"))).toBeLessThan(999999);
  });

  it("does not move past an update whose ingest failed: it is polled again and taken once", async () => {
    const { fake, make } = await setup();
    const ctx = recordingContext();
    ctx.failIngest(2);
    await make().start(ctx);
    await fake.sendDirect(alice, "kept");
    await until(() => ctx.ingested.length === 1, "the message after two failed ingests");
    await fake.sendDirect(alice, "next");
    await until(() => ctx.ingested.length === 2, "the next message");
    expect(ctx.ingested.map((m) => m.envelope.text)).toEqual(["kept", "next"]);
    expect(ctx.skips).toEqual([]);
  });

  it("skips (and counts) an update whose ingest keeps failing, instead of stalling the account", async () => {
    const { fake, make } = await setup();
    const ctx = recordingContext();
    ctx.failIngest(3);
    await make().start(ctx);
    await fake.sendDirect(alice, "poisoned");
    await fake.sendDirect(alice, "after");
    await until(() => ctx.ingested.length === 1, "the message after the poisoned one");
    expect(ctx.ingested[0]!.envelope.text).toBe("after");
    expect(ctx.skips.map((s) => s.reason)).toEqual(["ingest_failed"]);
  });
});

describe("ordering", () => {
  it("a backlog of several chats: chats are taken side by side, each chat in its order", async () => {
    const { fake, make } = await setup();
    for (let i = 0; i < 10; i++) {
      for (const id of ["1001", "1002", "1003"]) await fake.sendDirect({ id }, `m${i}`);
    }
    const ctx = recordingContext();
    ctx.ingestDelay = () => Math.random() * 8;
    await make().start(ctx);
    await until(() => ctx.ingested.length === 30, "the backlog");
    for (const id of ["1001", "1002", "1003"]) {
      const texts = ctx.ingested.filter((m) => m.envelope.peerId === id).map((m) => m.envelope.text);
      expect(texts).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    }
  });
});

describe("connection", () => {
  it("comes back by itself after the long poll is dropped", async () => {
    const { fake, make } = await setup();
    const ctx = recordingContext();
    await make().start(ctx);
    await until(() => fake.activePolls === 1, "a long poll");
    await fake.dropConnection();
    await fake.sendDirect(alice, "after the drop");
    await until(() => ctx.ingested.length === 1, "the message after the drop");
    expect(ctx.lost).toEqual([]);
  });

  it("a revoked token: start fails fatally; while running, the supervisor is told (fatal)", async () => {
    const { fake, make } = await setup();
    const ctx = recordingContext();
    const adapter = make();
    await adapter.start(ctx);
    fake.revokeToken();
    await until(() => ctx.lost.length === 1, "the transport loss");
    expect(ctx.lost[0]).toBeInstanceOf(ChannelFatalError);
    expect(adapter.status().connected).toBe(false);
    await adapter.stop();
    await expect(make().start(recordingContext())).rejects.toBeInstanceOf(ChannelFatalError);
    expect((await make().probe()).ok).toBe(false);
  });

  it("409 (another poller) fails the start with a message saying so", async () => {
    const { fake, make } = await setup();
    fake.failNext("getUpdates", 409, {
      ok: false,
      error_code: 409,
      description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    });
    const err = await make()
      .start(recordingContext())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelFatalError);
    expect(String(err)).toMatch(/another process is polling this bot/);
  });

  it("a 409 while running (another poller took over) stops the account for good", async () => {
    const { fake, make } = await setup();
    const ctx = recordingContext();
    await make().start(ctx);
    await until(() => fake.activePolls === 1, "a long poll");
    fake.failNext("getUpdates", 409, {
      ok: false,
      error_code: 409,
      description: "Conflict: terminated by other getUpdates request",
    });
    await fake.dropConnection();
    await until(() => ctx.lost.length === 1, "the transport loss");
    expect(ctx.lost[0]).toBeInstanceOf(ChannelFatalError);
    expect(String(ctx.lost[0])).toMatch(/another process is polling this bot/);
  });

  it("a bad account block fails the start naming the key, without throwing from the factory", async () => {
    const { make } = await setup({ mode: "carrier-pigeon" });
    await expect(make().start(recordingContext())).rejects.toThrow(/channels\.telegram\.mode: "carrier-pigeon"/);
  });

  it("probe reports the bot's identity from getMe", async () => {
    const { fake, make } = await setup();
    expect(await make().probe()).toEqual({ ok: true, identity: { id: fake.bot.id, name: fake.bot.name } });
  });
});

describe("webhook mode", () => {
  it("setWebhook with the secret; deliveries ingested; a wrong secret is refused and counted", async () => {
    const port = await freePort();
    const secret = "s3cret_token-1";
    const { fake, make } = await setup({
      mode: "webhook",
      webhookUrl: `http://127.0.0.1:${port}/tg-hook`,
      webhookSecret: secret,
      webhookPath: "/tg-hook",
      webhookPort: port,
    });
    const ctx = recordingContext();
    const adapter = make();
    await adapter.start(ctx);
    expect(fake.callsOf("setWebhook")[0]!.body).toMatchObject({
      url: `http://127.0.0.1:${port}/tg-hook`,
      secret_token: secret,
    });
    expect(adapter.status().mode).toBe("webhook");
    await fake.sendDirect(alice, "via webhook");
    await until(() => ctx.ingested.length === 1, "the webhook delivery");
    expect(ctx.ingested[0]!.envelope.text).toBe("via webhook");
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          path: "/tg-hook",
          method: "POST",
          headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": "wrong" },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(
        JSON.stringify({ update_id: 999, message: { message_id: 1, chat: { id: 1, type: "private" }, text: "x" } }),
      );
    });
    expect(status).toBe(401);
    expect(ctx.skips.map((s) => s.reason)).toEqual(["webhook_bad_secret"]);
    expect(ctx.ingested).toHaveLength(1);
  });
});

describe("send", () => {
  const chunk = (target: Record<string, string>, text: string) => ({
    target: { channel: "telegram" as const, accountId: "default", to: "1001", ...target },
    text,
    idempotencyKey: "o1:0",
  });

  it("posts HTML with reply_parameters; the General topic without a thread id, other topics with theirs", async () => {
    const { fake, make } = await setup();
    const adapter = make();
    await adapter.start(recordingContext());
    await fake.sendGroup({ id: "-100777", threadId: "42" }, alice, "makes the chat a forum");
    const receipt = await adapter.send(chunk({ replyToMessageId: "7" }, adapter.render("**hi** <there>")));
    expect(receipt.messageIds).toHaveLength(1);
    await adapter.send(chunk({ to: "-100777", threadId: "1" }, "general"));
    await adapter.send(chunk({ to: "-100777", threadId: "42" }, "topic"));
    await adapter.send(chunk({ to: "1001", threadId: "1" }, "dm topic 1"));
    const calls = fake.callsOf("sendMessage").map((c) => c.body);
    expect(calls[0]).toMatchObject({ chat_id: 1001, text: "<b>hi</b> &lt;there&gt;", parse_mode: "HTML" });
    expect(calls[0]!.reply_parameters).toEqual({ message_id: 7, allow_sending_without_reply: true });
    expect(calls[1]!.message_thread_id).toBeUndefined();
    expect(calls[2]!.message_thread_id).toBe(42);
    expect(calls[3]!.message_thread_id).toBe(1);
    expect(fake.sent()[1]).toEqual({ to: "-100777", text: "general" });
    // Typing in the General topic keeps the id (that is where Telegram shows it).
    await adapter.typing!({ channel: "telegram", accountId: "default", to: "-100777", threadId: "1" });
    expect(fake.callsOf("sendChatAction")[0]!.body).toMatchObject({
      chat_id: -100777,
      action: "typing",
      message_thread_id: 1,
    });
  });

  it("falls back to plain text when Telegram cannot parse the entities (the HTML form only)", async () => {
    const { fake, make } = await setup();
    const adapter = make();
    await adapter.start(recordingContext());
    fake.failNext("sendMessage", 400, {
      ok: false,
      error_code: 400,
      description: "Bad Request: can't parse entities: Unsupported start tag at byte offset 0",
    });
    await adapter.send(chunk({}, "<b>bold</b> a &lt; b"));
    const calls = fake.callsOf("sendMessage");
    expect(calls).toHaveLength(2);
    expect(calls[1]!.body.parse_mode).toBeUndefined();
    expect(calls[1]!.body.text).toBe("bold a < b");
    expect(fake.sent()).toEqual([{ to: "1001", text: "bold a < b" }]);
  });

  it("classifies failures from error_code and retry_after", async () => {
    const { fake, make } = await setup();
    const adapter = make();
    await adapter.start(recordingContext());
    const failWith = async (status: number, description: string): Promise<ChannelSendError> => {
      fake.failNext("sendMessage", status, { ok: false, error_code: status, description });
      const err = await adapter.send(chunk({}, "x")).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChannelSendError);
      return err as ChannelSendError;
    };
    fake.rateLimitNextSend(7);
    const limited = (await adapter.send(chunk({}, "x")).catch((e: unknown) => e)) as ChannelSendError;
    expect([limited.kind, limited.retryAfterMs]).toEqual(["rate-limited", 7000]);
    expect((await failWith(400, "Bad Request: chat not found")).kind).toBe("permanent");
    expect((await failWith(400, "Bad Request: message is too long")).kind).toBe("permanent");
    expect((await failWith(403, "Forbidden: bot was kicked from the supergroup chat")).kind).toBe("permanent");
    expect((await failWith(403, "Forbidden: bot was blocked by the user")).kind).toBe("permanent");
    expect((await failWith(401, "Unauthorized")).kind).toBe("auth");
    // A 401 whose text happens to mention "retry after" is still a 401 (classified on error_code).
    expect((await failWith(401, "Unauthorized: retry after 5")).kind).toBe("auth");
    expect((await failWith(502, "Bad Gateway")).kind).toBe("transient");
    expect(fake.sent()).toEqual([]);
  });

  it("connection refused is transient (nothing was sent)", async () => {
    const port = await freePort();
    const adapter = createTelegramAdapter({
      channel: "telegram",
      accountId: "default",
      token: "1:x",
      baseUrl: `http://127.0.0.1:${port}`,
      raw: {},
    });
    const err = (await adapter
      .send({ target: { channel: "telegram", accountId: "default", to: "1" }, text: "x", idempotencyKey: "k" })
      .catch((e: unknown) => e)) as ChannelSendError;
    expect(err).toBeInstanceOf(ChannelSendError);
    expect(err.kind).toBe("transient");
  });
});
