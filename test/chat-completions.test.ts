/**
 * Pincer's own Chat Completions client (src/providers/chat-completions/) against the AI SDK's
 * `openai` and `openai-compatible` adapters it replaces: the same scripted server responses (text,
 * tools, several tools, usage with cached tokens, reasoning, HTTP errors, error frames, malformed
 * chunks, a stream cut short, an abort) through both give the same ModelEvents and transcript
 * message, the same error class and status (and message, where the AI SDK's says something), and
 * the two send the same request body. Then the stream reader alone at every byte boundary, and
 * random splits over real HTTP (fast-check).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAiSdkProvider } from "../src/providers/ai-sdk.ts";
import { ChatStream } from "../src/providers/chat-completions/chunks.ts";
import { createChatCompletionsProvider } from "../src/providers/chat-completions/provider.ts";
import { MAX_LINE_BYTES, SseReader } from "../src/providers/chat-completions/sse.ts";
import { createProviderRegistry } from "../src/providers/registry.ts";
import type { ModelEvent, ModelProvider, ModelRequest } from "../src/providers/types.ts";
import { emptyUsage, type AgentMessage, type AssistantMessage } from "../src/transcript/entries.ts";

type Kind = "openai" | "openai-compatible";

/** One scripted answer: a status, a body written in pieces (byte offsets), optionally cut or held open. */
interface Script {
  status?: number;
  body: string;
  cuts?: number[];
  /** Destroy the socket after the body (a connection lost mid-stream). */
  reset?: boolean;
  /** Keep the response open after the body until the client goes away. */
  stall?: boolean;
}

const scripts = new Map<string, Script>();
const bodies = new Map<string, string[]>();
let server: http.Server;
let base: string;

function lastUserText(body: { messages?: Array<{ role: string; content: unknown }> }): string {
  const m = [...(body.messages ?? [])].reverse().find((x) => x.role === "user");
  return typeof m?.content === "string" ? m.content : "";
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const key = lastUserText(JSON.parse(raw) as { messages?: Array<{ role: string; content: unknown }> });
      (bodies.get(key) ?? bodies.set(key, []).get(key)!).push(raw);
      const s = scripts.get(key) ?? { body: sse(textChunks("default")) };
      const status = s.status ?? 200;
      res.writeHead(status, { "content-type": status === 200 ? "text/event-stream" : "application/json" });
      const buf = Buffer.from(s.body, "utf8");
      const cuts = [0, ...(s.cuts ?? []).filter((c) => c > 0 && c < buf.length).sort((a, b) => a - b), buf.length];
      let i = 0;
      const next = () => {
        if (i < cuts.length - 1) {
          res.write(buf.subarray(cuts[i]!, cuts[i + 1]!));
          i++;
          setImmediate(next);
        } else if (s.reset) res.socket?.destroy();
        else if (!s.stall) res.end();
      };
      next();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: "chatcmpl-t",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: "m",
    choices,
    ...extra,
  });
const delta = (d: Record<string, unknown>, finish: string | null = null) =>
  chunk([{ index: 0, delta: d, finish_reason: finish }]);
const usage = (u: Record<string, unknown>) => chunk([], { usage: u });
function sse(events: string[], eol = "\n"): string {
  return events.map((e) => `data: ${e}${eol}${eol}`).join("");
}
function textChunks(text: string, finish = "stop"): string[] {
  return [
    delta({ role: "assistant", content: "" }),
    delta({ content: text.slice(0, 3) }),
    delta({ content: text.slice(3) }),
    delta({}, finish),
    usage({ prompt_tokens: 30, completion_tokens: 6, total_tokens: 36 }),
    "[DONE]",
  ];
}
const toolDelta = (calls: unknown[]) => delta({ tool_calls: calls });

const user = (text: string): AgentMessage => ({ role: "user", content: text, timestamp: 1 });
function assistant(content: AssistantMessage["content"]): AssistantMessage {
  return {
    role: "assistant",
    content,
    api: "openai-completions",
    provider: "p",
    model: "m",
    usage: emptyUsage(),
    stopReason: "stop",
    timestamp: 1,
  };
}
const weather = {
  name: "get_weather",
  description: "weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
/** A history with everything a request carries: tool calls and results, thinking, an image. */
const history: AgentMessage[] = [
  user("first"),
  assistant([
    { type: "text", text: "checking" },
    { type: "toolCall", id: "call_1", name: "get_weather", arguments: { city: "Oslo" } },
    { type: "toolCall", id: "call_2", name: "get_weather", arguments: "not json" },
  ]),
  {
    role: "toolResult",
    toolCallId: "call_1",
    toolName: "get_weather",
    content: [{ type: "text", text: "sunny" }],
    isError: false,
    timestamp: 2,
  },
  {
    role: "toolResult",
    toolCallId: "call_2",
    toolName: "get_weather",
    content: [
      { type: "text", text: "bad" },
      { type: "image", data: "aGk=", mimeType: "image/png" },
    ],
    isError: true,
    timestamp: 2,
  },
  assistant([
    { type: "thinking", thinking: "hmm", thinkingSignature: "sig" },
    { type: "text", text: "It is sunny" },
  ]),
  assistant([{ type: "thinking", thinking: "only thinking" }]),
  {
    role: "user",
    content: [
      { type: "text", text: "look" },
      { type: "text", text: "" },
      { type: "image", data: "aGVsbG8=", mimeType: "image/png" },
    ],
    timestamp: 3,
  },
];

interface Outcome {
  events: unknown[];
  error?: { name: string; status: number | undefined; message: string };
}

async function run(p: ModelProvider, req: ModelRequest): Promise<Outcome> {
  const events: unknown[] = [];
  try {
    for await (const e of p.stream(req)) events.push(normalise(e));
  } catch (err) {
    const e = err as Error & { status?: number };
    return { events, error: { name: e.constructor.name, status: e.status, message: e.message } };
  }
  return { events };
}
function normalise(e: ModelEvent): unknown {
  return e.type === "finish" ? { ...e, message: { ...e.message, timestamp: 0 } } : e;
}

function both(kind: Kind, models?: Array<{ id: string; reasoning?: boolean }>) {
  const options = { name: kind === "openai" ? "openai" : "local", baseURL: base, apiKey: "sk-test", models };
  return {
    sdk: createAiSdkProvider({ ...options, kind }),
    own: createChatCompletionsProvider({ ...options, kind }),
  };
}

let counter = 0;
/** Runs one scripted response through both clients; returns both outcomes and both request bodies. */
async function compare(
  kind: Kind,
  script: Script,
  req: Partial<ModelRequest> = {},
  models?: Array<{ id: string; reasoning?: boolean }>,
) {
  const key = `scenario:${kind}:${++counter}`;
  scripts.set(key, script);
  const { sdk, own } = both(kind, models);
  const request: ModelRequest = { model: "m", ...req, messages: [...(req.messages ?? []), user(key)] };
  const a = await run(sdk, request);
  const b = await run(own, request);
  const sent = (bodies.get(key) ?? []).map((s) => JSON.parse(s) as Record<string, unknown>);
  return { sdk: a, own: b, sent };
}

describe.each(["openai", "openai-compatible"] as const)("%s: the same as the AI SDK", (kind) => {
  it("text, with usage and cached tokens, sends the same request body for a full history", async () => {
    const events = textChunks("Hello there");
    events[4] = usage({
      prompt_tokens: 30,
      completion_tokens: 6,
      total_tokens: 36,
      prompt_tokens_details: { cached_tokens: 12, cache_write_tokens: 3 },
      completion_tokens_details: { reasoning_tokens: 2 },
    });
    const r = await compare(
      kind,
      { body: sse(events) },
      { system: "be brief", messages: history, tools: [weather], maxOutputTokens: 500, thinking: "high" },
    );
    expect(r.own).toEqual(r.sdk);
    expect(r.own.error).toBeUndefined();
    expect(r.sent).toHaveLength(2);
    expect(r.sent[1]).toEqual(r.sent[0]);
    expect(r.sent[1]).toMatchObject({
      reasoning_effort: "high",
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("an OpenAI reasoning model (gpt-5): system as developer, max_completion_tokens, as the SDK sends it", async () => {
    const r = await compare(
      kind,
      { body: sse(textChunks("ok")) },
      { model: "gpt-5-mini", system: "sys", messages: [user("x")], maxOutputTokens: 64, thinking: "xhigh" },
    );
    expect(r.own).toEqual(r.sdk);
    expect(r.sent[1]).toEqual(r.sent[0]);
  });

  it("a tool call whose arguments arrive in pieces", async () => {
    const r = await compare(
      kind,
      {
        body: sse([
          delta({ role: "assistant", content: null }),
          toolDelta([
            { index: 0, id: "call_9", type: "function", function: { name: "get_weather", arguments: '{"ci' } },
          ]),
          toolDelta([{ index: 0, function: { arguments: 'ty":"Lima"}' } }]),
          delta({}, "tool_calls"),
          usage({ prompt_tokens: 5, completion_tokens: 2 }),
          "[DONE]",
        ]),
      },
      { tools: [weather] },
    );
    expect(r.own).toEqual(r.sdk);
    expect(r.own.events[0]).toEqual({
      type: "tool-call",
      id: "call_9",
      name: "get_weather",
      arguments: { city: "Lima" },
    });
  });

  it("text then several tool calls, interleaved by index, one with unparsable arguments; finish length", async () => {
    const r = await compare(kind, {
      body: sse([
        delta({ content: "Let me look. " }),
        toolDelta([
          { index: 1, id: "call_b", type: "function", function: { name: "b", arguments: "" } },
          { index: 0, id: "call_a", type: "function", function: { name: "a", arguments: '{"x":' } },
        ]),
        toolDelta([{ index: 1, function: { arguments: "oops" } }]),
        toolDelta([{ index: 0, function: { arguments: "1}" } }]),
        delta({}, "length"),
        "[DONE]",
      ]),
    });
    expect(r.own).toEqual(r.sdk);
    const final = r.own.events.at(-1) as { message: AssistantMessage };
    expect(final.message.stopReason).toBe("length");
    expect(final.message.content.map((c) => (c.type === "toolCall" ? c.id : c.type))).toEqual([
      "text",
      "call_a",
      "call_b",
    ]);
  });

  it("calls that all come as index 0 (a new id and a new JSON value start the next)", async () => {
    const r = await compare(kind, {
      body: sse([
        toolDelta([{ index: 0, id: "c1", type: "function", function: { name: "a", arguments: '{"n":1}' } }]),
        toolDelta([{ index: 0, id: "c2", type: "function", function: { name: "a", arguments: '{"n":2}' } }]),
        delta({}, "tool_calls"),
        "[DONE]",
      ]),
    });
    expect(r.own).toEqual(r.sdk);
    expect(r.own.events.filter((e) => (e as ModelEvent).type === "tool-call")).toHaveLength(2);
  });

  it("CRLF line ends, comments, event and id lines, a data line without a space, no [DONE]", async () => {
    const lines = [
      ": keep-alive",
      "event: message",
      "id: 1",
      `data:${delta({ content: "crlf " })}`,
      "",
      `data: ${delta({ content: "works" })}`,
      "",
      `data: ${delta({}, "stop")}`,
      "",
      "",
    ];
    const r = await compare(kind, { body: lines.join("\r\n") });
    expect(r.own).toEqual(r.sdk);
    expect((r.own.events.at(-1) as { message: AssistantMessage }).message.content).toEqual([
      { type: "text", text: "crlf works" },
    ]);
  });

  it.each([
    [
      "a context-length 400",
      400,
      {
        error: {
          message: "maximum context length is 8192",
          type: "invalid_request_error",
          code: "context_length_exceeded",
        },
      },
    ],
    ["a 500 with an error body", 500, { error: { message: "internal boom", type: "server_error" } }],
    ["a 429 that is not JSON", 429, "slow down"],
    ["a 401 with an empty body", 401, ""],
    ["a 404 whose JSON is another shape", 404, { detail: "no such model" }],
  ])("%s: same error class, status and message", async (_label, status, body) => {
    const r = await compare(kind, { status, body: typeof body === "string" ? body : JSON.stringify(body) });
    expect(r.own).toEqual(r.sdk);
    expect(r.own.error?.status).toBe(status === 400 ? undefined : status);
  });

  it("a malformed chunk mid-stream: the same events, then a ProviderError (the message says what was wrong)", async () => {
    const r = await compare(kind, {
      body: sse([delta({ content: "before " }), "{not json", delta({ content: "after" }), delta({}, "stop")]),
    });
    expect(r.own.events).toEqual(r.sdk.events);
    expect(r.own.error).toMatchObject({ name: "ProviderError", status: r.sdk.error!.status });
    expect(r.sdk.error).toMatchObject({ name: "ProviderError" });
    expect(r.own.error!.message).toBe(
      "local: malformed stream chunk (not JSON): {not json".replace("local", both(kind).own.name),
    );
  });

  it("chunks of the wrong shape are malformed (choices not an array, content a number, a tool call without function)", async () => {
    for (const bad of [
      JSON.stringify({ id: "x", choices: "nope" }),
      delta({ content: 5 }),
      toolDelta([{ index: 0, id: "c", type: "function" }]),
    ]) {
      const r = await compare(kind, { body: sse([delta({ content: "a" }), bad, delta({}, "stop"), "[DONE]"]) });
      expect(r.own.events).toEqual(r.sdk.events);
      expect(r.sdk.error?.name).toBe("ProviderError");
      expect(r.own.error).toMatchObject({ name: "ProviderError", status: r.sdk.error!.status });
      expect(r.own.error!.message).toMatch(/malformed stream chunk/);
    }
  });

  it("an error frame after output: the same events, then a ProviderError", async () => {
    const r = await compare(kind, {
      body: sse([
        delta({ content: "partial" }),
        JSON.stringify({ error: { message: "upstream gone", type: "server_error" } }),
      ]),
    });
    expect(r.own.events).toEqual(r.sdk.events);
    expect(r.own.error).toMatchObject({ name: "ProviderError", status: r.sdk.error!.status });
    // The AI SDK says "[object Object]" here; Pincer's client says what the server said.
    expect(r.own.error!.message).toBe("upstream gone");
  });

  it("an error frame before any output", async () => {
    const r = await compare(kind, {
      body: sse([
        delta({ role: "assistant" }),
        JSON.stringify({ error: { message: "rate limited", type: "rate_limit_exceeded" } }),
      ]),
    });
    expect(r.own.events).toEqual(r.sdk.events);
    expect(r.own.error).toMatchObject({ name: r.sdk.error!.name, status: r.sdk.error!.status });
    if (kind === "openai") expect(r.own.error).toEqual(r.sdk.error);
  });

  it("a stream that ends without a finish reason", async () => {
    const r = await compare(kind, { body: sse([delta({ content: "no finish" })]) });
    expect(r.own).toEqual(r.sdk);
  });

  it("a connection lost mid-stream: the text so far, then a ProviderError with the response's status", async () => {
    const r = await compare(kind, { body: sse([delta({ content: "cut " }), delta({ content: "here" })]), reset: true });
    expect(r.own.events).toEqual(r.sdk.events);
    expect(r.own.error).toMatchObject({ name: "ProviderError", status: r.sdk.error!.status });
    expect(r.own.error!.message).toMatch(/^Failed to process successful response/);
  });

  it("a tool call left without its result is refused before anything is sent, as the SDK does", async () => {
    const key = `scenario:${kind}:lost`;
    const { sdk, own } = both(kind);
    const call = assistant([{ type: "toolCall", id: "call_lost", name: "get_weather", arguments: {} }]);
    const req = { model: "m", messages: [user("a"), call, user(key)] };
    const a = await run(sdk, req);
    const b = await run(own, req);
    expect(b).toEqual(a);
    expect(b.error?.message).toBe("Tool result is missing for tool call call_lost.");
    expect(bodies.get(key)).toBeUndefined();
  });
});

describe("Pincer's Chat Completions client on its own", () => {
  it("OpenAI-compatible reasoning_content deltas become a thinking block, as the SDK's adapter makes them", async () => {
    const r = await compare("openai-compatible", {
      body: sse([
        delta({ reasoning_content: "Think " }),
        delta({ reasoning_content: "hard." }),
        delta({ content: "Answer" }),
        delta({}, "stop"),
        "[DONE]",
      ]),
    });
    expect(r.own).toEqual(r.sdk);
    expect((r.own.events.at(-1) as { message: AssistantMessage }).message.content).toEqual([
      { type: "thinking", thinking: "Think hard." },
      { type: "text", text: "Answer" },
    ]);
  });

  it("an abort closes the request: a stalled stream stops with 'aborted', as on the AI SDK path", async () => {
    for (const kind of ["openai", "openai-compatible"] as const) {
      const key = `scenario:${kind}:abort`;
      scripts.set(key, { body: sse([delta({ content: "partial answer" })]), stall: true });
      const outcomes: Outcome[] = [];
      for (const p of Object.values(both(kind))) {
        const controller = new AbortController();
        const events: unknown[] = [];
        try {
          for await (const e of p.stream({ model: "m", messages: [user(key)], abortSignal: controller.signal })) {
            events.push(e);
            if (e.type === "text-delta") controller.abort();
          }
          outcomes.push({ events });
        } catch (err) {
          outcomes.push({
            events,
            error: { name: (err as Error).constructor.name, status: undefined, message: (err as Error).message },
          });
        }
      }
      expect(outcomes[1]).toEqual(outcomes[0]);
      expect(outcomes[1]!.error?.message).toBe("aborted");
    }
  });

  it("a refused connection fails as the SDK's does (Cannot connect to API), so a fallback takes over", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const options = { name: "dead", baseURL: `http://127.0.0.1:${port}/v1` };
    const a = await run(createAiSdkProvider({ ...options, kind: "openai-compatible" }), {
      model: "m",
      messages: [user("x")],
    });
    const b = await run(createChatCompletionsProvider({ ...options, kind: "openai-compatible" }), {
      model: "m",
      messages: [user("x")],
    });
    expect(b).toEqual(a);
    expect(b.error?.message).toMatch(/^Cannot connect to API: connect ECONNREFUSED/);
  });

  it("encodes a message object once: the next call with the same history does not read it again", async () => {
    const own = both("openai-compatible").own;
    let reads = 0;
    const first: AgentMessage = {
      role: "user",
      get content() {
        reads++;
        return "the history's first message";
      },
      timestamp: 1,
    };
    const key = "scenario:once";
    const drain = async (messages: AgentMessage[]) => {
      for await (const e of own.stream({ model: "m", system: "sys", messages })) void e;
    };
    await drain([first, user(key)]);
    const afterFirst = reads;
    expect(afterFirst).toBeGreaterThan(0);
    await drain([first, user("second"), user(key)]);
    expect(reads).toBe(afterFirst);
    const sent = JSON.parse(bodies.get(key)!.at(-1)!) as { messages: Array<{ content: unknown }> };
    expect(sent.messages.map((m) => m.content)).toEqual(["sys", "the history's first message", "second", key]);
  });

  it("reasoning: false models get no reasoning_effort", async () => {
    const r = await compare(
      "openai-compatible",
      { body: sse(textChunks("plain")) },
      { model: "plain", thinking: "high" },
      [{ id: "plain", reasoning: false }],
    );
    expect(r.sent[1]).toEqual(r.sent[0]);
    expect(r.sent[1]).not.toHaveProperty("reasoning_effort");
  });

  it("the registry drives Chat Completions with it, and with the AI SDK under PINCER_MODEL_CLIENT=ai-sdk", async () => {
    const config = {
      models: { providers: { local: { api: "openai-compatible", baseUrl: base, models: [{ id: "m" }] } } },
    };
    const key = "scenario:registry";
    scripts.set(key, { body: sse(textChunks("via registry")) });
    for (const env of [{}, { PINCER_MODEL_CLIENT: "ai-sdk" }]) {
      const { provider } = createProviderRegistry(config, env).resolve("local/m");
      const out = await run(provider, { model: "m", messages: [user(key)] });
      expect((out.events.at(-1) as { message: AssistantMessage }).message.content).toEqual([
        { type: "text", text: "via registry" },
      ]);
    }
    const [own, sdk] = bodies.get(key)!;
    expect(JSON.parse(own!)).toEqual(JSON.parse(sdk!));
  });
});

/** The reader alone: feeds `parts` and returns what a ChatStream made of them. */
function readParts(parts: Buffer[], kind: Kind) {
  const chat = new ChatStream("p", kind);
  const texts: string[] = [];
  const reader = new SseReader((d) => chat.data(d, (t) => texts.push(t)));
  for (const p of parts) reader.push(p);
  const end = chat.end();
  return {
    texts: texts.join(""),
    reasoning: chat.reasoning,
    calls: end.calls,
    finish: end.finishRaw,
    failure: chat.failure,
    usage: chat.piUsage(),
  };
}

describe("split anywhere", () => {
  const body = Buffer.from(
    "\uFEFF" +
      sse(
        [
          delta({ reasoning_content: "ünïcödé 思考 " }),
          delta({ content: "héllo 🌍 " }),
          delta({ content: "wörld" }),
          toolDelta([{ index: 0, id: "c1", type: "function", function: { name: "f", arguments: '{"q":"🌍' } }]),
          toolDelta([{ index: 0, function: { arguments: '"}' } }]),
          delta({}, "tool_calls"),
          usage({ prompt_tokens: 9, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 2 } }),
          "[DONE]",
        ],
        "\r\n",
      ),
    "utf8",
  );

  it("every byte boundary (and every pair of pieces) gives the same result as the whole body", () => {
    for (const kind of ["openai", "openai-compatible"] as const) {
      const whole = readParts([body], kind);
      expect(whole.failure).toBeUndefined();
      expect(whole.texts).toBe("héllo 🌍 wörld");
      expect(whole.calls).toEqual([{ id: "c1", name: "f", arguments: '{"q":"🌍"}' }]);
      for (let i = 1; i < body.length; i++)
        expect(readParts([body.subarray(0, i), body.subarray(i)], kind)).toEqual(whole);
      // One byte at a time.
      expect(
        readParts(
          [...body].map((b) => Buffer.from([b])),
          kind,
        ),
      ).toEqual(whole);
    }
  });

  it("a line that never ends fails past 16 MB instead of buffering on; pieces are joined once, at the line end", () => {
    const seen: string[] = [];
    const reader = new SseReader((d) => seen.push(d));
    reader.push(Buffer.from("data: "));
    for (let i = 0; i < 1000; i++) reader.push(Buffer.from("x"));
    reader.push(Buffer.from("\n\n"));
    expect(seen).toEqual(["x".repeat(1000)]);
    const endless = new SseReader(() => {});
    endless.push(Buffer.from("data: "));
    expect(() => endless.push(Buffer.alloc(MAX_LINE_BYTES, 0x61))).toThrow(/longer than 16777216 bytes/);
  });

  it("random splits over real HTTP: both clients agree with each other and with the unsplit stream (fast-check)", async () => {
    const text = body.toString("utf8").replace(/^\uFEFF/, "");
    const len = Buffer.byteLength(text);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Kind>("openai", "openai-compatible"),
        fc.uniqueArray(fc.integer({ min: 1, max: len - 1 }), { maxLength: 12 }),
        async (kind, cuts) => {
          const r = await compare(kind, { body: text, cuts });
          expect(r.own).toEqual(r.sdk);
          expect(r.own.error).toBeUndefined();
        },
      ),
      { numRuns: 25 },
    );
  });
});
