/**
 * The context window follows the model that answers: a session switched from a 200k model to an
 * 8k one (WS `sessions.patch`, or `/model`) shows the 8k window in `/status` at once, and its
 * next turn compacts against 8k — with the reserve clamped to a quarter of the window, so a turn
 * of 3k tokens does not compact and one of 7k does. Real gateway, real OpenAI SDK client, a local
 * Chat Completions server reporting the usage the test asks for.
 */
import * as net from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { compactionBudget, contextWindowOf } from "../src/runtime/context-window.ts";
import { resolveAgentSettings } from "../src/runtime/agent-settings.ts";
import { createEchoProvider } from "../src/providers/echo.ts";
import { post, startTestGateway, WsClient } from "./helpers/gateway-harness.ts";
import { startUsageOpenAI, type UsageServer } from "./fixtures/usage-openai.ts";

type Gw = Awaited<ReturnType<typeof startTestGateway>>;
let gw: Gw | null = null;
let ws: WsClient | null = null;
let server: UsageServer;
beforeAll(async () => {
  server = await startUsageOpenAI();
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  ws?.close();
  ws = null;
  await gw?.cleanup();
  gw = null;
});

const dm = (text: string) => ({ channel: "telegram", chatType: "direct", peerId: "alice", senderId: "alice", text });
const KEY = "agent:main:main";

async function start(): Promise<Gw> {
  return startTestGateway({
    models: {
      providers: {
        openai: {
          api: "openai",
          baseUrl: `${server.url}/v1`,
          apiKey: "sk-test",
          models: [
            { id: "big", contextWindow: 200_000 },
            { id: "small", contextWindow: 8192 },
          ],
        },
      },
    },
    agents: { defaults: { model: "openai/big", compaction: { memoryFlush: { enabled: false } } } },
  });
}

const status = async (g: Gw) => (await post(`${g.url}/v1/inbound`, dm("/status"))).json.reply as string;
const thresholdCompactions = (g: Gw) =>
  [...g.metrics.compactions.values.entries()]
    .filter(([k]) => k.includes('trigger="threshold"'))
    .reduce((n, [, v]) => n + v, 0);

describe("the window of the answering model", () => {
  it("sessions.patch to an 8k model: /status and the compaction threshold change at once", async () => {
    gw = await start();
    await post(`${gw.url}/v1/inbound`, dm("hello tokens:3000"));
    expect(await status(gw)).toMatch(/📚 Context: 3\.0k\/200k \(2%\)/);

    ws = await WsClient.connect(gw.url);
    await ws.call("sessions.patch", { key: KEY, model: "openai/small" });
    const card = await status(gw);
    expect(card).toContain("🧠 Model: openai/small");
    expect(card).toMatch(/📚 Context: 3\.0k\/8\.2k \(37%\)/);
    expect(card).toContain("🧯 Reserve: 2.0k (clamped from 20k for a 8.2k window) · compacts above 6.1k");

    // 3 005 tokens used: under 8 192 − 2 048, so no compaction (unclamped, 8 192 − 20 000 would compact).
    await post(`${gw.url}/v1/inbound`, dm("still small tokens:3000"));
    expect(server.requests.at(-1)!.model).toBe("small");
    expect(thresholdCompactions(gw)).toBe(0);

    // 7 005 tokens: over the threshold of the 8k model (it would not be against the stale 200k).
    await post(`${gw.url}/v1/inbound`, dm("now big tokens:7000"));
    expect(thresholdCompactions(gw)).toBe(1);
    expect(await status(gw)).toContain("🧹 Compactions: 1");
  });

  it("/model to the 8k model shows the 8k window; back to the big one drops the clamp line", async () => {
    gw = await start();
    await post(`${gw.url}/v1/inbound`, dm("hi tokens:1000"));
    await post(`${gw.url}/v1/inbound`, dm("/model openai/small"));
    expect(await status(gw)).toMatch(/📚 Context: 1\.0k\/8\.2k/);
    await post(`${gw.url}/v1/inbound`, dm("/model openai/big"));
    const card = await status(gw);
    expect(card).toMatch(/📚 Context: 1\.0k\/200k/);
    expect(card).not.toContain("Reserve:");
  });

  it("a fallback that answers: the row records its model, provider and window, and compaction uses that window", async () => {
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", () => r()));
    const port = (dead.address() as net.AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    gw = await startTestGateway({
      models: {
        providers: {
          dead: {
            api: "openai",
            baseUrl: `http://127.0.0.1:${port}/v1`,
            apiKey: "sk-x",
            models: [{ id: "gone", contextWindow: 200_000 }],
          },
          openai: {
            api: "openai",
            baseUrl: `${server.url}/v1`,
            apiKey: "sk-test",
            models: [{ id: "small", contextWindow: 8192 }],
          },
        },
      },
      agents: {
        defaults: {
          model: { primary: "dead/gone", fallbacks: ["openai/small"] },
          compaction: { memoryFlush: { enabled: false } },
        },
      },
    });
    await post(`${gw.url}/v1/inbound`, dm("hello tokens:3000"));
    const row = (await gw.runtime.manager.get("main", KEY))!;
    expect(row).toMatchObject({ model: "small", modelProvider: "openai", contextTokens: 8192, totalTokens: 3000 });
    // 7 005 tokens: over the 8k fallback's threshold (6 144), far under the failed primary's 200k.
    await post(`${gw.url}/v1/inbound`, dm("much more tokens:7000"));
    expect(thresholdCompactions(gw)).toBe(1);
  });
});

describe("contextWindowOf and compactionBudget", () => {
  const settings = resolveAgentSettings(undefined, "main", "/tmp/x");
  const provider = {
    ...createEchoProvider(),
    name: "p",
    contextWindow: (m: string) => (m === "small" ? 8192 : undefined),
  };

  it("prefers the model's catalogue window, then the row's only when recorded for that model, then 200k", () => {
    const row = { sessionId: "s", updatedAt: 1, model: "big", modelProvider: "p", contextTokens: 100_000 };
    expect(contextWindowOf(settings, provider, "small", row)).toBe(8192);
    expect(contextWindowOf(settings, provider, "big", row)).toBe(100_000);
    expect(contextWindowOf(settings, provider, "other", row)).toBe(200_000);
    expect(contextWindowOf({ contextTokens: 50_000 }, provider, "other", row)).toBe(50_000);
  });

  it("keeps OpenClaw's reserve on big windows and clamps it to a quarter on small ones", () => {
    expect(compactionBudget(200_000, settings.compaction)).toMatchObject({
      reserve: 20_000,
      clamped: false,
      compactAbove: 180_000,
      flushAt: 176_000,
    });
    expect(compactionBudget(8192, settings.compaction)).toMatchObject({
      reserve: 2048,
      configuredReserve: 20_000,
      clamped: true,
      compactAbove: 6144,
      flushAt: 4096,
    });
  });
});
