/**
 * One message size limit (`gateway.maxMessageBytes`) on every surface: HTTP inbound, webhooks,
 * the OpenAI-compatible endpoint and the WebSocket. An oversized message is refused with an error
 * naming the limit and the config key, and nothing is recorded.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_OUTCOME_BYTES, RunRegistry } from "../src/gateway/run-registry.ts";
import type { TurnOutcome } from "../src/runtime/runtime.ts";
import { post, startTestGateway, WsClient } from "./helpers/gateway-harness.ts";

const LIMIT = 2000;
const HOOK_TOKEN = "limits-hook-token-0123456789";
let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  gw = await startTestGateway({
    gateway: { maxMessageBytes: LIMIT },
    hooks: { endpoints: [{ id: "big", token: HOOK_TOKEN }] },
  });
});
afterAll(async () => {
  await gw.cleanup();
});

function transcripts(): string[] {
  const dir = path.join(gw.home, "agents", "main", "sessions");
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith(".jsonl")) : [];
}

const over = "é".repeat(LIMIT / 2 + 1); // LIMIT + 2 bytes of UTF-8, only LIMIT / 2 + 1 characters

describe("gateway.maxMessageBytes", () => {
  it("accepts a message exactly at the limit", async () => {
    const r = await post(`${gw.url}/v1/inbound`, {
      channel: "telegram",
      chatType: "direct",
      peerId: "1",
      senderId: "1",
      text: "a".repeat(LIMIT),
    });
    expect(r.status).toBe(200);
  });

  it("HTTP inbound: 413 message_too_large naming the limit and the key; nothing recorded", async () => {
    const before = transcripts();
    const r = await post(`${gw.url}/v1/inbound`, {
      channel: "telegram",
      chatType: "direct",
      peerId: "2",
      senderId: "2",
      text: over,
    });
    expect(r.status).toBe(413);
    expect(r.json.error).toMatchObject({ code: "message_too_large" });
    expect(JSON.stringify(r.json)).toContain(`limit is ${LIMIT} bytes (gateway.maxMessageBytes)`);
    expect(transcripts()).toEqual(before);
  });

  it("webhooks and the OpenAI-compatible endpoint answer the same way", async () => {
    const hook = await post(`${gw.url}/hooks/big`, { text: over }, { authorization: `Bearer ${HOOK_TOKEN}` });
    expect(hook.status).toBe(413);
    expect(hook.json.error).toMatchObject({ code: "message_too_large" });
    const openai = await post(`${gw.url}/v1/chat/completions`, {
      model: "pincer",
      user: "u1",
      messages: [{ role: "user", content: over }],
    });
    expect(openai.status).toBe(413);
    expect(JSON.stringify(openai.json)).toContain("gateway.maxMessageBytes");
  });

  it("WebSocket chat.send: a PAYLOAD_TOO_LARGE error, and the socket stays usable", async () => {
    const ws = await WsClient.connect(gw.url);
    try {
      const res = await ws.request("chat.send", {
        sessionKey: "agent:main:main",
        message: over,
        idempotencyKey: "too-big-1",
      });
      expect(res.ok).toBe(false);
      expect(res.error).toMatchObject({ code: "PAYLOAD_TOO_LARGE", details: { limit: LIMIT, bytes: LIMIT + 2 } });
      expect(String((res.error as { message: string }).message)).toContain("gateway.maxMessageBytes");
      const ok = await ws.call("chat.send", {
        sessionKey: "agent:main:main",
        message: "small",
        idempotencyKey: "small-1",
      });
      expect(ok.status).toBe("started");
    } finally {
      ws.close();
    }
  });
});

describe("remembered run outcomes are bounded in bytes", () => {
  it("keeps the newest runs and forgets the oldest once their replies pass the budget", async () => {
    const runs = new RunRegistry();
    const reply = "r".repeat(1024 * 1024);
    for (let i = 0; i < 100; i++) {
      const outcome: TurnOutcome = {
        runId: `run-${i}`,
        agentId: "main",
        sessionKey: "agent:main:main",
        sessionId: "s",
        status: "ok",
        reply,
        delivered: true,
      };
      runs.track(
        {
          runId: `run-${i}`,
          agentId: "main",
          sessionKey: "agent:main:main",
          sessionId: "s",
          done: Promise.resolve(outcome),
        },
        "operator:operator",
      );
      await Promise.resolve();
      await Promise.resolve();
    }
    expect(runs.outcomeMemory).toBeLessThanOrEqual(MAX_OUTCOME_BYTES);
    expect(runs.own("operator:operator", "run-99")?.outcome?.reply).toBe(reply);
    expect(runs.own("operator:operator", "run-0")).toBeUndefined();
  });
});
