/**
 * Heartbeats (issue 15 §5) with an injected clock: a turn on the main session every `every`, with
 * the heartbeat prompt and HEARTBEAT.md in the system prompt; a HEARTBEAT_OK reply is silent (no
 * chat text, nothing to the channel); an alert goes to the last route once; the session's
 * freshness does not move; a busy session, an empty HEARTBEAT.md and quiet hours are skipped.
 * The model is a local Anthropic wire-format server behind the real SDK client.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { HeartbeatScheduler, heartbeatFileEmpty, type HeartbeatResult } from "../src/gateway/heartbeat.ts";
import type { ChatEvent, OutboundMessage } from "../src/runtime/runtime.ts";
import { isHeartbeatAck, minuteOfDayIn, resolveHeartbeat, withinActiveHours } from "../src/runtime/heartbeat.ts";
import { DEFAULT_HEARTBEAT_PROMPT } from "../src/runtime/system-prompt.ts";
import { TEMPLATES } from "../src/workspace/templates.ts";
import { buildContext } from "../src/runtime/context-build.ts";
import { runContext } from "../src/runtime/context-cache.ts";
import type { TranscriptLine } from "../src/store/types.ts";
import type { TranscriptDerived } from "../src/transcript/parsed-cache.ts";
import { startFakeAnthropic, type ScriptedReply } from "./fixtures/fake-providers.ts";
import { startTestGateway, until, WsClient } from "./helpers/gateway-harness.ts";
import { sanitizeHistory } from "../src/tools/history-sanitize.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Timers on a manual clock: `advance` runs what fell due. */
class ManualTimers {
  t: number;
  private pending: Array<{ at: number; fn: () => void }> = [];
  constructor(start: number) {
    this.t = start;
  }
  now = () => this.t;
  set = (fn: () => void, ms: number) => {
    const h = { at: this.t + ms, fn };
    this.pending.push(h);
    return h;
  };
  clear = (h: unknown) => {
    this.pending = this.pending.filter((p) => p !== h);
  };
  advance(ms: number): void {
    this.t += ms;
    const due = this.pending.filter((p) => p.at <= this.t);
    this.pending = this.pending.filter((p) => p.at > this.t);
    for (const d of due) d.fn();
  }
}

const MIN = 60_000;
const alice = (text: string) => ({ channel: "telegram", chatType: "direct", peerId: "alice", senderId: "alice", text });
const systemText = (body: Record<string, unknown>) =>
  (body.system as Array<{ text: string }> | undefined)?.map((b) => b.text).join("") ?? "";
function lastUserText(body: Record<string, unknown>): string {
  const msgs = body.messages as Array<{ role: string; content: string | Array<{ type: string; text?: string }> }>;
  const last = msgs[msgs.length - 1]!;
  return typeof last.content === "string"
    ? last.content
    : (last.content.filter((b) => b.type === "text").at(-1)?.text ?? "");
}

async function setup(heartbeat: Record<string, unknown>) {
  let heartbeatReply: ScriptedReply = { text: "HEARTBEAT_OK" };
  let userReply: ScriptedReply = { text: "hello alice" };
  const model = await startFakeAnthropic((body) =>
    lastUserText(body) === DEFAULT_HEARTBEAT_PROMPT ? heartbeatReply : userReply,
  );
  const gw = await startTestGateway({
    models: { providers: { anthropic: { baseUrl: `${model.url}/v1`, apiKey: "sk-test" } } },
    agents: { defaults: { model: "anthropic/claude-test", heartbeat } },
  });
  cleanups.push(async () => {
    await gw.cleanup();
    await model.close();
  });
  const ws = gw.runtime.settingsFor("main").workspace;
  fs.writeFileSync(path.join(ws, "HEARTBEAT.md"), "# Checklist\n- Look at the backup log.\n");
  const outbound: OutboundMessage[] = [];
  gw.runtime.onOutbound((m) => outbound.push(m));
  const chat: ChatEvent[] = [];
  gw.runtime.onChat((e) => chat.push(e));
  const timers = new ManualTimers(Date.now());
  const results: HeartbeatResult[] = [];
  const scheduler = new HeartbeatScheduler({
    rt: gw.runtime,
    agentIds: () => ["main"],
    logger: pino({ level: "silent" }),
    timers,
    onResult: (_agent, r) => results.push(r),
  });
  cleanups.push(async () => scheduler.stop());
  return {
    gw,
    model,
    ws,
    outbound,
    chat,
    timers,
    results,
    scheduler,
    setHeartbeatReply: (r: ScriptedReply) => (heartbeatReply = r),
    setUserReply: (r: ScriptedReply) => (userReply = r),
  };
}

describe("heartbeat", () => {
  it("fires on schedule; HEARTBEAT_OK is silent; an alert reaches the last route once; freshness does not move", async () => {
    const h = await setup({ every: "30m", target: "last" });
    expect(await (await h.gw.runtime.submit(alice("hi"), { surface: "http" })).done).toMatchObject({
      reply: "hello alice",
    });
    const before = (await h.gw.runtime.manager.get("main", "agent:main:main"))!;
    h.scheduler.start();

    h.timers.advance(29 * MIN);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.results).toEqual([]);
    expect(h.model.requests).toHaveLength(1);

    const chatBefore = h.chat.length;
    h.timers.advance(1 * MIN);
    await until(() => h.results.length === 1);
    expect(h.results[0]).toEqual({ status: "ack" });
    const sent = h.model.requests.at(-1)!;
    expect(lastUserText(sent)).toBe(DEFAULT_HEARTBEAT_PROMPT);
    expect(systemText(sent)).toContain("## HEARTBEAT.md\n\n# Checklist\n- Look at the backup log.");
    expect(h.outbound).toEqual([]);
    const heartbeatEvents = h.chat.slice(chatBefore);
    expect(heartbeatEvents.every((e) => !(e.text ?? "").includes("HEARTBEAT") && e.message === undefined)).toBe(true);
    expect(heartbeatEvents.at(-1)).toMatchObject({ state: "final", delivered: false });

    const after = (await h.gw.runtime.manager.get("main", "agent:main:main"))!;
    expect(after.sessionId).toBe(before.sessionId);
    expect(after.lastInteractionAt).toBe(before.lastInteractionAt);
    expect(after.sessionStartedAt).toBe(before.sessionStartedAt);
    expect(after.lastChannel).toBe("telegram");

    // The acknowledged exchange stays in the file but leaves the context: the next turn does not carry it.
    await (
      await h.gw.runtime.submit(alice("anything new?"), { surface: "http" })
    ).done;
    const interacted = (await h.gw.runtime.manager.get("main", "agent:main:main"))!.lastInteractionAt;
    const next = JSON.stringify(h.model.requests.at(-1)!.messages);
    expect(next).toContain("anything new?");
    expect(next).not.toContain("HEARTBEAT");
    expect(next).not.toContain(DEFAULT_HEARTBEAT_PROMPT);

    // An alert goes to the session's last route; the same alert again is not repeated.
    h.setHeartbeatReply({ text: "The backup failed last night." });
    h.timers.advance(30 * MIN);
    await until(() => h.results.length === 2);
    expect(h.results[1]).toEqual({ status: "replied", reply: "The backup failed last night.", delivered: true });
    expect(h.outbound).toMatchObject([
      { sessionKey: "agent:main:main", route: { channel: "telegram" }, text: "The backup failed last night." },
    ]);
    // The alert's outbox dedupe id is its session, day and text: a run repeated after a crash that
    // came before the row noted the alert is not delivered twice.
    expect(h.outbound[0]!.dedupeId).toMatch(/^heartbeat:main:agent:main:main:\d{4}-\d{2}-\d{2}:[0-9a-f]{16}$/);
    h.timers.advance(30 * MIN);
    await until(() => h.results.length === 3);
    expect(h.results[2]).toMatchObject({ status: "replied", delivered: false });
    expect(h.outbound).toHaveLength(1);
    expect((await h.gw.runtime.manager.get("main", "agent:main:main"))!.lastInteractionAt).toBe(interacted);
    // An alert is a real exchange: it stays in the context.
    await (
      await h.gw.runtime.submit(alice("ok, thanks"), { surface: "http" })
    ).done;
    expect(JSON.stringify(h.model.requests.at(-1)!.messages)).toContain("The backup failed last night.");
  });

  it("an acknowledged heartbeat is hidden from chat.history, sessions history and sessions_history, and kept in the transcript", async () => {
    const h = await setup({ every: "30m" });
    await (
      await h.gw.runtime.submit(alice("hi"), { surface: "http" })
    ).done;
    expect(await h.scheduler.runOnce("main")).toEqual({ status: "ack" });
    await (
      await h.gw.runtime.submit(alice("anything new?"), { surface: "http" })
    ).done;
    h.setHeartbeatReply({ text: "The backup failed last night." });
    expect(await h.scheduler.runOnce("main")).toMatchObject({ status: "replied" });
    const visible = [
      "hi",
      "hello alice",
      "anything new?",
      "hello alice",
      DEFAULT_HEARTBEAT_PROMPT,
      "The backup failed last night.",
    ];

    const ws = await WsClient.connect(h.gw.url);
    cleanups.push(async () => ws.close());
    const wsHistory = await ws.call("chat.history", { sessionKey: "agent:main:main" });
    expect((wsHistory.messages as Array<{ text: string }>).map((m) => m.text)).toEqual(visible);
    const own = await h.gw.runtime.manager.history("main", "agent:main:main");
    expect(own.items.map((m) => m.text)).toEqual(visible);
    const entry = (await h.gw.runtime.manager.get("main", "agent:main:main"))!;
    // What the sessions_history tool hands another agent.
    const { lines } = await h.gw.runtime.manager.transcriptLines("main", entry.sessionId);
    const forAgent = sanitizeHistory(lines, { limit: 200, includeTools: false }).messages;
    expect(forAgent.map((m) => (m.content as Array<{ text: string }>)[0]!.text)).toEqual(visible);

    await h.gw.stop(2000);
    const out = spawnSync(
      process.execPath,
      [path.join(import.meta.dirname, "..", "bin", "pincer.js"), "sessions", "history", "agent:main:main", "--json"],
      { env: { ...process.env, PINCER_HOME: h.gw.home, PINCER_CONFIG: "" }, encoding: "utf8" },
    );
    expect(out.status, out.stderr).toBe(0);
    expect((JSON.parse(out.stdout) as { messages: Array<{ text: string }> }).messages.map((m) => m.text)).toEqual(
      visible,
    );
    // The file keeps the acknowledged exchange.
    const file = fs.readFileSync(
      path.join(h.gw.home, "agents", "main", "sessions", `${entry.sessionId}.jsonl`),
      "utf8",
    );
    expect(file).toContain('"HEARTBEAT_OK"');
    expect(file.split(DEFAULT_HEARTBEAT_PROMPT).length - 1).toBe(2);
  });

  it("skips a busy session, an empty HEARTBEAT.md, a missing session and quiet hours", async () => {
    const h = await setup({ every: "30m" });
    expect(await h.scheduler.runOnce("main")).toEqual({ status: "skipped", reason: "no-session" });
    await (
      await h.gw.runtime.submit(alice("hi"), { surface: "http" })
    ).done;

    // Busy: a run is in progress on the main session.
    h.setUserReply({ stallAfter: "working on it" });
    const requests = h.model.requests.length;
    const long = await h.gw.runtime.submit(alice("long task"), { surface: "http" });
    await until(() => h.model.requests.length > requests);
    expect(await h.scheduler.runOnce("main")).toEqual({ status: "skipped", reason: "busy" });
    h.gw.runtime.abort("main", "agent:main:main", "test over");
    await long.done;
    expect(h.model.requests.filter((r) => lastUserText(r) === DEFAULT_HEARTBEAT_PROMPT)).toEqual([]);

    // The template HEARTBEAT.md has only headings and comments: no model call for nothing.
    fs.writeFileSync(path.join(h.ws, "HEARTBEAT.md"), TEMPLATES["HEARTBEAT.md"]!);
    expect(await h.scheduler.runOnce("main")).toEqual({ status: "skipped", reason: "empty-heartbeat-file" });
    expect(heartbeatFileEmpty("# Title\n\n- [ ]\n<!-- note -->\n")).toBe(true);
    expect(heartbeatFileEmpty("# Title\n- check mail\n")).toBe(false);
  });

  it("active hours, the ack rule and the settings", () => {
    expect(withinActiveHours({ start: "08:00", end: "22:00" }, 7 * 60 + 59)).toBe(false);
    expect(withinActiveHours({ start: "08:00", end: "22:00" }, 8 * 60)).toBe(true);
    expect(withinActiveHours({ start: "22:00", end: "06:00" }, 23 * 60)).toBe(true);
    expect(withinActiveHours({ start: "22:00", end: "06:00" }, 12 * 60)).toBe(false);
    expect(withinActiveHours({ start: "08:00", end: "24:00" }, 23 * 60 + 59)).toBe(true);
    expect(minuteOfDayIn(Date.UTC(2026, 0, 5, 23, 30), "Europe/Berlin")).toBe(30);

    expect(isHeartbeatAck("HEARTBEAT_OK", 0)).toBe(true);
    expect(isHeartbeatAck("**HEARTBEAT_OK**", 0)).toBe(true);
    expect(isHeartbeatAck("HEARTBEAT_OK all quiet here", 300)).toBe(true);
    expect(isHeartbeatAck("All quiet. HEARTBEAT_OK", 300)).toBe(true);
    expect(isHeartbeatAck("HEARTBEAT_OK all quiet here", 0)).toBe(false);
    expect(isHeartbeatAck(`HEARTBEAT_OK ${"x".repeat(301)}`, 300)).toBe(false);
    expect(isHeartbeatAck("the word HEARTBEAT_OK in the middle", 300)).toBe(false);

    expect(resolveHeartbeat(undefined, "main")).toMatchObject({
      enabled: true,
      everyMs: 30 * MIN,
      target: "none",
      ackMaxChars: 300,
      prompt: DEFAULT_HEARTBEAT_PROMPT,
    });
    expect(resolveHeartbeat({ defaults: { heartbeat: { every: "0m" } } }, "main").enabled).toBe(false);
    // Without agents' own blocks only the default agent has heartbeats.
    expect(resolveHeartbeat({ list: [{ id: "main" }, { id: "ops" }] }, "ops").enabled).toBe(false);
    expect(resolveHeartbeat({ list: [{ id: "main" }, { id: "ops", default: true }] }, "ops").enabled).toBe(true);
    // Once an agent has its own block, only such agents run heartbeats; its keys win over the defaults'.
    const agents = {
      defaults: { heartbeat: { every: "1h" } },
      list: [{ id: "main" }, { id: "ops", heartbeat: { target: "last" } }],
    };
    expect(resolveHeartbeat(agents, "main").enabled).toBe(false);
    expect(resolveHeartbeat(agents, "ops")).toMatchObject({ enabled: true, everyMs: 60 * MIN, target: "last" });
  });

  it("on a shared store, a beat another gateway claimed is not run here", async () => {
    const h = await setup({ every: "30m" });
    await (
      await h.gw.runtime.submit(alice("hi"), { surface: "http" })
    ).done;
    const claims: number[] = [];
    const results: HeartbeatResult[] = [];
    const other = new HeartbeatScheduler({
      rt: h.gw.runtime,
      agentIds: () => ["main"],
      logger: pino({ level: "silent" }),
      timers: h.timers,
      onResult: (_a, r) => results.push(r),
      claim: async (_agent, ttlMs) => {
        claims.push(ttlMs);
        return false;
      },
    });
    other.start();
    cleanups.push(async () => other.stop());
    const before = h.model.requests.length;
    h.timers.advance(30 * MIN);
    await until(() => results.length === 1);
    expect(results[0]).toEqual({ status: "skipped", reason: "elsewhere" });
    expect(claims).toEqual([15 * MIN]);
    expect(h.model.requests.length).toBe(before);
  });

  it("quiet hours skip the heartbeat", async () => {
    const now = new Date();
    const hour = now.getUTCHours();
    const pad = (n: number) => String(n).padStart(2, "0");
    // A one-hour window that excludes the current UTC hour.
    const start = `${pad((hour + 2) % 24)}:00`;
    const end = `${pad((hour + 3) % 24)}:00`;
    const h = await setup({ every: "30m", activeHours: { start, end, timezone: "UTC" } });
    await (
      await h.gw.runtime.submit(alice("hi"), { surface: "http" })
    ).done;
    expect(await h.scheduler.runOnce("main")).toEqual({ status: "skipped", reason: "quiet-hours" });
  });

  it("an acknowledged heartbeat leaves the context the same way in the kept build and the reference build", () => {
    const KEY = "agent:main:main";
    const msg = (id: string, role: string, text: string, pincer: Record<string, unknown> = {}): TranscriptLine => ({
      type: "message",
      id,
      message:
        role === "user"
          ? { role, content: text, timestamp: 1 }
          : role === "toolResult"
            ? { role, toolCallId: "c", toolName: "t", content: [{ type: "text", text }], isError: false, timestamp: 1 }
            : { role, content: [{ type: "text", text }], stopReason: "stop", timestamp: 1 },
      pincer: { sessionKey: KEY, ...pincer },
    });
    const lines: TranscriptLine[] = [
      { type: "session", id: "s1" },
      msg("u1", "user", "hello"),
      msg("a1", "assistant", "hi", { after: "u1" }),
      msg("h1", "user", DEFAULT_HEARTBEAT_PROMPT),
      msg("t1", "assistant", "checking", { after: "h1" }),
      msg("r1", "toolResult", "ok", { after: "h1" }),
      // Arrived while the heartbeat ran.
      msg("u2", "user", "are you there?"),
      msg("k1", "assistant", "HEARTBEAT_OK", { after: "h1", heartbeat: "ack" }),
      msg("a2", "assistant", "yes", { after: "u2" }),
    ];
    const texts = (ms: readonly { content: unknown }[]) => ms.map((m) => JSON.stringify(m.content));
    const reference = buildContext(lines);
    expect(texts(reference.messages)).toEqual(
      texts([lines[1]!, lines[2]!, lines[6]!, lines[8]!].map((l) => l.message as { content: unknown })),
    );
    // The kept build, grown line by line as a session's turns append them.
    let derived: TranscriptDerived | undefined;
    for (let n = 1; n <= lines.length; n++) {
      const view = { lines, length: n, issues: 0, derived, keep: (d: TranscriptDerived) => (derived = d) };
      const ctx = runContext(view, KEY, "s1", new Set());
      expect(texts(ctx.messages), `after ${n} lines`).toEqual(texts(buildContext(lines.slice(0, n)).messages));
    }
  });
});
