/**
 * Store migration on real file systems and real database servers: a 10 000-session store carried
 * fs → sqlite → postgres → redis → fs comes back byte-identical; an interrupted migration resumes;
 * a dry run writes nothing; the CLI round-trips through OpenClaw's layout; bad input fails cleanly.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SessionEntry } from "../src/store/entry.ts";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";
import { MemorySessionStore } from "../src/store/memory-store.ts";
import { migrateStore, type MigrateSummary } from "../src/store/migrate.ts";
import { SqliteSessionStore } from "../src/store/sqlite/sqlite-store.ts";
import { parseStoreLocation, type StoreLocation } from "../src/store/store-locator.ts";
import type { SessionRow, SessionStore } from "../src/store/types.ts";
import { createTestDatabase, freePort, stopTestPostgres } from "./helpers/postgres-server.ts";
import { redisAvailable, REDIS_MISSING_MESSAGE, startTestRedis, type TestRedis } from "./helpers/redis-server.ts";

const BIN = path.join(import.meta.dirname, "..", "bin", "pincer.js");
const OPENCLAW = path.resolve(import.meta.dirname, "..", "..", "shared", "tools", "openclaw-3.13");

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-migrate-"));
});
afterAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await stopTestPostgres();
});

const dir = (name: string): string => path.join(tmp, name);
const sessionId = (agent: string, i: number): string => `${agent}-${String(i).padStart(5, "0")}-4a1b-8c2d-0123456789ab`;

/** Transcript text written byte by byte: unicode, escapes kept as written, odd spacing. */
function transcriptText(id: string, i: number): string {
  return (
    [
      JSON.stringify({
        type: "session",
        version: 3,
        id,
        timestamp: new Date(1_700_000_000_000 + i).toISOString(),
        cwd: "/tmp",
      }),
      JSON.stringify({
        type: "message",
        id: `m${i}`,
        parentId: null,
        message: { role: "user", content: [{ type: "text", text: `héllo ${i} 🦀 中文 — ‘quotes’ \u2028 sep` }] },
      }),
      `{"type":"custom",  "x":1, "esc":"caf\\u00e9 \\ud83e\\udd80"}`,
      JSON.stringify({
        type: "message",
        id: `r${i}`,
        parentId: `m${i}`,
        message: { role: "assistant", content: [{ type: "text", text: `réponse ${i}` }] },
      }),
    ].join("\n") + "\n"
  );
}

function entryFor(id: string, i: number): SessionEntry {
  return {
    sessionId: id,
    updatedAt: 1_700_000_000_000 + i * 1000,
    chatType: i % 3 === 0 ? "group" : "direct",
    label: i % 7 === 0 ? `Étiquette ${i} ✓` : undefined,
    totalTokens: i * 10,
    lastChannel: "telegram",
  } as SessionEntry;
}

/** Writes an OpenClaw-layout state dir directly: sessions.json plus one .jsonl per session. */
function seedFsHome(home: string, agents: Record<string, number>): void {
  for (const [agent, count] of Object.entries(agents)) {
    const sessions = path.join(home, "agents", agent, "sessions");
    fs.mkdirSync(sessions, { recursive: true, mode: 0o700 });
    const index: Record<string, SessionEntry> = {};
    for (let i = 0; i < count; i++) {
      const id = sessionId(agent, i);
      index[`agent:${agent}:telegram:direct:${i}`] = JSON.parse(JSON.stringify(entryFor(id, i))) as SessionEntry;
      fs.writeFileSync(path.join(sessions, `${id}.jsonl`), transcriptText(id, i), { mode: 0o600 });
    }
    fs.writeFileSync(path.join(sessions, "sessions.json"), JSON.stringify(index, null, 2), { mode: 0o600 });
    // An archive must not be migrated as a live transcript.
    fs.writeFileSync(path.join(sessions, `${sessionId(agent, 0)}.jsonl.reset.2026-01-01T00-00-00.000Z`), "{}\n");
  }
}

/** Every live transcript's bytes, by agent/file name. */
function transcriptBytes(home: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const agent of fs.readdirSync(path.join(home, "agents"))) {
    const sessions = path.join(home, "agents", agent, "sessions");
    for (const name of fs.readdirSync(sessions))
      if (name.endsWith(".jsonl")) out.set(`${agent}/${name}`, fs.readFileSync(path.join(sessions, name)));
  }
  return out;
}

const byKey = (rows: SessionRow[]): SessionRow[] =>
  [...rows].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

async function rowsOf(loc: StoreLocation, scope: string): Promise<SessionRow[]> {
  const store = await loc.open(scope, { readOnly: true });
  try {
    return byKey(await store.all());
  } finally {
    await store.close();
  }
}

function expectBytesEqual(a: Map<string, Buffer>, b: Map<string, Buffer>): void {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  const differing = [...a].filter(([k, v]) => !v.equals(b.get(k)!)).map(([k]) => k);
  expect(differing).toEqual([]);
}

const totals = (s: MigrateSummary): { rows: number; transcripts: number; skipped: number } =>
  s.scopes.reduce(
    (t, sc) => ({
      rows: t.rows + sc.rows,
      transcripts: t.transcripts + sc.transcripts,
      skipped: t.skipped + sc.skipped,
    }),
    { rows: 0, transcripts: 0, skipped: 0 },
  );

describe("store migration: the backends' migration methods", () => {
  const text = `{"type":"session","id":"s1"}\n{"type":"custom",  "x":1}\n{"t":"\\u00e9 é 🦀"}\n`;
  const cases: Array<[string, () => Promise<SessionStore>]> = [
    ["memory", async () => new MemorySessionStore()],
    [
      "fs",
      async () =>
        FsSessionStore.open({ storePath: path.join(fs.mkdtempSync(path.join(tmp, "m-fs-")), "sessions.json") }),
    ],
    [
      "sqlite",
      async () =>
        SqliteSessionStore.open({ file: path.join(fs.mkdtempSync(path.join(tmp, "m-sq-")), "sessions.sqlite") }),
    ],
  ];
  for (const [name, open] of cases) {
    it(`${name}: import replaces, export is byte-identical, list shows live transcripts only`, async () => {
      const store = await open();
      try {
        expect(await store.exportTranscript("s1")).toBeNull();
        await store.appendTranscript("s1", [{ type: "old" }]);
        await store.appendTranscript("s2", [{ type: "session", id: "s2" }]);
        await store.importTranscript("s1", text);
        expect(await store.exportTranscript("s1")).toBe(text);
        expect((await store.readTranscript("s1")).lines).toEqual([
          { type: "session", id: "s1" },
          { type: "custom", x: 1 },
          { t: "é é 🦀" },
        ]);
        // Appends after an import go to the new transcript (no stale handle onto the old file).
        await store.appendTranscript("s1", [{ type: "after" }]);
        expect(await store.exportTranscript("s1")).toBe(`${text}{"type":"after"}\n`);
        await store.archiveTranscript("s2", "reset");
        expect((await store.listTranscripts()).sort()).toEqual(["s1"]);
        await expect(store.importTranscript("../evil", "x\n")).rejects.toThrow(/Invalid session id/);
      } finally {
        await store.close();
      }
    });
  }

  it("fs: the imported file is 0600 and no temp file is left", async () => {
    const home = fs.mkdtempSync(path.join(tmp, "m-fs-mode-"));
    const store = await FsSessionStore.open({ storePath: path.join(home, "sessions.json") });
    await store.importTranscript("abc", text);
    await store.close();
    expect(fs.statSync(path.join(home, "abc.jsonl")).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(home).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
});

describe("store migration: 10 000 sessions fs → sqlite → postgres → redis → fs", () => {
  let redis: TestRedis | null = null;
  let pgUrl = "";
  beforeAll(async () => {
    pgUrl = await createTestDatabase();
    if (redisAvailable()) redis = await startTestRedis();
  }, 120_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it("arrives byte-identical with equal indexes", { timeout: 120_000 }, async () => {
    const started = Date.now();
    const origin = dir("big-origin");
    seedFsHome(origin, { main: 9000, work: 1000 });
    const original = transcriptBytes(origin);
    expect(original.size).toBe(10_000);

    const hops: StoreLocation[] = [
      parseStoreLocation(`fs:${origin}`),
      parseStoreLocation(`sqlite:${dir("big-sqlite")}`),
    ];
    hops.push(parseStoreLocation(pgUrl));
    if (redis) hops.push(parseStoreLocation(redis.url));
    else console.warn(`redis hop skipped: ${REDIS_MISSING_MESSAGE}`);
    const final = dir("big-final");
    hops.push(parseStoreLocation(final));

    const timings: string[] = [];
    for (let i = 0; i + 1 < hops.length; i++) {
      const t0 = Date.now();
      const summary = await migrateStore(hops[i]!, hops[i + 1]!, { batchSize: 1000, concurrency: 16 });
      timings.push(`${hops[i]!.kind}→${hops[i + 1]!.kind} ${Date.now() - t0} ms`);
      expect(summary.scopes.map((s) => [s.scope, s.rows, s.transcripts, s.skipped])).toEqual([
        ["main", 9000, 9000, 0],
        ["work", 1000, 1000, 0],
      ]);
      expect(summary.checksumsVerified).toBe(10_000);
    }
    console.log(`migration chain: ${timings.join(", ")}; total ${Date.now() - started} ms`);

    expectBytesEqual(original, transcriptBytes(final));
    const src = hops[0]!;
    const dst = hops[hops.length - 1]!;
    for (const scope of ["main", "work"]) {
      const a = await rowsOf(src, scope);
      expect(a.length).toBe(scope === "main" ? 9000 : 1000);
      expect(await rowsOf(dst, scope)).toEqual(a);
    }
    // Every intermediate store also holds the same index.
    for (const hop of hops.slice(1, -1)) expect(await rowsOf(hop, "work")).toEqual(await rowsOf(src, "work"));
    // The archive stayed behind; the final store is in OpenClaw's layout with private files.
    expect(fs.readdirSync(path.join(final, "agents", "main", "sessions")).some((n) => n.includes(".reset."))).toBe(
      false,
    );
    expect(fs.statSync(path.join(final, "agents", "main", "sessions", "sessions.json")).mode & 0o777).toBe(0o600);
    expect(
      fs.statSync(path.join(final, "agents", "main", "sessions", `${sessionId("main", 1)}.jsonl`)).mode & 0o777,
    ).toBe(0o600);
  });
});

describe("store migration: resume, dry run", () => {
  it("continues after an interruption and reports what it skipped; a third run changes nothing", async () => {
    const origin = dir("resume-origin");
    seedFsHome(origin, { main: 150, ops: 50 });
    const from = parseStoreLocation(`fs:${origin}`);
    const to = parseStoreLocation(`sqlite:${dir("resume-dest")}`);
    let seen = 0;
    await expect(
      migrateStore(from, to, {
        batchSize: 40,
        concurrency: 4,
        onProgress: (p) => {
          if (p.phase === "transcripts" && ++seen === 60) throw new Error("simulated crash");
        },
      }),
    ).rejects.toThrow("simulated crash");
    const partial = SqliteSessionStore.open({
      file: path.join(dir("resume-dest"), "agents", "main", "sessions", "sessions.sqlite"),
    });
    const copiedBefore = (await partial.listTranscripts()).length;
    await partial.close();
    expect(copiedBefore).toBeGreaterThanOrEqual(60);
    expect(copiedBefore).toBeLessThan(150);

    const second = await migrateStore(from, to, { batchSize: 40 });
    const main = second.scopes.find((s) => s.scope === "main")!;
    expect(main.skippedRows).toBe(150);
    expect(main.skippedTranscripts).toBe(copiedBefore);
    expect(main.copiedTranscripts).toBe(150 - copiedBefore);
    expect(second.scopes.find((s) => s.scope === "ops")).toMatchObject({ rows: 50, transcripts: 50, skipped: 0 });
    expect(second.checksumsVerified).toBe(200);

    const third = await migrateStore(from, to);
    expect(totals(third)).toEqual({ rows: 200, transcripts: 200, skipped: 400 });
    for (const scope of ["main", "ops"]) expect(await rowsOf(to, scope)).toEqual(await rowsOf(from, scope));

    // Back to fs: byte-identical to the origin.
    const back = dir("resume-back");
    await migrateStore(to, parseStoreLocation(back));
    expectBytesEqual(transcriptBytes(origin), transcriptBytes(back));
  });

  it("re-copies a destination transcript that differs, and a changed row", async () => {
    const origin = dir("drift-origin");
    seedFsHome(origin, { main: 5 });
    const from = parseStoreLocation(origin);
    const to = parseStoreLocation(`sqlite:${dir("drift-dest")}`);
    await migrateStore(from, to);
    const dst = await to.open("main");
    await dst.importTranscript(sessionId("main", 2), "{}\n");
    await dst.patch("agent:main:telegram:direct:3", (cur) => ({ ...cur!, label: "changed" }));
    await dst.close();
    const again = await migrateStore(from, to);
    expect(again.scopes[0]).toMatchObject({
      copiedRows: 1,
      copiedTranscripts: 1,
      skippedRows: 4,
      skippedTranscripts: 4,
    });
    expect(await rowsOf(to, "main")).toEqual(await rowsOf(from, "main"));
  });

  it("--dry-run counts and writes nothing (sqlite and postgres destinations)", async () => {
    const origin = dir("dry-origin");
    seedFsHome(origin, { main: 30, ops: 10 });
    const before = transcriptBytes(origin);
    const listing = fs.readdirSync(path.join(origin, "agents", "main", "sessions")).sort();
    const dest = dir("dry-dest");
    const summary = await migrateStore(parseStoreLocation(origin), parseStoreLocation(`sqlite:${dest}`), {
      dryRun: true,
    });
    expect(summary.dryRun).toBe(true);
    expect(summary.scopes.map((s) => [s.scope, s.rows, s.transcripts])).toEqual([
      ["main", 30, 30],
      ["ops", 10, 10],
    ]);
    expect(summary.scopes[0]!.bytes).toBe(
      [...before].filter(([k]) => k.startsWith("main/")).reduce((n, [, b]) => n + b.length, 0),
    );
    expect(fs.existsSync(dest)).toBe(false);
    // The source was opened read-only: not a byte or a file changed.
    expect(fs.readdirSync(path.join(origin, "agents", "main", "sessions")).sort()).toEqual(listing);
    expectBytesEqual(before, transcriptBytes(origin));

    const pg = parseStoreLocation(await createTestDatabase());
    await migrateStore(parseStoreLocation(origin), pg, { dryRun: true });
    expect(await pg.listScopes()).toEqual([]);
  }, 60_000);

  it("--agent limits the copy; an agent with no store is an error", async () => {
    const origin = dir("agent-origin");
    seedFsHome(origin, { main: 3, ops: 2 });
    const to = parseStoreLocation(`sqlite:${dir("agent-dest")}`);
    const s = await migrateStore(parseStoreLocation(origin), to, { agents: ["ops"] });
    expect(s.scopes.map((x) => x.scope)).toEqual(["ops"]);
    expect(await to.listScopes()).toEqual(["ops"]);
    await expect(migrateStore(parseStoreLocation(origin), to, { agents: ["nope"] })).rejects.toThrow(
      /no store for agent "nope"/,
    );
  });
});

describe("store migration: locations", () => {
  it("parses the accepted forms and refuses unknown schemes", () => {
    expect(parseStoreLocation("/x/y").display).toBe("fs:/x/y");
    expect(parseStoreLocation("fs:/x/y").kind).toBe("fs");
    expect(parseStoreLocation("sqlite:/x/y").display).toBe("sqlite:/x/y");
    expect(parseStoreLocation("postgresql://u:hunter2@h:5432/db").display).toBe("postgresql://u:***@h:5432/db");
    expect(parseStoreLocation("redis://:hunter2@h:6379").display).not.toContain("hunter2");
    expect(() => parseStoreLocation("mysql://u:hunter2@h/db")).toThrow(
      /unknown store location "mysql:\/\/u:\*\*\*@h\/db".*fs:<dir>.*sqlite:<dir>.*postgres:\/\//,
    );
  });
});

describe("pincer store (CLI, real process)", () => {
  function pincer(home: string, args: string[]): { code: number; out: string; err: string } {
    const r = spawnSync(process.execPath, [BIN, ...args], {
      env: { ...process.env, PINCER_HOME: home, PINCER_CONFIG: "" },
      encoding: "utf8",
      timeout: 60_000,
    });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  }

  it(
    "export --format openclaw, then import-openclaw into a fresh (sqlite) home, round-trips",
    { timeout: 120_000 },
    async () => {
      const home1 = dir("cli-home1");
      seedFsHome(home1, { main: 40, ops: 5 });
      const original = transcriptBytes(home1);
      const exported = dir("cli-export");
      const ex = pincer(home1, ["store", "export", "--format", "openclaw", exported, "--json"]);
      expect(ex.code, ex.err).toBe(0);
      const exSummary = JSON.parse(ex.out) as MigrateSummary;
      expect(exSummary.scopes.map((s) => [s.scope, s.rows, s.transcripts])).toEqual([
        ["main", 40, 40],
        ["ops", 5, 5],
      ]);
      expect(exSummary.checksumsVerified).toBe(45);
      expect(ex.err).toContain("copying fs:");
      expectBytesEqual(original, transcriptBytes(exported));

      const home2 = dir("cli-home2");
      fs.mkdirSync(home2);
      fs.writeFileSync(path.join(home2, "pincer.json"), "{ session: { store: { backend: 'sqlite' } } }");
      const im = pincer(home2, ["store", "import-openclaw", exported]);
      expect(im.code, im.err).toBe(0);
      expect(im.out).toContain("main: 40 rows");
      expect(im.out).toContain("Checksums verified: 45");
      const sqliteHome = parseStoreLocation(`sqlite:${home2}`);
      for (const scope of ["main", "ops"])
        expect(await rowsOf(sqliteHome, scope)).toEqual(await rowsOf(parseStoreLocation(home1), scope));
      const store = await sqliteHome.open("main");
      expect(await store.exportTranscript(sessionId("main", 7))).toBe(
        original.get(`main/${sessionId("main", 7)}.jsonl`)!.toString("utf8"),
      );
      await store.close();

      // Importing again is a no-op that says so.
      const again = JSON.parse(pincer(home2, ["store", "import-openclaw", exported, "--json"]).out) as MigrateSummary;
      expect(totals(again)).toEqual({ rows: 45, transcripts: 45, skipped: 90 });

      // And back out of sqlite via the generic migrate: byte-identical to where it started.
      const out2 = dir("cli-export2");
      const mg = pincer(home2, [
        "store",
        "migrate",
        "--from",
        `sqlite:${home2}`,
        "--to",
        out2,
        "--agent",
        "main",
        "--json",
      ]);
      expect(mg.code, mg.err).toBe(0);
      expect((JSON.parse(mg.out) as MigrateSummary).scopes.map((s) => s.scope)).toEqual(["main"]);
      expectBytesEqual(new Map([...original].filter(([k]) => k.startsWith("main/"))), transcriptBytes(out2));

      if (openclawRunnable()) {
        const raw = execFileSync(
          OPENCLAW,
          ["sessions", "--json", "--store", path.join(exported, "agents", "main", "sessions", "sessions.json")],
          {
            env: {
              PATH: process.env.PATH ?? "/usr/bin:/bin",
              OPENCLAW_STATE_DIR: path.join(tmp, ".openclaw"),
              TMPDIR: os.tmpdir(),
            },
            encoding: "utf8",
            timeout: 120_000,
          },
        );
        const listed = JSON.parse(raw.slice(raw.search(/^\{/m))) as { count: number; sessions: Array<{ key: string }> };
        expect(listed.count).toBe(40);
        expect(listed.sessions.map((s) => s.key)).toContain("agent:main:telegram:direct:7");
      }
    },
  );

  it("fails clearly on bad input and writes nothing", { timeout: 60_000 }, async () => {
    const home = dir("cli-bad");
    seedFsHome(home, { main: 3 });
    const snapshot = (): string[] => fs.readdirSync(path.join(home, "agents", "main", "sessions")).sort();
    const files = snapshot();

    const unknown = pincer(home, ["store", "migrate", "--from", "mysql://u:hunter2@h/db", "--to", dir("cli-bad-out")]);
    expect(unknown.code).toBe(1);
    expect(unknown.out).toBe("");
    expect(unknown.err).toContain('unknown store location "mysql://u:***@h/db"');
    expect(unknown.err).toContain("sqlite:<dir>");
    expect(unknown.err).not.toContain("hunter2");

    const port = await freePort();
    const unreachable = pincer(home, [
      "store",
      "migrate",
      "--from",
      home,
      "--to",
      `postgres://pincer:hunter2@127.0.0.1:${port}/nowhere`,
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.out).toBe("");
    expect(unreachable.err).toMatch(/store migration failed: .*127\.0\.0\.1/);
    expect(unreachable.err).not.toContain("hunter2");
    expect(snapshot()).toEqual(files);

    const fromDown = pincer(home, [
      "store",
      "migrate",
      "--from",
      `postgres://pincer:hunter2@127.0.0.1:${port}/nowhere`,
      "--to",
      dir("cli-bad-out2"),
    ]);
    expect(fromDown.code).toBe(1);
    expect(fs.existsSync(dir("cli-bad-out2"))).toBe(false);

    const format = pincer(home, ["store", "export", "--format", "csv", dir("cli-bad-out3")]);
    expect(format.code).toBe(1);
    expect(format.err).toContain('unknown export format "csv"');
    expect(fs.existsSync(dir("cli-bad-out3"))).toBe(false);

    const empty = pincer(home, ["store", "import-openclaw", dir("cli-no-such-dir")]);
    expect(empty.code).toBe(1);
    expect(empty.err).toContain("no agent session stores found");

    const dry = pincer(home, [
      "store",
      "migrate",
      "--from",
      home,
      "--to",
      `sqlite:${dir("cli-dry")}`,
      "--dry-run",
      "--json",
    ]);
    expect(dry.code, dry.err).toBe(0);
    expect((JSON.parse(dry.out) as MigrateSummary).scopes[0]).toMatchObject({ scope: "main", rows: 3, transcripts: 3 });
    expect(fs.existsSync(dir("cli-dry"))).toBe(false);
  });
});

let openclawChecked: boolean | null = null;
/** The OpenClaw tool installs itself on first use; when it cannot, that check is skipped loudly. */
function openclawRunnable(): boolean {
  if (openclawChecked !== null) return openclawChecked;
  openclawChecked = false;
  if (!fs.existsSync(OPENCLAW)) {
    console.warn(`OpenClaw read-back skipped: ${OPENCLAW} not found`);
    return false;
  }
  try {
    execFileSync(OPENCLAW, ["--version"], {
      encoding: "utf8",
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TMPDIR: os.tmpdir() },
    });
    openclawChecked = true;
  } catch (err) {
    console.warn(`OpenClaw read-back skipped: ${OPENCLAW} could not start: ${(err as Error).message.split("\n")[0]}`);
  }
  return openclawChecked;
}
