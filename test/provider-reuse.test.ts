/**
 * The model path's per-call work (issue 17 §1): one model instance per provider and model id for
 * the provider's lifetime (not one per call, each rebuilding its response schemas), and a
 * transcript message converted once (not re-converted and re-validated on every call). The real
 * provider packages run against a local OpenAI-compatible server; `createOpenAICompatible` is
 * only wrapped to count the model instances it hands out.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { AgentMessage } from "../src/transcript/entries.ts";
import { startFakeOpenAI, type FakeServer } from "./fixtures/fake-providers.ts";

const created = vi.hoisted(() => ({ models: [] as string[] }));
vi.mock("@ai-sdk/openai-compatible", async (importOriginal) => {
  const real = await importOriginal<typeof import("@ai-sdk/openai-compatible")>();
  return {
    ...real,
    createOpenAICompatible: (...args: Parameters<typeof real.createOpenAICompatible>) => {
      const provider = real.createOpenAICompatible(...args);
      const chatModel = provider.chatModel.bind(provider);
      provider.chatModel = (id: string) => {
        created.models.push(id);
        return chatModel(id);
      };
      return provider;
    },
  };
});
const { createAiSdkProvider } = await import("../src/providers/ai-sdk.ts");

let server: FakeServer;
beforeAll(async () => {
  server = await startFakeOpenAI();
});
afterAll(async () => {
  await server.close();
});

async function reply(
  provider: ReturnType<typeof createAiSdkProvider>,
  model: string,
  messages: AgentMessage[],
): Promise<string> {
  let text = "";
  for await (const e of provider.stream({ model, messages })) if (e.type === "text-delta") text += e.text;
  return text;
}

describe("the OpenAI-compatible model path", () => {
  it("keeps one model instance per model id across calls", async () => {
    const provider = createAiSdkProvider({ name: "local", kind: "openai-compatible", baseURL: `${server.url}/v1` });
    created.models.length = 0;
    const hi: AgentMessage[] = [{ role: "user", content: "hi", timestamp: 1 }];
    for (let i = 0; i < 3; i++) expect(await reply(provider, "m-a", hi)).toBe("default reply");
    await reply(provider, "m-b", hi);
    await reply(provider, "m-a", hi);
    expect(created.models).toEqual(["m-a", "m-b"]);
    expect(server.requests.slice(-5).map((r) => r.model)).toEqual(["m-a", "m-a", "m-a", "m-b", "m-a"]);
  });

  it("converts a message object once: the next call with the same history does not read it again", async () => {
    const provider = createAiSdkProvider({ name: "local", kind: "openai-compatible", baseURL: `${server.url}/v1` });
    let reads = 0;
    const first: AgentMessage = {
      role: "user",
      get content() {
        reads++;
        return "the history's first message";
      },
      timestamp: 1,
    };
    const history: AgentMessage[] = [first, { role: "user", content: "second", timestamp: 2 }];
    await reply(provider, "m", history);
    const afterFirstCall = reads;
    expect(afterFirstCall).toBeGreaterThan(0);
    await reply(provider, "m", [...history, { role: "user", content: "third", timestamp: 3 }]);
    expect(reads).toBe(afterFirstCall);
    // What was sent is still the whole history, in order.
    const sent = server.requests.at(-1)!.messages as Array<{ role: string; content: unknown }>;
    expect(sent.map((m) => m.content)).toEqual(["the history's first message", "second", "third"]);
  });
});
