/**
 * The rules behind reading an OpenClaw state dir (issue 14 §4–7, §11), each on its own: legacy-key
 * adoption and its refusals, idle freshness from the transcript for rows without
 * `lastInteractionAt`, `sessionFile` names honoured only by basename and only for the row's own
 * session, OpenClaw's age rounding, `sessions clear` (history archived, settings kept) and the
 * `sessions list` alias.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatAge } from "../src/cli/session-rows.ts";
import { SessionManager, type LegacyKeyEvent, type ManagerConfig } from "../src/session/manager.ts";
import type { SessionEntry } from "../src/store/entry.ts";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";
import { transcriptIdOf } from "../src/store/session-file.ts";
import { ScriptedProvider, startTestGateway } from "./helpers/gateway-harness.ts";

const BIN = path.join(import.meta.dirname, "..", "bin", "pincer.js");
const TOOL = path.resolve(import.meta.dirname, "..", "..", "shared", "tools", "openclaw-3.13");
const toolPresent = fs.existsSync(TOOL);
const NOW = Date.parse("2026-06-01T12:00:00.000Z");
const MIN = 60_000;

let dir: string;
let store: FsSessionStore;
let events: LegacyKeyEvent[];
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-ocrules-"));
  store = await FsSessionStore.open({ storePath: path.join(dir, "sessions.json") });
  events = [];
});
afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function manager(config: ManagerConfig = {}, now = NOW): SessionManager {
  return new SessionManager({
    config,
    storeFor: async () => store,
    clock: { now: () => now },
    onLegacyKey: (e) => events.push(e),
  });
}

/** An OpenClaw transcript: header, then user/assistant messages at the given times. */
function writeTranscript(name: string, sessionId: string, start: number, messages: Array<[string, number]>): void {
  const lines: unknown[] = [
    { type: "session", version: 3, id: sessionId, timestamp: new Date(start).toISOString(), cwd: "/w" },
  ];
  let parent: string | null = null;
  messages.forEach(([role, at], i) => {
    const id = `e${i}`;
    lines.push({
      type: "message",
      id,
      parentId: parent,
      timestamp: new Date(at).toISOString(),
      message: { role, content: [{ type: "text", text: `${role} ${i}` }], timestamp: at },
    });
    parent = id;
  });
  fs.writeFileSync(path.join(dir, `${name}.jsonl`), lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
}

async function putRow(key: string, entry: SessionEntry): Promise<void> {
  await store.putMany([{ key, entry }]);
}

describe("rows OpenClaw wrote under its own key form", () => {
  it("a Matrix room keyed with a raw ':' is adopted: moved to Pincer's key, same session, same transcript", async () => {
    const sid = "aaaaaaaa-0000-4000-8000-000000000001";
    writeTranscript(sid, sid, NOW - 10 * MIN, [["user", NOW - 9 * MIN]]);
    await putRow("agent:main:matrix:channel:!room:example.org", { sessionId: sid, updatedAt: NOW - 9 * MIN });
    const m = manager({ session: { reset: { mode: "idle", idleMinutes: 60 } } });
    const env = {
      channel: "matrix",
      chatType: "channel",
      peerId: "!room:example.org",
      senderId: "@b:example.org",
      text: "hi",
    };
    expect((await m.resolve(env)).legacy).toMatchObject({
      key: "agent:main:matrix:channel:!room:example.org",
      adopt: true,
    });
    const r = await m.recordInbound(env);
    expect(r.sessionKey).toBe("agent:main:matrix:channel:!room%3aexample.org");
    expect(r.sessionId).toBe(sid);
    expect(r.isNewSession).toBe(false);
    expect(await store.get("agent:main:matrix:channel:!room:example.org")).toBeUndefined();
    expect((await m.history("main", r.sessionKey)).items.map((i) => i.role)).toEqual(["user", "user"]);
    expect(events).toEqual([
      expect.objectContaining({ adopted: true, legacyKey: "agent:main:matrix:channel:!room:example.org" }),
    ]);
  });

  it("a linked identity OpenClaw keyed like a raw id is adopted when the row's origin is one of its ids", async () => {
    const sid = "aaaaaaaa-0000-4000-8000-000000000002";
    writeTranscript(sid, sid, NOW - 10 * MIN, [["user", NOW - 9 * MIN]]);
    await putRow("agent:main:telegram:direct:alice", {
      sessionId: sid,
      updatedAt: NOW - 9 * MIN,
      origin: { from: "telegram:555" },
    });
    const config: ManagerConfig = {
      session: { dmScope: "per-channel-peer", identityLinks: { alice: ["telegram:555"] }, reset: { mode: "none" } },
    };
    const r = await manager(config).recordInbound({
      channel: "telegram",
      chatType: "direct",
      peerId: "555",
      senderId: "555",
      text: "hi",
    });
    expect(r.sessionKey).toBe("agent:main:telegram:direct:~alice");
    expect(r.sessionId).toBe(sid);
  });

  it("a linked identity's row with no sender recorded (OpenClaw's agent RPC writes none) is adopted; one naming another sender is not", async () => {
    const config: ManagerConfig = {
      session: { dmScope: "per-channel-peer", identityLinks: { bob: ["telegram:777"] }, reset: { mode: "none" } },
    };
    const env = { channel: "telegram", chatType: "direct", peerId: "777", senderId: "777", text: "hi" };
    await putRow("agent:main:telegram:direct:bob", {
      sessionId: "aaaaaaaa-0000-4000-8000-000000000006",
      updatedAt: NOW,
    });
    expect((await manager(config).recordInbound(env)).sessionId).toBe("aaaaaaaa-0000-4000-8000-000000000006");
    await store.putMany([{ key: "agent:main:telegram:direct:~bob", entry: null }]);
    await putRow("agent:main:telegram:direct:bob", {
      sessionId: "aaaaaaaa-0000-4000-8000-000000000007",
      updatedAt: NOW,
      origin: { from: "telegram:999" },
    });
    expect((await manager(config).recordInbound(env)).sessionId).not.toBe("aaaaaaaa-0000-4000-8000-000000000007");
  });

  it("a peer id with a non-ASCII capital (OpenClaw folded it with toLowerCase) is adopted", async () => {
    const sid = "aaaaaaaa-0000-4000-8000-000000000005";
    writeTranscript(sid, sid, NOW - 10 * MIN, [["user", NOW - 9 * MIN]]);
    await putRow("agent:main:telegram:direct:ärger", { sessionId: sid, updatedAt: NOW - 9 * MIN });
    const r = await manager({ session: { dmScope: "per-channel-peer", reset: { mode: "none" } } }).recordInbound({
      channel: "telegram",
      chatType: "direct",
      peerId: "Ärger",
      senderId: "Ärger",
      text: "hi",
    });
    expect(r.sessionKey).toBe("agent:main:telegram:direct:%c3%84rger");
    expect(r.sessionId).toBe(sid);
    expect(await store.get("agent:main:telegram:direct:ärger")).toBeUndefined();
  });

  it("refuses a legacy key that is Pincer's key of another peer (Signal group ids differing in case), and reports it", async () => {
    const sid = "aaaaaaaa-0000-4000-8000-000000000003";
    writeTranscript(sid, sid, NOW - 10 * MIN, [["user", NOW - 9 * MIN]]);
    const legacy = "agent:main:signal:group:abcd";
    const row = { sessionId: sid, updatedAt: NOW - 9 * MIN, origin: { from: "signal:group:abcd" } };
    await putRow(legacy, row);
    const m = manager({ session: { reset: { mode: "none" } } });
    const env = { channel: "signal", chatType: "group", peerId: "aBcD", senderId: "+1555", text: "hi" };
    expect((await m.resolve(env)).legacy).toMatchObject({ key: legacy, adopt: false });
    const r = await m.recordInbound(env);
    expect(r.sessionId).not.toBe(sid);
    expect(r.isNewSession).toBe(true);
    expect(await store.get(legacy)).toEqual(row);
    expect(events).toEqual([expect.objectContaining({ adopted: false, legacyKey: legacy })]);
    // The group that key does name continues it as usual.
    const own = await m.recordInbound({ ...env, peerId: "abcd" });
    expect(own.sessionId).toBe(sid);
  });

  it("a Signal group row whose recorded origin spells this group exactly is adopted", async () => {
    const sid = "aaaaaaaa-0000-4000-8000-000000000008";
    await putRow("agent:main:signal:group:xyzw", {
      sessionId: sid,
      updatedAt: NOW,
      origin: { from: "signal:group:xYzW" },
    });
    const m = manager({ session: { reset: { mode: "none" } } });
    const env = { channel: "signal", chatType: "group", peerId: "xYzW", senderId: "+1555", text: "hi" };
    expect((await m.recordInbound(env)).sessionId).toBe(sid);
    // Another case variant of the same legacy key finds no row any more (it moved).
    expect((await m.resolve({ ...env, peerId: "XYZW" })).legacy).toBeUndefined();
  });

  it("refuses a legacy-form key whose row Pincer itself wrote for that conversation", async () => {
    const sid = "aaaaaaaa-0000-4000-8000-000000000004";
    // Pincer's row of Signal peer `+1555x` — also OpenClaw's (lower-cased) form of peer `+1555X`'s key.
    const key = "agent:main:signal:direct:+1555x";
    await putRow(key, { sessionId: sid, updatedAt: NOW, sessionStartedAt: NOW, origin: { from: "signal:+1555X" } });
    const m = manager({ session: { dmScope: "per-channel-peer" } });
    const env = { channel: "signal", chatType: "direct", peerId: "+1555X", senderId: "+1555X", text: "hi" };
    expect((await m.resolve(env)).legacy).toMatchObject({ key, adopt: false, why: expect.stringContaining("Pincer") });
    const r = await m.recordInbound(env);
    expect(r.sessionId).not.toBe(sid);
    expect((await store.get(key))?.sessionId).toBe(sid);
  });
});

describe("idle freshness of rows without lastInteractionAt", () => {
  const sid = "bbbbbbbb-0000-4000-8000-000000000001";
  const idle = { session: { reset: { mode: "idle" as const, idleMinutes: 60 } } };

  it("a session whose user spoke 5 minutes ago continues (the start was 3 hours ago)", async () => {
    writeTranscript(sid, sid, NOW - 180 * MIN, [
      ["user", NOW - 179 * MIN],
      ["assistant", NOW - 178 * MIN],
      ["user", NOW - 5 * MIN],
      ["assistant", NOW - 4 * MIN],
    ]);
    await putRow("agent:main:main", { sessionId: sid, updatedAt: NOW - 4 * MIN });
    const m = manager(idle);
    expect(
      (await m.resolve({ channel: "webchat", chatType: "direct", peerId: "u", senderId: "u", text: "x" })).fresh,
    ).toBe(true);
    const r = await m.recordInbound({
      channel: "webchat",
      chatType: "direct",
      peerId: "u",
      senderId: "u",
      text: "again",
    });
    expect(r.sessionId).toBe(sid);
  });

  it("only a user message counts: a later assistant line or row write does not keep it alive", async () => {
    writeTranscript(sid, sid, NOW - 180 * MIN, [
      ["user", NOW - 90 * MIN],
      ["assistant", NOW - 2 * MIN],
    ]);
    await putRow("agent:main:main", { sessionId: sid, updatedAt: NOW - MIN });
    const r = await manager(idle).recordInbound({
      channel: "webchat",
      chatType: "direct",
      peerId: "u",
      senderId: "u",
      text: "x",
    });
    expect(r.isNewSession).toBe(true);
    expect(r.resetReason).toBe("idle");
  });
});

describe("sessionFile", () => {
  it("is honoured by basename, only when it names this session's own transcript", () => {
    const id = "cccccccc-0000-4000-8000-000000000001";
    expect(
      transcriptIdOf({ sessionId: id, sessionFile: `/old/home/.openclaw/agents/main/sessions/${id}-topic-42.jsonl` }),
    ).toBe(`${id}-topic-42`);
    expect(transcriptIdOf({ sessionId: id, sessionFile: `C:\\Users\\u\\.openclaw\\sessions\\${id}.jsonl` })).toBe(id);
    expect(transcriptIdOf({ sessionId: id, sessionFile: "/x/dddddddd-0000-4000-8000-000000000009.jsonl" })).toBe(id);
    expect(transcriptIdOf({ sessionId: id, sessionFile: "../../etc/passwd" })).toBe(id);
    expect(transcriptIdOf({ sessionId: id, sessionFile: `/x/${id}.jsonl.reset.2026-01-01T00-00-00.000Z` })).toBe(id);
    expect(transcriptIdOf({ sessionId: id, sessionFile: "/x/sessions.json" })).toBe(id);
  });

  it("a reset archives the topic transcript under its own name and starts <newId>.jsonl", async () => {
    const id = "cccccccc-0000-4000-8000-000000000002";
    writeTranscript(`${id}-topic-42`, id, NOW - MIN, [["user", NOW - MIN]]);
    const key = "agent:main:telegram:group:-100:topic:42";
    await putRow(key, { sessionId: id, updatedAt: NOW, sessionFile: `/gone/${id}-topic-42.jsonl` });
    const m = manager();
    const after = await m.reset("main", key);
    const names = fs.readdirSync(dir);
    expect(names.some((n) => n.startsWith(`${id}-topic-42.jsonl.reset.`))).toBe(true);
    expect(names).toContain(`${after.sessionId}.jsonl`);
    expect(after.sessionFile).toBe(path.join(dir, `${after.sessionId}.jsonl`));
    await m.delete("main", key);
    expect(fs.readdirSync(dir).some((n) => n.startsWith(`${after.sessionId}.jsonl.deleted.`))).toBe(true);
  });
});

describe("CLI shapes", () => {
  it("ages are rounded as OpenClaw rounds them", () => {
    expect(formatAge(29_000)).toBe("just now");
    expect(formatAge(90_000)).toBe("2m ago");
    expect(formatAge(91 * MIN)).toBe("2h ago");
    expect(formatAge(30 * 60 * MIN)).toBe("30h ago");
    expect(formatAge(47 * 60 * MIN)).toBe("47h ago");
    expect(formatAge(48 * 60 * MIN)).toBe("2d ago");
    expect(formatAge(60 * 60 * MIN)).toBe("3d ago");
    expect(formatAge(null)).toBe("unknown");
  });

  it("sessions clear keeps the settings, archives the history; sessions list is sessions", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-occlear-"));
    try {
      const sessions = path.join(home, "agents", "main", "sessions");
      fs.mkdirSync(sessions, { recursive: true });
      const id = "eeeeeeee-0000-4000-8000-000000000001";
      const key = "agent:main:telegram:direct:42";
      const row = {
        sessionId: id,
        updatedAt: Date.now(),
        label: "Work",
        modelOverride: "gpt-5",
        providerOverride: "openai",
        thinkingLevel: "high",
        sendPolicy: "deny",
        execHost: "gateway",
        totalTokens: 5000,
        totalTokensFresh: true,
        compactionCount: 3,
        systemSent: true,
      };
      fs.writeFileSync(path.join(sessions, "sessions.json"), JSON.stringify({ [key]: row }));
      fs.writeFileSync(path.join(sessions, `${id}.jsonl`), `${JSON.stringify({ type: "session", version: 3, id })}\n`);
      const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", PINCER_HOME: home };
      const run = (...args: string[]) => execFileSync(process.execPath, [BIN, ...args], { env, encoding: "utf8" });
      const out = JSON.parse(run("sessions", "clear", key, "--json")) as {
        previousSessionId: string;
        sessionId: string;
      };
      expect(out.previousSessionId).toBe(id);
      const listed = JSON.parse(run("sessions", "list", "--json")) as { sessions: Array<Record<string, unknown>> };
      const noAge = (text: string) => text.replace(/"ageMs": \d+/g, '"ageMs": 0');
      expect(noAge(run("sessions", "list", "--json"))).toBe(noAge(run("sessions", "--json")));
      const shown = listed.sessions.find((s) => s.key === key)!;
      expect(shown.sessionId).toBe(out.sessionId);
      expect(shown.modelOverride).toBe("gpt-5");
      expect(shown.thinkingLevel).toBe("high");
      expect(shown.totalTokens).toBeNull();
      expect(shown.systemSent).toBe(false);
      expect(fs.readdirSync(sessions).some((n) => n.startsWith(`${id}.jsonl.reset.`))).toBe(true);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it("/clear in chat: history archived, settings kept, the reply says so", async () => {
    const gw = await startTestGateway({}, { provider: new ScriptedProvider() });
    try {
      const env = { channel: "telegram", chatType: "direct", peerId: "42", senderId: "42", text: "first" };
      const first = await gw.runtime.submit(env, { surface: "http" });
      await first.done;
      await gw.runtime.manager.patchSession("main", first.sessionKey, (cur) =>
        cur ? { ...cur, thinkingLevel: "high", label: "Mine" } : undefined,
      );
      const before = (await gw.runtime.manager.get("main", first.sessionKey))!;
      const cleared = await (await gw.runtime.submit({ ...env, text: "/clear" }, { surface: "http" })).done;
      expect(cleared.reply).toMatch(/History cleared/);
      const after = (await gw.runtime.manager.get("main", first.sessionKey))!;
      expect(after.sessionId).not.toBe(before.sessionId);
      expect([after.thinkingLevel, after.label]).toEqual(["high", "Mine"]);
      expect((await gw.runtime.manager.history("main", first.sessionKey)).items).toEqual([]);
    } finally {
      await gw.cleanup();
    }
  });

  it.runIf(toolPresent)(
    "the disk budget is measured over the post-prune index, as OpenClaw measures it (same report as OpenClaw's)",
    { timeout: 240_000 },
    () => {
      const make = (home: string): void => {
        const sessions = path.join(home, "agents", "main", "sessions");
        fs.mkdirSync(sessions, { recursive: true });
        const now = Date.now();
        const index: Record<string, SessionEntry> = {};
        for (let i = 0; i < 6; i++) {
          const id = `ffffffff-0000-4000-8000-00000000000${i}`;
          // Two stale rows (pruned first), the rest recent; every transcript 600 bytes, one archive.
          index[`agent:main:telegram:direct:${100 + i}`] = {
            sessionId: id,
            updatedAt: i < 2 ? now - 40 * 86_400_000 : now - (10 - i) * 60_000,
            label: `row ${i} ${"x".repeat(40)}`,
          };
          fs.writeFileSync(
            path.join(sessions, `${id}.jsonl`),
            `${JSON.stringify({ type: "session", id, pad: "p".repeat(540) })}\n`,
          );
          fs.utimesSync(
            path.join(sessions, `${id}.jsonl`),
            new Date(now - (20 - i) * 60_000),
            new Date(now - (20 - i) * 60_000),
          );
        }
        fs.writeFileSync(path.join(sessions, "old.jsonl.reset.2026-11-20T10-00-00.000Z"), "r".repeat(700));
        // A stale index file on disk: its size must not count, the index it will be must.
        fs.writeFileSync(path.join(sessions, "sessions.json"), JSON.stringify(index));
        fs.writeFileSync(
          path.join(home, "openclaw.json"),
          JSON.stringify({ session: { maintenance: { mode: "enforce", maxDiskBytes: 3000, highWaterBytes: 2400 } } }),
        );
      };
      const ocHome = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-ocbudget-oc-"));
      const ourHome = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-ocbudget-p-"));
      try {
        make(ocHome);
        fs.cpSync(ocHome, ourHome, { recursive: true, preserveTimestamps: true });
        const env = (home: string) => ({
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME_FOR_OPENCLAW: home,
          OPENCLAW_STATE_DIR: home,
          PINCER_HOME: home,
          TMPDIR: os.tmpdir(),
        });
        const theirs = JSON.parse(
          execFileSync(TOOL, ["sessions", "cleanup", "--dry-run", "--json"], { env: env(ocHome), encoding: "utf8" }),
        ) as { diskBudget: unknown; pruned: number };
        const ours = JSON.parse(
          execFileSync(process.execPath, [BIN, "sessions", "cleanup", "--dry-run", "--json"], {
            env: env(ourHome),
            encoding: "utf8",
          }),
        ) as { diskBudget: unknown; pruned: number };
        expect(theirs.pruned).toBe(2);
        expect(ours.pruned).toBe(2);
        expect(ours.diskBudget).toEqual(theirs.diskBudget);
      } finally {
        fs.rmSync(ocHome, { recursive: true, force: true });
        fs.rmSync(ourHome, { recursive: true, force: true });
      }
    },
  );
});
