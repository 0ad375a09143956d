/**
 * One scenario suite for every channel: each runs the real adapter (its platform's client library)
 * inside a real gateway against the platform's local fake (`PlatformFake`), with the offline echo
 * model. `defineChannelScenarios` is called once per fake by scenarios.test.ts.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { PincerConfig } from "../../src/config/schema.ts";
import type { RunningGateway } from "../../src/gateway/start.ts";
import { post, startTestGateway, until, WsClient } from "../helpers/gateway-harness.ts";
import type { FakeSent, FakeUser, PlatformFake } from "./platform-fake.ts";

type Gateway = RunningGateway & { home: string; cleanup(): Promise<void> };

const CODE = /Pairing code: ([A-Z2-9]{8})/;

export function defineChannelScenarios(name: string, startFake: () => Promise<PlatformFake>): void {
  describe(`channel scenarios: ${name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    });

    async function fake(): Promise<PlatformFake> {
      const f = await startFake();
      cleanups.push(() => f.close());
      return f;
    }

    function home(): string {
      const h = fs.mkdtempSync(path.join(os.tmpdir(), `pincer-scn-${name}-`));
      cleanups.push(async () => fs.rmSync(h, { recursive: true, force: true }));
      return h;
    }

    async function gateway(
      f: PlatformFake,
      channel: Record<string, unknown>,
      dir: string,
      extra: Partial<PincerConfig> = {},
    ): Promise<Gateway> {
      const config = {
        session: { dmScope: "per-channel-peer" },
        ...extra,
        channels: { [f.channel]: f.channelConfig(channel) },
      } as unknown as PincerConfig;
      const gw = await startTestGateway(config, { home: dir });
      cleanups.push(() => gw.stop(2000));
      await until(async () => (await gw.channels!.status()).some((a) => a.connected), 15_000);
      return gw;
    }

    const open = { dmPolicy: "open", allowFrom: ["*"], groupPolicy: "open" };
    const alice: FakeUser = {
      id: name === "signal" ? "+15550001001" : name === "slack" ? "U0ALICE" : "1001",
      name: "Alice",
    };
    const bob: FakeUser = { id: name === "signal" ? "+15550001002" : name === "slack" ? "U0BOB" : "1002", name: "Bob" };
    const group = {
      id:
        name === "telegram"
          ? "-100777"
          : name === "slack"
            ? "C0GROUP"
            : name === "signal"
              ? "Z3JvdXAtaWQtMQ=="
              : "900100",
      name: "Team",
    };

    /** Session keys, percent-decoded: routing encodes upper case where a channel keeps case (Signal group ids). */
    async function keys(gw: Gateway): Promise<string[]> {
      return (await gw.runtime.manager.list("main")).rows.map((r) => decodeURIComponent(r.key));
    }

    /** Waits for exactly `n` posts: n arrive, and a moment later there are still n. */
    async function exactly(f: PlatformFake, n: number): Promise<FakeSent[]> {
      await f.waitForSent(n, 15_000);
      await new Promise((r) => setTimeout(r, 250));
      expect(f.sent()).toHaveLength(n);
      return f.sent();
    }

    /**
     * Writes until one message is answered live. Each try comes from a new sender: a fake may not
     * replay the DM channel of a sender it knew before the reconnect (crabline's Discord server),
     * which is the platform's replay, not what this checks. Every answer is to a distinct message.
     */
    async function answeredAfterReconnect(f: PlatformFake, text: string): Promise<void> {
      const before = f.sent().length;
      for (let i = 0; i < 20; i++) {
        await f.sendDirect(
          {
            id:
              name === "signal"
                ? `+1555000300${String(i).padStart(2, "0")}`
                : name === "slack"
                  ? `U0LATE${i}`
                  : `300${i}`,
            name: `Late ${i}`,
          },
          `${text} ${i}`,
        );
        const deadline = Date.now() + 1000;
        while (Date.now() < deadline && f.sent().length === before) await new Promise((r) => setTimeout(r, 20));
        if (f.sent().length > before) break;
      }
      await new Promise((r) => setTimeout(r, 250));
      const answers = f
        .sent()
        .slice(before)
        .map((p) => p.text);
      expect(answers.some((t) => t.includes(text))).toBe(true);
      expect(new Set(answers).size).toBe(answers.length);
    }

    it("DM: answered in the DM, keyed as OpenClaw keys it", async () => {
      const f = await fake();
      const gw = await gateway(f, open, home());
      await f.sendDirect(alice, "hello there");
      const [reply] = await exactly(f, 1);
      expect(reply!.text).toContain("hello there");
      expect(reply!.threadId).toBeUndefined();
      expect(await keys(gw)).toContain(`agent:main:${f.channel}:direct:${f.directPeer(alice.id)}`);
    });

    it("group: without a mention nothing is answered (kept as history); with one it is, carrying the history", async () => {
      const f = await fake();
      const gw = await gateway(f, open, home());
      await f.sendGroup(group, bob, "lunch at noon", { mention: false });
      await f.sendGroup(group, alice, "what do you think", { mention: true });
      const [reply] = await exactly(f, 1);
      expect(reply!.text).toContain("what do you think");
      expect(reply!.text).toContain("lunch at noon");
      const g = f.groupPeer(group.id);
      expect(await keys(gw)).toEqual([`agent:main:${f.channel}:${g.chatType}:${g.peer}${g.threadSuffix ?? ""}`]);
    });

    it("topic / thread: its own key, the answer goes back into it", async () => {
      const f = await fake();
      if (name === "signal") return; // Signal groups have no threads.
      const gw = await gateway(f, open, home());
      const threadId = name === "slack" ? "1700000000.000100" : name === "telegram" ? "42" : "900200";
      await f.sendGroup({ ...group, threadId }, alice, "in the thread", { mention: true });
      const [reply] = await exactly(f, 1);
      const g = f.groupPeer(group.id, threadId);
      expect(await keys(gw)).toContain(`agent:main:${f.channel}:${g.chatType}:${g.peer}${g.threadSuffix ?? ""}`);
      if (name === "discord") expect(reply!.to).toBe(g.peer);
      else expect(reply).toMatchObject({ threadId });
    });

    it("pairing: a code, the same code again, at most 3 pending, expiry, approval, then answered", async () => {
      const f = await fake();
      const gw = await gateway(f, { dmPolicy: "pairing" }, home());
      const users: FakeUser[] = ["1", "2", "3", "4"].map((n) => ({
        id: name === "signal" ? `+1555000200${n}` : name === "slack" ? `U0PAIR${n}` : `200${n}`,
        name: `P${n}`,
      }));
      await f.sendDirect(users[0]!, "hi");
      const [first] = await f.waitForSent(1, 15_000);
      const code = CODE.exec(first!.text)![1]!;
      await f.sendDirect(users[0]!, "hi again");
      await f.sendDirect(users[1]!, "hi");
      await f.sendDirect(users[2]!, "hi");
      await f.sendDirect(users[3]!, "hi");
      const refusedPairing = () =>
        /pincer_channel_refused_total\{channel="[a-z]+",reason="pairing"\} (\d+)/.exec(gw.metrics.render())?.[1];
      await until(() => refusedPairing() === "5", 15_000);
      const posts = await exactly(f, 3);
      expect(new Set(posts.map((p) => CODE.exec(p.text)![1])).size).toBe(3);
      expect(await keys(gw)).toEqual([]);
      // The second request expires (created 2 h ago): the fourth sender now gets a code.
      const file = path.join(gw.home, "credentials", `${f.channel}-pairing.json`);
      const state = JSON.parse(fs.readFileSync(file, "utf8")) as { requests: Array<{ id: string; createdAt: string }> };
      state.requests[1]!.createdAt = new Date(Date.now() - 2 * 3600_000).toISOString();
      fs.writeFileSync(file, JSON.stringify(state));
      await f.sendDirect(users[3]!, "hi once more");
      await exactly(f, 4);
      const ws = await WsClient.connect(gw.url);
      expect(await ws.call("pairing.approve", { channel: f.channel, code })).toMatchObject({ approved: true });
      ws.close();
      await f.sendDirect(users[0]!, "may I now");
      const all = await exactly(f, 5);
      expect(all[4]!.text).toContain("may I now");
    });

    it("a long reply is split under the platform's limit with nothing lost", async () => {
      const f = await fake();
      await gateway(f, open, home());
      const words: string[] = [];
      // As long as one message may be: the echo's answer ("echo: " + it) is over the limit.
      for (let i = 0; words.join(" ").length + 7 <= f.maxChars; i++) words.push(`w${String(i).padStart(5, "0")}`);
      const text = words.join(" ") + "x".repeat(f.maxChars - words.join(" ").length);
      await f.sendDirect(alice, text);
      await f.waitForSent(2, 15_000);
      await new Promise((r) => setTimeout(r, 250));
      const posts = f.sent();
      for (const p of posts) expect(p.text.length).toBeLessThanOrEqual(f.maxChars);
      const joined = posts.map((p) => p.text).join(" ");
      const seen = joined.match(/w\d{5}/g) ?? [];
      expect(seen).toEqual(words);
    });

    it("restart: what was answered is not answered again", async () => {
      const f = await fake();
      const dir = home();
      const first = await gateway(f, open, dir);
      await f.sendDirect(alice, "before the restart");
      await exactly(f, 1);
      await first.stop(2000);
      await gateway(f, open, dir);
      await answeredAfterReconnect(f, "after the restart");
      const texts = f.sent().map((p) => p.text);
      expect(texts.filter((t) => t.includes("before the restart"))).toHaveLength(1);
    });

    it("the connection drops and the adapter comes back by itself", async () => {
      const f = await fake();
      await gateway(f, open, home());
      await f.sendDirect(alice, "one");
      await exactly(f, 1);
      await f.dropConnection();
      await answeredAfterReconnect(f, "two");
      expect(f.sent().filter((p) => p.text.includes("one"))).toHaveLength(1);
    });

    it("a 429 is waited out and the reply is posted once", async () => {
      const f = await fake();
      const gw = await gateway(f, open, home());
      f.rateLimitNextSend(1);
      await f.sendDirect(alice, "limited");
      const [reply] = await exactly(f, 1);
      expect(reply!.text).toContain("limited");
      expect(gw.metrics.render()).toMatch(/pincer_channel_delivery_total\{[^}]*result="retried"\} 1/);
    });

    it("the bot's own posts coming back as inbound are skipped: no reply loop", async () => {
      const f = await fake();
      const gw = await gateway(f, open, home());
      // What the bot posted, arriving as if someone wrote it: in a DM and mentioned in a group.
      await f.sendDirect(f.bot, "echo: from myself");
      await f.sendGroup(group, f.bot, "echo: from myself in the group", { mention: true });
      await f.sendDirect(alice, "a person");
      const [reply] = await exactly(f, 1);
      expect(reply!.text).toContain("a person");
      const skipped = () =>
        Number(
          new RegExp(
            `pincer_channel_inbound_total\\{[^}]*channel="${f.channel}"[^}]*outcome="skipped"[^}]*\\} (\\d+)`,
          ).exec(gw.metrics.render())?.[1] ?? 0,
        );
      await until(() => skipped() >= 2, 5000);
      expect(await keys(gw)).toEqual([`agent:main:${f.channel}:direct:${f.directPeer(alice.id)}`]);
    });

    it("a revoked token stops the adapter for good and shows in channels status", async () => {
      const f = await fake();
      const gw = await gateway(f, open, home());
      f.revokeToken();
      await f.dropConnection();
      await until(async () => (await gw.channels!.status())[0]!.state === "fatal", 20_000);
      const ws = await WsClient.connect(gw.url);
      const status = (await ws.call("channels.status", {})) as { accounts: Array<Record<string, unknown>> };
      ws.close();
      expect(status.accounts[0]).toMatchObject({
        channel: f.channel,
        state: "fatal",
        connected: false,
        error: expect.any(String),
      });
      // The /status card's channels line says it, with the reason.
      const card = await post(
        `${gw.url}/v1/inbound`,
        { channel: "webchat-test", chatType: "direct", peerId: "op", senderId: "op", text: "/status" },
        {},
      );
      expect(String(card.json.reply)).toMatch(new RegExp(`📡 Channels: ${f.channel} fatal: \\S`));
    });
  });
}
