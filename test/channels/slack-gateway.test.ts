/** Slack through a real gateway (CORE's channel manager, DELIVERY's queue): a DM in, the reply posted to the DM channel. */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { PincerConfig } from "../../src/config/schema.ts";
import { startTestGateway } from "../helpers/gateway-harness.ts";
import { startSlackFake, type SlackFake } from "./fakes/slack.ts";

let fake: SlackFake;
let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  fake = await startSlackFake();
  gw = await startTestGateway({
    session: { dmScope: "per-channel-peer" },
    channels: { slack: fake.channelConfig({ dmPolicy: "open", allowFrom: ["*"], groupPolicy: "open" }) },
  } as PincerConfig);
});

afterAll(async () => {
  await gw?.cleanup();
  await fake?.close();
});

it("a DM is answered in the DM channel, once, also when Slack redelivers it", async () => {
  await fake.waitForConnections(1);
  const ev = fake.messageEvent({ channel: "DCAROL001", user: "UCAROL001", text: "hello gateway" });
  const env = fake.pushEvent(ev);
  await fake.waitForAck(env.envelope_id);
  const [reply] = await fake.waitForSent(1);
  expect(reply?.to).toBe("DCAROL001");
  expect(reply?.threadId).toBeUndefined();
  expect(reply?.text.length).toBeGreaterThan(0);
  // Slack's retry of the same event: acked, never answered again.
  await fake.waitForAck(fake.redeliver(env).envelope_id);
  await fake.sendDirect({ id: "UCAROL001" }, "second message");
  const all = await fake.waitForSent(2);
  // Had the redelivery been answered, its answer would come before this one.
  expect(all.map((s) => [s.to, s.text])).toEqual([
    ["DCAROL001", "echo: hello gateway"],
    ["DCAROL001", "echo: second message"],
  ]);
});

it("a mention in a channel thread is answered in that thread; keys as OpenClaw builds them", async () => {
  const root = fake.nextTs();
  const before = fake.sent().length;
  await fake.sendGroup({ id: "CTEAM0001", name: "team", threadId: root }, { id: "UCAROL001" }, "thread question", {
    mention: true,
  });
  const posts = await fake.waitForSent(before + 1);
  expect(posts[before]).toMatchObject({ to: "CTEAM0001", threadId: root });
  // DMs per user (dmScope per-channel-peer), a channel thread as its own `:thread:<ts>` session.
  for (const key of ["agent:main:slack:direct:ucarol001", `agent:main:slack:channel:cteam0001:thread:${root}`]) {
    expect(await gw.runtime.manager.get("main", key), key).toBeDefined();
  }
});
