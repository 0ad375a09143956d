/**
 * Plans store maintenance (spec §5, reference §8.4) as a pure function: the dry run prints the plan
 * and `--enforce` applies the very same plan, so the preview is exactly what happens.
 *
 * Pincer's protections: the active session, sessions with a run in progress, each agent's main
 * session and pinned sessions are never removed; a disabled rule (0 or negative) removes nothing.
 */
import type { SessionEntry } from "../store/entry.ts";
import type { SessionRow } from "../store/types.ts";
import { classify, type DiskFile } from "../store/fs/disk-files.ts";
import type { MaintenanceSettings } from "../config/maintenance-settings.ts";

export type MaintenanceAction = "prune-missing" | "prune-stale" | "cap-overflow" | "evict-budget" | "keep";

export interface PlanInput {
  rows: readonly SessionRow[];
  now: number;
  settings: MaintenanceSettings;
  /** `automatic` caps only above the high-water mark; `explicit` (CLI cleanup) caps at maxEntries. */
  trigger: "automatic" | "explicit";
  protectedKeys: ReadonlySet<string>;
  /** With `--fix-missing`: which rows have no transcript on disk. */
  missingTranscript?: (row: SessionRow) => boolean;
  /** The sessions directory's files (file-system backends); enables the disk budget and archive purge. */
  disk?: readonly DiskFile[];
}

export interface DiskBudgetReport {
  totalBytesBefore: number;
  totalBytesAfter: number;
  removedFiles: number;
  removedEntries: number;
  freedBytes: number;
  maxBytes: number;
  highWaterBytes: number;
  overBudget: boolean;
}

export interface MaintenancePlan {
  actions: Array<{ key: string; entry: SessionEntry; action: MaintenanceAction }>;
  beforeCount: number;
  afterCount: number;
  missing: number;
  pruned: number;
  capped: number;
  diskBudget: DiskBudgetReport | null;
  /** Session ids whose transcripts become unreferenced: archived as `.deleted.` ... */
  archiveSessionIds: string[];
  /** ... or deleted outright when the disk budget evicted them. */
  deleteSessionIds: string[];
  /** Archive artifacts to delete (disk budget, then archive retention). */
  deleteFiles: string[];
  wouldMutate: boolean;
}

const ROW_OVERHEAD_BYTES = 64;

export function planMaintenance(input: PlanInput): MaintenancePlan {
  const { settings, now } = input;
  const action = new Map<string, MaintenanceAction>();
  for (const row of input.rows) action.set(row.key, "keep");
  const removable = (row: SessionRow): boolean => action.get(row.key) === "keep" && !input.protectedKeys.has(row.key) && row.entry.pinned !== true;

  if (input.missingTranscript) {
    for (const row of input.rows) if (removable(row) && input.missingTranscript(row)) action.set(row.key, "prune-missing");
  }
  if (settings.pruneAfterMs !== null) {
    const cutoff = now - settings.pruneAfterMs;
    for (const row of input.rows) {
      const u = row.entry.updatedAt;
      if (removable(row) && typeof u === "number" && u > 0 && u < cutoff) action.set(row.key, "prune-stale");
    }
  }
  if (settings.maxEntries !== null) {
    const kept = (): SessionRow[] => input.rows.filter((r) => action.get(r.key) === "keep");
    const threshold = input.trigger === "automatic" ? (settings.highWaterEntries ?? settings.maxEntries) : settings.maxEntries;
    const current = kept();
    if (current.length > threshold) {
      let excess = current.length - settings.maxEntries;
      const oldestFirst = [...current].sort((a, b) => (a.entry.updatedAt || -Infinity) - (b.entry.updatedAt || -Infinity));
      for (const row of oldestFirst) {
        if (excess <= 0) break;
        if (!removable(row)) continue;
        action.set(row.key, "cap-overflow");
        excess--;
      }
    }
  }

  const removedSessionIds = (): Set<string> => {
    const kept = new Set<string>();
    for (const r of input.rows) if (action.get(r.key) === "keep") kept.add(r.entry.sessionId);
    const gone = new Set<string>();
    for (const r of input.rows) if (action.get(r.key) !== "keep" && !kept.has(r.entry.sessionId)) gone.add(r.entry.sessionId);
    return gone;
  };

  let diskBudget: DiskBudgetReport | null = null;
  const deleteFiles: string[] = [];
  const evictedIds = new Set<string>();
  if (input.disk && settings.maxDiskBytes !== null) {
    const maxBytes = settings.maxDiskBytes;
    const highWater = Math.min(settings.highWaterBytes ?? Math.max(1, Math.floor(maxBytes * 0.8)), maxBytes);
    const before = input.disk.reduce((s, f) => s + f.size, 0);
    let total = before;
    let removedFiles = 0;
    let removedEntries = 0;
    if (total > maxBytes) {
      const referenced = new Set(input.rows.filter((r) => action.get(r.key) === "keep").map((r) => r.entry.sessionId));
      const disposable = input.disk
        .filter((f) => {
          const c = classify(f.name);
          return c.kind === "archive" || (c.kind === "transcript" && !referenced.has(c.sessionId));
        })
        .sort((a, b) => a.mtimeMs - b.mtimeMs);
      for (const f of disposable) {
        if (total <= highWater) break;
        deleteFiles.push(f.name);
        total -= f.size;
        removedFiles++;
      }
      if (total > highWater) {
        const sizeOf = new Map<string, number>();
        for (const f of input.disk) {
          const c = classify(f.name);
          if (c.kind === "transcript") sizeOf.set(c.sessionId, (sizeOf.get(c.sessionId) ?? 0) + f.size);
        }
        const keptRefs = new Map<string, number>();
        for (const r of input.rows) if (action.get(r.key) === "keep") keptRefs.set(r.entry.sessionId, (keptRefs.get(r.entry.sessionId) ?? 0) + 1);
        const oldestFirst = input.rows.filter((r) => removable(r)).sort((a, b) => (a.entry.updatedAt || -Infinity) - (b.entry.updatedAt || -Infinity));
        for (const row of oldestFirst) {
          if (total <= highWater) break;
          action.set(row.key, "evict-budget");
          removedEntries++;
          total -= JSON.stringify(row.entry).length + row.key.length + ROW_OVERHEAD_BYTES;
          const refs = (keptRefs.get(row.entry.sessionId) ?? 1) - 1;
          keptRefs.set(row.entry.sessionId, refs);
          if (refs === 0 && !evictedIds.has(row.entry.sessionId)) {
            evictedIds.add(row.entry.sessionId);
            total -= sizeOf.get(row.entry.sessionId) ?? 0;
            removedFiles++;
          }
        }
      }
    }
    diskBudget = {
      totalBytesBefore: before,
      totalBytesAfter: total,
      removedFiles,
      removedEntries,
      freedBytes: before - total,
      maxBytes,
      highWaterBytes: highWater,
      overBudget: before > maxBytes,
    };
  }

  if (input.disk) {
    const deleting = new Set(deleteFiles);
    for (const f of input.disk) {
      const c = classify(f.name);
      if (c.kind !== "archive" || c.at === null || deleting.has(f.name)) continue;
      const retention = c.reason === "reset" ? settings.resetArchiveRetentionMs : c.reason === "deleted" ? settings.pruneAfterMs : null;
      if (retention !== null && c.at < now - retention) deleteFiles.push(f.name);
    }
  }

  const gone = removedSessionIds();
  const actions = input.rows.map((r) => ({ key: r.key, entry: r.entry, action: action.get(r.key)! }));
  const count = (a: MaintenanceAction): number => actions.filter((x) => x.action === a).length;
  const afterCount = count("keep");
  return {
    actions,
    beforeCount: input.rows.length,
    afterCount,
    missing: count("prune-missing"),
    pruned: count("prune-stale"),
    capped: count("cap-overflow"),
    diskBudget,
    archiveSessionIds: [...gone].filter((id) => !evictedIds.has(id)),
    deleteSessionIds: [...evictedIds],
    deleteFiles,
    wouldMutate: afterCount !== input.rows.length || deleteFiles.length > 0,
  };
}
