/** The library API end to end on the real fs store: routing, lifecycle, transcripts, races. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SessionManager, type ManagerConfig } from "../src/session/manager.ts";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";

let dir: string;
let store: FsSessionStore;
let now: number;
const clock = { now: () => now };

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-mgr-"));
  store = await FsSessionStore.open({ storePath: path.join(dir, "sessions.json") });
  now = Date.UTC(2026, 10, 20, 12, 0, 0);
});
afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function manager(config: ManagerConfig = {}): SessionManager {
  return new SessionManager({ config, storeFor: async () => store, clock, workspaceFor: () => "/work/agent" });
}
const dm = (peer: string, text: string, extra: Record<string, unknown> = {}) => ({
  channel: "telegram",
  chatType: "direct",
  peerId: peer,
  senderId: peer,
  text,
  ...extra,
});
const utcDaily = {
  session: { dmScope: "per-channel-peer" as const, timeZone: "UTC", reset: { mode: "daily" as const, atHour: 4 } },
};

describe("SessionManager", () => {
  it("records the first message with a header, the user entry and a complete row", async () => {
    const m = manager({ session: { dmScope: "per-channel-peer" } });
    const r = await m.recordInbound(dm("42", "hello", { senderName: "Ada", messageId: "t-1" }));
    expect(r.sessionKey).toBe("agent:main:telegram:direct:42");
    expect(r.isNewSession).toBe(true);
    expect(r.resetReason).toBe("new-session");
    const lines = (await store.readTranscript(r.sessionId)).lines;
    expect(lines[0]).toMatchObject({ type: "session", version: 3, id: r.sessionId, cwd: "/work/agent" });
    expect(lines[1]).toMatchObject({
      type: "message",
      parentId: null,
      message: { role: "user", content: "hello" },
      pincer: { messageId: "t-1", senderId: "42" },
    });
    expect(lines[1]!.id).toMatch(/^[0-9a-f]{8}$/);
    const row = await store.get(r.sessionKey);
    expect(row).toMatchObject({
      sessionId: r.sessionId,
      chatType: "direct",
      sessionStartedAt: now,
      lastInteractionAt: now,
      updatedAt: now,
      lastChannel: "telegram",
      lastTo: "telegram:42",
    });
    expect(row?.sessionFile).toBe(path.join(dir, `${r.sessionId}.jsonl`));
    expect(row?.origin).toMatchObject({ label: "Ada id:42", provider: "telegram", from: "telegram:42" });
  });

  it("chains a reply to the user message and records usage on the row", async () => {
    const m = manager();
    const r = await m.recordInbound(dm("42", "hi"));
    const reply = await m.appendAssistant(r.agentId, r.sessionKey, {
      text: "hello",
      provider: "echo",
      model: "echo",
      usage: { input: 12, output: 3, cacheRead: 100 },
    });
    expect(reply.parentId).toBe(r.messageEntry!.id);
    const row = await store.get(r.sessionKey);
    expect(row).toMatchObject({
      inputTokens: 12,
      outputTokens: 3,
      totalTokens: 112,
      totalTokensFresh: true,
      model: "echo",
      modelProvider: "echo",
    });
    const hist = await m.history(r.agentId, r.sessionKey);
    expect(hist.items.map((i) => [i.role, i.text])).toEqual([
      ["user", "hi"],
      ["assistant", "hello"],
    ]);
  });

  it("isolates peers under per-channel-peer and shares the main session under main", async () => {
    const iso = manager({ session: { dmScope: "per-channel-peer" } });
    const a = await iso.recordInbound(dm("alice", "secret A"));
    const b = await iso.recordInbound(dm("bob", "secret B"));
    expect(a.sessionKey).not.toBe(b.sessionKey);
    const bText = JSON.stringify((await store.readTranscript(b.sessionId)).lines);
    expect(bText).not.toContain("secret A");
    const shared = manager({ session: { dmScope: "main" } });
    const c = await shared.recordInbound(dm("carol", "x"));
    const d = await shared.recordInbound(dm("dave", "y"));
    expect(c.sessionKey).toBe("agent:main:main");
    expect(d.sessionId).toBe(c.sessionId);
  });

  it("rolls over at the daily boundary: the first message after 04:00 starts a new session; user choices survive", async () => {
    const m = manager(utcDaily);
    now = Date.UTC(2026, 10, 20, 3, 59);
    const first = await m.recordInbound(dm("42", "before"));
    await store.patch(first.sessionKey, (cur) => ({
      ...cur!,
      label: "mine",
      modelOverride: "gpt-5",
      providerOverride: "openai",
      inputTokens: 999,
      compactionCount: 3,
    }));
    now = Date.UTC(2026, 10, 20, 4, 1);
    const second = await m.recordInbound(dm("42", "after"));
    expect(second.isNewSession).toBe(true);
    expect(second.resetReason).toBe("daily");
    expect(second.previousSessionId).toBe(first.sessionId);
    const row = await store.get(second.sessionKey);
    expect(row).toMatchObject({
      label: "mine",
      modelOverride: "gpt-5",
      providerOverride: "openai",
      sessionStartedAt: now,
    });
    expect(row?.inputTokens).toBeUndefined();
    expect(row?.compactionCount ?? 0).toBe(0);
    const archived = fs.readdirSync(dir).filter((n) => n.startsWith(`${first.sessionId}.jsonl.reset.`));
    expect(archived).toHaveLength(1);
    now = Date.UTC(2026, 10, 20, 23, 0);
    expect((await m.recordInbound(dm("42", "same day"))).isNewSession).toBe(false);
  });

  it("dates a legacy OpenClaw row (no sessionStartedAt) from its transcript header, not from updatedAt", async () => {
    const m = manager(utcDaily);
    const id = "legacy-0001";
    await store.appendTranscript(id, [
      { type: "session", version: 3, id, timestamp: "2026-11-19T10:00:00.000Z", cwd: "/" },
    ]);
    // OpenClaw bumped updatedAt after today's 04:00 boundary, but the session began yesterday.
    await store.patch("agent:main:telegram:direct:42", () => ({
      sessionId: id,
      updatedAt: Date.UTC(2026, 10, 20, 5, 0),
    }));
    now = Date.UTC(2026, 10, 20, 6, 0);
    expect(await m.resolve(dm("42", "x"))).toMatchObject({ sessionId: id, fresh: false, staleReason: "daily" });
    const r = await m.recordInbound(dm("42", "x"));
    expect(r).toMatchObject({ isNewSession: true, resetReason: "daily", previousSessionId: id });
  });

  it("resets after the idle window, measured from the last real interaction only", async () => {
    const m = manager({
      session: { dmScope: "per-channel-peer", timeZone: "UTC", reset: { mode: "idle", idleMinutes: 60 } },
    });
    const first = await m.recordInbound(dm("42", "hi"));
    now += 50 * 60_000;
    // A non-interactive turn (cron, heartbeat) must not extend idle freshness.
    await m.recordInbound(dm("42", "heartbeat"), { interactive: false });
    now += 11 * 60_000;
    const after = await m.recordInbound(dm("42", "back"));
    expect(after.resetReason).toBe("idle");
    expect(after.sessionId).not.toBe(first.sessionId);
  });

  it("mints exactly one new session id when many messages race into a stale session, keeping all in order", async () => {
    const m = manager(utcDaily);
    now = Date.UTC(2026, 10, 20, 3, 0);
    const old = await m.recordInbound(dm("42", "old"));
    now = Date.UTC(2026, 10, 20, 5, 0);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => m.recordInbound(dm("42", `msg ${i}`))));
    const ids = new Set(results.map((r) => r.sessionId));
    expect(ids.size).toBe(1);
    expect(ids.has(old.sessionId)).toBe(false);
    expect(results.filter((r) => r.isNewSession)).toHaveLength(1);
    const texts = (await store.readTranscript(results[0]!.sessionId)).lines
      .filter((l) => l.type === "message")
      .map((l) => (l.message as { content: string }).content);
    expect(texts).toEqual(Array.from({ length: 10 }, (_, i) => `msg ${i}`));
  });

  it("handles /new and /reset: bare trigger starts an empty session, a remainder becomes the first message", async () => {
    const m = manager();
    const a = await m.recordInbound(dm("42", "hello"));
    const bare = await m.recordInbound(dm("42", "/new"));
    expect(bare.resetReason).toBe("trigger");
    expect(bare.body).toBe("");
    expect(bare.messageEntry).toBeNull();
    expect((await store.readTranscript(bare.sessionId)).lines).toHaveLength(1);
    const withText = await m.recordInbound(dm("42", "/reset tell me a joke"));
    expect(withText.sessionId).not.toBe(bare.sessionId);
    expect(withText.body).toBe("tell me a joke");
    expect(a.sessionId).not.toBe(bare.sessionId);
    const unauthorised = await m.recordInbound(dm("42", "/new"), { commandAuthorized: false });
    expect(unauthorised.isNewSession).toBe(false);
  });

  it("records a retried delivery (same message id) once", async () => {
    const m = manager();
    const a = await m.recordInbound(dm("42", "once", { messageId: "tg-7" }));
    const b = await m.recordInbound(dm("42", "once", { messageId: "tg-7" }));
    expect(b.duplicate).toBe(true);
    expect((await store.readTranscript(a.sessionId)).lines.filter((l) => l.type === "message")).toHaveLength(1);
  });

  it("resolve explains routing and freshness without writing", async () => {
    const m = manager(utcDaily);
    const before = await m.resolve(dm("42", "x"));
    expect(before).toMatchObject({
      agentId: "main",
      sessionKey: "agent:main:telegram:direct:42",
      sessionId: null,
      fresh: false,
      matchedBy: "default",
    });
    expect(await store.count()).toBe(0);
    now = Date.UTC(2026, 10, 20, 3, 0);
    const r = await m.recordInbound(dm("42", "x"));
    const fresh = await m.resolve(dm("42", "x"));
    expect(fresh).toMatchObject({
      sessionId: r.sessionId,
      fresh: true,
      staleReason: null,
      nextResetAt: Date.UTC(2026, 10, 20, 4, 0),
    });
    now = Date.UTC(2026, 10, 20, 4, 30);
    expect(await m.resolve(dm("42", "x"))).toMatchObject({ fresh: false, staleReason: "daily" });
  });

  it("reset and delete archive transcripts instead of destroying them", async () => {
    const m = manager();
    const r = await m.recordInbound(dm("42", "x"));
    const after = await m.reset(r.agentId, r.sessionKey);
    expect(after.sessionId).not.toBe(r.sessionId);
    expect(fs.readdirSync(dir).some((n) => n.startsWith(`${r.sessionId}.jsonl.reset.`))).toBe(true);
    const del = await m.delete(r.agentId, r.sessionKey);
    expect(del.deleted).toBe(true);
    expect(del.archived[0]).toMatch(new RegExp(`^${after.sessionId}\\.jsonl\\.deleted\\.`));
    expect(await store.get(r.sessionKey)).toBeUndefined();
  });

  it("rejects hostile envelopes with a clear error and writes nothing", async () => {
    const m = manager({ session: { dmScope: "per-channel-peer" } });
    await expect(m.recordInbound(dm("ev\u0007il", "x"))).rejects.toThrow(/peerId.*control character/);
    await expect(
      m.recordInbound({ channel: "telegram", chatType: "nope", peerId: "1", senderId: "1", text: "x" }),
    ).rejects.toThrow(/chatType/);
    expect(await store.count()).toBe(0);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith(".jsonl"))).toEqual([]);
  });
});
