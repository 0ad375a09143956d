/**
 * The per-session queue and the turn runner together, through a real gateway with a model the
 * test controls: what the model is shown when messages queue up (collect, steer, an overflow
 * summary), compaction, the memory flush, and the shutdown deadline marking the session. Queue
 * mechanics on their own (every mode, debounce, overflow, /stop, tasks, leases, drain) are unit
 * tests of the scheduler: run-scheduler.test.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ContextOverflowError } from "../src/providers/types.ts";
import { post, ScriptedProvider, startTestGateway, until } from "./helpers/gateway-harness.ts";

type Gw = Awaited<ReturnType<typeof startTestGateway>>;
let gw: Gw | null = null;
afterEach(async () => {
  await gw?.cleanup();
  gw = null;
});

const dm = (text: string) => ({ channel: "telegram", chatType: "direct", peerId: "alice", senderId: "alice", text });
const userTexts = (req: { messages: Array<{ role: string; content: unknown }> }) =>
  req.messages.filter((m) => m.role === "user").map((m) => String(m.content));

async function withMode(mode: "collect" | "followup" | "steer" | "interrupt", extra: Record<string, unknown> = {}) {
  const provider = new ScriptedProvider();
  gw = await startTestGateway({ messages: { queue: { mode, ...extra } } }, { provider });
  return provider;
}

describe("queued messages as the model sees them", () => {
  it("collect: messages arriving during a run are answered together by one follow-up run", async () => {
    const provider = await withMode("collect");
    provider.autoRelease = false;
    const first = post(`${gw!.url}/v1/inbound`, dm("first"));
    await until(() => provider.waiting === 1);
    const later = [post(`${gw!.url}/v1/inbound`, dm("second")), post(`${gw!.url}/v1/inbound`, dm("third"))];
    await until(() => (gw!.runtime.queueFor("main", "agent:main:main")?.depth ?? 0) === 2);
    provider.autoRelease = true;
    provider.release();
    const [a, b, c] = await Promise.all([first, ...later]);
    expect(provider.requests).toHaveLength(2);
    // The first run did not see the queued messages; the follow-up saw all three.
    expect(userTexts(provider.requests[0]!)).toEqual(["first"]);
    expect(userTexts(provider.requests[1]!)).toEqual(["first", "second", "third"]);
    // The first run's reply sits right after the message it answered, though it was written after the others.
    expect(provider.requests[1]!.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "user"]);
    expect(a.json.reply).toBe("re: first");
    expect(b!.json.reply).toBe("re: third");
    expect(c!.json.reply).toBe("re: third");
  });

  it("steer: a message sent during a tool loop joins the active run", async () => {
    const provider = await withMode("steer");
    let calls = 0;
    provider.reply = (req) => {
      calls++;
      if (calls === 1) return [{ type: "toolCall", id: "t1", name: "memory_append", arguments: { text: "note" } }];
      return [{ type: "text", text: `saw: ${userTexts(req).join(",")}` }];
    };
    provider.autoRelease = false;
    const first = post(`${gw!.url}/v1/inbound`, dm("start"));
    await until(() => provider.waiting === 1);
    const steer = post(`${gw!.url}/v1/inbound`, dm("also this"));
    await until(() => (gw!.runtime.queueFor("main", "agent:main:main")?.active?.runIds.length ?? 0) === 2);
    provider.autoRelease = true;
    provider.release();
    const [a, b] = await Promise.all([first, steer]);
    expect(a.json.reply).toBe("saw: start,also this");
    expect(b.json.reply).toBe("saw: start,also this");
    expect(provider.requests).toHaveLength(2);
  });

  it("drop:summarize: the next run's model request ends with the summary of what was dropped", async () => {
    const provider = await withMode("followup", { cap: 1, drop: "summarize" });
    provider.autoRelease = false;
    const f = post(`${gw!.url}/v1/inbound`, dm("one"));
    await until(() => provider.waiting === 1);
    const dropped = post(`${gw!.url}/v1/inbound`, dm("two"));
    await until(() => (gw!.runtime.queueFor("main", "agent:main:main")?.depth ?? 0) === 1);
    const kept = post(`${gw!.url}/v1/inbound`, dm("three"));
    expect((await dropped).json.status).toBe("dropped");
    provider.autoRelease = true;
    provider.release();
    await Promise.all([f, kept]);
    const last = provider.requests.at(-1)!;
    expect(userTexts(last).at(-1)).toMatch(/^\[Queue overflow\] Dropped 1 message\(s\) due to cap\.\nSummary:\n- two$/);
  });
});

describe("compaction and memory flush", () => {
  it("a message arriving during a compaction is queued, then answered with the summary in context", async () => {
    const provider = await withMode("collect");
    for (const t of ["a", "b", "c", "d"]) await post(`${gw!.url}/v1/inbound`, dm(t));
    provider.autoRelease = false;
    const compacting = post(`${gw!.url}/v1/inbound`, dm("/compact"));
    await until(() => provider.waiting === 1);
    const during = post(`${gw!.url}/v1/inbound`, dm("during"));
    await until(() => (gw!.runtime.queueFor("main", "agent:main:main")?.depth ?? 0) === 1);
    provider.autoRelease = true;
    provider.release();
    expect((await compacting).json.reply).toMatch(/^⚙️ Compacted/);
    const answer = await during;
    expect(answer.json.reply).toBe("re: during");
    const last = provider.requests.at(-1)!;
    expect(String(last.messages[0]!.content)).toContain("SUMMARY(");
  });

  it("a failed summary keeps the history and says so", async () => {
    const provider = await withMode("collect");
    for (const t of ["a", "b", "c", "d"]) await post(`${gw!.url}/v1/inbound`, dm(t));
    provider.failWith = new Error("model unavailable");
    const r = await post(`${gw!.url}/v1/inbound`, dm("/compact"));
    expect(r.json.reply).toBe("Compaction failed: model unavailable");
    const row = await gw!.runtime.manager.get("main", "agent:main:main");
    expect(row?.compactionCount ?? 0).toBe(0);
  });

  it("context overflow compacts and retries; the memory flush runs first, silently, once per cycle", async () => {
    const provider = new ScriptedProvider();
    let overflowOnce = true;
    provider.reply = (req) => {
      if (req.purpose === "memory-flush") return [{ type: "text", text: "NO_REPLY" }];
      if (req.purpose === "summary") return [{ type: "text", text: "SUMMARY" }];
      return [{ type: "text", text: `re: ${userTexts(req).at(-1)}` }];
    };
    gw = await startTestGateway(
      {
        agents: {
          defaults: {
            contextTokens: 2000,
            compaction: { reserveTokensFloor: 200, memoryFlush: { softThresholdTokens: 100 } },
          },
        },
      },
      { provider },
    );
    for (let i = 0; i < 4; i++) await post(`${gw.url}/v1/inbound`, dm(`${i} ${"x".repeat(4000)}`));
    const flushes = provider.requests.filter((r) => r.purpose === "memory-flush").length;
    expect(flushes).toBeGreaterThanOrEqual(1);
    const row = await gw.runtime.manager.get("main", "agent:main:main");
    expect(row?.memoryFlushAt).toBeTypeOf("number");
    // Now make the provider overflow once: the runner compacts and retries.
    const orig = provider.stream.bind(provider);
    provider.stream = async function* (req) {
      if (req.purpose === "turn" && overflowOnce) {
        overflowOnce = false;
        throw new ContextOverflowError("prompt is too long");
      }
      yield* orig(req);
    };
    const r = await post(`${gw.url}/v1/inbound`, dm("after overflow"));
    expect(r.json.reply).toBe("re: after overflow");
    const after = await gw.runtime.manager.get("main", "agent:main:main");
    expect(after?.compactionCount ?? 0).toBeGreaterThanOrEqual(1);
    const lines = fs.readFileSync(
      path.join(gw.home, "agents", "main", "sessions", `${after!.sessionId}.jsonl`),
      "utf8",
    );
    expect(lines).toContain('"type":"compaction"');
    expect(lines).not.toContain("NO_REPLY");
  });

  it("the memory flush can write today's memory file through its tool", async () => {
    const provider = new ScriptedProvider();
    let flushRound = 0;
    provider.reply = (req) => {
      if (req.purpose === "memory-flush") {
        flushRound++;
        return flushRound === 1
          ? [{ type: "toolCall", id: "m1", name: "memory_append", arguments: { text: "- alice likes tea" } }]
          : [{ type: "text", text: "NO_REPLY" }];
      }
      return [{ type: "text", text: "ok" }];
    };
    gw = await startTestGateway(
      {
        agents: {
          defaults: {
            contextTokens: 1000,
            compaction: { reserveTokensFloor: 100, memoryFlush: { softThresholdTokens: 100 } },
          },
        },
      },
      { provider },
    );
    for (let i = 0; i < 3; i++) await post(`${gw.url}/v1/inbound`, dm(`${"y".repeat(2000)}`));
    const memDir = path.join(gw.home, "agents", "main", "workspace", "memory");
    const files = fs.readdirSync(memDir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{4}-\d{2}-\d{2}\.md$/);
    expect(fs.readFileSync(path.join(memDir, files[0]!), "utf8")).toBe("- alice likes tea\n");
    expect(fs.statSync(path.join(memDir, files[0]!)).mode & 0o777).toBe(0o600);
  });
});

describe("graceful shutdown", () => {
  it("aborts what still runs at the deadline and marks the session", async () => {
    const provider = await withMode("followup");
    provider.autoRelease = false;
    const first = post(`${gw!.url}/v1/inbound`, dm("stuck"));
    await until(() => provider.waiting === 1);
    await gw!.stop(200);
    expect((await first).json.status).toBe("aborted");
    const index = JSON.parse(
      fs.readFileSync(path.join(gw!.home, "agents", "main", "sessions", "sessions.json"), "utf8"),
    ) as Record<string, { abortedLastRun?: boolean }>;
    expect(index["agent:main:main"]!.abortedLastRun).toBe(true);
  });
});
