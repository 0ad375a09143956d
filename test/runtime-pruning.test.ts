/**
 * cache-ttl pruning inside a real turn: once the prompt cache has expired, old tool results are
 * trimmed in the request sent to the model, and the transcript on disk is not changed (it only
 * grows by the new turn's lines).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, expect, it } from "vitest";
import { memoryAppendTool, ToolRegistry } from "../src/runtime/tool-registry.ts";
import { post, ScriptedProvider, startTestGateway } from "./helpers/gateway-harness.ts";

type Gw = Awaited<ReturnType<typeof startTestGateway>>;
let gw: Gw | null = null;
afterEach(async () => {
  await gw?.cleanup();
  gw = null;
});

class AnthropicLike extends ScriptedProvider {
  override readonly name: string = "anthropic";
}

const BIG = "R".repeat(60_000);

it("prunes old tool results in the request only, never in the transcript", async () => {
  const provider = new AnthropicLike();
  let call = 0;
  provider.reply = () => {
    call++;
    if (call === 1) return [{ type: "toolCall", id: "read1", name: "read_big", arguments: {} }];
    return [{ type: "text", text: `answer ${call}` }];
  };
  const tools = new ToolRegistry([
    memoryAppendTool,
    {
      spec: { name: "read_big", description: "returns a large file", parameters: { type: "object", properties: {} } },
      run: async () => BIG,
    },
  ]);
  // ttl 0.02 minutes = 1.2 s: long enough that a loaded CI machine runs the second turn within it,
  // short enough for the test to outwait the cache.
  const agents = {
    defaults: {
      contextTokens: 40_000,
      contextPruning: { mode: "cache-ttl" as const, ttl: 0.02, keepLastAssistants: 1 },
      compaction: { memoryFlush: { enabled: false }, reserveTokensFloor: 0, reserveTokens: 0 },
    },
  };
  gw = await startTestGateway({ agents }, { provider, tools });
  const send = (text: string) =>
    post(`${gw!.url}/v1/inbound`, { channel: "telegram", chatType: "direct", peerId: "a", senderId: "a", text });
  await send("read the file");
  await send("second");
  const row = await gw.runtime.manager.get("main", "agent:main:main");
  const file = path.join(gw.home, "agents", "main", "sessions", `${row!.sessionId}.jsonl`);
  const before = fs.readFileSync(file);
  expect(before.toString().includes(BIG)).toBe(true);
  expect(before.toString()).toContain('"customType":"openclaw.cache-ttl"');
  // The second turn ran within the TTL: its request still carried the whole tool result.
  expect(JSON.stringify(provider.requests[2]!.messages).includes(BIG)).toBe(true);

  await new Promise((r) => setTimeout(r, 1300));
  await send("third");
  const pruned = provider.requests.at(-1)!;
  const toolResult = pruned.messages.find((m) => m.role === "toolResult");
  const text = JSON.stringify(toolResult);
  expect(text.includes(BIG)).toBe(false);
  expect(text).toMatch(/Tool result trimmed: kept first 1500 chars and last 1500 chars of 60000 chars/);
  // The transcript only grew: every byte written before is unchanged.
  const after = fs.readFileSync(file);
  expect(after.subarray(0, before.length).equals(before)).toBe(true);
  expect(after.toString().includes(BIG)).toBe(true);
  const metrics = await (
    await fetch(`${gw.url}/metrics`, { headers: { authorization: "Bearer test-operator-token-0123456789" } })
  ).text();
  expect(metrics).toMatch(/pincer_pruned_chars_total \d+/);
}, 60_000);
