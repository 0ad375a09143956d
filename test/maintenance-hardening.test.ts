/**
 * Maintenance that must not lose data (issue 11, items 14-16), against OpenClaw-format stores
 * (`sessions.json` + `<id>.jsonl`, as OpenClaw 2026.3.13 writes them) and the real `pincer` CLI:
 * enforce does exactly what its dry run printed, all-or-nothing per row; transcripts named through
 * `sessionFile` are archived with their row; warn mode changes no row and no file.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyMaintenancePlan, diskOpsOf, MaintenancePlanConflictError } from "../src/maintenance/apply.ts";
import { planMaintenance } from "../src/maintenance/plan.ts";
import { MaintenanceRunner, type MaintenanceWarning } from "../src/maintenance/runner.ts";
import { resolveMaintenance } from "../src/config/resolve.ts";
import type { MaintenanceSettings } from "../src/config/maintenance-settings.ts";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";
import type { SessionStore } from "../src/store/types.ts";

const BIN = path.join(import.meta.dirname, "..", "bin", "pincer.js");
const DAY = 86_400_000;
let root: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-maint-"));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

interface SeedRow {
  key: string;
  ageMs: number;
  /** Transcript file name; `<id>.jsonl` when omitted. Recorded in `sessionFile` as an absolute path. */
  file?: (id: string) => string;
}

/** A home whose main agent has an OpenClaw-written store, and the given `session.maintenance`. */
function openClawHome(
  name: string,
  rows: SeedRow[],
  maintenance: Record<string, unknown>,
  now = Date.now(),
): { home: string; dir: string } {
  const home = path.join(root, name);
  const dir = path.join(home, "agents", "main", "sessions");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(home, "pincer.json"),
    JSON.stringify({ session: { dmScope: "per-channel-peer", maintenance } }),
  );
  const store: Record<string, Record<string, unknown>> = {};
  for (const r of rows) {
    const id = randomUUID();
    const file = r.file?.(id);
    store[r.key] = {
      sessionId: id,
      updatedAt: now - r.ageMs,
      chatType: "direct",
      ...(file ? { sessionFile: path.join(dir, file) } : {}),
    };
    const header = { type: "session", version: 3, id, timestamp: new Date(now - r.ageMs).toISOString(), cwd: "/tmp" };
    const msg = {
      type: "message",
      id: "m1",
      parentId: null,
      timestamp: new Date(now - r.ageMs).toISOString(),
      message: { role: "user", content: [{ type: "text", text: `hello from ${r.key} `.repeat(6) }] },
    };
    fs.writeFileSync(path.join(dir, file ?? `${id}.jsonl`), `${JSON.stringify(header)}\n${JSON.stringify(msg)}\n`);
  }
  // OpenClaw writes the store as JSON.stringify(store, null, 2).
  fs.writeFileSync(path.join(dir, "sessions.json"), JSON.stringify(store, null, 2));
  return { home, dir };
}

function copyHome(from: string, name: string): { home: string; dir: string } {
  const home = path.join(root, name);
  fs.cpSync(from, home, { recursive: true, preserveTimestamps: true });
  return { home, dir: path.join(home, "agents", "main", "sessions") };
}

function pincer(home: string, args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, PINCER_HOME: home, PINCER_CONFIG: "" },
    encoding: "utf8",
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

interface CleanupSummary {
  beforeCount: number;
  afterCount: number;
  appliedCount?: number;
  wouldMutate: boolean;
  diskBudget: {
    totalBytesBefore: number;
    totalBytesAfter: number;
    removedFiles: number;
    removedEntries: number;
    overBudget: boolean;
  } | null;
  remove: Array<{ key: string; action: string }>;
  files: { archive: string[]; delete: string[] };
  result?: {
    removedRows: number;
    archived: string[];
    deleted: string[];
    skipped: Array<{ key: string; reason: string }>;
  };
}

function cleanup(home: string, args: string[]): CleanupSummary {
  const r = pincer(home, ["sessions", "cleanup", "--json", ...args]);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as CleanupSummary;
}

/** Every file of the directory with its size, mtime and content hash. */
function listing(dir: string): Map<string, { size: number; mtimeMs: number; sha: string }> {
  const out = new Map<string, { size: number; mtimeMs: number; sha: string }>();
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    const st = fs.statSync(file);
    out.set(name, {
      size: st.size,
      mtimeMs: st.mtimeMs,
      sha: createHash("sha256").update(fs.readFileSync(file)).digest("hex"),
    });
  }
  return out;
}

const ARCHIVED = (name: string): RegExp =>
  new RegExp(`^${name.replaceAll(".", "\\.")}\\.deleted\\.\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}\\.\\d{3}Z$`);
const isBookkeeping = (name: string): boolean =>
  name.startsWith("sessions.journal.") || name === "sessions.pincer-meta.json";

/** Checks that what `--enforce` did to `after` is exactly what the dry run said it would do to `before`. */
function expectDidWhatDryRunSaid(
  dry: CleanupSummary,
  applied: CleanupSummary,
  before: Map<string, { size: number }>,
  afterDir: string,
): void {
  expect(applied.remove).toEqual(dry.remove);
  expect(applied.files).toEqual(dry.files);
  expect(applied.result).toEqual({
    removedRows: dry.remove.length,
    archived: dry.files.archive,
    deleted: dry.files.delete,
    skipped: [],
  });
  expect(applied.appliedCount).toBe(dry.afterCount);
  const storePath = path.join(afterDir, "sessions.json");
  const keys = Object.keys(JSON.parse(fs.readFileSync(storePath, "utf8")) as object);
  expect(keys.length).toBe(dry.afterCount);
  for (const r of dry.remove) expect(keys).not.toContain(r.key);

  const after = listing(afterDir);
  const names = [...after.keys()];
  for (const name of dry.files.delete) {
    expect(after.has(name), `${name} deleted`).toBe(false);
    expect(
      names.some((n) => ARCHIVED(name).test(n)),
      `${name} deleted, not archived`,
    ).toBe(false);
  }
  for (const name of dry.files.archive) {
    expect(after.has(name), `${name} archived`).toBe(false);
    const archived = names.filter((n) => ARCHIVED(name).test(n));
    expect(archived, `${name} archived once`).toHaveLength(1);
    expect(after.get(archived[0]!)!.size).toBe(before.get(name)!.size);
  }
  // Nothing else changed among the transcripts and archives.
  const touched = new Set([...dry.files.delete, ...dry.files.archive]);
  for (const [name, st] of before) {
    if (touched.has(name) || name === "sessions.json") continue;
    expect(after.get(name)?.size, `${name} untouched`).toBe(st.size);
  }
  // Bytes: every file as predicted; the index as predicted for `sessions.json` (Pincer adds its
  // small journal and meta files beside it, which the plan cannot know about).
  if (dry.diskBudget) {
    const measured = [...after].filter(([n]) => !isBookkeeping(n)).reduce((s, [, st]) => s + st.size, 0);
    expect(measured).toBe(dry.diskBudget.totalBytesAfter);
  }
}

describe("item 14: disk-budget enforce does exactly what its dry run printed", () => {
  const maintenance = { mode: "enforce", maxDiskBytes: "6kb", highWaterBytes: "4kb" };
  const sessions = (stale: boolean): SeedRow[] =>
    Array.from({ length: 20 }, (_, i) => ({
      key: i === 0 ? "agent:main:main" : `agent:main:telegram:direct:${i}`,
      ageMs: i === 0 ? 1000 : (stale ? 40 * DAY : 0) + i * 60_000,
    }));

  for (const [label, stale] of [
    ["19 of 20 rows stale (their transcripts are released, then needed by the budget)", true],
    ["fresh rows (the budget evicts rows)", false],
  ] as const) {
    it(`${label}: dry run and enforce on copies of one store agree on rows, files and bytes`, () => {
      const a = openClawHome("a", sessions(stale), maintenance);
      const b = copyHome(a.home, "b");
      const before = listing(b.dir);
      const dry = cleanup(a.home, ["--dry-run"]);
      expect(dry.diskBudget).toMatchObject({ overBudget: true });
      expect(dry.diskBudget!.totalBytesAfter).toBeLessThanOrEqual(4096);
      const applied = cleanup(b.home, []);
      expectDidWhatDryRunSaid(dry, applied, before, b.dir);
      // The main session and its transcript survive.
      const main = (
        JSON.parse(fs.readFileSync(path.join(b.dir, "sessions.json"), "utf8")) as Record<string, { sessionId: string }>
      )["agent:main:main"]!;
      expect(fs.existsSync(path.join(b.dir, `${main.sessionId}.jsonl`))).toBe(true);
      // The dry run changed nothing.
      expect([...listing(a.dir).keys()]).toEqual([...before.keys()]);
    });
  }

  it("a plan that no longer matches the store is refused before anything changes", async () => {
    const { dir } = openClawHome("c", sessions(true), maintenance);
    const store = await FsSessionStore.open({ storePath: path.join(dir, "sessions.json") });
    try {
      const plan = await planFor(
        store,
        resolveMaintenance({
          session: { maintenance: { mode: "enforce", maxDiskBytes: "6kb", highWaterBytes: "4kb" } },
        }),
      );
      const victim = plan.actions.filter((x) => x.action !== "keep")[3]!.key;
      // A message arrives for a session the plan would prune: it must survive.
      await store.patch(victim, (cur) => ({ ...cur!, updatedAt: Date.now() }));
      const before = listing(dir);
      const rowsBefore = await store.count();
      await expect(applyMaintenancePlan(store, plan, { now: Date.now() })).rejects.toThrow(
        MaintenancePlanConflictError,
      );
      await expect(applyMaintenancePlan(store, plan, { now: Date.now() })).rejects.toThrow(
        `row ${JSON.stringify(victim)} changed since it was planned`,
      );
      expect(await store.count()).toBe(rowsBefore);
      const after = listing(dir);
      for (const [name, st] of before)
        if (!isBookkeeping(name) && name !== "sessions.json") expect(after.get(name)).toEqual(st);
    } finally {
      await store.close();
    }
  });

  it("a failure mid-way leaves each row untouched or fully processed (row gone and transcript archived)", async () => {
    const { dir } = openClawHome("d", sessions(true), { mode: "enforce" });
    const store = await FsSessionStore.open({ storePath: path.join(dir, "sessions.json") });
    const settings = resolveMaintenance({ session: { maintenance: { mode: "enforce" } } });
    try {
      const plan = await planFor(store, settings);
      expect(plan.removals).toHaveLength(19);
      const ids = plan.removals.map((u) => ({ key: u.keys[0]!, id: u.sessionId }));
      // The 7th rename fails (say EACCES on one file): six sessions are done, the 7th is put back whole.
      let renames = 0;
      await expect(
        applyMaintenancePlan(faulty(store, { archiveDiskFile: () => ++renames === 7 }), plan, { now: Date.now() }),
      ).rejects.toThrow("injected failure");
      expect(await eachUntouchedOrDone(store, dir, ids)).toEqual({ untouched: 13, done: 6 });
      // A row removal fails (the store refuses the write): the sessions before it are done, it and the rest untouched.
      let patches = 0;
      await expect(
        applyMaintenancePlan(faulty(store, { patch: () => ++patches === 3 }), await planFor(store, settings), {
          now: Date.now(),
        }),
      ).rejects.toThrow("injected failure");
      expect(await eachUntouchedOrDone(store, dir, ids)).toEqual({ untouched: 11, done: 8 });
      // Then a fresh plan finishes, and every removed row's transcript is archived.
      const result = await applyMaintenancePlan(store, await planFor(store, settings), { now: Date.now() });
      expect(result.removedRows).toBe(11);
      expect(await eachUntouchedOrDone(store, dir, ids)).toEqual({ untouched: 0, done: 19 });
      expect(await store.count()).toBe(1);
    } finally {
      await store.close();
    }
  });

  it("after dying between a session's row removal and its rename, the transcript is kept (unreferenced) and the next cleanup does the rest", async () => {
    const { home, dir } = openClawHome("e", sessions(true), { mode: "enforce" });
    const store = await FsSessionStore.open({ storePath: path.join(dir, "sessions.json") });
    const plan = await planFor(store, resolveMaintenance({ session: { maintenance: { mode: "enforce" } } }));
    const first = plan.removals[0]!;
    const text = fs.readFileSync(path.join(dir, `${first.sessionId}.jsonl`), "utf8");
    // A crash: the first row is removed, then nothing more happens (no rename, no undo).
    let patches = 0;
    const dying = faulty(store, { patch: () => ++patches > 1, archiveDiskFile: () => true });
    await expect(applyMaintenancePlan(dying, plan, { now: Date.now() })).rejects.toThrow("injected failure");
    expect(await store.get(first.keys[0]!)).toBeUndefined();
    await store.close();
    const r = cleanup(home, []);
    expect(r).toMatchObject({ beforeCount: 19, afterCount: 1, appliedCount: 1 });
    const names = fs.readdirSync(dir);
    expect(names.filter((n) => /\.jsonl\.deleted\./.test(n))).toHaveLength(18);
    // Never lost: the transcript whose row went first is still there, whole.
    expect(fs.readFileSync(path.join(dir, `${first.sessionId}.jsonl`), "utf8")).toBe(text);
  });

  it("a row a writer changes after the plan was checked keeps its row and transcript (skipped); the rest is applied", async () => {
    const { dir } = openClawHome("r", sessions(true), { mode: "enforce" });
    const storePath = path.join(dir, "sessions.json");
    const store = await FsSessionStore.open({ storePath });
    // A running gateway on the same directory: its own store instance, as in another process.
    const gateway = await FsSessionStore.open({ storePath, idleReleaseMs: 10 });
    try {
      const plan = await planFor(store, resolveMaintenance({ session: { maintenance: { mode: "enforce" } } }));
      const victim = plan.removals[3]!;
      const gone = plan.removals[5]!;
      const victimKey = victim.keys[0]!;
      const acknowledged = {
        type: "message",
        id: "m2",
        parentId: "m1",
        timestamp: new Date().toISOString(),
        message: { role: "user", content: [{ type: "text", text: "acknowledged after the plan was checked" }] },
      };
      // Right before the cleanup's first change: a message is recorded into a planned row (the row is
      // patched, then its transcript appended, as the session manager does), and another planned row
      // is removed by someone else.
      const racing = beforeFirstWrite(store, async () => {
        await gateway.patch(victimKey, (cur) => ({ ...cur!, updatedAt: Date.now(), lastInteractionAt: Date.now() }));
        await gateway.appendTranscript(victim.sessionId, [acknowledged]);
        await gateway.patch(gone.keys[0]!, () => null);
      });
      const result = await applyMaintenancePlan(racing, plan, { now: Date.now() });
      // The acknowledged message is in the index and in the transcript, which is whole and in place.
      const row = await gateway.get(victimKey);
      expect(row?.sessionId, "the row that received a message was removed").toBe(victim.sessionId);
      expect(fs.existsSync(path.join(dir, `${victim.sessionId}.jsonl`))).toBe(true);
      const lines = fs
        .readFileSync(path.join(dir, `${victim.sessionId}.jsonl`), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { type: string; id?: string });
      expect(lines.map((l) => l.id ?? l.type)).toEqual([victim.sessionId, "m1", "m2"]);
      expect(fs.readdirSync(dir).filter((n) => n.startsWith(`${victim.sessionId}.jsonl.deleted.`))).toEqual([]);
      // The row removed by someone else: its transcript is not this cleanup's to move.
      expect(fs.existsSync(path.join(dir, `${gone.sessionId}.jsonl`))).toBe(true);
      expect(await store.count()).toBe(2);
      expect(fs.readdirSync(dir).filter((n) => /\.jsonl\.deleted\./.test(n))).toHaveLength(17);
      // Reported as skipped, the rest of the plan applied.
      expect(result.skipped).toEqual([
        { key: victimKey, reason: "changed" },
        { key: gone.keys[0]!, reason: "gone" },
      ]);
      expect(result.removedRows).toBe(17);
      expect(result.archived).toHaveLength(17);
    } finally {
      await gateway.close();
      await store.close();
    }
  });
});

/** For each planned session: untouched (row and `<id>.jsonl`, no archive) or done (no row, one archive); anything else fails. */
async function eachUntouchedOrDone(
  store: SessionStore,
  dir: string,
  sessions: Array<{ key: string; id: string }>,
): Promise<{ untouched: number; done: number }> {
  const names = fs.readdirSync(dir);
  let untouched = 0;
  let done = 0;
  for (const { key, id } of sessions) {
    const row = await store.get(key);
    const live = names.includes(`${id}.jsonl`);
    const archives = names.filter((n) => n.startsWith(`${id}.jsonl.deleted.`)).length;
    if (row?.sessionId === id && live && archives === 0) untouched++;
    else if (!row && !live && archives === 1) done++;
    else
      throw new Error(
        `${key} is half done: row ${row ? "present" : "absent"}, transcript ${live ? "present" : "absent"}, ${archives} archive(s)`,
      );
  }
  return { untouched, done };
}

describe("item 15: transcripts named through sessionFile go with their row", () => {
  it("pruned and capped rows have their `<id>-topic-<n>.jsonl` archived `.deleted.<ts>`; kept rows' files stay", () => {
    const rows: SeedRow[] = [
      { key: "agent:main:main", ageMs: 1000 },
      { key: "agent:main:telegram:group:-100:topic:42", ageMs: 40 * DAY, file: (id) => `${id}-topic-42.jsonl` },
      { key: "agent:main:telegram:group:-100:topic:43", ageMs: 3 * DAY, file: (id) => `${id}-topic-43.jsonl` },
      { key: "agent:main:telegram:group:-100:topic:44", ageMs: 2 * DAY, file: (id) => `${id}-topic-44.jsonl` },
      { key: "agent:main:discord:direct:7:thread:9", ageMs: 1 * DAY, file: (id) => `${id}-topic-9.jsonl` },
    ];
    const a = openClawHome("t", rows, { mode: "enforce", maxEntries: 3 });
    const b = copyHome(a.home, "t2");
    const before = listing(b.dir);
    const applied = cleanup(b.home, []);
    expect(applied).toMatchObject({ beforeCount: 5, afterCount: 3, appliedCount: 3 });
    const names = fs.readdirSync(b.dir);
    expect(
      names.filter((n) => /-topic-4[23]\.jsonl$/.test(n)),
      "pruned and capped rows' transcripts left in place",
    ).toEqual([]);
    expect(names.filter((n) => /-topic-4[23]\.jsonl\.deleted\./.test(n))).toHaveLength(2);
    expect(names.filter((n) => /-topic-(44|9)\.jsonl$/.test(n))).toHaveLength(2);
    // And that is what the dry run (on an untouched copy) said.
    const dry = cleanup(a.home, ["--dry-run"]);
    expect(dry.remove.map((r) => r.action).sort()).toEqual(["cap-overflow", "prune-stale"]);
    // (A sorted copy: expectDidWhatDryRunSaid compares the dry run's own order with enforce's.)
    expect([...dry.files.archive].sort()).toEqual(
      [...before.keys()].filter((n) => /-topic-4[23]\.jsonl$/.test(n)).sort(),
    );
    expectDidWhatDryRunSaid(dry, applied, before, b.dir);
  });

  it("the disk budget never takes a kept row's sessionFile for an orphan, and never touches a crafted sessionFile", async () => {
    const dir = path.join(root, "s");
    fs.mkdirSync(dir, { recursive: true });
    const now = Date.now();
    const pad = "x".repeat(3000);
    fs.writeFileSync(path.join(dir, "custom-name.jsonl"), `{"type":"session","pad":"${pad}"}\n`);
    fs.writeFileSync(path.join(dir, "orphan.jsonl"), `{"type":"session","pad":"${pad}"}\n`);
    fs.writeFileSync(path.join(root, "outside.jsonl"), "{}\n");
    fs.writeFileSync(
      path.join(dir, "sessions.json"),
      JSON.stringify({
        "agent:main:main": { sessionId: "main-id", updatedAt: now, sessionFile: path.join(dir, "custom-name.jsonl") },
        "agent:main:x": { sessionId: "x-id", updatedAt: now - 40 * DAY, sessionFile: "sessions.json" },
        "agent:main:y": { sessionId: "y-id", updatedAt: now - 40 * DAY, sessionFile: "../outside.jsonl" },
      }),
    );
    const store = await FsSessionStore.open({ storePath: path.join(dir, "sessions.json") });
    try {
      const plan = await planFor(
        store,
        resolveMaintenance({
          session: { maintenance: { mode: "enforce", maxDiskBytes: "4kb", highWaterBytes: "3kb" } },
        }),
      );
      expect(plan.deleteOrphans).toEqual(["orphan.jsonl"]);
      expect(plan.removals.map((u) => u.keys[0]).sort()).toEqual(["agent:main:x", "agent:main:y"]);
      expect(plan.removals.flatMap((u) => u.files)).toEqual([]);
      await applyMaintenancePlan(store, plan, { now });
      expect(await store.count()).toBe(1);
    } finally {
      await store.close();
    }
    expect(fs.existsSync(path.join(dir, "custom-name.jsonl"))).toBe(true);
    expect(fs.existsSync(path.join(dir, "orphan.jsonl"))).toBe(false);
    expect(fs.existsSync(path.join(dir, "sessions.json"))).toBe(true);
    expect(fs.existsSync(path.join(root, "outside.jsonl"))).toBe(true);
  });
});

describe("item 16: warn mode changes no row and no file", () => {
  function warnHome(): { home: string; dir: string } {
    const rows: SeedRow[] = [
      { key: "agent:main:main", ageMs: 1000 },
      ...Array.from({ length: 8 }, (_, i) => ({
        key: `agent:main:telegram:direct:${i}`,
        ageMs: (i < 4 ? 40 * DAY : 0) + i * 60_000,
      })),
    ];
    const made = openClawHome("w", rows, {
      mode: "warn",
      pruneAfter: "30d",
      maxEntries: 3,
      resetArchiveRetention: "30d",
      maxDiskBytes: "2kb",
    });
    const old = new Date(Date.now() - 40 * DAY).toISOString().replaceAll(":", "-");
    fs.writeFileSync(path.join(made.dir, `${randomUUID()}.jsonl.reset.${old}`), "{}\n");
    fs.writeFileSync(path.join(made.dir, `${randomUUID()}.jsonl.deleted.${old}`), "{}\n");
    fs.writeFileSync(path.join(made.dir, `${randomUUID()}.jsonl`), "{}\n"); // an orphan transcript
    return made;
  }

  it("`sessions cleanup --json` without --enforce reports and touches nothing, archives and disk budget included", () => {
    const { home, dir } = warnHome();
    const before = listing(dir);
    const r = pincer(home, ["sessions", "cleanup", "--json"]);
    expect(r.code, r.err).toBe(0);
    const after = listing(dir);
    for (const [name, st] of before) expect(after.get(name), name).toEqual(st);
    const out = JSON.parse(r.out) as CleanupSummary & { mode: string; pruned: number; capped: number };
    expect(out).toMatchObject({
      mode: "warn",
      beforeCount: 9,
      afterCount: 9,
      pruned: 0,
      capped: 0,
      wouldMutate: false,
      appliedCount: 9,
      remove: [],
      files: { archive: [], delete: [] },
    });
    expect(out.diskBudget).toMatchObject({ overBudget: true, removedFiles: 0, removedEntries: 0 });
    expect(r.err).toContain("over session.maintenance.maxDiskBytes");
    // The dry run still shows what enforce would do, and enforce does it.
    const dry = cleanup(home, ["--dry-run"]);
    expect(dry.remove.length).toBeGreaterThan(0);
    expect(dry.files.delete.length).toBeGreaterThan(0);
    expect(cleanup(home, ["--enforce"]).appliedCount).toBe(dry.afterCount);
  });

  it("the gateway's periodic maintenance in warn mode reports what enforce would do and changes nothing", async () => {
    const { home, dir } = warnHome();
    const settings = resolveMaintenance(
      JSON.parse(fs.readFileSync(path.join(home, "pincer.json"), "utf8")) as Parameters<typeof resolveMaintenance>[0],
    );
    expect(settings.mode).toBe("warn");
    const store = await FsSessionStore.open({ storePath: path.join(dir, "sessions.json") });
    const warnings: MaintenanceWarning[] = [];
    try {
      const before = listing(dir);
      const runner = new MaintenanceRunner({
        settings,
        now: Date.now,
        protectedKeys: () => new Set(["agent:main:main"]),
        onWarning: (w) => warnings.push(w),
      });
      const plan = await runner.run(store);
      expect(plan.afterCount).toBeLessThan(9);
      expect(await store.count()).toBe(9);
      const after = listing(dir);
      for (const [name, st] of before) if (!isBookkeeping(name)) expect(after.get(name), name).toEqual(st);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.wouldRemove.length).toBe(9 - plan.afterCount);
      expect(warnings[0]!.wouldDeleteFiles).toBeGreaterThan(0);
      expect(warnings[0]!.diskBudget).toMatchObject({ overBudget: true });
    } finally {
      await store.close();
    }
  });
});

async function planFor(store: FsSessionStore, settings: MaintenanceSettings) {
  const disk = diskOpsOf(store)!;
  const rows = await store.all();
  return planMaintenance({
    rows,
    now: Date.now(),
    settings,
    trigger: "explicit",
    protectedKeys: new Set(["agent:main:main"]),
    disk: disk.diskInventory(),
    diskDir: disk.dir,
  });
}

/** The store with some methods made to fail (`when` returns true) before doing anything. */
function faulty(
  store: SessionStore,
  when: Partial<Record<"archiveDiskFile" | "restoreDiskFile" | "putMany" | "patch", () => boolean>>,
): SessionStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      const fail = when[prop as keyof typeof when];
      if (!fail) return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        if (fail()) throw new Error(`injected failure in ${String(prop)}`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** The store, running `race` once right before the first call that changes anything (a row or a file). */
function beforeFirstWrite(store: SessionStore, race: () => Promise<void>): SessionStore {
  const writes = new Set([
    "patch",
    "putMany",
    "archiveTranscript",
    "archiveDiskFile",
    "removeDiskFile",
    "restoreDiskFile",
  ]);
  let raced = false;
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (!writes.has(String(prop))) return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        if (!raced) {
          raced = true;
          await race();
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
