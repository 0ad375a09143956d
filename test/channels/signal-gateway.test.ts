/** Signal through a real gateway (CORE's channel manager, DELIVERY's queue): a DM in, the reply sent back to the sender. */
import { afterAll, beforeAll, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { buildSessionKey, parseSessionKey } from "../../src/keys/session-key-codec.ts";
import { ADAPTER_FACTORIES } from "../../src/channels/registry.ts";
import { createSignalAdapter } from "../../src/channels/signal/index.ts";
import { startGateway, type RunningGateway } from "../../src/gateway/start.ts";
import { TOKEN } from "../helpers/gateway-harness.ts";
import { startSignalFake, type SignalFake } from "./fakes/signal.ts";

let fake: SignalFake;
let gw: RunningGateway | undefined;
let home: string;

beforeAll(async () => {
  fake = await startSignalFake();
  home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-gw-signal-"));
  gw = await startGateway({
    config: {
      gateway: { auth: { token: TOKEN } },
      session: { dmScope: "per-channel-peer" },
      channels: { signal: fake.channelConfig({ dmPolicy: "open", allowFrom: ["*"], groupPolicy: "open" }) },
    },
    home,
    port: 0,
    env: { PINCER_HOME: home },
    logger: pino({ level: "silent" }),
    // The registry's Signal entry is CORE's; the real adapter is supplied here in case it is not there yet.
    channelAdapters: { ...ADAPTER_FACTORIES, signal: ADAPTER_FACTORIES.signal ?? createSignalAdapter },
  });
});

afterAll(async () => {
  await gw?.stop(2000);
  await fake?.close();
  fs.rmSync(home, { recursive: true, force: true });
});

it("a DM is answered to the sender's number, once, and our own sync copy is not answered", async () => {
  await fake.waitForStreams(1);
  await fake.sendDirect({ id: "+15557770042", name: "Dana" }, "hello gateway");
  const [reply] = await fake.waitForSent(1);
  expect(reply?.to).toBe("+15557770042");
  expect(reply?.text.length).toBeGreaterThan(0);
  // signal-cli echoes what we sent as a sync message; answering it would loop.
  await fake.emitEnvelope({
    sourceNumber: fake.account,
    timestamp: fake.nextTimestamp(),
    syncMessage: { sentMessage: { destinationNumber: "+15557770042", message: reply?.text, timestamp: 1 } },
  });
  await fake.sendDirect({ id: "+15557770042" }, "second");
  const all = await fake.waitForSent(2);
  // Events are handled in stream order: had the sync copy been answered, that answer would be second.
  expect(all.map((s) => s.text)).toEqual(["echo: hello gateway", "echo: second"]);
});

it("a group message mentioning the bot is answered to the group; the key keeps the group id exactly", async () => {
  const groupId = "QmFzZTY0+Group/Id==";
  const before = fake.sent().length;
  await fake.sendGroup({ id: groupId, name: "Crew" }, { id: "+15557770042" }, "group question", { mention: true });
  const posts = await fake.waitForSent(before + 1);
  expect(posts[before]?.to).toBe(`group:${groupId}`);
  expect(fake.calls("send").at(-1)).toMatchObject({ groupId });
  expect(await gw?.runtime.manager.get("main", "agent:main:signal:direct:+15557770042")).toBeDefined();
  // Pincer's key form escapes capitals of case-sensitive channels; parsed, the id is exactly Signal's.
  const key = buildSessionKey({ kind: "group", agentId: "main", channel: "signal", groupId });
  expect(await gw?.runtime.manager.get("main", key), key).toBeDefined();
  expect(parseSessionKey(key)).toMatchObject({ kind: "group", groupId });
});
