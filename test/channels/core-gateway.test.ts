/**
 * The channel layer inside a real gateway, with an in-memory adapter: the gate on adapter messages
 * and on `POST /v1/inbound`, pairing over WS, the one outbound point (replies, announces, cron, the
 * send policy), the reply ledger across a restart, status and metrics.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { startGateway, type RunningGateway } from "../../src/gateway/start.ts";
import type { PincerConfig } from "../../src/config/schema.ts";
import { post, ScriptedProvider, TOKEN, until, WsClient } from "../helpers/gateway-harness.ts";
import { FakePlatform } from "./core-fake-adapter.ts";

const homes: string[] = [];
const running: RunningGateway[] = [];
afterEach(async () => {
  for (const g of running.splice(0)) await g.stop(1000);
  for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
});

async function start(
  config: PincerConfig,
  platform: FakePlatform,
  opts: { home?: string; provider?: ScriptedProvider } = {},
) {
  const home = opts.home ?? fs.mkdtempSync(path.join(os.tmpdir(), "pincer-chgw-"));
  if (!opts.home) homes.push(home);
  const provider = opts.provider ?? new ScriptedProvider();
  const gw = await startGateway({
    config: { ...config, gateway: { auth: { token: TOKEN } } },
    home,
    port: 0,
    env: { PINCER_HOME: home },
    logger: pino({ level: "silent" }),
    resolveModelRef: () => ({ provider, model: "scripted", ref: "scripted/scripted" }),
    channelAdapters: { telegram: platform.factory, slack: platform.factory },
  });
  running.push(gw);
  await platform.waitForAdapter((a) => a.running);
  return { gw, home, provider };
}

const telegram = (extra: Record<string, unknown> = {}): PincerConfig => ({
  channels: { telegram: { botToken: "123:abc", ...extra } },
  session: { dmScope: "per-channel-peer" },
});

async function rows(gw: RunningGateway) {
  return (await gw.runtime.manager.list("main")).rows.map((r) => r.key);
}

describe("channel layer in the gateway", () => {
  it("an unknown DM gets a pairing code (no session, no model); approved over WS, it is answered", async () => {
    const platform = new FakePlatform();
    const { gw, provider } = await start(telegram(), platform);
    const adapter = platform.current!;
    const res = await adapter.inject({
      chatType: "direct",
      peerId: "42",
      senderId: "42",
      senderName: "Ann",
      text: "hello?",
    });
    expect(res).toEqual({ status: "refused", reason: "dmPolicy=pairing (pairing required)" });
    const [pairingMsg] = await platform.waitForSent(1);
    expect(pairingMsg!.target).toMatchObject({ channel: "telegram", accountId: "default", to: "42" });
    const code = /Pairing code: ([A-Z0-9]{8})/.exec(pairingMsg!.text)![1]!;
    // Again: same code, nothing sent again.
    await adapter.inject({ chatType: "direct", peerId: "42", senderId: "42", text: "hello??" });
    await gw.channels!.idle();
    expect(platform.sent).toHaveLength(1);
    expect(await rows(gw)).toEqual([]);
    expect(provider.requests).toHaveLength(0);

    const ws = await WsClient.connect(gw.url);
    const listed = (await ws.call("pairing.list", { channel: "telegram" })) as {
      requests: Array<{ id: string; code: string }>;
    };
    expect(listed.requests).toMatchObject([{ id: "42", code }]);
    expect(await ws.call("pairing.approve", { channel: "telegram", code, notify: true })).toMatchObject({
      approved: true,
      id: "42",
    });
    await platform.waitForSent(2);
    expect(platform.sent[1]!.text).toMatch(/access approved/);
    expect(await ws.call("pairing.approve", { channel: "telegram", code })).toMatchObject({ approved: false });
    ws.close();

    const ok = await adapter.inject({
      chatType: "direct",
      peerId: "42",
      senderId: "42",
      text: "now?",
      messageId: "m-now",
    });
    expect(ok).toMatchObject({ status: "accepted", sessionKey: "agent:main:telegram:direct:42" });
    await platform.waitForSent(3);
    expect(platform.sent[2]).toMatchObject({ text: "re: now?", target: { to: "42" } });
    expect(platform.typing.length).toBeGreaterThanOrEqual(1);
    // A redelivery of the same platform message is recognised and not answered again.
    const dup = await adapter.inject({
      chatType: "direct",
      peerId: "42",
      senderId: "42",
      text: "now?",
      messageId: "m-now",
    });
    expect(dup).toEqual({ status: "duplicate" });
    await gw.channels!.idle();
    expect(platform.sent).toHaveLength(3);
    expect(provider.requests).toHaveLength(1);
    expect(fs.existsSync(path.join(gw.channels!.pairing.dir, "telegram-default-allowFrom.json"))).toBe(true);
    // Command answers speak through the channel too.
    await adapter.inject({ chatType: "direct", peerId: "42", senderId: "42", text: "/new" });
    await platform.waitForSent(4);
    expect(platform.sent[3]).toMatchObject({ text: "✅ New session started.", target: { to: "42" } });
  });

  it("groups: refused groups create nothing; unmentioned lines ride along with the next mention", async () => {
    const platform = new FakePlatform();
    const { gw, provider } = await start(
      {
        ...telegram({ groups: { "-100": { requireMention: true } } }),
        agents: { list: [{ id: "main", groupChat: { mentionPatterns: ["\\bclaw\\b"] } }] },
      },
      platform,
    );
    const a = platform.current!;
    const none = { mention: { explicit: false, replyToBot: false } };
    expect(
      await a.inject(
        { chatType: "group", peerId: "-999", senderId: "1", text: "@bot hi" },
        { mention: { explicit: true, replyToBot: false } },
      ),
    ).toMatchObject({ status: "refused" });
    expect(
      await a.inject({ chatType: "group", peerId: "-100", senderId: "1", senderName: "Bo", text: "lunch at 12" }, none),
    ).toEqual({ status: "pending-history" });
    expect(await rows(gw)).toEqual([]);
    const r = await a.inject(
      { chatType: "group", peerId: "-100", senderId: "2", text: "@bot ok?" },
      { mention: { explicit: true, replyToBot: false } },
    );
    expect(r).toMatchObject({ status: "accepted", sessionKey: "agent:main:telegram:group:-100" });
    await platform.waitForSent(1);
    const prompt = provider.requests[0]!.messages.at(-1)!;
    expect(JSON.stringify(prompt.content)).toContain("Bo: lunch at 12");
    expect(platform.sent[0]!.target.to).toBe("-100");
    // The agent's own mention pattern (agents.list[].groupChat) triggers without a native mention.
    const byPattern = await a.inject({ chatType: "group", peerId: "-100", senderId: "2", text: "claw, status?" }, none);
    expect(byPattern).toMatchObject({ status: "accepted" });
    await platform.waitForSent(2);
  });

  it("textChunkLimit splits replies under the configured size, nothing lost", async () => {
    const platform = new FakePlatform();
    await start(telegram({ dmPolicy: "open", allowFrom: ["*"], textChunkLimit: 80 }), platform);
    const words = Array.from({ length: 20 }, (_, i) => `word${i}`);
    await platform.current!.inject({ chatType: "direct", peerId: "3", senderId: "3", text: words.join(" ") });
    await until(
      () =>
        platform.sent.join("").length > 0 &&
        platform.sent
          .map((c) => c.text)
          .join(" ")
          .includes("word19"),
    );
    for (const c of platform.sent) expect(c.text.length).toBeLessThanOrEqual(80);
    expect(platform.sent.length).toBe(2);
    expect(
      platform.sent
        .map((c) => c.text)
        .join(" ")
        .match(/word\d+/g),
    ).toEqual(words);
  });

  it("POST /v1/inbound: a channel with a block is gated; one without is accepted as before", async () => {
    const platform = new FakePlatform();
    const { gw, provider } = await start(telegram({ dmPolicy: "allowlist", allowFrom: ["7"] }), platform);
    const refused = await post(`${gw.url}/v1/inbound`, {
      channel: "telegram",
      chatType: "direct",
      peerId: "8",
      senderId: "8",
      text: "hi",
    });
    expect(refused).toMatchObject({
      status: 200,
      json: { status: "refused", reason: "dmPolicy=allowlist (not allowlisted)", reply: null },
    });
    const allowed = await post(`${gw.url}/v1/inbound`, {
      channel: "telegram",
      chatType: "direct",
      peerId: "7",
      senderId: "7",
      text: "hi",
    });
    expect(allowed.json).toMatchObject({ status: "ok", reply: "re: hi" });
    const bridged = await post(`${gw.url}/v1/inbound`, {
      channel: "whatsapp",
      chatType: "direct",
      peerId: "+1",
      senderId: "+1",
      text: "yo",
    });
    expect(bridged.json).toMatchObject({ status: "ok", reply: "re: yo" });
    expect(provider.requests).toHaveLength(2);
    const keys = await rows(gw);
    expect(keys.some((k) => k.includes(":8"))).toBe(false);
  });

  it("POST /v1/inbound under pairing returns the pairing text for the bridge to deliver", async () => {
    const platform = new FakePlatform();
    const { gw } = await start(telegram(), platform);
    const first = await post(`${gw.url}/v1/inbound`, {
      channel: "telegram",
      chatType: "direct",
      peerId: "9",
      senderId: "9",
      text: "hi",
    });
    expect(first.json).toMatchObject({ status: "refused", reply: expect.stringMatching(/Pairing code: [A-Z2-9]{8}/) });
    const again = await post(`${gw.url}/v1/inbound`, {
      channel: "telegram",
      chatType: "direct",
      peerId: "9",
      senderId: "9",
      text: "hi",
    });
    expect(again.json).toMatchObject({ status: "refused", reply: null });
    expect(platform.sent).toHaveLength(0);
  });

  it("announces go to the session's last route (its thread); /send off silences them; cron delivers to its target", async () => {
    const platform = new FakePlatform();
    const { gw } = await start(
      {
        channels: {
          slack: {
            botToken: "xoxb-1",
            appToken: "xapp-1",
            groupPolicy: "open",
            groups: { "*": { requireMention: false } },
          },
        },
        cron: {
          jobs: [
            { id: "daily", schedule: "0 0 1 1 *", message: "report", deliver: { channel: "slack", to: "C0CRON" } },
          ],
        },
      },
      platform,
    );
    const a = platform.current!;
    await a.inject({ chatType: "channel", peerId: "C123", senderId: "U1", threadId: "171.5", text: "start" });
    await platform.waitForSent(1);
    expect(platform.sent[0]!.target).toMatchObject({ channel: "slack", to: "C123", threadId: "171.5" });
    const key = "agent:main:slack:channel:c123:thread:171.5";
    expect(await rows(gw)).toContain(key);
    expect(await gw.runtime.deliverToRoute("main", key, "sub-agent finished: 42")).toBe(true);
    await platform.waitForSent(2);
    expect(platform.sent[1]).toMatchObject({
      text: "sub-agent finished: 42",
      target: { channel: "slack", to: "C123", threadId: "171.5" },
    });

    await gw.cron.runJob(gw.runtime.config.cron!.jobs![0]!);
    await platform.waitForSent(3);
    expect(platform.sent[2]).toMatchObject({
      text: "re: report",
      target: { channel: "slack", to: "C0CRON", accountId: "default" },
    });

    await gw.runtime.manager.patchSession("main", key, (cur) => (cur ? { ...cur, sendPolicy: "deny" } : undefined));
    expect(await gw.runtime.deliverToRoute("main", key, "should not be sent")).toBe(false);
    await gw.channels!.deliver({ channel: "slack", accountId: "default", to: "C123", threadId: "171.5" }, "direct", {
      agentId: "main",
      sessionKey: key,
      kind: "announce",
    });
    await gw.channels!.idle();
    expect(platform.sent).toHaveLength(3);
  });

  it("a reply recorded but not yet enqueued when the process stops is enqueued on the next start, once", async () => {
    const platform = new FakePlatform();
    const provider = new ScriptedProvider();
    provider.autoRelease = false;
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-chgw-"));
    homes.push(home);
    const first = await start(telegram({ dmPolicy: "open", allowFrom: ["*"] }), platform, { home, provider });
    await platform.current!.inject({ chatType: "direct", peerId: "5", senderId: "5", text: "ping" });
    await until(() => provider.waiting === 1);
    // The outbox goes away under the running turn (as if the process died right after the transcript write).
    await first.gw.channels!.delivery.close();
    provider.release();
    await until(
      async () =>
        (
          await first.gw.runtime.manager.transcriptLines(
            "main",
            (await first.gw.runtime.manager.get("main", "agent:main:telegram:direct:5"))!.sessionId,
            "agent:main:telegram:direct:5",
          )
        ).lines.length >= 3,
    );
    await first.gw.stop(1000);
    running.splice(running.indexOf(first.gw), 1);
    expect(platform.sent).toHaveLength(0);
    expect(fs.readFileSync(path.join(home, "channels", "replies.jsonl"), "utf8")).toContain('"t":"open"');

    const platform2 = new FakePlatform();
    const provider2 = new ScriptedProvider();
    const second = await start(telegram({ dmPolicy: "open", allowFrom: ["*"] }), platform2, {
      home,
      provider: provider2,
    });
    await platform2.waitForSent(1);
    await second.gw.channels!.idle();
    expect(platform2.sent.map((c) => c.text)).toEqual(["re: ping"]);
    expect(provider2.requests).toHaveLength(0);
    await second.gw.stop(1000);
    running.splice(running.indexOf(second.gw), 1);
    const platform3 = new FakePlatform();
    await start(telegram({ dmPolicy: "open", allowFrom: ["*"] }), platform3, { home });
    await new Promise((r) => setTimeout(r, 100));
    expect(platform3.sent).toHaveLength(0);
  });

  it("a message the last run took but never recorded (it died after the ledger line) is admitted on start", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-chgw-"));
    homes.push(home);
    fs.mkdirSync(path.join(home, "channels"), { recursive: true, mode: 0o700 });
    const line = (id: string, senderId: string, text: string) =>
      JSON.stringify({
        t: "open",
        e: {
          id,
          at: Date.now(),
          inbound: {
            envelope: {
              channel: "telegram",
              accountId: "default",
              chatType: "direct",
              peerId: senderId,
              senderId,
              text,
              messageId: `m-${id}`,
            },
            reply: { channel: "telegram", accountId: "default", to: senderId },
          },
        },
      });
    // One from an allowed sender, one the gate refuses.
    fs.writeFileSync(
      path.join(home, "channels", "replies.jsonl"),
      `${line("a1", "7", "left over")}\n${line("b2", "8", "stranger")}\n`,
    );
    const platform = new FakePlatform();
    const { gw, provider } = await start(telegram({ dmPolicy: "allowlist", allowFrom: ["7"] }), platform, { home });
    await platform.waitForSent(1);
    await gw.channels!.idle();
    expect(platform.sent.map((c) => [c.target.to, c.text])).toEqual([["7", "re: left over"]]);
    expect(provider.requests).toHaveLength(1);
    await gw.stop(1000);
    running.splice(running.indexOf(gw), 1);
    // Both entries are closed: the next start answers nothing.
    const platform2 = new FakePlatform();
    const provider2 = new ScriptedProvider();
    const again = await start(telegram({ dmPolicy: "allowlist", allowFrom: ["7"] }), platform2, {
      home,
      provider: provider2,
    });
    await again.gw.channels!.idle();
    expect(platform2.sent).toHaveLength(0);
    expect(provider2.requests).toHaveLength(0);
  });

  it("channels.status over WS, the /status line and the channel metrics", async () => {
    const platform = new FakePlatform();
    const { gw } = await start(
      {
        channels: {
          telegram: { botToken: "t", dmPolicy: "disabled", accounts: { default: {}, off: { enabled: false } } },
          discord: {},
          whatsapp: {},
        },
      },
      platform,
    );
    await platform.current!.inject({ chatType: "direct", peerId: "1", senderId: "1", text: "hi" });
    const ws = await WsClient.connect(gw.url);
    const status = (await ws.call("channels.status", { probe: true })) as { accounts: Array<Record<string, unknown>> };
    ws.close();
    expect(status.accounts).toEqual([
      expect.objectContaining({
        channel: "telegram",
        accountId: "default",
        state: "running",
        connected: true,
        queueDepth: 0,
        lastInboundAt: expect.any(Number),
        probe: expect.objectContaining({ ok: true }),
      }),
      expect.objectContaining({ channel: "telegram", accountId: "off", state: "disabled", enabled: false }),
      expect.objectContaining({
        channel: "discord",
        accountId: "default",
        state: "unconfigured",
        error: expect.stringMatching(/no token/),
      }),
    ]);
    const card = await post(
      `${gw.url}/v1/inbound`,
      { channel: "webchat-test", chatType: "direct", peerId: "op", senderId: "op", text: "/status" },
      {},
    );
    expect(String(card.json.reply)).toMatch(
      /📡 Channels: telegram connected · telegram\/off disabled · discord unconfigured/,
    );
    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(metrics).toMatch(
      /pincer_channel_inbound_total\{account="default",channel="telegram",outcome="received"\} 1/,
    );
    expect(metrics).toMatch(/pincer_channel_refused_total\{channel="telegram",reason="dmPolicy=disabled"\} 1/);
  });
});
