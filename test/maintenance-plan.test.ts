/** Maintenance planning (spec §5): protections, high-water capping, disk budget, retention. */
import { describe, expect, it } from "vitest";
import { planMaintenance, type PlanInput } from "../src/maintenance/plan.ts";
import type { MaintenanceSettings } from "../src/config/maintenance-settings.ts";
import type { SessionRow } from "../src/store/types.ts";
import { classify, type DiskFile } from "../src/store/fs/disk-files.ts";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 22, 12);
const base: MaintenanceSettings = {
  mode: "enforce",
  pruneAfterMs: 30 * DAY,
  maxEntries: 500,
  highWaterEntries: 550,
  resetArchiveRetentionMs: 30 * DAY,
  maxDiskBytes: null,
  highWaterBytes: null,
};
const row = (key: string, ageDays: number, extra: Record<string, unknown> = {}): SessionRow => ({
  key,
  entry: { sessionId: `id-${key.replaceAll(":", "-")}`, updatedAt: NOW - ageDays * DAY, ...extra },
});
const plan = (rows: SessionRow[], over: Partial<PlanInput> = {}) =>
  planMaintenance({
    rows,
    now: NOW,
    settings: base,
    trigger: "explicit",
    protectedKeys: new Set(["agent:main:main"]),
    ...over,
  });
/** A directory listing as the fs backend reports it: each file classified by its name. */
const listing = (list: Array<Omit<DiskFile, "class">>): DiskFile[] =>
  list.map((f) => ({ ...f, class: classify(f.name) }));
const actionOf = (p: ReturnType<typeof plan>, key: string) => p.actions.find((a) => a.key === key)?.action;

describe("maintenance plan", () => {
  it("prunes rows older than pruneAfter and archives their transcripts", () => {
    const p = plan([row("a", 31), row("b", 29)]);
    expect(actionOf(p, "a")).toBe("prune-stale");
    expect(actionOf(p, "b")).toBe("keep");
    expect(p.archiveSessionIds).toEqual(["id-a"]);
    expect(p).toMatchObject({ beforeCount: 2, afterCount: 1, pruned: 1, wouldMutate: true });
  });

  it("never removes the main session, the active session, running or pinned sessions", () => {
    const rows = [row("agent:main:main", 90), row("active", 90), row("pinned", 90, { pinned: true }), row("other", 90)];
    const p = plan(rows, { protectedKeys: new Set(["agent:main:main", "active"]) });
    expect(p.actions.filter((a) => a.action !== "keep").map((a) => a.key)).toEqual(["other"]);
  });

  it("treats 0 or negative limits as disabled, never as 'delete everything'", () => {
    const rows = Array.from({ length: 20 }, (_, i) => row(`k${i}`, 400));
    const p = plan(rows, { settings: { ...base, pruneAfterMs: null, maxEntries: null } });
    expect(p.afterCount).toBe(20);
    expect(p.wouldMutate).toBe(false);
  });

  it("caps automatically only above the high-water mark, then cleans back to maxEntries oldest first", () => {
    const settings = { ...base, maxEntries: 10, highWaterEntries: 12 };
    const twelve = Array.from({ length: 12 }, (_, i) => row(`k${i}`, i));
    expect(plan(twelve, { settings, trigger: "automatic" }).capped).toBe(0);
    const thirteen = Array.from({ length: 13 }, (_, i) => row(`k${i}`, i));
    const p = plan(thirteen, { settings, trigger: "automatic" });
    expect(p.capped).toBe(3);
    expect(
      p.actions
        .filter((a) => a.action === "cap-overflow")
        .map((a) => a.key)
        .sort(),
    ).toEqual(["k10", "k11", "k12"]);
    // An explicit cleanup caps at maxEntries without waiting for the high-water mark.
    expect(plan(twelve, { settings, trigger: "explicit" }).capped).toBe(2);
  });

  it("counts each removed row once, in the first bucket that removes it", () => {
    const rows = [row("gone", 40), row("kept", 1)];
    const p = plan(rows, { missingTranscript: (r) => r.key === "gone" });
    expect(p).toMatchObject({ missing: 1, pruned: 0 });
  });

  it("keeps a transcript that another remaining row still references", () => {
    const rows = [row("old", 40, { sessionId: "shared" }), row("new", 1, { sessionId: "shared" })];
    expect(plan(rows).archiveSessionIds).toEqual([]);
  });

  it("enforces the disk budget: archives first, then oldest rows, down to the high-water mark", () => {
    const rows = [row("a", 3), row("b", 2), row("agent:main:main", 9)];
    const disk = listing([
      { name: "sessions.json", size: 1000, mtimeMs: 5 },
      { name: "id-a.jsonl", size: 4000, mtimeMs: 3 },
      { name: "id-b.jsonl", size: 4000, mtimeMs: 4 },
      { name: "id-agent-main-main.jsonl", size: 1000, mtimeMs: 4 },
      { name: "old.jsonl.reset.2026-11-20T10-00-00.000Z", size: 3000, mtimeMs: 1 },
      { name: "orphan.jsonl", size: 2000, mtimeMs: 2 },
    ]);
    const p = plan(rows, {
      settings: { ...base, pruneAfterMs: null, maxDiskBytes: 10_000, highWaterBytes: 8000 },
      disk,
    });
    expect(p.deleteFiles).toEqual(["old.jsonl.reset.2026-11-20T10-00-00.000Z"]);
    // A transcript no row references is deleted too, but listed apart: apply deletes it by its own rule.
    expect(p.deleteOrphans).toEqual(["orphan.jsonl"]);
    expect(actionOf(p, "a")).toBe("evict-budget");
    expect(actionOf(p, "b")).toBe("keep");
    expect(actionOf(p, "agent:main:main")).toBe("keep");
    expect(p.deleteSessionIds).toEqual(["id-a"]);
    expect(p.removals).toEqual([
      {
        sessionId: "id-a",
        keys: ["a"],
        releasesTranscript: true,
        files: [{ name: "id-a.jsonl", op: "delete", size: 4000 }],
      },
    ]);
    expect(p.diskBudget).toMatchObject({
      // OpenClaw's measure: the listed files, with sessions.json at the post-prune index's size (not its 1000 bytes on disk).
      totalBytesBefore: 14_240,
      maxBytes: 10_000,
      highWaterBytes: 8000,
      overBudget: true,
    });
    expect(p.diskBudget!.totalBytesAfter).toBeLessThanOrEqual(8000);
  });

  it("purges archives older than their retention, by the time in their name", () => {
    const disk = listing([
      { name: "x.jsonl.reset.2026-09-01T00-00-00.000Z", size: 1, mtimeMs: 0 },
      { name: "y.jsonl.reset.2026-11-20T00-00-00.000Z", size: 1, mtimeMs: 0 },
      { name: "z.jsonl.deleted.2026-09-01T00-00-00.000Z", size: 1, mtimeMs: 0 },
    ]);
    expect(plan([], { disk }).deleteFiles.sort()).toEqual([
      "x.jsonl.reset.2026-09-01T00-00-00.000Z",
      "z.jsonl.deleted.2026-09-01T00-00-00.000Z",
    ]);
    expect(
      plan([], { disk, settings: { ...base, resetArchiveRetentionMs: null, pruneAfterMs: null } }).deleteFiles,
    ).toEqual([]);
  });

  it("archives a transcript released by pruning, or deletes it when the disk budget needs its bytes: never both", () => {
    const rows = [row("stale", 40), row("agent:main:main", 0)];
    const disk = listing([
      { name: "sessions.json", size: 300, mtimeMs: 9 },
      { name: "id-stale.jsonl", size: 5000, mtimeMs: 1 },
      { name: "id-agent-main-main.jsonl", size: 1000, mtimeMs: 2 },
    ]);
    const budget = plan(rows, { settings: { ...base, maxDiskBytes: 4000, highWaterBytes: 3000 }, disk });
    expect(actionOf(budget, "stale")).toBe("prune-stale");
    expect(budget.deleteFiles).toEqual([]);
    expect(budget.deleteOrphans).toEqual([]);
    expect(budget.archiveSessionIds).toEqual([]);
    expect(budget.deleteSessionIds).toEqual(["id-stale"]);
    expect(budget.removals.flatMap((u) => u.files)).toEqual([{ name: "id-stale.jsonl", op: "delete", size: 5000 }]);
    // Within budget, the same row's transcript is archived and nothing is deleted.
    const roomy = plan(rows, { settings: { ...base, maxDiskBytes: 100_000, highWaterBytes: 80_000 }, disk });
    expect(roomy.archiveSessionIds).toEqual(["id-stale"]);
    expect(roomy.removals.flatMap((u) => u.files)).toEqual([{ name: "id-stale.jsonl", op: "archive", size: 5000 }]);
  });

  it("counts the transcripts named through sessionFile (OpenClaw's -topic- files) as their row's", () => {
    const dir = "/srv/agents/main/sessions";
    const rows = [
      row("t", 40, { sessionFile: `${dir}/id-t-topic-42.jsonl` }),
      row("u", 40),
      row("kept", 1, { sessionFile: "odd-name.jsonl" }),
    ];
    const disk = listing([
      { name: "id-t-topic-42.jsonl", size: 10, mtimeMs: 1 },
      { name: "id-u-topic-7.jsonl", size: 10, mtimeMs: 1 },
      { name: "id-u.jsonl", size: 10, mtimeMs: 1 },
      { name: "odd-name.jsonl", size: 10, mtimeMs: 1 },
    ]);
    const p = plan(rows, { disk, diskDir: dir, settings: { ...base, maxDiskBytes: 1_000_000 } });
    const files = (key: string) => p.removals.find((u) => u.keys.includes(key))?.files.map((f) => `${f.op}:${f.name}`);
    expect(files("t")).toEqual(["archive:id-t-topic-42.jsonl"]);
    expect(files("u")).toEqual(["archive:id-u-topic-7.jsonl", "archive:id-u.jsonl"]);
    // A kept row's oddly named transcript is referenced, so the disk budget never sees an orphan in it.
    const tight = plan(rows, {
      disk,
      diskDir: dir,
      settings: { ...base, pruneAfterMs: null, maxDiskBytes: 1, highWaterBytes: 1 },
      protectedKeys: new Set(["kept"]),
    });
    expect(tight.deleteOrphans).toEqual([]);
    expect(tight.removals.flatMap((u) => u.files.map((f) => f.name))).not.toContain("odd-name.jsonl");
  });

  it("warn mode applied (warnOnly) removes nothing and purges nothing; it measures the disk budget", () => {
    const rows = [row("old", 40), ...Array.from({ length: 5 }, (_, i) => row(`k${i}`, i))];
    const disk = listing([
      { name: "sessions.json", size: 5000, mtimeMs: 1 },
      { name: "x.jsonl.reset.2026-09-01T00-00-00.000Z", size: 10, mtimeMs: 0 },
      { name: "orphan.jsonl", size: 10, mtimeMs: 0 },
    ]);
    const p = plan(rows, {
      disk,
      warnOnly: true,
      settings: { ...base, maxEntries: 2, maxDiskBytes: 400, highWaterBytes: 300 },
    });
    expect(p).toMatchObject({
      afterCount: 6,
      pruned: 0,
      capped: 0,
      deleteFiles: [],
      deleteOrphans: [],
      removals: [],
      wouldMutate: false,
    });
    expect(p.diskBudget).toMatchObject({
      // sessions.json counts at the size of the index it holds (6 rows), as OpenClaw measures it.
      totalBytesBefore: 456,
      totalBytesAfter: 456,
      removedFiles: 0,
      removedEntries: 0,
      overBudget: true,
    });
    // An explicit --fix-missing still removes rows whose transcript is gone, as OpenClaw does in warn mode.
    const fix = plan(rows, { disk, warnOnly: true, missingTranscript: (r) => r.key === "old" });
    expect(fix.actions.filter((a) => a.action !== "keep").map((a) => a.key)).toEqual(["old"]);
    expect(fix.deleteFiles).toEqual([]);
  });
});
