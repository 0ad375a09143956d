/**
 * Plans store maintenance (OpenClaw's enforce steps: prune stale rows, cap the count, archive released
 * transcripts, purge old archives, then the disk budget) as a pure function: the dry run prints the plan
 * and `--enforce` applies the very same plan, so the preview is exactly what happens. The plan names
 * every row it removes and every file it archives or deletes, so apply needs no decisions of its own.
 *
 * Pincer's protections: the active session, sessions with a run in progress, each agent's main
 * session and pinned sessions are never removed; a disabled rule (0 or negative) removes nothing; a
 * transcript still referenced by a remaining row is never touched.
 */
import * as path from "node:path";
import type { SessionEntry } from "../store/entry.ts";
import type { SessionRow } from "../store/types.ts";
import type { DiskFile } from "../store/fs/disk-files.ts";
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
  /** The sessions directory, to resolve rows' `sessionFile` (absolute or relative) to names in `disk`. */
  diskDir?: string;
  /**
   * Warn mode applied (as in OpenClaw): nothing is pruned, capped, purged or evicted; the disk
   * budget is only measured. `missingTranscript` still applies (an explicit `--fix-missing`).
   */
  warnOnly?: boolean;
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

/** One file of a released transcript: renamed `.deleted.<ts>`, or deleted when the disk budget needs its bytes. */
export interface FileOp {
  name: string;
  op: "archive" | "delete";
  size: number;
}

/**
 * The rows of one session id that this plan removes, applied all-or-nothing: when the last row
 * referencing the id goes, its transcript files go with it (`files`); while another row still
 * references the id, `releasesTranscript` is false and no file is touched.
 */
export interface RemovalUnit {
  sessionId: string;
  keys: string[];
  releasesTranscript: boolean;
  /** Exact names in the sessions directory (only with a disk inventory). */
  files: FileOp[];
}

export interface MaintenancePlan {
  actions: Array<{ key: string; entry: SessionEntry; action: MaintenanceAction }>;
  beforeCount: number;
  afterCount: number;
  missing: number;
  pruned: number;
  capped: number;
  diskBudget: DiskBudgetReport | null;
  removals: RemovalUnit[];
  /** True when the plan was made from a disk inventory: file operations are by exact name. */
  fileLevel: boolean;
  /** Session ids whose transcripts become unreferenced and are archived as `.deleted.` ... */
  archiveSessionIds: string[];
  /** ... or deleted outright when the disk budget evicted them. */
  deleteSessionIds: string[];
  /** Archive artifacts to delete (disk budget, then archive retention). */
  deleteFiles: string[];
  /** Live-named transcripts no row references, deleted by the disk budget (with archives, oldest mtime first). */
  deleteOrphans: string[];
  wouldMutate: boolean;
}

/** Bytes a row takes in `sessions.json` (`JSON.stringify(store, null, 2)`, as OpenClaw and Pincer write it). */
export function rowBytes(key: string, entry: SessionEntry): number {
  return Buffer.byteLength(`  ${JSON.stringify(key)}: ${JSON.stringify(entry, null, 2).replaceAll("\n", "\n  ")},\n`);
}

/** Which files of the sessions directory belong to which session ids (a file may be claimed twice). */
function fileClaims(input: PlanInput): Map<string, Set<string>> {
  const claims = new Map<string, Set<string>>();
  if (!input.disk) return claims;
  const present = new Map(input.disk.map((f) => [f.name, f.class]));
  const claim = (name: string, id: string): void => {
    // Only transcript-shaped names: a `sessionFile` of "sessions.json" must never release the index.
    if (present.get(name)?.kind !== "transcript") return;
    const set = claims.get(name) ?? new Set<string>();
    set.add(id);
    claims.set(name, set);
  };
  const ids = new Set<string>();
  for (const r of input.rows) {
    const id = r.entry.sessionId;
    ids.add(id);
    claim(`${id}.jsonl`, id);
    const file = r.entry.sessionFile;
    if (typeof file === "string" && file !== "" && input.diskDir !== undefined) {
      const resolved = path.resolve(input.diskDir, file);
      if (path.dirname(resolved) === path.resolve(input.diskDir)) claim(path.basename(resolved), id);
    }
  }
  // OpenClaw's `<id>-topic-<thread>.jsonl` belongs to `<id>` even when no row records it.
  for (const f of input.disk) {
    if (claims.has(f.name)) continue;
    const c = f.class;
    if (c.kind === "transcript" && ids.has(c.sessionId)) claim(f.name, c.sessionId);
  }
  return claims;
}

export function planMaintenance(input: PlanInput): MaintenancePlan {
  const { now } = input;
  const warnOnly = input.warnOnly === true;
  const settings: MaintenanceSettings = warnOnly
    ? { ...input.settings, pruneAfterMs: null, maxEntries: null, resetArchiveRetentionMs: null }
    : input.settings;
  const action = new Map<string, MaintenanceAction>();
  for (const row of input.rows) action.set(row.key, "keep");
  const removable = (row: SessionRow): boolean =>
    action.get(row.key) === "keep" && !input.protectedKeys.has(row.key) && row.entry.pinned !== true;

  if (input.missingTranscript) {
    for (const row of input.rows)
      if (removable(row) && input.missingTranscript(row)) action.set(row.key, "prune-missing");
  }
  if (settings.pruneAfterMs !== null) {
    const cutoff = now - settings.pruneAfterMs;
    for (const row of input.rows) {
      const u = row.entry.updatedAt;
      if (removable(row) && typeof u === "number" && u > 0 && u < cutoff) action.set(row.key, "prune-stale");
    }
  }
  if (settings.maxEntries !== null) {
    const kept = input.rows.filter((r) => action.get(r.key) === "keep");
    const threshold =
      input.trigger === "automatic" ? (settings.highWaterEntries ?? settings.maxEntries) : settings.maxEntries;
    if (kept.length > threshold) {
      let excess = kept.length - settings.maxEntries;
      const oldestFirst = [...kept].sort((a, b) => (a.entry.updatedAt || -Infinity) - (b.entry.updatedAt || -Infinity));
      for (const row of oldestFirst) {
        if (excess <= 0) break;
        if (!removable(row)) continue;
        action.set(row.key, "cap-overflow");
        excess--;
      }
    }
  }

  // How many kept rows reference each session id; a file is released once none of its claimants is kept.
  const keptRefs = new Map<string, number>();
  for (const r of input.rows)
    if (action.get(r.key) === "keep") keptRefs.set(r.entry.sessionId, (keptRefs.get(r.entry.sessionId) ?? 0) + 1);
  const claims = fileClaims(input);
  const released = (name: string): boolean => [...(claims.get(name) ?? [])].every((id) => !keptRefs.get(id));
  const sizeOf = new Map((input.disk ?? []).map((f) => [f.name, f.size]));
  const deleted = new Set<string>();
  const deleteFiles: string[] = [];
  const deleteOrphans: string[] = [];

  // Archive retention (OpenClaw's archive purge): by the time in the archive's name.
  if (input.disk) {
    for (const f of input.disk) {
      const c = f.class;
      if (c.kind !== "archive" || c.at === null) continue;
      const retention =
        c.reason === "reset" ? settings.resetArchiveRetentionMs : c.reason === "deleted" ? settings.pruneAfterMs : null;
      if (retention !== null && c.at < now - retention) {
        deleteFiles.push(f.name);
        deleted.add(f.name);
      }
    }
  }

  let diskBudget: DiskBudgetReport | null = null;
  if (input.disk && settings.maxDiskBytes !== null) {
    const maxBytes = settings.maxDiskBytes;
    const highWater = Math.min(settings.highWaterBytes ?? Math.max(1, Math.floor(maxBytes * 0.8)), maxBytes);
    // Measured as OpenClaw measures it: every file of the directory after pruning, capping and the
    // archive purge, with `sessions.json` counted at the size the post-prune index will have
    // (`JSON.stringify(store, null, 2)`: each row's chunk with its separator, plus the braces) —
    // not at what the file on disk happens to hold now.
    let projectedIndex = 2;
    for (const r of input.rows) if (action.get(r.key) === "keep") projectedIndex += rowBytes(r.key, r.entry);
    let total = input.disk.reduce((s, f) => s + f.size, 0) - (sizeOf.get("sessions.json") ?? 0) + projectedIndex;
    for (const name of deleted) total -= sizeOf.get(name) ?? 0;
    const before = total;
    let removedFiles = 0;
    let removedEntries = 0;
    // File bytes the budget deletes (OpenClaw's freedBytes: the index shrinking is in totalBytesAfter only).
    let freedBytes = 0;
    if (total > maxBytes && !warnOnly) {
      // (a) archives, transcripts being archived by this plan, and transcripts no row references.
      const disposable = input.disk
        .filter((f) => {
          if (deleted.has(f.name)) return false;
          const c = f.class;
          return c.kind === "archive" || (c.kind === "transcript" && released(f.name));
        })
        .sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : 1));
      for (const f of disposable) {
        if (total <= highWater) break;
        deleted.add(f.name);
        if (!claims.has(f.name)) (f.class.kind === "archive" ? deleteFiles : deleteOrphans).push(f.name);
        total -= f.size;
        freedBytes += f.size;
        removedFiles++;
      }
      // (b) still above: evict rows oldest first, deleting their transcripts once unreferenced.
      const filesOf = new Map<string, string[]>();
      for (const [name, ids] of claims) for (const id of ids) filesOf.set(id, [...(filesOf.get(id) ?? []), name]);
      const oldestFirst = input.rows
        .filter((r) => removable(r))
        .sort((a, b) => (a.entry.updatedAt || -Infinity) - (b.entry.updatedAt || -Infinity));
      for (const row of oldestFirst) {
        if (total <= highWater) break;
        action.set(row.key, "evict-budget");
        removedEntries++;
        total -= rowBytes(row.key, row.entry);
        keptRefs.set(row.entry.sessionId, (keptRefs.get(row.entry.sessionId) ?? 1) - 1);
        for (const name of filesOf.get(row.entry.sessionId) ?? []) {
          if (deleted.has(name) || !released(name)) continue;
          deleted.add(name);
          total -= sizeOf.get(name) ?? 0;
          freedBytes += sizeOf.get(name) ?? 0;
          removedFiles++;
        }
      }
    }
    diskBudget = {
      totalBytesBefore: before,
      totalBytesAfter: total,
      removedFiles,
      removedEntries,
      freedBytes,
      maxBytes,
      highWaterBytes: highWater,
      overBudget: before > maxBytes,
    };
  }

  const removals = removalUnits(input, action, keptRefs, claims, released, deleted, sizeOf);
  const actions = input.rows.map((r) => ({ key: r.key, entry: r.entry, action: action.get(r.key)! }));
  const count = (a: MaintenanceAction): number => actions.filter((x) => x.action === a).length;
  const afterCount = count("keep");
  const releasing = removals.filter((u) => u.releasesTranscript);
  const deletesAll = (u: RemovalUnit): boolean => u.files.length > 0 && u.files.every((f) => f.op === "delete");
  return {
    actions,
    beforeCount: input.rows.length,
    afterCount,
    missing: count("prune-missing"),
    pruned: count("prune-stale"),
    capped: count("cap-overflow"),
    diskBudget,
    removals,
    fileLevel: input.disk !== undefined,
    archiveSessionIds: releasing.filter((u) => !deletesAll(u)).map((u) => u.sessionId),
    deleteSessionIds: releasing.filter(deletesAll).map((u) => u.sessionId),
    deleteFiles,
    deleteOrphans,
    wouldMutate: afterCount !== input.rows.length || deleteFiles.length > 0 || deleteOrphans.length > 0,
  };
}

function removalUnits(
  input: PlanInput,
  action: ReadonlyMap<string, MaintenanceAction>,
  keptRefs: ReadonlyMap<string, number>,
  claims: ReadonlyMap<string, ReadonlySet<string>>,
  released: (name: string) => boolean,
  deleted: ReadonlySet<string>,
  sizeOf: ReadonlyMap<string, number>,
): RemovalUnit[] {
  const units = new Map<string, RemovalUnit>();
  for (const r of input.rows) {
    if (action.get(r.key) === "keep") continue;
    const id = r.entry.sessionId;
    const unit = units.get(id) ?? { sessionId: id, keys: [], releasesTranscript: !keptRefs.get(id), files: [] };
    unit.keys.push(r.key);
    units.set(id, unit);
  }
  // Each released file goes with exactly one unit (the first of its claimants), so no file is planned twice.
  const assigned = new Set<string>();
  // Names by claimant, in claim order: one pass over the claims, not one per unit (100 000 units
  // against 100 000 transcripts would otherwise be 10^10 steps).
  const namesOf = new Map<string, string[]>();
  for (const [name, ids] of claims)
    for (const id of ids) {
      const names = namesOf.get(id);
      if (names) names.push(name);
      else namesOf.set(id, [name]);
    }
  for (const unit of units.values()) {
    if (!unit.releasesTranscript) continue;
    for (const name of namesOf.get(unit.sessionId) ?? []) {
      if (assigned.has(name) || !released(name)) continue;
      assigned.add(name);
      unit.files.push({ name, op: deleted.has(name) ? "delete" : "archive", size: sizeOf.get(name) ?? 0 });
    }
    unit.files.sort((a, b) => (a.name < b.name ? -1 : 1));
  }
  return [...units.values()];
}
