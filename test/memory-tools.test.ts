/**
 * Memory (issue 15 §4): the silent pre-compaction flush is sent with `memoryFlush.prompt` and
 * `memoryFlush.systemPrompt` as configured and writes `memory/YYYY-MM-DD.md`; in a later session
 * of the same agent `memory_search` finds that fact (ranked, with file and line) and nothing from
 * another agent's workspace; `memory_get` reads a file or a line range and refuses paths outside
 * the agent's memory. Through the real Anthropic SDK client against a local wire-format server.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { localDate, ToolRegistry } from "../src/runtime/tool-registry.ts";
import { MemoryIndex } from "../src/workspace/memory-index.ts";
import { startFakeAnthropic, type FakeServer, type Responder } from "./fixtures/fake-providers.ts";
import { startTestGateway } from "./helpers/gateway-harness.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Block = { type: string; text?: string; content?: unknown; name?: string };
type Msg = { role: string; content: string | Block[] };

function lastUser(body: Record<string, unknown>): { text: string; toolResults: string[] } {
  const msgs = body.messages as Msg[];
  const last = msgs[msgs.length - 1]!;
  if (typeof last.content === "string") return { text: last.content, toolResults: [] };
  const plain = (c: unknown): string =>
    typeof c === "string" ? c : Array.isArray(c) ? (c as Block[]).map((b) => b.text ?? "").join("") : "";
  return {
    // Consecutive user messages arrive merged: the newest is the last text block.
    text: last.content.filter((b) => b.type === "text").at(-1)?.text ?? "",
    toolResults: last.content.filter((b) => b.type === "tool_result").map((b) => plain(b.content)),
  };
}

const systemText = (body: Record<string, unknown>) =>
  Array.isArray(body.system) ? (body.system as Array<{ text: string }>).map((b) => b.text).join("") : "";

const dm = (text: string) => ({ channel: "webchat", chatType: "direct", peerId: "op", senderId: "op", text });

describe("memory: flush, then search in a later session", () => {
  it("the flush uses the configured prompts; memory_search finds its fact later and nothing of another agent", async () => {
    const respond: Responder = (body) => {
      const t = lastUser(body);
      if (t.text.startsWith("FLUSH-NOW") && t.toolResults.length === 0)
        return {
          toolCalls: [{ id: "m1", name: "memory_append", input: { text: "- The launch code is PINEAPPLE-42." } }],
        };
      if (t.toolResults.some((r) => r.startsWith("appended"))) return { text: "NO_REPLY" };
      if (t.text.includes("launch code?"))
        return { toolCalls: [{ id: "s1", name: "memory_search", input: { query: "what is the launch code" } }] };
      if (t.toolResults.length > 0) return { text: `From memory: ${t.toolResults.join(" ")}` };
      return { text: "noted" };
    };
    const model: FakeServer = await startFakeAnthropic(respond);
    const tools = new ToolRegistry();
    const gw = await startTestGateway(
      {
        models: { providers: { anthropic: { baseUrl: `${model.url}/v1`, apiKey: "sk-test" } } },
        agents: {
          defaults: {
            model: "anthropic/claude-test",
            compaction: {
              memoryFlush: {
                forceFlushTranscriptBytes: 1,
                prompt: "FLUSH-NOW: store durable facts in memory/YYYY-MM-DD.md.",
                systemPrompt: "FLUSH-SYSTEM-RULES for YYYY-MM-DD",
              },
            },
          },
          list: [{ id: "main" }, { id: "ops" }],
        },
      },
      { tools },
    );
    cleanups.push(async () => {
      await gw.cleanup();
      await model.close();
    });
    const today = localDate(Date.now(), undefined);
    const opsWs = gw.runtime.settingsFor("ops").workspace;
    fs.mkdirSync(path.join(opsWs, "memory"), { recursive: true });
    fs.writeFileSync(path.join(opsWs, "memory", "secret.md"), "The launch code is BANANA-7.\n");

    // Session 1: the flush runs before the turn, with the configured prompts.
    const first = await gw.runtime.submit(dm("remember things please"), { surface: "http" });
    expect((await first.done).reply).toBe("noted");
    const flushCall = model.requests.find((r) => lastUser(r).text.startsWith("FLUSH-NOW"))!;
    expect(lastUser(flushCall).text).toContain(`FLUSH-NOW: store durable facts in memory/${today}.md.`);
    expect(lastUser(flushCall).text).toContain("reply exactly NO_REPLY");
    expect(lastUser(flushCall).text).toMatch(/Current time: \d{4}-/);
    const flushSystem = systemText(flushCall);
    expect(flushSystem).toContain(`FLUSH-SYSTEM-RULES for ${today}`);
    expect(flushSystem).toContain("# Project Context");
    expect((flushCall.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(["memory_append"]);
    // A normal turn's prompt does not carry the flush's instructions.
    expect(systemText(model.requests.at(-1)!)).not.toContain("FLUSH-SYSTEM-RULES");
    const mainWs = gw.runtime.settingsFor("main").workspace;
    expect(fs.readFileSync(path.join(mainWs, "memory", `${today}.md`), "utf8")).toContain("PINEAPPLE-42");

    // Session 2 of the same agent: memory_search finds the fact, with file and line; ops' is not searched.
    await (
      await gw.runtime.submit(dm("/new"), { surface: "http", commandAuthorized: true })
    ).done;
    const asked = await gw.runtime.submit(dm("what is the launch code?"), { surface: "http" });
    const reply = (await asked.done).reply!;
    expect(reply).toContain("PINEAPPLE-42");
    expect(reply).not.toContain("BANANA");
    const result = JSON.parse(reply.slice("From memory: ".length)) as {
      results: Array<{ path: string; startLine: number; endLine: number; score: number; snippet: string }>;
    };
    expect(result.results[0]).toMatchObject({ path: `memory/${today}.md`, startLine: 1 });

    // memory_get: a line range of one's own memory; nothing outside it.
    const ctx = {
      agentId: "main",
      sessionKey: "agent:main:main",
      workspace: mainWs,
      now: Date.now(),
      timeZone: undefined,
    };
    const got = await tools.run("memory_get", { path: `memory/${today}.md`, from: 1, lines: 1 }, ctx);
    expect(JSON.parse(got.text)).toMatchObject({
      path: `memory/${today}.md`,
      text: "- The launch code is PINEAPPLE-42.",
    });
    for (const bad of ["../../ops/workspace/memory/secret.md", "/etc/passwd", "memory/../AGENTS.md", "SOUL.md"]) {
      const refused = await tools.run("memory_get", { path: bad }, ctx);
      expect(refused.isError, bad).toBe(true);
    }
    const opsSearch = await tools.run(
      "memory_search",
      { query: "launch code" },
      { ...ctx, agentId: "ops", workspace: opsWs },
    );
    expect(opsSearch.text).toContain("BANANA-7");
    expect(opsSearch.text).not.toContain("PINEAPPLE");
  });
});

describe("the memory index", () => {
  it("ranks, follows edits and removals, and reports lines", async () => {
    const dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? "/tmp"), "pincer-mem-"));
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    fs.mkdirSync(path.join(dir, "memory", "2026"), { recursive: true });
    fs.writeFileSync(
      path.join(dir, "MEMORY.md"),
      "# Long term\n\nRobin prefers green tea.\n\nThe dentist is on Friday.\n",
    );
    fs.writeFileSync(path.join(dir, "memory", "2026", "01-05.md"), "tea tea tea: Robin ordered more green tea\n");
    fs.writeFileSync(path.join(dir, "notes.md"), "green tea everywhere\n");
    const idx = new MemoryIndex(dir);
    cleanups.push(async () => idx.close());
    const hits = await idx.search("green tea");
    expect(hits.map((h) => h.path)).toEqual(["memory/2026/01-05.md", "MEMORY.md"]);
    expect(hits[1]).toMatchObject({ startLine: 3, endLine: 3 });
    expect(await idx.search("dentist")).toMatchObject([{ path: "MEMORY.md", startLine: 5 }]);
    expect(await idx.search("   ")).toEqual([]);
    expect(await idx.search('"unbalanced AND (')).toEqual([]);
    fs.appendFileSync(path.join(dir, "MEMORY.md"), "\nThe plumber comes Monday.\n");
    expect(await idx.search("plumber")).toMatchObject([{ path: "MEMORY.md", startLine: 7 }]);
    fs.rmSync(path.join(dir, "memory", "2026", "01-05.md"));
    expect((await idx.search("tea")).map((h) => h.path)).toEqual(["MEMORY.md"]);
    expect((await idx.get("MEMORY.md", 3, 1)).text).toBe("Robin prefers green tea.");
  });
});
