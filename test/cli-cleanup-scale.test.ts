/**
 * `sessions cleanup` at store scale: planning the removal of most of a large store, with a
 * transcript per row, is linear (it was one pass over every file per removed row: 10^10 steps at
 * 100 000 rows, minutes of CPU for a dry run).
 */
import { describe, expect, it } from "vitest";
import { planMaintenance } from "../src/maintenance/plan.ts";
import { classify, type DiskFile } from "../src/store/fs/disk-files.ts";
import type { SessionRow } from "../src/store/types.ts";

describe("cleanup plan at scale", () => {
  it("caps 30 000 rows with 30 000 transcripts to 500 in linear time (under 3 s; the quadratic plan took 24 s)", () => {
    const now = Date.now();
    const n = 30_000;
    const rows: SessionRow[] = Array.from({ length: n }, (_, i) => ({
      key: `agent:main:telegram:direct:user${i}`,
      entry: { sessionId: `s-${i}`, updatedAt: now - i * 1000, sessionFile: `/sessions/s-${i}.jsonl` },
    }));
    const disk: DiskFile[] = rows.map((r) => {
      const name = `${r.entry.sessionId}.jsonl`;
      return { name, size: 100, mtimeMs: now, class: classify(name) };
    });
    const started = performance.now();
    const plan = planMaintenance({
      rows,
      now,
      settings: {
        mode: "enforce",
        pruneAfterMs: null,
        maxEntries: 500,
        highWaterEntries: 550,
        resetArchiveRetentionMs: null,
        maxDiskBytes: null,
        highWaterBytes: null,
      },
      trigger: "explicit",
      protectedKeys: new Set(),
      disk,
      diskDir: "/sessions",
    });
    const ms = performance.now() - started;
    expect(plan.capped).toBe(n - 500);
    expect(plan.removals).toHaveLength(n - 500);
    // Each released transcript goes with its own row, archived.
    expect(plan.removals.every((u) => u.files.length === 1 && u.files[0]!.name === `${u.sessionId}.jsonl`)).toBe(true);
    expect(plan.removals.every((u) => u.files[0]!.op === "archive")).toBe(true);
    // Linear: ~50 ms here; the quadratic plan took tens of seconds.
    expect(ms).toBeLessThan(3000);
  });
});
