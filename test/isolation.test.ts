/**
 * The isolation guard: no prompt answering one person may contain another person's words.
 * A property test drives random conversations of peers A and B through the real runtime under
 * every dmScope but "main"; a planted foreign line shows the guard refusing the turn.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { PincerConfig } from "../src/config/schema.ts";
import { post, ScriptedProvider, startTestGateway, TOKEN } from "./helpers/gateway-harness.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const userTexts = (req: { messages: Array<{ role: string; content: unknown }> }) =>
  req.messages.filter((m) => m.role === "user").map((m) => String(m.content));

describe("isolation", () => {
  it("under per-peer, per-channel-peer and per-account-channel-peer, A's text never reaches a prompt answering B", async () => {
    const provider = new ScriptedProvider();
    const scopes = ["per-peer", "per-channel-peer", "per-account-channel-peer"] as const;
    const gateways = new Map<string, Awaited<ReturnType<typeof startTestGateway>>>();
    for (const dmScope of scopes) {
      // Every Telegram account bound: a non-default account with no binding refuses groups (OpenClaw's rule).
      const bindings = [{ agentId: "main", match: { channel: "telegram", accountId: "*" } }];
      const gw = await startTestGateway(
        { session: { dmScope, store: { backend: "memory" } }, bindings } as PincerConfig,
        { provider },
      );
      gateways.set(dmScope, gw);
      cleanups.push(() => gw.cleanup());
    }
    const message = fc.record({
      peer: fc.constantFrom("A", "B"),
      channel: fc.constantFrom("telegram", "discord"),
      account: fc.constantFrom("acc1", "acc2"),
      chatType: fc.constantFrom("direct", "direct", "group"),
      text: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() !== "" && !s.trim().startsWith("/")),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...scopes),
        fc.array(message, { minLength: 1, maxLength: 8 }),
        async (dmScope, msgs) => {
          const gw = gateways.get(dmScope)!;
          run++;
          const start = provider.requests.length;
          for (const [i, m] of msgs.entries()) {
            // Every text carries its author, so a leak is visible in any prompt.
            const text = `<${m.peer}:${run}:${i}> ${m.text}`;
            const accepted = await gw.runtime.submit(
              {
                channel: m.channel,
                accountId: m.account,
                chatType: m.chatType,
                peerId: m.chatType === "group" ? `room-${m.peer}-${run}` : `${m.peer}-${run}`,
                senderId: `${m.peer}-${run}`,
                text,
                wasMentioned: true,
              },
              { surface: "http", commandAuthorized: false },
            );
            await accepted.done;
          }
          for (const req of provider.requests.slice(start)) {
            const authors = new Set(
              userTexts(req)
                .map((t) => /^<([AB]):/.exec(t)?.[1])
                .filter(Boolean),
            );
            if (authors.size > 1)
              throw new Error(`${dmScope}: one prompt holds messages of A and B: ${JSON.stringify(userTexts(req))}`);
          }
        },
      ),
      { numRuns: 60 },
    );
    // Every message was answered by a model call that the property inspected.
    expect(provider.requests.length).toBeGreaterThanOrEqual(60);
    // The property is not vacuous: under dmScope "main" the same traffic does mix A and B.
    const mainGw = await startTestGateway({ session: { store: { backend: "memory" } } } as PincerConfig, { provider });
    cleanups.push(() => mainGw.cleanup());
    const before = provider.requests.length;
    for (const peer of ["A", "B"])
      await (
        await mainGw.runtime.submit(
          { channel: "telegram", chatType: "direct", peerId: peer, senderId: peer, text: `<${peer}:0:0> hi` },
          { surface: "http" },
        )
      ).done;
    const last = provider.requests.slice(before).at(-1)!;
    expect(new Set(userTexts(last).map((t) => t.slice(1, 2)))).toEqual(new Set(["A", "B"]));
  }, 120_000);

  it("no peer reaches linked Alice's or Kate's history by choosing its id (identityLinks forgery, Unicode case folding)", async () => {
    const provider = new ScriptedProvider();
    const config = {
      session: {
        dmScope: "per-channel-peer",
        identityLinks: { alice: ["telegram:111", "discord:222"] },
        store: { backend: "memory" },
      },
    } as PincerConfig;
    const gw = await startTestGateway(config, { provider });
    cleanups.push(() => gw.cleanup());
    const dm = (channel: string, peer: string, text: string) => ({
      channel,
      chatType: "direct",
      peerId: peer,
      senderId: peer,
      text,
    });
    const alice = await post(`${gw.url}/v1/inbound`, dm("discord", "222", "alice's diary"));
    const kate = await post(`${gw.url}/v1/inbound`, dm("telegram", "kate", "kate's diary"));
    // Reference §2.5 still holds: the same person through another linked id shares the session.
    expect((await post(`${gw.url}/v1/inbound`, dm("discord", "222", "me again"))).json.sessionKey).toBe(
      alice.json.sessionKey,
    );
    for (const [channel, forged, victim] of [
      ["discord", "alice", alice],
      ["discord", "telegram:111", alice],
      ["discord", "Alice", alice],
      ["telegram", "\u212aate", kate],
    ] as const) {
      const before = provider.requests.length;
      const r = await post(`${gw.url}/v1/inbound`, dm(channel, forged, "what do you know?"));
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(r.json.sessionKey, `${channel} peer ${JSON.stringify(forged)}`).not.toBe(victim.json.sessionKey);
      const prompt = provider.requests.slice(before).flatMap(userTexts);
      expect(
        prompt.some((t) => t.includes("diary")),
        `${forged}: ${JSON.stringify(prompt)}`,
      ).toBe(false);
    }
  }, 60_000);

  it("a message of another session planted in a transcript makes the guard refuse the turn and log a security event", async () => {
    const gw = await startTestGateway({ session: { dmScope: "per-channel-peer" } });
    cleanups.push(() => gw.cleanup());
    const dm = (peer: string, text: string) => ({
      channel: "telegram",
      chatType: "direct",
      peerId: peer,
      senderId: peer,
      text,
    });
    await post(`${gw.url}/v1/inbound`, dm("alice", "alice's diary"));
    const bob = await post(`${gw.url}/v1/inbound`, dm("bob", "hello"));
    await gw.stop();
    // Simulate a bug (or tampering) that put Alice's line into Bob's transcript.
    const aliceRow = await (async () => {
      const index = JSON.parse(
        fs.readFileSync(path.join(gw.home, "agents", "main", "sessions", "sessions.json"), "utf8"),
      ) as Record<string, { sessionId: string }>;
      return index["agent:main:telegram:direct:alice"]!;
    })();
    const dir = path.join(gw.home, "agents", "main", "sessions");
    const aliceLine = fs
      .readFileSync(path.join(dir, `${aliceRow.sessionId}.jsonl`), "utf8")
      .split("\n")
      .find((l) => l.includes("alice's diary"))!;
    fs.appendFileSync(
      path.join(dir, `${bob.json.sessionId as string}.jsonl`),
      `${aliceLine.replace(/"id":"[0-9a-f]{8}"/, '"id":"deadbeef"')}\n`,
    );
    const gw2 = await startTestGateway({ session: { dmScope: "per-channel-peer" } }, { home: gw.home });
    cleanups.push(() => gw2.cleanup());
    const r = await post(`${gw2.url}/v1/inbound`, dm("bob", "what do you know?"));
    expect(r.json).toMatchObject({ status: "error", reply: null, delivered: false });
    expect(String(r.json.error)).toContain("isolation guard");
    const metrics = await (await fetch(`${gw2.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(metrics).toContain('pincer_security_events_total{event="isolation_violation"} 1');
    // Alice's own session still works.
    expect((await post(`${gw2.url}/v1/inbound`, dm("alice", "still there?"))).json.reply).toBe("echo: still there?");
  }, 60_000);
});
