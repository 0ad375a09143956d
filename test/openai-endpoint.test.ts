/**
 * The OpenAI-compatible endpoint through the real `openai` npm client: `GET /v1/models`, usage
 * in non-streaming answers and with `stream_options.include_usage`, client `system` messages in
 * that turn's system prompt (and not the next), `model: "pincer:<agentId>"` choosing the agent,
 * and `POST /v1/responses` plain and streaming (the Responses SSE events the client's own stream
 * helper accumulates). Behind the gateway a local Chat Completions server, reached through the
 * AI SDK, reports the usage each message asks for.
 */
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, TOKEN } from "./helpers/gateway-harness.ts";
import { startUsageOpenAI, type UsageServer } from "./fixtures/usage-openai.ts";

type Gw = Awaited<ReturnType<typeof startTestGateway>>;
let gw: Gw;
let model: UsageServer;
let client: OpenAI;
beforeAll(async () => {
  model = await startUsageOpenAI((text) => (text.includes("long") ? "a longer answer in pieces" : "ok"));
  gw = await startTestGateway({
    models: {
      providers: {
        openai: {
          api: "openai",
          baseUrl: `${model.url}/v1`,
          apiKey: "sk-test",
          models: [
            { id: "gpt-test", contextWindow: 128_000 },
            { id: "gpt-other", contextWindow: 32_000 },
          ],
        },
      },
    },
    agents: { defaults: { model: "openai/gpt-test" }, list: [{ id: "main" }, { id: "helper" }] },
  });
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
});
afterAll(async () => {
  await gw.cleanup();
  await model.close();
});
afterEach(() => undefined);

type Sent = { messages: Array<{ role: string; content: unknown }> };
const systemSent = () => {
  const body = model.requests.at(-1) as unknown as Sent;
  const first = body.messages[0]!;
  return first.role === "system" || first.role === "developer" ? String(first.content) : "";
};

describe("/v1/models", () => {
  it("lists the agents as pincer:<agentId> and the configured models", async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(["pincer:main", "pincer:helper", "openai/gpt-test", "openai/gpt-other"]);
    expect((await client.models.retrieve("pincer:helper")).owned_by).toBe("pincer");
  });
});

describe("/v1/chat/completions", () => {
  it("reports the turn's usage (cached input included in prompt_tokens)", async () => {
    const r = await client.chat.completions.create({
      model: "pincer:main",
      user: "u1",
      messages: [{ role: "user", content: "hi tokens:1000 cached:200" }],
    });
    expect(r.choices[0]!.message.content).toBe("ok");
    expect(r.usage).toMatchObject({
      prompt_tokens: 1000,
      completion_tokens: 5,
      total_tokens: 1005,
      prompt_tokens_details: { cached_tokens: 200 },
    });
  });

  it("stream_options.include_usage ends the stream with a usage chunk", async () => {
    const stream = await client.chat.completions.create({
      model: "pincer:main",
      user: "u2",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "long tokens:300" }],
    });
    let text = "";
    const usages: unknown[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usages.push(chunk.usage);
    }
    expect(text).toBe("a longer answer in pieces");
    expect(usages).toEqual([
      { prompt_tokens: 300, completion_tokens: 5, total_tokens: 305, prompt_tokens_details: { cached_tokens: 0 } },
    ]);
  });

  it("adds client system messages to this turn's system prompt only", async () => {
    await client.chat.completions.create({
      model: "pincer:main",
      user: "u3",
      messages: [
        { role: "system", content: "Answer like a pirate." },
        { role: "developer", content: "Keep it short." },
        { role: "user", content: "hello" },
      ],
    });
    expect(systemSent()).toContain("Answer like a pirate.");
    expect(systemSent()).toContain("Keep it short.");
    await client.chat.completions.create({
      model: "pincer:main",
      user: "u3",
      messages: [{ role: "user", content: "again" }],
    });
    expect(systemSent()).not.toContain("pirate");
  });

  it('model "pincer:<agentId>" runs the turn on that agent', async () => {
    const { response } = await client.chat.completions
      .create({ model: "pincer:helper", user: "u4", messages: [{ role: "user", content: "who?" }] })
      .withResponse();
    expect(response.headers.get("x-pincer-session-key")).toBe("agent:helper:openai-user:u4");
    await expect(
      client.chat.completions.create({ model: "pincer:nobody", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toMatchObject({ status: 404 });
  });
});

describe("a configured model as `model`", () => {
  it("answers that turn with it; anything else leaves the agent's model", async () => {
    await client.chat.completions.create({
      model: "openai/gpt-other",
      user: "m1",
      messages: [{ role: "user", content: "which?" }],
    });
    expect(model.requests.at(-1)!.model).toBe("gpt-other");
    await client.chat.completions.create({
      model: "gpt-4o",
      user: "m1",
      messages: [{ role: "user", content: "and?" }],
    });
    expect(model.requests.at(-1)!.model).toBe("gpt-test");
    await client.responses.create({ model: "openai/gpt-other", input: "resp" });
    expect(model.requests.at(-1)!.model).toBe("gpt-other");
  });
});

describe("/v1/responses", () => {
  it("answers with output_text and usage; instructions reach the system prompt", async () => {
    const r = await client.responses.create({
      model: "pincer:main",
      user: "r1",
      instructions: "Speak Latin.",
      input: [{ role: "user", content: [{ type: "input_text", text: "salve tokens:700 cached:100" }] }],
    });
    expect(r.status).toBe("completed");
    expect(r.output_text).toBe("ok");
    expect(r.usage).toMatchObject({ input_tokens: 700, output_tokens: 5, total_tokens: 705 });
    expect(r.usage?.input_tokens_details.cached_tokens).toBe(100);
    expect(systemSent()).toContain("Speak Latin.");
    const { response } = await client.responses.create({ model: "pincer:main", user: "r1", input: "x" }).withResponse();
    expect(response.headers.get("x-pincer-session-key")).toBe("agent:main:openresponses-user:r1");
  });

  it("streams the Responses events in order; the client's stream helper builds the final response", async () => {
    const events: string[] = [];
    let deltas = "";
    const { data: stream, response } = await client.responses
      .create({ model: "pincer:main", stream: true, input: "long tokens:50" })
      .withResponse();
    expect(response.headers.get("x-pincer-session-key")).toMatch(/^agent:main:openresponses:[0-9a-f-]{36}$/);
    for await (const ev of stream) {
      events.push(ev.type);
      if (ev.type === "response.output_text.delta") deltas += ev.delta;
      if (ev.type === "response.completed") expect(ev.response.usage?.input_tokens).toBe(50);
    }
    expect(deltas).toBe("a longer answer in pieces");
    const unique = events.filter((t, i) => t !== events[i - 1]);
    expect(unique).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);

    const helper = client.responses.stream({ model: "pincer:main", input: "long again" });
    const final = await helper.finalResponse();
    expect(final.output_text).toBe("a longer answer in pieces");
  });

  it("refuses malformed input with a 400", async () => {
    await expect(client.responses.create({ model: "pincer:main", input: [] })).rejects.toMatchObject({ status: 400 });
  });
});
