/**
 * The real `pincer` binary against every database backend: sessions seeded through the store
 * classes, then listed, read, reset, maintained and summarised by the CLI in a child process.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionManager } from "../src/session/manager.ts";
import { PostgresSessionStore } from "../src/store/postgres/postgres-store.ts";
import { RedisSessionStore } from "../src/store/redis/redis-store.ts";
import { SqliteSessionStore } from "../src/store/sqlite/sqlite-store.ts";
import type { SessionStore } from "../src/store/types.ts";
import { createTestDatabase, freePort, stopTestPostgres } from "./helpers/postgres-server.ts";
import { redisAvailable, startTestRedis, type TestRedis } from "./helpers/redis-server.ts";

const BIN = path.join(import.meta.dirname, "..", "bin", "pincer.js");
const DAY = 86_400_000;

interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI without blocking this process (the database servers are its children). */
function pincer(home: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, PINCER_HOME: home, PINCER_CONFIG: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, out, err }));
  });
}

async function json<T = Record<string, unknown>>(home: string, args: string[]): Promise<T> {
  const r = await pincer(home, args);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as T;
}

interface Listing {
  path: string | null;
  count: number;
  stores?: Array<{ agentId: string; path: string }>;
  sessions: Array<{ key: string; sessionId: string; agentId: string; updatedAt: number }>;
}

interface Status {
  sessions: { count: number; paths: string[]; recent: Array<{ key: string }> };
  agents: { agents: Array<{ id: string; sessionsCount: number }> };
}

interface Backend {
  name: "sqlite" | "postgres" | "redis";
  /** The `session.store` of the config. */
  store(): Record<string, unknown>;
  open(home: string, scope: string): Promise<SessionStore>;
  /** What `path` shows for the main agent (null: the store's location, checked separately). */
  expectedPath(home: string): string;
}

function writeConfig(home: string, store: Record<string, unknown>): void {
  fs.writeFileSync(path.join(home, "pincer.json"), JSON.stringify({ session: { dmScope: "per-channel-peer", store } }));
}

const NOW = Date.now();
const KEYS = ["agent:main:telegram:direct:1", "agent:main:telegram:direct:2", "agent:main:telegram:direct:3"];

/** Three sessions of agent main (peer 1 is 40 days old, peer 3 the newest) and one of agent "work". */
async function seed(backend: Backend, home: string): Promise<void> {
  const store = await backend.open(home, "main");
  try {
    const m = new SessionManager({ config: { session: { dmScope: "per-channel-peer" } }, storeFor: async () => store });
    for (const peer of ["1", "2", "3"]) {
      const r = await m.recordInbound({
        channel: "telegram",
        chatType: "direct",
        peerId: peer,
        senderId: peer,
        text: `hello ${peer}`,
      });
      await m.appendAssistant(r.agentId, r.sessionKey, { text: `reply ${peer}`, model: "echo", provider: "echo" });
    }
    const ages = [40 * DAY, 20 * 60_000, 60_000];
    for (const [i, key] of KEYS.entries()) await store.patch(key, (cur) => ({ ...cur!, updatedAt: NOW - ages[i]! }));
  } finally {
    await store.close();
  }
  const work = await backend.open(home, "work");
  try {
    await work.patch("agent:work:main", () => ({
      sessionId: "0f6a3c2e-1111-4222-8333-944445555666",
      updatedAt: NOW - 5 * 60_000,
    }));
  } finally {
    await work.close();
  }
}

function backendSuite(backend: Backend): void {
  let home: string;

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), `pincer-cli-${backend.name}-`));
    writeConfig(home, backend.store());
    await seed(backend, home);
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  // Read-only commands run side by side: each is a process of its own.
  it("lists, shows history, resolves and reports status", async () => {
    const [all, one, active, text, agents, agentsLimited, history, missing, status, statusText, resolved] =
      await Promise.all([
        json<Listing>(home, ["sessions", "--json"]),
        json<Listing>(home, ["sessions", "--json", "--limit", "1"]),
        json<Listing>(home, ["sessions", "--json", "--active", "30"]),
        pincer(home, ["sessions"]),
        json<Listing>(home, ["sessions", "--json", "--all-agents"]),
        json<Listing>(home, ["sessions", "--json", "--all-agents", "--limit", "2"]),
        json<{ messages: Array<{ role: string; text: string }> }>(home, ["sessions", "history", KEYS[1]!, "--json"]),
        pincer(home, ["sessions", "history", "agent:main:nope"]),
        json<Status>(home, ["status", "--json"]),
        pincer(home, ["status"]),
        json(home, ["sessions", "resolve", "--channel", "telegram", "--peer", "2"]),
      ]);
    // Exactly the seeded sessions, newest first; --limit keeps the newest.
    expect(all.path).toBe(backend.expectedPath(home));
    expect(all.count).toBe(3);
    expect(all.sessions.map((s) => s.key)).toEqual([...KEYS].reverse());
    expect(all.sessions.every((s) => s.agentId === "main")).toBe(true);
    expect(one.sessions.map((s) => s.key)).toEqual([KEYS[2]]);
    expect(active.sessions.map((s) => s.key)).toEqual([KEYS[2], KEYS[1]]);
    expect(text.out).toContain(`Session store: ${backend.expectedPath(home)}`);
    expect(text.out).toContain("Sessions listed: 3");
    // --all-agents: every agent with state, configured ("main") or not ("work").
    expect(agents.path).toBeNull();
    expect(agents.stores?.map((s) => s.agentId).sort()).toEqual(["main", "work"]);
    expect(agents.sessions.map((s) => s.key)).toEqual([KEYS[2], "agent:work:main", KEYS[1], KEYS[0]]);
    expect(agentsLimited.sessions.map((s) => s.key)).toEqual([KEYS[2], "agent:work:main"]);
    // History.
    expect(history.messages.map((m) => `${m.role}:${m.text}`)).toEqual(["user:hello 2", "assistant:reply 2"]);
    expect(missing.code).toBe(1);
    expect(missing.err.trim().split("\n")).toHaveLength(1);
    expect(missing.err).toContain(`No session "agent:main:nope" in ${backend.expectedPath(home)}`);
    // Status.
    expect(status.sessions.count).toBe(4);
    expect(status.sessions.paths).toContain(backend.expectedPath(home));
    expect(status.sessions.recent.map((r) => r.key)).toEqual([KEYS[2], "agent:work:main", KEYS[1], KEYS[0]]);
    expect(Object.fromEntries(status.agents.agents.map((a) => [a.id, a.sessionsCount]))).toEqual({ main: 3, work: 1 });
    expect(statusText.code, statusText.err).toBe(0);
    expect(statusText.out).toContain("Sessions: 4");
    // Resolve sees the stored session.
    expect(resolved).toMatchObject({
      sessionKey: KEYS[1],
      fresh: true,
      sessionId: all.sessions.find((s) => s.key === KEYS[1])!.sessionId,
    });
  }, 30_000);

  it("resets a session to a new id, and deletes one", async () => {
    const r = await json<{ sessionId: string; previousSessionId: string }>(home, [
      "sessions",
      "reset",
      KEYS[2]!,
      "--json",
    ]);
    expect(r.sessionId).not.toBe(r.previousSessionId);
    const d = await json<{ deleted: boolean }>(home, ["sessions", "delete", "agent:work:main", "--json"]);
    expect(d.deleted).toBe(true);
    const [after, h] = await Promise.all([
      json<Listing>(home, ["sessions", "--json", "--all-agents"]),
      json<{ sessionId: string; messages: unknown[] }>(home, ["sessions", "history", KEYS[2]!, "--json"]),
    ]);
    expect(after.sessions.map((s) => s.key)).toEqual([KEYS[2], KEYS[1], KEYS[0]]);
    expect(after.sessions[0]!.sessionId).toBe(r.sessionId);
    expect(h).toMatchObject({ sessionId: r.sessionId, messages: [] });
  }, 30_000);

  it("cleanup --dry-run predicts what --enforce does, through the store", async () => {
    const dry = await json(home, ["sessions", "cleanup", "--dry-run", "--json"]);
    expect(dry).toMatchObject({
      agentId: "main",
      storePath: backend.expectedPath(home),
      dryRun: true,
      beforeCount: 3,
      afterCount: 2,
      pruned: 1,
      diskBudget: null,
      wouldMutate: true,
    });
    const applied = await json(home, ["sessions", "cleanup", "--enforce", "--json"]);
    expect(applied).toMatchObject({
      mode: "enforce",
      beforeCount: 3,
      afterCount: 2,
      pruned: 1,
      applied: true,
      appliedCount: 2,
    });
    const left = await json<Listing>(home, ["sessions", "--json"]);
    expect(left.sessions.map((s) => s.key)).toEqual([KEYS[2], KEYS[1]]);
    // The pruned session's transcript was archived, not left live.
    const store = await backend.open(home, "main");
    try {
      expect(await store.listTranscripts()).toHaveLength(2);
    } finally {
      await store.close();
    }
  }, 30_000);
}

describe("pincer CLI on sqlite", () => {
  const file = (home: string): string => path.join(home, "agents", "main", "sessions", "sessions.sqlite");
  backendSuite({
    name: "sqlite",
    store: () => ({ backend: "sqlite" }),
    open: async (home, scope) =>
      SqliteSessionStore.open({ file: path.join(home, "agents", scope, "sessions", "sessions.sqlite") }),
    expectedPath: file,
  });

  it("reads a .sqlite file given with --store, and an empty home as no sessions", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-cli-sqlite-store-"));
    try {
      const other = path.join(home, "elsewhere.sqlite");
      const store = SqliteSessionStore.open({ file: other });
      await store.patch("agent:main:x", () => ({ sessionId: "0f6a3c2e-2222-4222-8333-944445555666", updatedAt: NOW }));
      await store.close();
      const listed = await json<Listing>(home, ["sessions", "--json", "--store", other]);
      expect(listed).toMatchObject({ path: other, count: 1 });
      // No database file yet: nothing listed, and nothing created by a read.
      writeConfig(home, { backend: "sqlite" });
      expect(await json<Listing>(home, ["sessions", "--json"])).toMatchObject({ path: file(home), count: 0 });
      expect(fs.existsSync(file(home))).toBe(false);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("pincer CLI on postgres", () => {
  let url = "";
  beforeAll(async () => {
    url = await createTestDatabase();
  }, 60_000);
  afterAll(() => stopTestPostgres(), 30_000);

  backendSuite({
    name: "postgres",
    store: () => ({ backend: "postgres", url }),
    open: async (_home, scope) => PostgresSessionStore.open({ url, scope }),
    expectedPath: () => `${url.replace(":pincer-test@", ":***@")}#main`,
  });

  it("fails with one line and exit 1 when the database cannot be reached", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-cli-pg-down-"));
    try {
      // Nothing listens on the port: status (which lists the database's agents) fails at once.
      writeConfig(home, {
        backend: "postgres",
        url: `postgres://pincer:secret-pw@127.0.0.1:${await freePort()}/pincer`,
      });
      const down = await pincer(home, ["status", "--json"]);
      expect(down.code).toBe(1);
      expect(down.out).toBe("");
      expect(down.err.trim().split("\n")).toHaveLength(1);
      expect(down.err).toMatch(/^error: postgres at 127\.0\.0\.1:\d+\/pincer is unreachable/);
      expect(down.err).not.toContain("secret-pw");
      // The server answers but refuses (no such database).
      writeConfig(home, { backend: "postgres", url: url.replace(/\/[^/]+$/, "/no_such_db") });
      const refused = await pincer(home, ["sessions", "--json"]);
      expect(refused.code).toBe(1);
      expect(refused.err.trim().split("\n")).toHaveLength(1);
      expect(refused.err).toMatch(/^error: postgres at .* refused the connection/);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

const haveRedis = redisAvailable();
describe.skipIf(!haveRedis)("pincer CLI on redis", () => {
  let redis: TestRedis | null = null;
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  backendSuite({
    name: "redis",
    store: () => ({ backend: "redis", url: redis!.url }),
    open: async (_home, scope) => RedisSessionStore.open({ url: redis!.url, scope }),
    expectedPath: () => `${redis!.url}#main`,
  });
});
