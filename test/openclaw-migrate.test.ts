/**
 * A home with OpenClaw's `sessionFile` transcripts (test/fixtures/openclaw-state: `<id>-topic-42.jsonl`,
 * `<id>-topic-7.jsonl`, absolute paths of an old home) carried fs → sqlite → postgres → redis → fs:
 * every transcript arrives byte-identical under its own name, every hop reads each session's history
 * through the row's `sessionFile` (by basename), and a topic continued in a database store goes on in
 * the topic's transcript. `pincer store import-openclaw` copies the topic files too.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMaintenancePlan } from "../src/maintenance/apply.ts";
import { planMaintenance } from "../src/maintenance/plan.ts";
import { SessionManager } from "../src/session/manager.ts";
import type { SessionEntry } from "../src/store/entry.ts";
import { migrateStore } from "../src/store/migrate.ts";
import { parseStoreLocation, type StoreLocation } from "../src/store/store-locator.ts";
import { createTestDatabase, stopTestPostgres } from "./helpers/postgres-server.ts";
import { redisAvailable, REDIS_MISSING_MESSAGE, startTestRedis, type TestRedis } from "./helpers/redis-server.ts";

const FIXTURE = path.join(import.meta.dirname, "fixtures", "openclaw-state");
const SESSIONS = "agents/main/sessions";
const BIN = path.join(import.meta.dirname, "..", "bin", "pincer.js");
const TOPIC_KEY = "agent:main:telegram:group:-1009876543210:topic:42";
const rows = JSON.parse(fs.readFileSync(path.join(FIXTURE, SESSIONS, "sessions.json"), "utf8")) as Record<
  string,
  SessionEntry
>;

/** Every live transcript of an fs home, by file name, as bytes. */
function transcripts(home: string): Map<string, Buffer> {
  const d = path.join(home, SESSIONS);
  const out = new Map<string, Buffer>();
  for (const name of fs.readdirSync(d).sort())
    if (name.endsWith(".jsonl")) out.set(name, fs.readFileSync(path.join(d, name)));
  return out;
}

const messageCount = (row: SessionEntry): number =>
  fs
    .readFileSync(path.join(FIXTURE, SESSIONS, path.basename(row.sessionFile!)), "utf8")
    .split("\n")
    .filter((l) => l.includes('"type":"message"')).length;

let tmp: string;
let redis: TestRedis | null = null;
let pgUrl = "";
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-ocmigrate-"));
  pgUrl = await createTestDatabase();
  if (redisAvailable()) redis = await startTestRedis();
}, 120_000);
afterAll(async () => {
  await redis?.stop();
  await stopTestPostgres();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Reads every session's history through a manager on the location's store. */
async function expectHistories(location: StoreLocation): Promise<void> {
  const store = await location.open("main");
  try {
    const manager = new SessionManager({ config: {}, storeFor: async () => store });
    for (const [key, row] of Object.entries(rows)) {
      const h = await manager.history("main", key);
      expect(h.items.length, `${location.kind} ${key}`).toBe(messageCount(row));
    }
  } finally {
    await store.close();
  }
}

describe("OpenClaw sessionFile transcripts across every backend", () => {
  it(
    "fs → sqlite → postgres → redis → fs: byte-identical, each hop reads every history",
    { timeout: 120_000 },
    async () => {
      const origin = path.join(tmp, "origin");
      fs.cpSync(FIXTURE, origin, { recursive: true });
      const original = transcripts(origin);
      expect([...original.keys()].filter((n) => n.includes("-topic-")).length).toBe(2);
      const hops: StoreLocation[] = [
        parseStoreLocation(`fs:${origin}`),
        parseStoreLocation(`sqlite:${path.join(tmp, "sqlite")}`),
      ];
      hops.push(parseStoreLocation(pgUrl));
      if (redis) hops.push(parseStoreLocation(redis.url));
      else console.warn(`redis hop skipped: ${REDIS_MISSING_MESSAGE}`);
      const final = path.join(tmp, "final");
      hops.push(parseStoreLocation(`fs:${final}`));
      for (let i = 0; i + 1 < hops.length; i++) {
        const summary = await migrateStore(hops[i]!, hops[i + 1]!);
        expect(summary.scopes.map((s) => [s.scope, s.rows, s.transcripts])).toEqual([["main", 8, 8]]);
        await expectHistories(hops[i + 1]!);
      }
      const arrived = transcripts(final);
      expect([...arrived.keys()]).toEqual([...original.keys()]);
      for (const [name, bytes] of original) expect(arrived.get(name)!.equals(bytes), name).toBe(true);
    },
  );

  it("a forum topic continued in a database store goes on in the topic's transcript", async () => {
    const origin = path.join(tmp, "origin2");
    fs.cpSync(FIXTURE, origin, { recursive: true });
    const pg = parseStoreLocation(await createTestDatabase());
    await migrateStore(parseStoreLocation(`fs:${origin}`), pg);
    const store = await pg.open("main");
    try {
      const manager = new SessionManager({
        config: { session: { reset: { mode: "idle", idleMinutes: 52_560_000 } } },
        storeFor: async () => store,
      });
      const row = rows[TOPIC_KEY]!;
      const r = await manager.recordInbound({
        channel: "telegram",
        chatType: "group",
        peerId: "-1009876543210",
        isForum: true,
        topicId: "42",
        senderId: "999",
        text: "continued in postgres",
      });
      expect(r.sessionKey).toBe(TOPIC_KEY);
      expect(r.sessionId).toBe(row.sessionId);
      const topicId = path.basename(row.sessionFile!, ".jsonl");
      const text = (await store.exportTranscript(topicId))!;
      const lines = text
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as { id?: string; parentId?: string });
      const before = fs
        .readFileSync(path.join(FIXTURE, SESSIONS, `${topicId}.jsonl`), "utf8")
        .trimEnd()
        .split("\n");
      expect(lines.length).toBe(before.length + 1);
      expect(lines.at(-1)!.parentId).toBe(lines.at(-2)!.id);
      expect(await store.exportTranscript(row.sessionId)).toBeNull();
      // Without a sessions directory the row keeps the name it had (a later move back to files finds it).
      expect(path.basename((await store.get(TOPIC_KEY))!.sessionFile!)).toBe(`${topicId}.jsonl`);
    } finally {
      await store.close();
    }
  });

  it("pincer store import-openclaw copies the topic files and their history reads", () => {
    const home = path.join(tmp, "imported");
    fs.mkdirSync(home, { recursive: true, mode: 0o700 });
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", PINCER_HOME: home };
    execFileSync(process.execPath, [BIN, "store", "import-openclaw", FIXTURE, "--json"], { env, encoding: "utf8" });
    const arrived = transcripts(home);
    for (const [name, bytes] of transcripts(FIXTURE)) expect(arrived.get(name)?.equals(bytes), name).toBe(true);
    const out = JSON.parse(
      execFileSync(process.execPath, [BIN, "sessions", "history", TOPIC_KEY, "--json"], { env, encoding: "utf8" }),
    ) as { count: number };
    expect(out.count).toBe(messageCount(rows[TOPIC_KEY]!));
    // The rows still name the old home's paths: found by basename, so --fix-missing removes none.
    const fix = JSON.parse(
      execFileSync(process.execPath, [BIN, "sessions", "cleanup", "--dry-run", "--fix-missing", "--json"], {
        env,
        encoding: "utf8",
      }),
    ) as { missing: number; beforeCount: number };
    expect(fix).toMatchObject({ beforeCount: 8, missing: 0 });
  });

  it("pruning in a database store archives a topic's transcript by the name its row gives it", async () => {
    const origin = path.join(tmp, "origin3");
    fs.cpSync(FIXTURE, origin, { recursive: true });
    const sqlite = parseStoreLocation(`sqlite:${path.join(tmp, "prune-sqlite")}`);
    await migrateStore(parseStoreLocation(`fs:${origin}`), sqlite);
    const store = await sqlite.open("main");
    try {
      const now = Date.parse("2027-01-01T00:00:00.000Z");
      const plan = planMaintenance({
        rows: await store.all(),
        now,
        trigger: "explicit",
        protectedKeys: new Set(["agent:main:main"]),
        settings: {
          mode: "enforce",
          pruneAfterMs: 30 * 86_400_000,
          maxEntries: null,
          highWaterEntries: null,
          resetArchiveRetentionMs: null,
          maxDiskBytes: null,
          highWaterBytes: null,
        },
      });
      expect(plan.pruned).toBe(7);
      await applyMaintenancePlan(store, plan, { now });
      const topic = path.basename(rows[TOPIC_KEY]!.sessionFile!, ".jsonl");
      const left = await store.listTranscripts();
      expect(left).not.toContain(topic);
      expect(left).not.toContain(topic.replace("-topic-42", ""));
      expect(left).toEqual([rows["agent:main:main"]!.sessionId]);
    } finally {
      await store.close();
    }
  });
});
