/**
 * The CLI at 100 000 rows reads an fs index straight from disk, row by row: these check that what it
 * prints is byte for byte what loading the whole store prints (journal changes included), that it
 * runs in a heap far smaller than the store, and that a dry run of a store not created yet is empty.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SessionEntry } from "../src/store/entry.ts";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";
import { writeSnapshot } from "../src/store/fs/snapshot.ts";

const BIN = path.join(import.meta.dirname, "..", "bin", "pincer.js");
const NOW = 1_800_000_000_000;
// The same clock in every run, so two listings can be compared byte for byte (`ageMs`).
const FIXED_CLOCK = `data:text/javascript,Date.now=()=>${NOW}`;
let home: string;
let storePath: string;

function pincer(args: string[], nodeFlags: string[] = []): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [...nodeFlags, "--import", FIXED_CLOCK, BIN, ...args], {
    env: { ...process.env, PINCER_HOME: home, PINCER_CONFIG: "" },
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function entry(i: number, extra: Partial<SessionEntry> = {}): SessionEntry {
  return {
    sessionId: `s-${i}`,
    updatedAt: NOW - (i % 97) * 60_000,
    chatType: i % 5 === 0 ? "group" : "direct",
    model: i % 3 === 0 ? "gpt-5" : undefined,
    thinkingLevel: i % 4 === 0 ? "low" : undefined,
    totalTokens: i % 2 ? 1200 : undefined,
    origin: { label: `User ${i}`, provider: "telegram", from: `telegram:${i}` },
    ...extra,
  } as SessionEntry;
}

async function put(store: FsSessionStore, key: string, value: SessionEntry): Promise<void> {
  await store.patch(key, () => value);
}

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-cli-stream-"));
  storePath = path.join(home, "agents", "main", "sessions", "sessions.json");
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

describe("sessions --json and cleanup --dry-run from disk", () => {
  it("print exactly what loading the whole store prints, journal puts, moves and deletes included", async () => {
    const seed = await FsSessionStore.open({ storePath });
    const keys = [
      ...Array.from({ length: 60 }, (_, i) => `agent:main:telegram:direct:user${i}`),
      "12345", // an array-index key: JS objects reorder those
      'agent:main:telegram:direct:"quoted" \\ ünïcødé 🦀',
    ];
    for (const [i, key] of keys.entries()) await seed.patch(key, () => entry(i));
    await seed.close();
    // The journal now changes the snapshot: new rows, updated (moved) rows, deleted rows.
    const live = await FsSessionStore.open({ storePath, snapshotIntervalMs: 3_600_000 });
    try {
      await put(live, "agent:main:telegram:direct:new-newest", entry(1000, { updatedAt: NOW }));
      await put(live, "agent:main:telegram:direct:new-oldest", entry(1001, { updatedAt: NOW - 99 * 86_400_000 }));
      await put(live, "agent:main:telegram:direct:user7", entry(7, { updatedAt: NOW - 30_000, verboseLevel: "on" }));
      await put(live, keys[61]!, entry(61, { updatedAt: NOW - 5 }));
      await live.patch("agent:main:telegram:direct:user3", () => null);
      await live.patch("12345", () => null);
      await live.patch("agent:main:telegram:direct:user9", () => null);
      await put(live, "agent:main:telegram:direct:user9", entry(9, { updatedAt: NOW - 1 }));
      expect(fs.readdirSync(path.dirname(storePath)).some((n) => n.startsWith("sessions.journal."))).toBe(true);

      const commands = [
        ["sessions", "--json"],
        ["sessions", "cleanup", "--dry-run", "--json"],
        ["sessions", "cleanup", "--dry-run"],
      ];
      const streamed = commands.map((c) => pincer(c));
      // Without the meta file the snapshot's order is unknown: the CLI loads the whole store.
      fs.rmSync(path.join(path.dirname(storePath), "sessions.pincer-meta.json"));
      const loaded = commands.map((c) => pincer(c));
      for (const [i, r] of streamed.entries()) {
        expect(r.code, r.err).toBe(0);
        expect(r.out, commands[i]!.join(" ")).toBe(loaded[i]!.out);
      }
      const listing = JSON.parse(streamed[0]!.out) as { count: number; sessions: Array<{ key: string }> };
      expect(listing.count).toBe(keys.length + 2 - 2);
      expect(listing.sessions.length).toBe(listing.count);
      expect(listing.sessions[0]!.key).toBe("agent:main:telegram:direct:new-newest");
      expect(listing.sessions.at(-1)!.key).toBe("agent:main:telegram:direct:new-oldest");
      expect(listing.sessions.map((s) => s.key)).not.toContain("12345");
    } finally {
      await live.close();
    }
  });

  it("list 40 000 rows (40 MB of index) in a 48 MB heap: rows are streamed, not loaded whole", async () => {
    const dir = path.dirname(storePath);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const rows = Array.from({ length: 40_000 }, (_, i) => ({
      key: `agent:main:telegram:direct:user${i}`,
      entry: entry(i, { sessionFile: path.join(dir, `s-${i}.jsonl`), note: "x".repeat(600) } as Partial<SessionEntry>),
    }));
    await writeSnapshot(storePath, rows, new Map());
    expect(fs.statSync(storePath).size).toBeGreaterThan(35_000_000);
    const r = pincer(["sessions", "--json"], ["--max-old-space-size=48"]);
    expect(r.code, r.err.slice(0, 400)).toBe(0);
    const listing = JSON.parse(r.out) as { count: number; sessions: unknown[] };
    expect(listing.count).toBe(40_000);
    expect(listing.sessions.length).toBe(40_000);
  });

  it("cleanup --dry-run of a store not created yet prints zero counts and exits 0", () => {
    const json = pincer(["sessions", "cleanup", "--dry-run", "--json"]);
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({
      agentId: "main",
      storePath,
      dryRun: true,
      beforeCount: 0,
      afterCount: 0,
      missing: 0,
      pruned: 0,
      capped: 0,
      wouldMutate: false,
    });
    const text = pincer(["sessions", "cleanup", "--dry-run"]);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain("Entries: 0 -> 0 (remove 0)");
    const fixMissing = pincer(["sessions", "cleanup", "--dry-run", "--fix-missing", "--json"]);
    expect(fixMissing.code, fixMissing.err).toBe(0);
    expect(JSON.parse(fixMissing.out)).toMatchObject({ beforeCount: 0, afterCount: 0 });
    // Still nothing on disk: a dry run creates nothing.
    expect(fs.existsSync(path.dirname(storePath))).toBe(false);
  });
});
