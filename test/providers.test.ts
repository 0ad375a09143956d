/**
 * Model providers through the real Vercel AI SDK adapters against local servers speaking
 * Anthropic's and OpenAI's wire formats: streaming text, tool calls and their results, usage,
 * context overflow, failures and aborts; then the registry and the offline echo provider.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAiSdkProvider } from "../src/providers/ai-sdk.ts";
import { parseToolInput } from "../src/providers/convert.ts";
import { createHttpFetch } from "../src/providers/http-fetch.ts";
import { createEchoProvider } from "../src/providers/echo.ts";
import { createProviderRegistry } from "../src/providers/registry.ts";
import {
  ContextOverflowError,
  ProviderError,
  type ModelEvent,
  type ModelProvider,
  type ModelRequest,
} from "../src/providers/types.ts";
import { emptyUsage, type AgentMessage } from "../src/transcript/entries.ts";
import { startFakeAnthropic, startFakeOpenAI, type FakeServer } from "./fixtures/fake-providers.ts";

async function collect(provider: ModelProvider, req: ModelRequest): Promise<ModelEvent[]> {
  const events: ModelEvent[] = [];
  for await (const e of provider.stream(req)) events.push(e);
  return events;
}
const finalOf = (events: ModelEvent[]) => {
  const f = events.at(-1)!;
  if (f.type !== "finish") throw new Error("no finish event");
  return f.message;
};
const user = (text: string): AgentMessage => ({ role: "user", content: text, timestamp: 1 });
const weatherTool = {
  name: "get_weather",
  description: "weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

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

describe("Anthropic through @ai-sdk/anthropic", () => {
  const provider = () =>
    createAiSdkProvider({ name: "anthropic", kind: "anthropic", baseURL: `${anthropic.url}/v1`, apiKey: "sk-test" });

  it("streams text; deltas add up to the final message; usage is mapped", async () => {
    anthropic.script({ text: "Hello from Claude" });
    const events = await collect(provider(), { model: "claude-test", system: "be brief", messages: [user("hi")] });
    const deltas = events.filter((e) => e.type === "text-delta").map((e) => (e as { text: string }).text);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe("Hello from Claude");
    const msg = finalOf(events);
    expect(msg).toMatchObject({
      role: "assistant",
      provider: "anthropic",
      api: "anthropic-messages",
      model: "claude-test",
      stopReason: "stop",
      content: [{ type: "text", text: "Hello from Claude" }],
    });
    expect(msg.usage).toMatchObject({ input: 42, output: 7, cacheRead: 5 });
    const sent = anthropic.requests.at(-1)!;
    expect(sent).toMatchObject({ model: "claude-test", stream: true });
    expect(JSON.stringify(sent.system)).toContain("be brief");
  });

  it("reports a tool call and sends its result back as a tool_result block", async () => {
    anthropic.script({ toolCalls: [{ id: "toolu_1", name: "get_weather", input: { city: "Oslo" } }] });
    const events = await collect(provider(), {
      model: "claude-test",
      messages: [user("weather?")],
      tools: [weatherTool],
    });
    expect(events.find((e) => e.type === "tool-call")).toMatchObject({
      id: "toolu_1",
      name: "get_weather",
      arguments: { city: "Oslo" },
    });
    const msg = finalOf(events);
    expect(msg.stopReason).toBe("toolUse");
    expect(JSON.stringify(anthropic.requests.at(-1)!.tools)).toContain("get_weather");
    anthropic.script({ text: "It is sunny in Oslo" });
    const follow = await collect(provider(), {
      model: "claude-test",
      tools: [weatherTool],
      messages: [
        user("weather?"),
        msg,
        {
          role: "toolResult",
          toolCallId: "toolu_1",
          toolName: "get_weather",
          content: [{ type: "text", text: "sunny" }],
          isError: false,
          timestamp: 2,
        },
      ],
    });
    expect(finalOf(follow).content).toEqual([{ type: "text", text: "It is sunny in Oslo" }]);
    const body = JSON.stringify(anthropic.requests.at(-1)!.messages);
    expect(body).toContain('"type":"tool_use"');
    expect(body).toMatch(/"type":"tool_result","tool_use_id":"toolu_1"/);
    expect(body).toContain("sunny");
  });

  it("a context-length 400 becomes ContextOverflowError; a 500 a ProviderError with its status", async () => {
    anthropic.script({
      status: 400,
      body: {
        type: "error",
        error: { type: "invalid_request_error", message: "prompt is too long: 250000 tokens > 200000 maximum" },
      },
    });
    await expect(collect(provider(), { model: "claude-test", messages: [user("x")] })).rejects.toBeInstanceOf(
      ContextOverflowError,
    );
    anthropic.script({ status: 500, body: { type: "error", error: { type: "api_error", message: "internal" } } });
    const err = await collect(provider(), { model: "claude-test", messages: [user("x")] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).status).toBe(500);
  });

  it("an abort stops a stalled stream", async () => {
    anthropic.script({ stallAfter: "partial answer" });
    const controller = new AbortController();
    const seen: string[] = [];
    const run = (async () => {
      for await (const e of provider().stream({
        model: "claude-test",
        messages: [user("x")],
        abortSignal: controller.signal,
      })) {
        if (e.type === "text-delta") {
          seen.push(e.text);
          controller.abort();
        }
      }
    })();
    await expect(run).rejects.toThrow();
    expect(seen.join("")).toContain("partial");
  });
});

describe("OpenAI-compatible servers through the AI SDK", () => {
  for (const kind of ["openai", "openai-compatible"] as const) {
    const provider = () =>
      createAiSdkProvider({
        name: kind === "openai" ? "openai" : "ollama",
        kind,
        baseURL: `${openai.url}/v1`,
        apiKey: "sk-test",
      });

    it(`${kind}: streams text with usage`, async () => {
      openai.script({ text: "Hi from a local model" });
      const events = await collect(provider(), { model: "llama3.1:8b", messages: [user("hi")] });
      expect(
        events
          .filter((e) => e.type === "text-delta")
          .map((e) => (e as { text: string }).text)
          .join(""),
      ).toBe("Hi from a local model");
      const msg = finalOf(events);
      expect(msg).toMatchObject({ api: "openai-completions", model: "llama3.1:8b", stopReason: "stop" });
      expect(msg.usage).toMatchObject({ input: 30, output: 6 });
      expect(openai.requests.at(-1)).toMatchObject({ model: "llama3.1:8b", stream: true });
    });

    it(`${kind}: tool call round trip sends role "tool" with the tool_call_id`, async () => {
      openai.script({ toolCalls: [{ id: "call_9", name: "get_weather", input: { city: "Lima" } }] });
      const events = await collect(provider(), { model: "m", messages: [user("weather?")], tools: [weatherTool] });
      expect(events.find((e) => e.type === "tool-call")).toMatchObject({
        id: "call_9",
        name: "get_weather",
        arguments: { city: "Lima" },
      });
      const msg = finalOf(events);
      expect(msg.stopReason).toBe("toolUse");
      openai.script({ text: "Lima: 19°C" });
      await collect(provider(), {
        model: "m",
        tools: [weatherTool],
        messages: [
          user("weather?"),
          msg,
          {
            role: "toolResult",
            toolCallId: "call_9",
            toolName: "get_weather",
            content: [{ type: "text", text: "19C" }],
            isError: false,
            timestamp: 2,
          },
        ],
      });
      const sent = openai.requests.at(-1)!.messages as Array<Record<string, unknown>>;
      expect(sent.find((m) => m.role === "tool")).toMatchObject({
        role: "tool",
        tool_call_id: "call_9",
        content: "19C",
      });
      expect(JSON.stringify(sent.find((m) => m.role === "assistant"))).toContain("call_9");
    });

    it(`${kind}: context_length_exceeded becomes ContextOverflowError`, async () => {
      openai.script({
        status: 400,
        body: {
          error: {
            message: "This model's maximum context length is 8192 tokens",
            type: "invalid_request_error",
            code: "context_length_exceeded",
          },
        },
      });
      await expect(collect(provider(), { model: "m", messages: [user("x")] })).rejects.toBeInstanceOf(
        ContextOverflowError,
      );
    });
  }
});

describe("the prompt and tool calls at the provider level", () => {
  it("tool-call arguments: {} for none, the raw text when not JSON or when it names __proto__", () => {
    expect(parseToolInput("")).toEqual({});
    expect(parseToolInput(' {"city":"Oslo","n":[1,2]} ')).toEqual({ city: "Oslo", n: [1, 2] });
    expect(parseToolInput('{"city":')).toBe('{"city":');
    expect(parseToolInput('{"__proto__":{"admin":true}}')).toBe('{"__proto__":{"admin":true}}');
    expect(parseToolInput('{"a":{"constructor":{"prototype":{}}}}')).toBe('{"a":{"constructor":{"prototype":{}}}}');
  });

  it("a tool call left without its result is refused before anything is sent", async () => {
    const provider = createAiSdkProvider({ name: "ollama", kind: "openai-compatible", baseURL: `${openai.url}/v1` });
    const before = openai.requests.length;
    const call: AgentMessage = {
      role: "assistant",
      content: [{ type: "toolCall", id: "call_lost", name: "get_weather", arguments: { city: "Oslo" } }],
      api: "openai-completions",
      provider: "ollama",
      model: "m",
      usage: emptyUsage(),
      stopReason: "toolUse",
      timestamp: 1,
    };
    const err = await collect(provider, { model: "m", messages: [user("weather?"), call, user("hello?")] }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toBe("Tool result is missing for tool call call_lost.");
    expect(openai.requests.length).toBe(before);
  });
});

describe("the providers' HTTP client (node:http, keep-alive)", () => {
  it("streams over one reused connection, answers a 204 without a body, and hands a Request to the global fetch", async () => {
    let connections = 0;
    const server = http.createServer((req, res) => {
      if (req.url === "/none") return void res.writeHead(204).end();
      res.writeHead(200, { "content-type": "text/event-stream", "x-multi": ["a", "b"] });
      res.write("data: one\n\n");
      setTimeout(() => res.end("data: two\n\n"), 5);
    });
    server.on("connection", () => connections++);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = createHttpFetch();
    try {
      for (let i = 0; i < 3; i++) {
        const res = await client.fetch(`${url}/sse`, { method: "POST", headers: { "x-k": "v" }, body: "{}" });
        expect(res.status).toBe(200);
        expect(res.headers.get("x-multi")).toBe("a, b");
        expect(await res.text()).toBe("data: one\n\ndata: two\n\n");
      }
      expect(connections).toBe(1);
      const none = await client.fetch(`${url}/none`, { method: "GET" });
      expect([none.status, none.body]).toEqual([204, null]);
      const viaGlobal = await client.fetch(new Request(`${url}/sse`, { method: "POST", body: "{}" }));
      expect(await viaGlobal.text()).toContain("data: two");
    } finally {
      client.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("a refused connection is a ProviderError saying it could not connect; an abort mid-stream stops the call", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const dead = createAiSdkProvider({
      name: "ollama",
      kind: "openai-compatible",
      baseURL: `http://127.0.0.1:${port}/v1`,
    });
    const err = await collect(dead, { model: "m", messages: [user("x")] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toMatch(/^Cannot connect to API: connect ECONNREFUSED/);

    openai.script({ stallAfter: "partial answer" });
    const live = createAiSdkProvider({ name: "ollama", kind: "openai-compatible", baseURL: `${openai.url}/v1` });
    const controller = new AbortController();
    const seen: string[] = [];
    const run = (async () => {
      for await (const e of live.stream({ model: "m", messages: [user("x")], abortSignal: controller.signal }))
        if (e.type === "text-delta") {
          seen.push(e.text);
          controller.abort();
        }
    })();
    await expect(run).rejects.toThrow("aborted");
    expect(seen.join("")).toContain("partial");
  });
});

describe("registry and echo", () => {
  it("resolves provider/model refs, reads ${ENV} keys, and names what is wrong", async () => {
    const reg = createProviderRegistry(
      {
        models: {
          providers: {
            ollama: {
              baseUrl: `${openai.url}/v1`,
              apiKey: "${OLLAMA_KEY}",
              models: [{ id: "qwen/qwen3:8b", contextWindow: 32768 }],
            },
          },
        },
        agents: { defaults: { model: "ollama/qwen/qwen3:8b" } },
      },
      { OLLAMA_KEY: "k" },
    );
    expect(reg.defaultRef()).toBe("ollama/qwen/qwen3:8b");
    const r = reg.resolve(reg.defaultRef());
    expect(r.model).toBe("qwen/qwen3:8b");
    expect(r.provider.contextWindow("qwen/qwen3:8b")).toBe(32768);
    expect(() => reg.resolve("nope/x")).toThrow('unknown model provider "nope" in "nope/x" (configured: echo, ollama)');
    expect(createProviderRegistry({}, {}).defaultRef()).toBe("echo/echo");
    expect(() =>
      createProviderRegistry({ models: { providers: { x: { apiKey: "${MISSING}", baseUrl: "http://h" } } } }, {}),
    ).toThrow("models.providers.x.apiKey: environment variable MISSING is not set");
    expect(() => createProviderRegistry({ models: { providers: { x: { api: "grpc" } } } }, {})).toThrow(
      /models\.providers\.x\.api: got "grpc"/,
    );
    expect(() => createProviderRegistry({ agents: { defaults: { model: "ghost/m" } } }, {})).toThrow(
      /^agents\.defaults\.model: unknown model provider "ghost"/,
    );
  });

  it("echo answers offline: echo, NO_REPLY for a memory flush, an extractive summary", async () => {
    const echo = createEchoProvider();
    expect(echo.offline).toBe(true);
    expect(finalOf(await collect(echo, { model: "echo", messages: [user("ping")] })).content).toEqual([
      { type: "text", text: "echo: ping" },
    ]);
    expect(
      finalOf(await collect(echo, { model: "echo", messages: [user("x")], purpose: "memory-flush" })).content,
    ).toEqual([{ type: "text", text: "NO_REPLY" }]);
    const summary = finalOf(
      await collect(echo, {
        model: "echo",
        purpose: "summary",
        messages: [user("the code is 4711"), user("Summarise.")],
      }),
    );
    expect(JSON.stringify(summary.content)).toContain("4711");
    expect(JSON.stringify(summary.content)).not.toContain("Summarise.");
  });
});

describe("a gateway configured with a real provider", () => {
  it("runs turns through the configured model and its tool loop", async () => {
    const { post, startTestGateway } = await import("./helpers/gateway-harness.ts");
    const gw = await startTestGateway({
      models: { providers: { anthropic: { baseUrl: `${anthropic.url}/v1`, apiKey: "sk-test" } } },
      agents: { defaults: { model: "anthropic/claude-test" } },
    });
    try {
      anthropic.script({ toolCalls: [{ id: "toolu_m", name: "memory_append", input: { text: "- likes tea" } }] });
      anthropic.script({ text: "Noted." });
      const r = await post(`${gw.url}/v1/inbound`, {
        channel: "telegram",
        chatType: "direct",
        peerId: "a",
        senderId: "a",
        text: "remember I like tea",
      });
      expect(r.json).toMatchObject({ reply: "Noted.", delivered: true });
      expect(JSON.stringify(anthropic.requests.at(-1)!.messages)).toMatch(/"tool_use_id":"toolu_m"/);
      const status = await post(`${gw.url}/v1/inbound`, {
        channel: "telegram",
        chatType: "direct",
        peerId: "a",
        senderId: "a",
        text: "/status",
      });
      expect(status.json.reply).toMatch(/🧠 Model: anthropic\/claude-test\n/);
      const row = await gw.runtime.manager.get("main", "agent:main:main");
      expect(row).toMatchObject({ modelProvider: "anthropic", model: "claude-test", inputTokens: 42, outputTokens: 7 });
    } finally {
      await gw.cleanup();
    }
  });
});
