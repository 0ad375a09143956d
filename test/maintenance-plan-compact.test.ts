/**
 * `planCompact` (the cleanup preview's plan in columns) decides exactly what `planMaintenance`
 * decides, on random stores: shared session ids, pinned and protected rows, rows without a time,
 * `sessionFile`s that are absolute, relative, elsewhere or another row's transcript, topic
 * transcripts, archives of every kind and age, and random prune/cap/retention settings.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MaintenanceSettings } from "../src/config/maintenance-settings.ts";
import { ACTION_NAMES, planCompact, RowColumns } from "../src/maintenance/plan-compact.ts";
import { planMaintenance } from "../src/maintenance/plan.ts";
import { classify, type DiskFile } from "../src/store/fs/disk-files.ts";
import type { SessionRow } from "../src/store/types.ts";

const DIR = "/state/agents/main/sessions";
const NOW = 1_800_000_000_000;
const DAY = 86_400_000;

const id = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("a", "b", "c1", "d.e", "f-g", "h_i", "j") },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,6}$/) },
);
const sessionFile = (sid: string) =>
  fc.oneof(
    fc.constant(undefined),
    fc.constant(`${DIR}/${sid}.jsonl`),
    fc.constant(`${sid}.jsonl`),
    id.map((o) => `${DIR}/${o}.jsonl`),
    id.map((o) => `${DIR}/${o}-topic-7.jsonl`),
    fc.constantFrom("/elsewhere/a.jsonl", `${DIR}/../a.jsonl`, `${DIR}/./b.jsonl`, "sessions.json", "", "../x.jsonl"),
  );
const row = fc
  .record({
    n: fc.nat(40),
    sessionId: id,
    age: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 60 })),
    pinned: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(true) }),
  })
  .chain((r) => sessionFile(r.sessionId).map((f) => ({ ...r, sessionFile: f })));
const fileName = fc.oneof(
  id.map((i) => `${i}.jsonl`),
  id.map((i) => `${i}-topic-3.jsonl`),
  id.chain((i) =>
    fc
      .tuple(fc.constantFrom("reset", "deleted", "bak"), fc.integer({ min: 0, max: 60 }))
      .map(([why, days]) => `${i}.jsonl.${why}.${new Date(NOW - days * DAY).toISOString().replaceAll(":", "-")}`),
  ),
  fc.constantFrom("sessions.json", "sessions.journal.00000001", "notes.txt", "Z.jsonl", "orphan.jsonl"),
);
const days = fc.oneof(
  fc.constant(null),
  fc.integer({ min: 1, max: 50 }).map((d) => d * DAY),
);

describe("planCompact", () => {
  it("plans what planMaintenance plans (no disk budget, enforcing, explicit)", () => {
    fc.assert(
      fc.property(
        fc.array(row, { maxLength: 30 }),
        fc.uniqueArray(fileName, { maxLength: 30 }),
        days,
        fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 20 })),
        days,
        fc.boolean(),
        fc.boolean(),
        (specs, names, pruneAfterMs, maxEntries, resetArchiveRetentionMs, protectFirst, newestFirst) => {
          // Newest first (as a snapshot is read) takes the cap's one-pass ordering; any other order sorts.
          if (newestFirst) specs.sort((a, b) => (a.age ?? Infinity) - (b.age ?? Infinity));
          const seen = new Set<string>();
          const rows: SessionRow[] = [];
          for (const s of specs) {
            const key = `agent:main:direct:u${s.n}`;
            if (seen.has(key)) continue;
            seen.add(key);
            const entry: Record<string, unknown> = {
              sessionId: s.sessionId,
              updatedAt: s.age === null ? 0 : NOW - s.age * DAY,
            };
            if (s.pinned) entry.pinned = true;
            if (s.sessionFile !== undefined) entry.sessionFile = s.sessionFile;
            rows.push({ key, entry: entry as unknown as SessionRow["entry"] });
          }
          const settings: MaintenanceSettings = {
            mode: "enforce",
            pruneAfterMs,
            maxEntries,
            highWaterEntries: maxEntries,
            resetArchiveRetentionMs,
            maxDiskBytes: null,
            highWaterBytes: null,
          };
          const protectedKeys = new Set(protectFirst && rows[0] ? [rows[0].key] : []);
          const disk: DiskFile[] = names.map((name) => ({ name, size: 0, mtimeMs: 0, class: classify(name) }));
          const plan = planMaintenance({
            rows,
            now: NOW,
            settings,
            trigger: "explicit",
            protectedKeys,
            disk,
            diskDir: DIR,
          });
          const cols = new RowColumns(DIR, protectedKeys);
          for (const r of rows)
            cols.add(r.key, r.entry.sessionId, r.entry.updatedAt, r.entry.pinned, r.entry.sessionFile);
          const compact = planCompact(cols, { names, classOf: classify }, settings, NOW);

          expect([...compact.action].map((a) => ACTION_NAMES[a])).toEqual(plan.actions.map((a) => a.action));
          expect(compact.beforeCount).toBe(plan.beforeCount);
          expect(compact.afterCount).toBe(plan.afterCount);
          expect(compact.pruned).toBe(plan.pruned);
          expect(compact.capped).toBe(plan.capped);
          expect(compact.wouldMutate).toBe(plan.wouldMutate);
          expect(compact.deleteFiles).toEqual(plan.deleteFiles);
          const archive = plan.removals.flatMap((u) => u.files.filter((f) => f.op === "archive").map((f) => f.name));
          expect(compact.archive).toEqual(archive);
          expect(plan.removals.flatMap((u) => u.files.filter((f) => f.op === "delete"))).toEqual([]);
          expect(plan.deleteOrphans).toEqual([]);
        },
      ),
      { numRuns: 600 },
    );
  });

  it("keeps keys and ids in its buffers exactly, past every growth and rehash", () => {
    const cols = new RowColumns(DIR, new Set(["k-7"]));
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const key = i % 3 ? `k-${i}` : `k-"${i}" ü 🦀 \ud800`;
      cols.add(key, `id-${i % 7_000}`, i, i % 5 === 0, undefined);
    }
    expect(cols.count).toBe(n);
    expect(cols.ids.count).toBe(7_000);
    for (let i = 0; i < n; i++) {
      const key = i % 3 ? `k-${i}` : `k-"${i}" ü 🦀 \ud800`;
      expect(cols.keyAt(i)).toBe(key);
      expect(cols.keyJsonAt(i)).toBe(JSON.stringify(key));
      expect(cols.idAt(i)).toBe(`id-${i % 7_000}`);
      expect(cols.ids.find(`xid-${i % 7_000}.jsonl`, 1, `xid-${i % 7_000}`.length)).toBe(cols.idOf[i]);
      expect(cols.fixed[i]).toBe(i % 5 === 0 || i === 7 ? 1 : 0);
    }
    expect(cols.ids.find("id-7000", 0, 7)).toBe(-1);
  });

  it("refuses a disk budget (planMaintenance's alone)", () => {
    const settings = {
      mode: "enforce" as const,
      pruneAfterMs: null,
      maxEntries: null,
      highWaterEntries: null,
      resetArchiveRetentionMs: null,
      maxDiskBytes: 1000,
      highWaterBytes: 800,
    };
    expect(() => planCompact(new RowColumns(DIR, new Set()), { names: [], classOf: classify }, settings, NOW)).toThrow(
      /disk budget/,
    );
  });
});
