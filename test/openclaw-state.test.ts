/**
 * An OpenClaw 2026.3.13 state dir (test/fixtures/openclaw-state: written by OpenClaw's own gateway
 * and `config set` in the home `/tmp/oc-old-home/.openclaw`, see its README): Pincer's gateway
 * starts on it with its openclaw.json, reads every
 * session's history, continues each DM, group, forum topic, DM topic, Signal/Matrix row and linked
 * identity with the same session id, in the same file, with an unbroken parent chain — and then
 * OpenClaw's own CLI reads the result and finds every transcript.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.ts";
import { startGateway, type RunningGateway } from "../src/gateway/start.ts";
import type { SessionEntry } from "../src/store/entry.ts";
import { startFakeOpenAI, type FakeServer } from "./fixtures/fake-providers.ts";

const FIXTURE = path.join(import.meta.dirname, "fixtures", "openclaw-state");
const TOOL = path.resolve(import.meta.dirname, "..", "..", "shared", "tools", "openclaw-3.13");
const SESSIONS = "agents/main/sessions";

type Rows = Record<string, SessionEntry>;

/** Each conversation of the fixture: the message that continues it and the key Pincer files it under. */
const CONVERSATIONS: Array<{ name: string; legacyKey: string; key: string; envelope?: Record<string, unknown> }> = [
  {
    name: "telegram DM",
    legacyKey: "agent:main:telegram:direct:123456789",
    key: "agent:main:telegram:direct:123456789",
    envelope: {
      channel: "telegram",
      chatType: "direct",
      peerId: "123456789",
      senderId: "123456789",
      senderName: "Alice",
    },
  },
  {
    name: "telegram DM topic",
    legacyKey: "agent:main:telegram:direct:123456789:thread:123456789:7",
    key: "agent:main:telegram:direct:123456789:thread:123456789:7",
    envelope: {
      channel: "telegram",
      chatType: "direct",
      peerId: "123456789",
      senderId: "123456789",
      senderName: "Alice",
      threadId: "7",
    },
  },
  {
    name: "telegram group",
    legacyKey: "agent:main:telegram:group:-1001234567890",
    key: "agent:main:telegram:group:-1001234567890",
    envelope: {
      channel: "telegram",
      chatType: "group",
      peerId: "-1001234567890",
      senderId: "999",
      groupSubject: "Family",
      wasMentioned: true,
      // A reply thread in a non-forum group is not a session of its own.
      threadId: "311",
    },
  },
  {
    name: "telegram forum topic",
    legacyKey: "agent:main:telegram:group:-1009876543210:topic:42",
    key: "agent:main:telegram:group:-1009876543210:topic:42",
    envelope: {
      channel: "telegram",
      chatType: "group",
      peerId: "-1009876543210",
      senderId: "999",
      isForum: true,
      topicId: "42",
      threadId: "42",
      groupSubject: "Dev Forum",
      wasMentioned: true,
    },
  },
  {
    name: "signal DM (uuid, OpenClaw lower-cased it)",
    legacyKey: "agent:main:signal:direct:5c1f0e3a-9b2d-4c7e-8f10-3a2b1c0d9e8f",
    // Pincer keeps Signal's case (encoded, as keys are lower-case): `%43` is `C`.
    key: "agent:main:signal:direct:5%431%460%453%41-9%422%44-4%437%45-8%4610-3%412%421%430%449%458%46",
    envelope: {
      channel: "signal",
      chatType: "direct",
      peerId: "5C1F0E3A-9B2D-4C7E-8F10-3A2B1C0D9E8F",
      senderId: "5C1F0E3A-9B2D-4C7E-8F10-3A2B1C0D9E8F",
    },
  },
  {
    name: "matrix room (unencoded ':' in OpenClaw's key)",
    legacyKey: "agent:main:matrix:channel:!roomabc:example.org",
    key: "agent:main:matrix:channel:!roomabc%3aexample.org",
    envelope: {
      channel: "matrix",
      chatType: "channel",
      peerId: "!roomabc:example.org",
      senderId: "@bob:example.org",
      wasMentioned: true,
    },
  },
  {
    name: "linked identity (OpenClaw keys it like a raw id)",
    legacyKey: "agent:main:telegram:direct:alice",
    key: "agent:main:telegram:direct:~alice",
    envelope: { channel: "telegram", chatType: "direct", peerId: "555", senderId: "555", senderName: "Alice Work" },
  },
  { name: "main (webchat)", legacyKey: "agent:main:main", key: "agent:main:main" },
];

function toolWorks(): boolean {
  if (!fs.existsSync(TOOL)) return false;
  try {
    execFileSync(TOOL, ["--version"], { encoding: "utf8", timeout: 300_000, env: cleanEnv(os.tmpdir()) });
    return true;
  } catch {
    return false;
  }
}

function cleanEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME_FOR_OPENCLAW: home,
    OPENCLAW_STATE_DIR: home,
    TMPDIR: os.tmpdir(),
  };
}

function readLines(file: string): Array<Record<string, unknown>> {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Every entry after the header is the child of the one before it: one unbroken chain. */
function expectUnbrokenChain(lines: Array<Record<string, unknown>>): void {
  expect(lines[0]?.type).toBe("session");
  let parent: unknown = null;
  for (const line of lines.slice(1)) {
    expect(line.parentId, `entry ${String(line.id)}`).toBe(parent);
    parent = line.id;
  }
}

describe("an OpenClaw 2026.3.13 state dir under Pincer's gateway", () => {
  let home: string;
  let dir: string;
  let model: FakeServer;
  let gw: RunningGateway;
  const fixtureRows = JSON.parse(fs.readFileSync(path.join(FIXTURE, SESSIONS, "sessions.json"), "utf8")) as Rows;
  const fileOf = (row: SessionEntry): string => path.basename(row.sessionFile!);

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-ocstate-"));
    fs.cpSync(FIXTURE, home, { recursive: true });
    dir = path.join(home, SESSIONS);
    model = await startFakeOpenAI(() => ({ text: "continued" }));
    // The config is OpenClaw's own; only the model server's address is this test's.
    const cfgPath = path.join(home, "openclaw.json");
    fs.writeFileSync(cfgPath, fs.readFileSync(cfgPath, "utf8").replace("http://127.0.0.1:18999/v1", `${model.url}/v1`));
    const loaded = loadConfig({ configPath: cfgPath, env: { PINCER_HOME: home } });
    gw = await startGateway({
      config: loaded.config,
      home,
      port: 0,
      env: { PINCER_HOME: home },
      logger: pino({ level: "silent" }),
    });
  }, 60_000);

  afterAll(async () => {
    await gw?.stop(2000).catch(() => {});
    await model?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it("reads every session's history (sessionFile transcripts included, from the old home's paths)", async () => {
    for (const [key, row] of Object.entries(fixtureRows)) {
      const messages = readLines(path.join(FIXTURE, SESSIONS, fileOf(row))).filter((l) => l.type === "message");
      const h = await gw.runtime.manager.history("main", key);
      expect(h.sessionId, key).toBe(row.sessionId);
      expect(h.items.length, key).toBe(messages.length);
      expect(h.items.length, key).toBeGreaterThan(0);
    }
  });

  it("continues each conversation with the same session id, in the same file, on one parent chain", async () => {
    for (const c of CONVERSATIONS) {
      const before = fixtureRows[c.legacyKey]!;
      const accepted = await gw.runtime.submit(
        c.envelope
          ? { ...c.envelope, text: `${c.name}: next message` }
          : { channel: "webchat", chatType: "direct", peerId: "operator", senderId: "operator", text: "next" },
        c.envelope
          ? { surface: "http", commandAuthorized: false }
          : { surface: "http", target: { agentId: "main", sessionKey: "agent:main:main" } },
      );
      expect(accepted.sessionKey, c.name).toBe(c.key);
      await accepted.done;
      const row = (await gw.runtime.manager.get("main", c.key))!;
      expect(row.sessionId, c.name).toBe(before.sessionId);
      // The row now names the same file inside this home (OpenClaw finds it there too).
      expect(row.sessionFile, c.name).toBe(path.join(dir, fileOf(before)));
      if (c.key !== c.legacyKey) expect(await gw.runtime.manager.get("main", c.legacyKey), c.name).toBeUndefined();
      const lines = readLines(path.join(dir, fileOf(before)));
      const old = readLines(path.join(FIXTURE, SESSIONS, fileOf(before)));
      expect(lines.slice(0, old.length), c.name).toEqual(old);
      expect(lines.length, c.name).toBeGreaterThan(old.length + 1);
      expectUnbrokenChain(lines);
      // No second file for the session: the history was not orphaned.
      if (fileOf(before) !== `${before.sessionId}.jsonl`)
        expect(fs.existsSync(path.join(dir, `${before.sessionId}.jsonl`))).toBe(false);
    }
  });

  it("writes the row fields as OpenClaw does (topic thread kept, group origin, subject, displayName)", async () => {
    const topic = (await gw.runtime.manager.get("main", "agent:main:telegram:group:-1009876543210:topic:42"))!;
    expect(topic.deliveryContext).toEqual({
      channel: "telegram",
      to: "telegram:-1009876543210",
      accountId: "default",
      threadId: "42",
    });
    expect(topic.lastThreadId).toBe("42");
    expect(topic.origin?.threadId).toBe("42");
    expect(topic.origin?.from).toBe("telegram:group:-1009876543210:topic:42");
    expect(topic.groupId).toBe("-1009876543210:topic:42");
    const group = (await gw.runtime.manager.get("main", "agent:main:telegram:group:-1001234567890"))!;
    expect(group.origin?.from).toBe("telegram:group:-1001234567890");
    expect(group.origin?.label).toBe("Family id:-1001234567890");
    expect(group.subject).toBe("Family");
    expect(group.displayName).toBe("telegram:g-family");
    expect(group.lastThreadId).toBeUndefined();
    expect(group.systemSent).toBe(true);
    const dmTopic = (await gw.runtime.manager.get("main", "agent:main:telegram:direct:123456789:thread:123456789:7"))!;
    expect(dmTopic.deliveryContext?.threadId).toBe("7");
    const dm = (await gw.runtime.manager.get("main", "agent:main:telegram:direct:123456789"))!;
    expect(dm.origin).toMatchObject({
      label: "Alice id:123456789",
      from: "telegram:123456789",
      to: "telegram:123456789",
    });
  });

  it.runIf(toolWorks())(
    "OpenClaw's CLI reads the result and finds every transcript",
    { timeout: 240_000 },
    async () => {
      await gw.stop(2000);
      const store = path.join(dir, "sessions.json");
      const listed = JSON.parse(
        execFileSync(TOOL, ["sessions", "--json", "--store", store], { env: cleanEnv(home), encoding: "utf8" }),
      ) as {
        sessions: Array<{ key: string; sessionId: string }>;
      };
      const byKey = new Map(listed.sessions.map((s) => [s.key, s.sessionId]));
      for (const c of CONVERSATIONS)
        expect(byKey.get(c.key.toLowerCase()) ?? byKey.get(c.key), c.name).toBe(fixtureRows[c.legacyKey]!.sessionId);
      // `--fix-missing` counts rows whose transcript OpenClaw cannot find: none.
      const cleanup = JSON.parse(
        execFileSync(TOOL, ["sessions", "cleanup", "--dry-run", "--fix-missing", "--json", "--store", store], {
          env: cleanEnv(home),
          encoding: "utf8",
        }),
      ) as { missing: number; beforeCount: number };
      expect(cleanup.beforeCount).toBe(CONVERSATIONS.length);
      expect(cleanup.missing).toBe(0);
    },
  );
});
