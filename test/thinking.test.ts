/**
 * `/think` takes effect on the wire: a real gateway, the real AI SDK clients, and local servers
 * speaking Anthropic's Messages API and OpenAI's Chat Completions record what they receive.
 * Anthropic gets `thinking.budget_tokens` (pi's budgets), OpenAI and OpenAI-compatible servers
 * `reasoning_effort`; `off` sends neither. A signed Anthropic thinking block is replayed in the
 * tool loop (Anthropic refuses a tool-use turn without it when thinking is on).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ANTHROPIC_THINKING_BUDGETS, reasoningOptions } from "../src/providers/reasoning.ts";
import { post, startTestGateway } from "./helpers/gateway-harness.ts";
import { startFakeAnthropic, startFakeOpenAI, type FakeServer } from "./fixtures/fake-providers.ts";

type Gw = Awaited<ReturnType<typeof startTestGateway>>;
let gw: Gw | null = null;
let anthropic: FakeServer;
let openai: FakeServer;
beforeAll(async () => {
  anthropic = await startFakeAnthropic();
  openai = await startFakeOpenAI();
});
afterAll(async () => {
  await anthropic.close();
  await openai.close();
});
afterEach(async () => {
  await gw?.cleanup();
  gw = null;
});

const dm = (text: string) => ({ channel: "telegram", chatType: "direct", peerId: "alice", senderId: "alice", text });

function gatewayOn(kind: "anthropic" | "openai" | "openai-compatible", url: string, model: string) {
  const name = kind === "openai-compatible" ? "local" : kind;
  return startTestGateway({
    models: {
      providers: {
        [name]: { api: kind, baseUrl: `${url}/v1`, apiKey: "sk-test", models: [{ id: model, contextWindow: 128_000 }] },
      },
    },
    agents: { defaults: { model: `${name}/${model}` } },
  });
}

describe("/think reaches the request", () => {
  it("Anthropic: /think high sends thinking.budget_tokens 16384 and grows max_tokens by it", async () => {
    gw = await gatewayOn("anthropic", anthropic.url, "claude-test");
    await post(`${gw.url}/v1/inbound`, dm("before"));
    const before = anthropic.requests.at(-1)!;
    expect(before.thinking).toBeUndefined();

    expect((await post(`${gw.url}/v1/inbound`, dm("/think high"))).json.reply).toBe("⚙️ Thinking level set to high.");
    const r = await post(`${gw.url}/v1/inbound`, dm("think about it"));
    expect(r.json.status).toBe("ok");
    const sent = anthropic.requests.at(-1)!;
    expect(sent.thinking).toEqual({ type: "enabled", budget_tokens: 16_384 });
    expect(sent.max_tokens as number).toBe((before.max_tokens as number) + 16_384);

    await post(`${gw.url}/v1/inbound`, dm("/think minimal"));
    await post(`${gw.url}/v1/inbound`, dm("a little"));
    expect(anthropic.requests.at(-1)!.thinking).toEqual({ type: "enabled", budget_tokens: 1024 });

    await post(`${gw.url}/v1/inbound`, dm("/think off"));
    await post(`${gw.url}/v1/inbound`, dm("no thinking"));
    expect(anthropic.requests.at(-1)!.thinking).toBeUndefined();
  });

  it("OpenAI: /think high sends reasoning_effort high; the default (off) sends none", async () => {
    gw = await gatewayOn("openai", openai.url, "gpt-test");
    await post(`${gw.url}/v1/inbound`, dm("before"));
    expect(openai.requests.at(-1)!).not.toHaveProperty("reasoning_effort");
    await post(`${gw.url}/v1/inbound`, dm("/think high"));
    await post(`${gw.url}/v1/inbound`, dm("think"));
    expect(openai.requests.at(-1)!.reasoning_effort).toBe("high");
    await post(`${gw.url}/v1/inbound`, dm("/think low"));
    await post(`${gw.url}/v1/inbound`, dm("think less"));
    expect(openai.requests.at(-1)!.reasoning_effort).toBe("low");
  });

  it("an OpenAI-compatible server gets reasoning_effort too; agents.defaults.thinkingDefault applies", async () => {
    gw = await startTestGateway({
      models: {
        providers: { local: { api: "openai-compatible", baseUrl: `${openai.url}/v1`, models: [{ id: "qwen" }] } },
      },
      agents: { defaults: { model: "local/qwen", thinkingDefault: "medium" } },
    });
    await post(`${gw.url}/v1/inbound`, dm("hello"));
    expect(openai.requests.at(-1)!.reasoning_effort).toBe("medium");
  });

  it("maps every level per provider as pi does", () => {
    expect(ANTHROPIC_THINKING_BUDGETS).toEqual({ minimal: 1024, low: 2048, medium: 8192, high: 16_384 });
    expect(reasoningOptions("anthropic", "anthropic", "xhigh", "claude-x")).toEqual({
      anthropic: { thinking: { type: "enabled", budgetTokens: 16_384 } },
    });
    expect(reasoningOptions("anthropic", "anthropic", "adaptive", "claude-opus-4-6")).toEqual({
      anthropic: { thinking: { type: "adaptive" } },
    });
    expect(reasoningOptions("anthropic", "anthropic", "adaptive", "claude-sonnet-4-20250514")).toEqual({
      anthropic: { thinking: { type: "enabled", budgetTokens: 8192 } },
    });
    expect(reasoningOptions("openai", "openai", "xhigh", "gpt-4o")).toEqual({ openai: { reasoningEffort: "high" } });
    expect(reasoningOptions("openai", "openai", "xhigh", "gpt-5.2")).toEqual({ openai: { reasoningEffort: "xhigh" } });
    expect(reasoningOptions("openai-compatible", "ollama", "minimal", "m")).toEqual({
      ollama: { reasoningEffort: "minimal" },
    });
    expect(reasoningOptions("openai", "openai", "off", "gpt-5")).toBeUndefined();
  });
});

/** Anthropic SSE: round one thinks (signed) and calls a tool; round two answers. Records requests. */
async function thinkingAnthropic(): Promise<{ url: string; requests: Array<Record<string, unknown>>; close(): void }> {
  const requests: Array<Record<string, unknown>> = [];
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString("utf8")));
    req.on("end", () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      requests.push(body);
      const first = requests.length === 1;
      const ev = (type: string, data: Record<string, unknown>) =>
        `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      res.writeHead(200, { "content-type": "text/event-stream" });
      const usage = { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
      res.write(
        ev("message_start", {
          message: { id: "m", type: "message", role: "assistant", model: body.model, content: [], usage },
        }),
      );
      if (first) {
        res.write(ev("content_block_start", { index: 0, content_block: { type: "thinking", thinking: "" } }));
        res.write(
          ev("content_block_delta", { index: 0, delta: { type: "thinking_delta", thinking: "Let me check." } }),
        );
        res.write(ev("content_block_delta", { index: 0, delta: { type: "signature_delta", signature: "sig-123" } }));
        res.write(ev("content_block_stop", { index: 0 }));
        res.write(
          ev("content_block_start", {
            index: 1,
            content_block: { type: "tool_use", id: "toolu_1", name: "session_status", input: {} },
          }),
        );
        res.write(ev("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: "{}" } }));
        res.write(ev("content_block_stop", { index: 1 }));
        res.write(ev("message_delta", { delta: { stop_reason: "tool_use" }, usage: { output_tokens: 5 } }));
      } else {
        res.write(ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }));
        res.write(ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: "all good" } }));
        res.write(ev("content_block_stop", { index: 0 }));
        res.write(ev("message_delta", { delta: { stop_reason: "end_turn" }, usage: { output_tokens: 2 } }));
      }
      res.end(ev("message_stop", {}));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe("a model marked reasoning: false", () => {
  it("gets no reasoning parameters whatever the level", async () => {
    const { createAiSdkProvider } = await import("../src/providers/ai-sdk.ts");
    const p = createAiSdkProvider({
      name: "openai",
      kind: "openai",
      baseURL: `${openai.url}/v1`,
      apiKey: "sk-test",
      models: [{ id: "plain", reasoning: false }],
    });
    for await (const _ of p.stream({
      model: "plain",
      messages: [{ role: "user", content: "x", timestamp: 1 }],
      thinking: "high",
    }))
      void _;
    expect(openai.requests.at(-1)!).not.toHaveProperty("reasoning_effort");
  });

  it("set in models.providers.<p>.models[] keeps /think high off the wire (OpenAI and Anthropic, through the registry)", async () => {
    const config = (kind: "openai" | "anthropic", url: string) => ({
      models: {
        providers: {
          [kind]: {
            api: kind,
            baseUrl: `${url}/v1`,
            apiKey: "sk-test",
            models: [
              { id: "plain", reasoning: false },
              { id: "thinker", reasoning: true },
            ],
          },
        },
      },
      agents: { defaults: { model: `${kind}/plain`, models: { [`${kind}/thinker`]: { alias: "thinker" } } } },
    });
    gw = await startTestGateway(config("openai", openai.url));
    await post(`${gw.url}/v1/inbound`, dm("/think high"));
    await post(`${gw.url}/v1/inbound`, dm("think"));
    expect(openai.requests.at(-1)!.model).toBe("plain");
    expect(openai.requests.at(-1)!).not.toHaveProperty("reasoning_effort");
    // The same provider's other model still gets the level.
    await post(`${gw.url}/v1/inbound`, dm("/model thinker"));
    await post(`${gw.url}/v1/inbound`, dm("think now"));
    expect(openai.requests.at(-1)!.model).toBe("thinker");
    expect(openai.requests.at(-1)!.reasoning_effort).toBe("high");
    await gw.cleanup();

    gw = await startTestGateway(config("anthropic", anthropic.url));
    await post(`${gw.url}/v1/inbound`, dm("/think high"));
    await post(`${gw.url}/v1/inbound`, dm("think"));
    expect(anthropic.requests.at(-1)!.model).toBe("plain");
    expect(anthropic.requests.at(-1)!.thinking).toBeUndefined();
  });
});

describe("Anthropic thinking in the tool loop", () => {
  it("replays the signed thinking block before the tool call, and keeps it in the transcript", async () => {
    const fake = await thinkingAnthropic();
    try {
      gw = await gatewayOn("anthropic", fake.url, "claude-test");
      await post(`${gw.url}/v1/inbound`, dm("/think low"));
      const r = await post(`${gw.url}/v1/inbound`, dm("status?"));
      expect(r.json).toMatchObject({ status: "ok", reply: "all good" });
      expect(fake.requests).toHaveLength(2);
      expect(fake.requests[1]!.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
      const messages = fake.requests[1]!.messages as Array<{ role: string; content: Array<Record<string, unknown>> }>;
      const assistant = messages.find((m) => m.role === "assistant")!;
      expect(assistant.content[0]).toEqual({ type: "thinking", thinking: "Let me check.", signature: "sig-123" });
      expect(assistant.content[1]).toMatchObject({ type: "tool_use", id: "toolu_1", name: "session_status" });
    } finally {
      fake.close();
    }
  });
});
