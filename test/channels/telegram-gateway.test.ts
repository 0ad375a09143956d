/**
 * Telegram through a real gateway (channel manager, gate, outbox, echo model) against the
 * crabline-backed fake: a DM is answered in its chat as a reply; a forum topic's answer goes back
 * to its topic; a restart on the same home answers what arrived while down and nothing twice.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { PincerConfig } from "../../src/config/schema.ts";
import { startTestGateway, TOKEN } from "../helpers/gateway-harness.ts";
import { freePort } from "../helpers/postgres-server.ts";
import { startTelegramFake, type TelegramFake } from "./fakes/telegram.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function gatewayFor(fake: TelegramFake, home: string, extra: Record<string, unknown> = {}) {
  const config = {
    session: { dmScope: "per-channel-peer" },
    channels: {
      telegram: fake.channelConfig({ dmPolicy: "open", allowFrom: ["*"], groupPolicy: "open", ...extra }),
    },
  } as unknown as PincerConfig;
  const gw = await startTestGateway(config, { home });
  return gw;
}

/** A fresh fake and home, both removed after the test. */
async function fakeAndHome(): Promise<{ fake: TelegramFake; home: string }> {
  const fake = await startTelegramFake();
  cleanups.push(() => fake.close());
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-tg-gw-"));
  cleanups.push(async () => fs.rmSync(home, { recursive: true, force: true }));
  return { fake, home };
}

/** A fake, a home and a gateway on them, all cleaned up after the test. */
async function started(extra: Record<string, unknown> = {}) {
  const { fake, home } = await fakeAndHome();
  const gw = await gatewayFor(fake, home, extra);
  cleanups.push(() => gw.cleanup());
  return { fake, gw };
}

const alice = { id: "1001", name: "Alice" };

describe("telegram through the gateway", () => {
  it("a DM is answered in its chat as a reply; a forum topic's answer lands in that topic", async () => {
    const { fake } = await started();
    const id = await fake.sendDirect(alice, "hello there");
    const [reply] = await fake.waitForSent(1);
    expect(reply).toMatchObject({ to: "1001", replyTo: id });
    expect(reply!.text).toContain("hello there");
    expect(reply!.threadId).toBeUndefined();
    const call = fake.callsOf("sendMessage")[0]!;
    expect(call.body.parse_mode).toBe("HTML");

    await fake.sendGroup({ id: "-100777", threadId: "42" }, alice, "in the topic", { mention: true });
    const posts = await fake.waitForSent(2);
    expect(posts[1]).toMatchObject({ to: "-100777", threadId: "42" });
  });

  it("bot, self, edited and bot-removed updates get no answer and are counted as skipped", async () => {
    const { fake, gw } = await started();
    const chat = { id: 1001, type: "private" };
    const bot = { id: Number(fake.bot.id), is_bot: true, first_name: "Pincer", username: fake.bot.name };
    fake.sendRaw({ message: { chat, from: { id: 2002, is_bot: true, first_name: "Other" }, text: "ping" } });
    fake.sendRaw({ message: { chat, from: bot, text: "echo: ping" } });
    fake.sendRaw({ edited_message: { message_id: 1, date: 1, chat, from: { id: 1001, is_bot: false }, text: "x" } });
    fake.sendRaw({
      my_chat_member: {
        chat: { id: -100555, type: "supergroup" },
        from: { id: 1001, is_bot: false, first_name: "A" },
        date: 1,
        old_chat_member: { status: "member", user: bot },
        new_chat_member: { status: "kicked", user: bot, until_date: 0 },
      },
    });
    await fake.sendDirect(alice, "a person");
    const [reply] = await fake.waitForSent(1);
    expect(reply!.text).toContain("a person");
    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const skipped = /pincer_channel_inbound_total\{[^}]*channel="telegram"[^}]*outcome="skipped"[^}]*\} (\d+)/.exec(
      metrics,
    );
    expect(Number(skipped?.[1])).toBe(4);
    expect(fake.sent()).toHaveLength(1);
  });

  it("a long reply is split under 4 096 characters with nothing lost", async () => {
    const { fake } = await started();
    const words = Array.from({ length: 1200 }, (_, i) => `w${i}`);
    await fake.sendDirect(alice, words.join(" "));
    // ~6 000 characters of echo: two chunks hold all of it, so every word must be in the first two.
    const all = await fake.waitForSent(2);
    const posts = all;
    for (const p of all) expect(p.text.length).toBeLessThanOrEqual(4096);
    const seen = all.flatMap((p) => p.text.split(/\s+/)).filter((w) => /^w\d+$/.test(w));
    expect(seen).toEqual(words);
    expect(posts[0]!.to).toBe("1001");
  });

  it("a 429 on the reply is waited out and the reply is posted once", async () => {
    const { fake } = await started();
    fake.rateLimitNextSend(1);
    await fake.sendDirect(alice, "limited");
    const [reply] = await fake.waitForSent(1);
    expect(reply!.text).toContain("limited");
    const statuses = fake.callsOf("sendMessage").map((c) => c.status);
    expect(statuses).toEqual([429, 200]);
  });

  it("webhook mode: the gateway's own listener takes Telegram's deliveries and the DM is answered", async () => {
    const port = await freePort();
    const { fake } = await started({
      mode: "webhook",
      webhookUrl: `http://127.0.0.1:${port}/telegram-webhook`,
      webhookSecret: "gw_secret-1",
      webhookPort: port,
    });
    await fake.sendDirect(alice, "over the webhook");
    const [reply] = await fake.waitForSent(1);
    expect(reply!.text).toContain("over the webhook");
    expect(fake.callsOf("getUpdates")).toHaveLength(0);
  });

  it("a restart on the same home answers what arrived while it was down, and nothing twice", async () => {
    const { fake, home } = await fakeAndHome();
    const first = await gatewayFor(fake, home);
    await fake.sendDirect(alice, "before");
    await fake.waitForSent(1);
    await first.stop(2000);
    await fake.sendDirect(alice, "while down");
    const second = await gatewayFor(fake, home);
    cleanups.push(() => second.stop(2000));
    await fake.waitForSent(2);
    await fake.sendDirect(alice, "after");
    const posts = await fake.waitForSent(3);
    // Give a duplicate every chance to show up before counting.
    await new Promise((r) => setTimeout(r, 300));
    const texts = fake.sent().map((p) => p.text);
    expect(texts).toHaveLength(3);
    expect(texts[0]).toContain("before");
    expect(texts[1]).toContain("while down");
    expect(posts[2]!.text).toContain("after");
  });
});
