/**
 * The cleanup preview's plan at 100 000 rows, held in columns (typed arrays, one string per key and
 * per session id) instead of an object per row, per removal and per file: exactly what
 * `planMaintenance` decides for an explicit, enforcing plan without a disk budget and without
 * `--fix-missing` — stale rows pruned, the count capped, old archives purged, and each transcript
 * archived with the removal of the last row that referenced it. The equivalence is tested against
 * `planMaintenance` on random stores (test/maintenance-plan-compact.test.ts).
 */
import * as path from "node:path";
import type { MaintenanceSettings } from "../config/maintenance-settings.ts";
import type { FileClass } from "../store/fs/disk-files.ts";

export const KEEP = 0;
export const PRUNE_STALE = 1;
export const CAP_OVERFLOW = 2;
export const ACTION_NAMES = ["keep", "prune-stale", "cap-overflow"] as const;

/** The rows the plan reads, in store order (what `store.all()` returns), one column per field. */
export class RowColumns {
  count = 0;
  readonly keys: string[] = [];
  readonly ids: string[] = [];
  updatedAt = new Float64Array(1024);
  pinned = new Uint8Array(1024);
  /** Row index → the name its `sessionFile` claims in the sessions directory, when not `<sessionId>.jsonl`. */
  readonly extraClaims = new Map<number, string>();
  private readonly dir: string;
  private readonly dirResolved: string;

  constructor(diskDir: string) {
    this.dir = diskDir;
    this.dirResolved = path.resolve(diskDir);
  }

  /** `updatedAt` as the store normalises it (a number; 0 when absent), `pinned` as written. */
  add(key: string, sessionId: string, updatedAt: number, pinned: unknown, sessionFile: unknown): number {
    const i = this.count++;
    if (i === this.updatedAt.length) {
      const u = new Float64Array(i * 2);
      u.set(this.updatedAt);
      this.updatedAt = u;
      const p = new Uint8Array(i * 2);
      p.set(this.pinned);
      this.pinned = p;
    }
    this.keys.push(key);
    this.ids.push(sessionId);
    this.updatedAt[i] = updatedAt;
    this.pinned[i] = pinned === true ? 1 : 0;
    const extra = this.claimOf(sessionFile, sessionId);
    if (extra !== undefined) this.extraClaims.set(i, extra);
    return i;
  }

  /** What `planMaintenance`'s file claims make of a row's `sessionFile` beyond `<id>.jsonl`. */
  private claimOf(file: unknown, id: string): string | undefined {
    if (typeof file !== "string" || file === "") return undefined;
    const d = this.dirResolved;
    // `<dir>/<id>.jsonl` (what the store writes): the claim every row makes anyway. A valid id is one
    // plain segment (it starts with a letter or digit), so the path is already resolved.
    if (
      file.length === d.length + id.length + 7 &&
      file.startsWith(d) &&
      file.charCodeAt(d.length) === 0x2f &&
      file.startsWith(id, d.length + 1) &&
      file.endsWith(".jsonl")
    )
      return undefined;
    const resolved = path.resolve(this.dir, file);
    if (path.dirname(resolved) !== d) return undefined;
    const name = path.basename(resolved);
    return name === `${id}.jsonl` ? undefined : name;
  }
}

export interface CompactPlan {
  /** Per row (RowColumns index): KEEP, PRUNE_STALE or CAP_OVERFLOW. */
  action: Uint8Array;
  beforeCount: number;
  afterCount: number;
  pruned: number;
  capped: number;
  /** Transcripts archived, in the order `planMaintenance`'s removal units list them. */
  archive: string[];
  /** Archives past their retention, in directory order. */
  deleteFiles: string[];
  wouldMutate: boolean;
}

/** The sessions directory's file names with their classes (as `classify` gives them), in listing order. */
export interface CompactDisk {
  names: readonly string[];
  classOf: (name: string) => FileClass;
}

export function planCompact(
  rows: RowColumns,
  disk: CompactDisk,
  settings: MaintenanceSettings,
  protectedKeys: ReadonlySet<string>,
  now: number,
): CompactPlan {
  if (settings.maxDiskBytes !== null) throw new Error("planCompact: a disk budget needs planMaintenance");
  const n = rows.count;
  const { keys, ids, updatedAt, pinned } = rows;
  const action = new Uint8Array(n);
  // Rows never removed, whatever the rule.
  const fixed = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (pinned[i] || protectedKeys.has(keys[i]!)) fixed[i] = 1;
  let pruned = 0;
  let capped = 0;
  if (settings.pruneAfterMs !== null) {
    const cutoff = now - settings.pruneAfterMs;
    for (let i = 0; i < n; i++) {
      const u = updatedAt[i]!;
      if (!fixed[i] && u > 0 && u < cutoff) {
        action[i] = PRUNE_STALE;
        pruned++;
      }
    }
  }
  if (settings.maxEntries !== null) {
    const kept: number[] = [];
    for (let i = 0; i < n; i++) if (action[i] === KEEP) kept.push(i);
    if (kept.length > settings.maxEntries) {
      let excess = kept.length - settings.maxEntries;
      // The same stable sort as planMaintenance (0 sorts with the oldest; NaN comparisons are ties).
      kept.sort((a, b) => (updatedAt[a]! || -Infinity) - (updatedAt[b]! || -Infinity));
      for (const i of kept) {
        if (excess <= 0) break;
        if (fixed[i]) continue;
        action[i] = CAP_OVERFLOW;
        capped++;
        excess--;
      }
    }
  }

  // Kept rows per session id, and the removal units (one per id with a removed row, in row order).
  const keptRefs = new Map<string, number>();
  const unitOf = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    if (action[i] === KEEP) keptRefs.set(id, (keptRefs.get(id) ?? 0) + 1);
    else if (!unitOf.has(id)) unitOf.set(id, unitOf.size);
  }

  // Who claims a transcript-shaped file (planMaintenance's fileClaims): every row `<id>.jsonl`, a
  // row's `sessionFile` naming another file of the directory, and — for a file nobody claims that
  // way — the session id its name starts with (`<id>-topic-<thread>.jsonl`), if some row has it.
  const hasRows = (id: string): boolean => keptRefs.has(id) || unitOf.has(id);
  const byFile = new Map<string, string[]>();
  for (const [i, name] of rows.extraClaims) {
    const list = byFile.get(name);
    if (!list) byFile.set(name, [ids[i]!]);
    else if (!list.includes(ids[i]!)) list.push(ids[i]!);
  }
  // A released file (no claimant keeps a row) goes with the first removal unit among its claimants.
  const unitFiles = new Array<string | string[] | undefined>(unitOf.size);
  const deleteFiles: string[] = [];
  const release = (name: string, claimants: readonly string[] | string): void => {
    let owner = Infinity;
    if (typeof claimants === "string") {
      if (keptRefs.get(claimants)) return;
      owner = unitOf.get(claimants)!;
    } else
      for (const id of claimants) {
        if (keptRefs.get(id)) return;
        owner = Math.min(owner, unitOf.get(id)!);
      }
    const had = unitFiles[owner];
    unitFiles[owner] = had === undefined ? name : typeof had === "string" ? [had, name] : [...had, name];
  };
  for (const name of disk.names) {
    const c = disk.classOf(name);
    if (c.kind === "archive" && c.at !== null) {
      // Archives past their retention, by the time in their name.
      const retention =
        c.reason === "reset" ? settings.resetArchiveRetentionMs : c.reason === "deleted" ? settings.pruneAfterMs : null;
      if (retention !== null && c.at < now - retention) deleteFiles.push(name);
      continue;
    }
    if (c.kind !== "transcript") continue;
    const own = name.endsWith(".jsonl") ? name.slice(0, -6) : null;
    const byDefault = own !== null && hasRows(own) ? own : null;
    const extra = byFile.get(name);
    if (extra) release(name, byDefault === null || extra.includes(byDefault) ? extra : [byDefault, ...extra]);
    else if (byDefault !== null) release(name, byDefault);
    else if (hasRows(c.sessionId)) release(name, c.sessionId);
  }
  const archive: string[] = [];
  for (const f of unitFiles) {
    if (f === undefined) continue;
    if (typeof f === "string") archive.push(f);
    else archive.push(...f.sort((a, b) => (a < b ? -1 : 1)));
  }
  const afterCount = n - pruned - capped;
  return {
    action,
    beforeCount: n,
    afterCount,
    pruned,
    capped,
    archive,
    deleteFiles,
    wouldMutate: afterCount !== n || deleteFiles.length > 0,
  };
}
