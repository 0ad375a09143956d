/**
 * Session tools, sub-agents and agent-to-agent traffic, driven by a scripted model: a local server
 * speaking Anthropic's wire format that plans its tool calls from the conversation it receives.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { PincerConfig } from "../src/config/schema.ts";
import type { OutboundMessage } from "../src/runtime/runtime.ts";
import { memoryAppendTool, ToolRegistry, type ToolContext } from "../src/runtime/tool-registry.ts";
import { openAgentStore } from "../src/session/open-store.ts";
import { startFakeAnthropic, type FakeServer, type Responder, type ScriptedReply } from "./fixtures/fake-providers.ts";
import { post, startTestGateway, until } from "./helpers/gateway-harness.ts";

type Gw = Awaited<ReturnType<typeof startTestGateway>>;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type AnthropicMessage = {
  role: string;
  content: string | Array<{ type: string; text?: string; content?: unknown; is_error?: boolean }>;
};

/** The newest user turn of an Anthropic request: its text, or its tool results. */
function lastTurn(body: Record<string, unknown>): {
  text: string;
  toolResults: Array<{ text: string; isError: boolean }>;
} {
  const msgs = body.messages as AnthropicMessage[];
  const last = msgs[msgs.length - 1]!;
  if (typeof last.content === "string") return { text: last.content, toolResults: [] };
  const plain = (c: unknown): string =>
    typeof c === "string"
      ? c
      : Array.isArray(c)
        ? c.map((x: { text?: string }) => x.text ?? "").join("\n")
        : JSON.stringify(c);
  const toolResults = last.content
    .filter((b) => b.type === "tool_result")
    .map((b) => ({ text: plain(b.content), isError: b.is_error === true }));
  const text = last.content
    .filter((b) => b.type === "text")
    .map((b) => b.text)
    .join("\n");
  return { text, toolResults };
}

let callSeq = 0;
const call = (name: string, input: unknown): ScriptedReply => ({
  toolCalls: [{ id: `toolu_${++callSeq}`, name, input }],
});

async function setup(
  respond: Responder,
  config: PincerConfig = {},
  extra: { tools?: ToolRegistry; home?: string } = {},
): Promise<{ gw: Gw; model: FakeServer; outbound: OutboundMessage[] }> {
  const model = await startFakeAnthropic(respond);
  const gw = await startTestGateway(
    {
      models: { providers: { anthropic: { baseUrl: `${model.url}/v1`, apiKey: "sk-test" } } },
      ...config,
      agents: {
        ...(config.agents ?? {}),
        defaults: { model: "anthropic/claude-test", ...(config.agents?.defaults ?? {}) },
      },
    },
    extra,
  );
  const outbound: OutboundMessage[] = [];
  gw.runtime.onOutbound((m) => outbound.push(m));
  cleanups.push(async () => {
    await gw.cleanup();
    await model.close();
  });
  return { gw, model, outbound };
}

const dm = (text: string, channel = "telegram") => ({
  channel,
  chatType: "direct",
  peerId: "alice",
  senderId: "alice",
  text,
});
const ctxFor = (sessionKey: string, agentId = "main"): ToolContext => ({
  agentId,
  sessionKey,
  workspace: os.tmpdir(),
  now: Date.now(),
  timeZone: undefined,
});

function transcriptOf(
  gw: Gw,
  agentId: string,
  sessionId: string,
): Array<{ type: string; message?: { role: string; content: unknown; isError?: boolean } }> {
  const file = path.join(gw.home, "agents", agentId, "sessions", `${sessionId}.jsonl`);
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; message?: { role: string; content: unknown } });
}
const userTexts = (lines: ReturnType<typeof transcriptOf>) =>
  lines.filter((l) => l.message?.role === "user").map((l) => String(l.message!.content));

describe("sub-agents", () => {
  it("a parent spawns two sub-agents; each result is announced exactly once and the parent's answer reaches its channel", async () => {
    const { gw, outbound } = await setup((body) => {
      const t = lastTurn(body);
      if (t.toolResults.length > 0) return { text: "Started two helpers." };
      if (t.text.startsWith("research A and B"))
        return {
          toolCalls: [
            { id: "s1", name: "sessions_spawn", input: { task: "research A", label: "A" } },
            { id: "s2", name: "sessions_spawn", input: { task: "research B", label: "B" } },
          ],
        };
      const task = /^\[Subagent Task\]: research (\w)/.exec(t.text);
      if (task) return { text: `${task[1]}: the answer is ${task[1] === "A" ? 42 : 7}` };
      // One run may answer both announces (collect mode): name every helper it saw.
      const labels = [...t.text.matchAll(/\[Sub-agent finished\] (\w)/g)].map((m) => m[1]);
      if (labels.length > 0) return { text: `Helpers ${labels.join(", ")} reported back.` };
      return { text: "?" };
    });
    const first = await post(`${gw.url}/v1/inbound`, dm("research A and B"));
    expect(first.json.reply).toBe("Started two helpers.");
    const children = async () => (await gw.runtime.manager.list("main", { keyPrefix: "agent:main:subagent:" })).rows;
    await until(
      async () =>
        (await children()).length === 2 && (await children()).every((r) => r.entry.subagentState === "announced"),
      20_000,
    );
    const rows = await children();
    expect(rows.map((r) => r.entry.label).sort()).toEqual(["A", "B"]);
    expect(rows.every((r) => r.entry.spawnedBy === "agent:main:main" && r.entry.spawnDepth === 1)).toBe(true);
    const parent = (await gw.runtime.manager.get("main", "agent:main:main"))!;
    const announces = userTexts(transcriptOf(gw, "main", parent.sessionId)).filter((t) =>
      t.startsWith("[Sub-agent finished]"),
    );
    expect(announces).toHaveLength(2);
    expect(announces.find((a) => a.includes("] A"))).toContain("A: the answer is 42");
    expect(announces.find((a) => a.includes("] B"))).toContain("B: the answer is 7");
    // The parent's replies to the announces went to Alice's Telegram chat, once each.
    const said = outbound.map((o) => o.text);
    expect(new Set(said).size).toBe(said.length);
    expect(said.join(" ")).toMatch(/Helpers .*A/);
    expect(said.join(" ")).toMatch(/Helpers .*B/);
    expect(outbound.every((o) => o.route.channel === "telegram" && o.route.to === "telegram:alice")).toBe(true);
    // Announcing again (a retry) records nothing new.
    const rowA = rows.find((r) => r.entry.label === "A")!;
    await gw.runtime.manager.patchSession("main", rowA.key, (cur) => ({ ...cur!, subagentState: "finished" }));
    await gw.subagents.announce("main", rowA.key);
    expect(
      userTexts(transcriptOf(gw, "main", parent.sessionId)).filter((t) => t.startsWith("[Sub-agent finished]")),
    ).toHaveLength(2);
  }, 60_000);

  it("the parent is busy when the child finishes and the gateway restarts before delivery: the announce arrives once", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-restart-"));
    cleanups.push(async () => fs.rmSync(home, { recursive: true, force: true }));
    let releaseSlow: (() => void) | null = null;
    const slowTool = {
      spec: { name: "slow_tool", description: "takes a while", parameters: { type: "object", properties: {} } },
      run: (_args: unknown, ctx: ToolContext) =>
        new Promise<string>((resolve, reject) => {
          releaseSlow = () => resolve("slow done");
          ctx.signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
        }),
    };
    const planner: Responder = (body) => {
      const t = lastTurn(body);
      if (t.text.startsWith("start"))
        return {
          toolCalls: [
            { id: "sp", name: "sessions_spawn", input: { task: "count to three", label: "counter" } },
            { id: "sl", name: "slow_tool", input: {} },
          ],
        };
      if (t.text.startsWith("[Subagent Task]")) return { text: "1, 2, 3" };
      if (t.text.startsWith("[Sub-agent finished]")) return { text: "The counter says 1, 2, 3." };
      return { text: "ok" };
    };
    const a = await setup(planner, {}, { tools: new ToolRegistry([memoryAppendTool, slowTool]), home });
    const turn = post(`${a.gw.url}/v1/inbound`, dm("start"));
    const childRow = async (gw: Gw) =>
      (await gw.runtime.manager.list("main", { keyPrefix: "agent:main:subagent:" })).rows[0];
    // The child finishes while the parent is still inside slow_tool; its announce is recorded and waits in the parent's queue.
    await until(async () => (await childRow(a.gw))?.entry.subagentState === "finished", 20_000);
    const parentId = (await a.gw.runtime.manager.get("main", "agent:main:main"))!.sessionId;
    await until(() =>
      userTexts(transcriptOf(a.gw, "main", parentId)).some((t) => t.startsWith("[Sub-agent finished]")),
    );
    expect(releaseSlow).not.toBeNull();
    await a.gw.stop(300);
    await turn.catch(() => undefined);
    // Read from the store itself: a stopped gateway opens no store again.
    const stopped = await openAgentStore({}, home, "main");
    try {
      expect((await stopped.list({ keyPrefix: "agent:main:subagent:" })).rows[0]?.entry.subagentState).toBe("finished");
    } finally {
      await stopped.close();
    }

    // Restart on the same home: recovery answers the recorded announce, without recording it again.
    const b = await setup(planner, {}, { tools: new ToolRegistry([memoryAppendTool, slowTool]), home });
    await until(async () => (await childRow(b.gw))?.entry.subagentState === "announced", 20_000);
    const lines = transcriptOf(b.gw, "main", parentId);
    expect(userTexts(lines).filter((t) => t.startsWith("[Sub-agent finished]"))).toHaveLength(1);
    expect(b.outbound.map((o) => o.text)).toEqual(["The counter says 1, 2, 3."]);
    // A second restart finds nothing left to do.
    await b.gw.stop();
    const c = await setup(planner, {}, { home });
    await new Promise((r) => setTimeout(r, 300));
    expect(c.outbound).toEqual([]);
    expect(
      userTexts(transcriptOf(c.gw, "main", parentId)).filter((t) => t.startsWith("[Sub-agent finished]")),
    ).toHaveLength(1);
  }, 90_000);

  it("a recursive spawner stops at the depth limit", async () => {
    const { gw, model } = await setup(
      (body) => {
        const t = lastTurn(body);
        if (t.toolResults.length > 0) return { text: `spawn result: ${t.toolResults[0]!.text}` };
        if (t.text.startsWith("[Sub-agent finished]")) return { text: "noted" };
        return call("sessions_spawn", { task: "go deeper" });
      },
      { agents: { defaults: { subagents: { maxSpawnDepth: 2 } } } },
    );
    await post(`${gw.url}/v1/inbound`, dm("go deep"));
    const rows = async () => (await gw.runtime.manager.list("main", { keyPrefix: "agent:main:subagent:" })).rows;
    await until(
      async () => (await rows()).length === 2 && (await rows()).every((r) => r.entry.subagentState === "announced"),
      30_000,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect((await rows()).map((r) => r.entry.spawnDepth).sort()).toEqual([1, 2]);
    const refused = model.requests.map((b) => lastTurn(b).toolResults[0]).filter((r) => r?.isError);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused[0]!.text).toContain("maxSpawnDepth=2");
  }, 60_000);
});

describe("agent-to-agent", () => {
  const twoAgents = (a2a: boolean): PincerConfig => ({
    agents: { list: [{ id: "main", default: true }, { id: "ops" }] },
    bindings: [{ agentId: "ops", match: { channel: "slack" } }],
    tools: { sessions: { visibility: "all" }, agentToAgent: { enabled: a2a } },
    session: { agentToAgent: { maxPingPongTurns: 2 } },
  });
  const planner: Responder = (body) => {
    const t = lastTurn(body);
    if (t.toolResults.length > 0) return { text: `send result: ${t.toolResults[0]!.text}` };
    if (t.text === "ask ops")
      return call("sessions_send", {
        sessionKey: "agent:ops:main",
        message: "is the build green?",
        timeoutSeconds: 20,
      });
    if (t.text === "is the build green?") return { text: "yes, green" };
    if (t.text.startsWith("[Agent-to-agent reply")) return { text: "REPLY_SKIP" };
    if (t.text.startsWith("[Agent-to-agent announce]"))
      return { text: "FYI: main asked about the build; it is green." };
    return { text: "hello" };
  };

  it("sessions_send to another agent is refused until tools.agentToAgent allows it, then replies and announces", async () => {
    const off = await setup(planner, twoAgents(false));
    await post(`${off.gw.url}/v1/inbound`, dm("hi ops", "slack"));
    const refused = await post(`${off.gw.url}/v1/inbound`, dm("ask ops"));
    expect(refused.json.reply).toMatch(/Agent-to-agent send is disabled\. Set tools\.agentToAgent\.enabled=true/);
    const opsRow = (await off.gw.runtime.manager.get("ops", "agent:ops:main"))!;
    expect(userTexts(transcriptOf(off.gw, "ops", opsRow.sessionId))).toEqual(["hi ops"]);

    const on = await setup(planner, twoAgents(true));
    await post(`${on.gw.url}/v1/inbound`, dm("hi ops", "slack"));
    const ok = await post(`${on.gw.url}/v1/inbound`, dm("ask ops"));
    expect(ok.json.reply).toMatch(/"status":"ok".*"reply":"yes, green"/);
    const ops = (await on.gw.runtime.manager.get("ops", "agent:ops:main"))!;
    const opsLines = transcriptOf(on.gw, "ops", ops.sessionId);
    const sent = opsLines.find((l) => l.message?.role === "user" && l.message.content === "is the build green?")!;
    expect((sent.message as unknown as { provenance: unknown }).provenance).toEqual({
      kind: "inter_session",
      sourceSessionKey: "agent:main:main",
      sourceTool: "sessions_send",
    });
    // The announce went to the ops session's own channel (Slack), not to the requester.
    await until(() => on.outbound.length === 1, 20_000);
    expect(on.outbound[0]).toMatchObject({
      agentId: "ops",
      sessionKey: "agent:ops:main",
      route: { channel: "slack" },
      text: "FYI: main asked about the build; it is green.",
    });
    // The ops row still points at Slack: internal traffic does not move a session's route.
    expect((await on.gw.runtime.manager.get("ops", "agent:ops:main"))?.lastChannel).toBe("slack");
  }, 60_000);
});

describe("visibility and bad input (tools called directly)", () => {
  async function world(visibility: "self" | "tree" | "agent" | "all", a2a = false) {
    const tools = new ToolRegistry();
    const { gw } = await setup(
      () => ({ text: "ok" }),
      {
        agents: { list: [{ id: "main", default: true }, { id: "ops" }] },
        tools: { sessions: { visibility }, agentToAgent: { enabled: a2a } },
      },
      { tools },
    );
    const m = gw.runtime.manager;
    const mk = (agentId: string, key: string, extra: Record<string, unknown> = {}) =>
      m.patchSession(agentId, key, (cur, now) => ({
        ...(cur ?? { sessionId: crypto.randomUUID(), updatedAt: now }),
        ...extra,
        updatedAt: now,
      }));
    await mk("main", "agent:main:main");
    await mk("main", "agent:main:subagent:c1", { spawnedBy: "agent:main:main", spawnDepth: 1, label: "child" });
    await mk("main", "agent:main:subagent:g1", { spawnedBy: "agent:main:subagent:c1", spawnDepth: 2 });
    await mk("main", "agent:main:telegram:direct:bob");
    await mk("ops", "agent:ops:main");
    const list = async () => {
      const r = await tools.run("sessions_list", { limit: 50 }, ctxFor("agent:main:main"));
      expect(r.isError).toBe(false);
      return (JSON.parse(r.text) as { sessions: Array<{ key: string }> }).sessions.map((s) => s.key).sort();
    };
    return { gw, tools, list };
  }

  it("self, tree, agent and all each show exactly what they must", async () => {
    expect(await (await world("self")).list()).toEqual(["main"]);
    expect(await (await world("tree")).list()).toEqual(["agent:main:subagent:c1", "agent:main:subagent:g1", "main"]);
    expect(await (await world("agent")).list()).toEqual([
      "agent:main:subagent:c1",
      "agent:main:subagent:g1",
      "agent:main:telegram:direct:bob",
      "main",
    ]);
    expect(await (await world("all")).list()).toEqual([
      "agent:main:subagent:c1",
      "agent:main:subagent:g1",
      "agent:main:telegram:direct:bob",
      "main",
    ]);
    expect(await (await world("all", true)).list()).toEqual([
      "agent:main:subagent:c1",
      "agent:main:subagent:g1",
      "agent:main:telegram:direct:bob",
      "agent:ops:main",
      "main",
    ]);
    const tree = await world("tree");
    const denied = await tree.tools.run(
      "sessions_history",
      { sessionKey: "agent:main:telegram:direct:bob" },
      ctxFor("agent:main:main"),
    );
    expect(denied).toMatchObject({
      isError: true,
      text: "Session history visibility is restricted to the current session tree (tools.sessions.visibility=tree).",
    });
    // A child cannot read its parent under tree.
    const up = await tree.tools.run(
      "sessions_history",
      { sessionKey: "agent:main:main" },
      ctxFor("agent:main:subagent:c1"),
    );
    expect(up.isError).toBe(true);
  }, 60_000);

  it("unknown keys, labels used twice, another agent's key and malformed arguments are tool errors", async () => {
    const { tools, gw } = await world("agent");
    const ctx = ctxFor("agent:main:main");
    expect(await tools.run("sessions_history", { sessionKey: "agent:main:nope" }, ctx)).toMatchObject({
      isError: true,
      text: "Unknown sessionKey: agent:main:nope",
    });
    expect(await tools.run("sessions_history", { sessionKey: "agent:ops:main" }, ctx)).toMatchObject({
      isError: true,
      text: expect.stringContaining("Set tools.sessions.visibility=all"),
    });
    expect(await tools.run("sessions_send", { message: 42 }, ctx)).toMatchObject({
      isError: true,
      text: expect.stringMatching(/^sessions_send: message: /),
    });
    expect(await tools.run("sessions_send", { sessionKey: "main", label: "x", message: "hi" }, ctx)).toMatchObject({
      isError: true,
      text: "sessions_send: give either sessionKey or label, not both",
    });
    expect(await tools.run("sessions_send", { label: "nobody", message: "hi" }, ctx)).toMatchObject({
      isError: true,
      text: 'No session found with label "nobody"',
    });
    expect(await tools.run("sessions_spawn", { task: "x", label: "child" }, ctx)).toMatchObject({
      isError: true,
      text: "sessions_spawn: label already in use: child",
    });
    expect(await tools.run("sessions_spawn", { task: "x", agentId: "ops" }, ctx)).toMatchObject({
      isError: true,
      text: expect.stringContaining("subagents.allowAgents"),
    });
    expect(await tools.run("sessions_list", { kinds: ["planet"] }, ctx)).toMatchObject({ isError: true });
    expect(await tools.run("sessions_history", "not an object", ctx)).toMatchObject({ isError: true });
    // By label: the child is reachable by its label, the result is a real reply.
    const send = await tools.run("sessions_send", { label: "child", message: "ping", timeoutSeconds: 20 }, ctx);
    expect(send.isError).toBe(false);
    expect(JSON.parse(send.text)).toMatchObject({ status: "ok", reply: "ok", sessionKey: "agent:main:subagent:c1" });
    const history = await tools.run("sessions_history", { sessionKey: "agent:main:subagent:c1" }, ctx);
    expect(JSON.parse(history.text)).toMatchObject({
      sessionKey: "agent:main:subagent:c1",
      truncated: false,
      contentRedacted: false,
    });
    void gw;
  }, 60_000);

  it("a malformed tool call from the model is an error result it can read, never a crash", async () => {
    const { gw, model } = await setup((body) => {
      const t = lastTurn(body);
      if (t.toolResults.length > 0) return { text: `tool said: ${t.toolResults[0]!.isError ? "error" : "ok"}` };
      return call("sessions_history", { sessionKey: 12 });
    });
    const r = await post(`${gw.url}/v1/inbound`, dm("read something"));
    expect(r.json.reply).toBe("tool said: error");
    expect(lastTurn(model.requests.at(-1)!).toolResults[0]!.text).toContain("sessions_history: sessionKey:");
  }, 60_000);

  it("sessions_history redacts secrets and truncates long texts", async () => {
    const { gw, tools } = await world("agent");
    await post(`${gw.url}/v1/inbound`, {
      channel: "telegram",
      chatType: "direct",
      peerId: "bob",
      senderId: "bob",
      text: `my key is sk-ant-abcdefghijklmnopqrstuvwx and password=hunter2 ${"z".repeat(5000)}`,
    });
    const key = (await gw.runtime.manager.list("main")).rows.find((r) => r.entry.lastTo === "telegram:bob")!.key;
    const h = JSON.parse(
      (await tools.run("sessions_history", { sessionKey: key }, ctxFor("agent:main:main"))).text,
    ) as { messages: Array<{ content: Array<{ text: string }> }>; contentRedacted: boolean; contentTruncated: boolean };
    const text = h.messages[0]!.content[0]!.text;
    expect(text).not.toContain("sk-ant-abcdefghijklmnopqrstuvwx");
    expect(text).not.toContain("hunter2");
    expect(text).toContain("password=[REDACTED]");
    expect(text.endsWith("…(truncated)…")).toBe(true);
    expect(h).toMatchObject({ contentRedacted: true, contentTruncated: true });
  }, 60_000);
});

describe("agents, limits and silence", () => {
  it("each agent has its own store, workspace, model and tool set", async () => {
    const { gw, model } = await setup(() => ({ text: "ok" }), {
      agents: {
        list: [
          { id: "main", default: true },
          { id: "ops", tools: { deny: ["sessions_*"] } },
        ],
      },
      bindings: [{ agentId: "ops", match: { channel: "slack" } }],
    });
    await post(`${gw.url}/v1/inbound`, dm("hi", "slack"));
    const opsTools = (model.requests.at(-1)!.tools as Array<{ name: string }>).map((t) => t.name);
    expect(opsTools).toContain("memory_append");
    expect(opsTools.some((n) => n.startsWith("sessions_"))).toBe(false);
    await post(`${gw.url}/v1/inbound`, dm("hi"));
    const mainTools = (model.requests.at(-1)!.tools as Array<{ name: string }>).map((t) => t.name);
    expect(mainTools).toEqual(
      expect.arrayContaining([
        "sessions_list",
        "sessions_send",
        "sessions_spawn",
        "sessions_history",
        "session_status",
        "sessions_yield",
      ]),
    );
    expect(fs.existsSync(path.join(gw.home, "agents", "ops", "sessions"))).toBe(true);
    expect(await gw.runtime.manager.get("ops", "agent:ops:main")).toBeDefined();
    expect(await gw.runtime.manager.get("main", "agent:ops:main")).toBeUndefined();
    expect(gw.runtime.settingsFor("ops").workspace).toBe(path.join(gw.home, "agents", "ops", "workspace"));
  }, 60_000);

  it("maxChildrenPerAgent holds (counted from the store), and ANNOUNCE_SKIP stays silent", async () => {
    const tools = new ToolRegistry();
    const { gw, outbound } = await setup(
      (body) => {
        const t = lastTurn(body);
        if (t.text.startsWith("[Subagent Task]")) return { text: "done" };
        if (t.text.startsWith("[Sub-agent finished]")) return { text: "ANNOUNCE_SKIP" };
        return { text: "ok" };
      },
      { agents: { defaults: { subagents: { maxChildrenPerAgent: 2 } } } },
      { tools },
    );
    await post(`${gw.url}/v1/inbound`, dm("hello"));
    for (const id of ["r1", "r2"]) {
      await gw.runtime.manager.patchSession("main", `agent:main:subagent:${id}`, (cur, now) => ({
        sessionId: crypto.randomUUID(),
        updatedAt: now,
        spawnedBy: "agent:main:main",
        spawnDepth: 1,
        subagentState: "running",
      }));
    }
    const refused = await tools.run("sessions_spawn", { task: "one more" }, ctxFor("agent:main:main"));
    expect(refused).toMatchObject({ isError: true, text: expect.stringContaining("maxChildrenPerAgent=2") });
    await gw.runtime.manager.patchSession("main", "agent:main:subagent:r1", (cur) => ({
      ...cur!,
      subagentState: "announced",
    }));
    const ok = await tools.run("sessions_spawn", { task: "one more", cleanup: "delete" }, ctxFor("agent:main:main"));
    expect(ok.isError).toBe(false);
    const child = (JSON.parse(ok.text) as { childSessionKey: string }).childSessionKey;
    // cleanup: delete removes the child once its announce was answered; the parent said ANNOUNCE_SKIP, so nothing went out.
    await until(async () => (await gw.runtime.manager.get("main", child)) === undefined, 20_000);
    expect(outbound).toEqual([]);
  }, 60_000);
});
