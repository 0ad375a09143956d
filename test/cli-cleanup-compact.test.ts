/**
 * `sessions cleanup --dry-run` of one fs store goes through the columns path (rows read from their
 * JSON text, planCompact, the preview written as it goes): it must print byte for byte what the
 * general path prints (the same store without its snapshot meta, so the CLI loads it whole) — with
 * pruning, capping, shared and foreign transcripts, topic transcripts, old and young archives,
 * pinned and main rows, journal puts, moves and deletes, and a torn last journal line.
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
const DAY = 86_400_000;
const FIXED_CLOCK = `data:text/javascript,Date.now=()=>${NOW}`;
let home: string;
let dir: string;
let storePath: string;
let config: string;

function pincer(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ["--import", FIXED_CLOCK, BIN, ...args], {
    env: { ...process.env, PINCER_HOME: home, PINCER_CONFIG: config },
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-cleanup-compact-"));
  dir = path.join(home, "agents", "main", "sessions");
  storePath = path.join(dir, "sessions.json");
  config = path.join(home, "pincer.json");
  fs.writeFileSync(
    config,
    JSON.stringify({ session: { maintenance: { maxEntries: 25, pruneAfter: "40d", resetArchiveRetention: "10d" } } }),
  );
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

function entry(i: number, extra: Partial<SessionEntry> = {}): SessionEntry {
  const sessionId = `s-${i % 53}`; // some ids shared by two rows
  return {
    sessionId,
    updatedAt: i % 17 === 0 ? 0 : NOW - (i % 61) * DAY - i,
    ...(i % 3 ? { sessionFile: path.join(dir, `${sessionId}.jsonl`) } : {}),
    ...(i % 11 === 0 ? { sessionFile: `s-${(i + 1) % 53}.jsonl` } : {}), // another row's transcript, relative
    ...(i % 13 === 0 ? { sessionFile: "/elsewhere/x.jsonl" } : {}),
    ...(i % 19 === 0 ? { pinned: true } : {}),
    model: i % 4 ? "gpt-5" : undefined,
    thinkingLevel: i % 5 === 0 ? "high" : undefined,
    origin: { label: `User "${i}" ünï 🦀\n`, provider: "telegram" },
    ...extra,
  } as SessionEntry;
}

describe("cleanup --dry-run in columns", () => {
  it("prints what the general path prints, journal and files included", async () => {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const keys = Array.from({ length: 90 }, (_, i) => `agent:main:telegram:direct:user${i}`);
    keys.push("agent:main:main", 'agent:main:telegram:direct:"q" \\ ü');
    await writeSnapshot(
      storePath,
      keys.map((key, i) => ({ key, entry: entry(i) })),
      new Map(),
    );
    for (let i = 0; i < 53; i += 2) fs.writeFileSync(path.join(dir, `s-${i}.jsonl`), "{}\n");
    for (let i = 1; i < 53; i += 3) fs.writeFileSync(path.join(dir, `s-${i}-topic-9.jsonl`), "{}\n");
    const stamp = (days: number) => new Date(NOW - days * DAY).toISOString().replaceAll(":", "-");
    for (const [name, days] of [
      ["s-3.jsonl.reset", 30],
      ["s-5.jsonl.reset", 2],
      ["s-7.jsonl.deleted", 50],
      ["s-9.jsonl.deleted", 5],
      ["s-11.jsonl.bak", 90],
    ] as const)
      fs.writeFileSync(path.join(dir, `${name}.${stamp(days)}`), "{}\n");
    fs.writeFileSync(path.join(dir, "notes.txt"), "x");

    const live = await FsSessionStore.open({ storePath, snapshotIntervalMs: 3_600_000 });
    try {
      await live.patch("agent:main:telegram:direct:new", () => entry(200, { updatedAt: NOW - 1 }));
      await live.patch(keys[7]!, () => entry(7, { updatedAt: NOW - 2 }));
      await live.patch(keys[8]!, () => null);
      await live.patch(keys[9]!, () => null);
      await live.patch(keys[9]!, () => entry(9, { updatedAt: NOW - 70 * DAY }));
      const journal = fs.readdirSync(dir).find((n) => n.startsWith("sessions.journal."))!;
      expect(journal).toBeDefined();
      fs.appendFileSync(path.join(dir, journal), '{"op":"put","k":"torn');

      const commands = [
        ["sessions", "cleanup", "--dry-run", "--json"],
        ["sessions", "cleanup", "--dry-run"],
        ["sessions", "cleanup", "--dry-run", "--json", "--active-key", keys[40]!],
      ];
      const columns = commands.map((c) => pincer(c));
      fs.rmSync(path.join(dir, "sessions.pincer-meta.json"));
      const loaded = commands.map((c) => pincer(c));
      for (const [i, r] of columns.entries()) {
        expect(r.code, r.err).toBe(0);
        expect(r.out, commands[i]!.join(" ")).toBe(loaded[i]!.out);
      }
      const plan = JSON.parse(columns[0]!.out) as {
        pruned: number;
        capped: number;
        archivesPurged: number;
        files: { archive: string[]; delete: string[] };
      };
      // The case is not trivial: every kind of decision is in it.
      expect(plan.pruned).toBeGreaterThan(0);
      expect(plan.capped).toBeGreaterThan(0);
      expect(plan.archivesPurged).toBeGreaterThan(0);
      expect(plan.files.archive.some((n) => n.includes("-topic-"))).toBe(true);
    } finally {
      await live.close();
    }
  });
});
