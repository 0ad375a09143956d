/**
 * Carries out a maintenance plan against a store, exactly as planned or not at all:
 *
 * - Validate first: every row to remove is still as planned, every file still there, and no
 *   remaining row references a transcript the plan releases. Otherwise nothing is changed.
 * - Then per batch of sessions: archive their transcripts (a rename, undoable), remove their rows,
 *   then delete what the disk budget wanted deleted. A failure undoes the batch's renames for every
 *   row still present, so each row ends either untouched or fully processed (row gone, transcript
 *   archived or deleted). After a crash between rename and row removal, running the cleanup again
 *   finishes the row (its transcript is already archived).
 */
import * as path from "node:path";
import type { SessionEntry } from "../store/entry.ts";
import type { ArchiveReason, SessionStore } from "../store/types.ts";
import type { MaintenancePlan, RemovalUnit } from "./plan.ts";
import { classify, type DiskFile } from "../store/fs/disk-files.ts";
import { archiveTimestamp } from "../store/fs/secure-fs.ts";

/** File operations only the file-system backend has (disk budget, archive purge), by exact name. */
export interface DiskOps {
  readonly dir: string;
  diskInventory(): DiskFile[];
  archiveDiskFile(name: string, reason: ArchiveReason, now: number): Promise<string>;
  restoreDiskFile(archived: string, name: string): Promise<void>;
  removeDiskFile(name: string): Promise<void>;
}

export function diskOpsOf(store: SessionStore): DiskOps | null {
  const s = store as Partial<DiskOps>;
  return typeof s.dir === "string" &&
    typeof s.diskInventory === "function" &&
    typeof s.archiveDiskFile === "function" &&
    typeof s.restoreDiskFile === "function" &&
    typeof s.removeDiskFile === "function"
    ? (s as DiskOps)
    : null;
}

/** The store changed between planning and applying, or the plan asks for something impossible: nothing was changed. */
export class MaintenancePlanConflictError extends Error {
  override readonly name = "MaintenancePlanConflictError";
}

export interface ApplyOptions {
  now: number;
  onProgress?: (done: number, total: number) => void;
}

/** What apply did, in the plan's terms (the CLI prints it beside the plan). */
export interface ApplyResult {
  removedRows: number;
  /** Transcript files renamed `.deleted.<ts>` and kept. */
  archived: Array<{ name: string; archive: string }>;
  /** Files gone: released transcripts the disk budget needed, orphans, purged archives. */
  deleted: string[];
  /** Backends without a sessions directory: transcripts archived through the store. */
  archivedSessionIds: string[];
}

const BATCH_ROWS = 1000;

export async function applyMaintenancePlan(store: SessionStore, plan: MaintenancePlan, options: ApplyOptions): Promise<ApplyResult> {
  const disk = await validatePlan(store, plan, options.now);
  const result: ApplyResult = { removedRows: 0, archived: [], deleted: [], archivedSessionIds: [] };
  const fileOps = plan.removals.reduce((n, u) => n + u.files.length, 0) + plan.deleteOrphans.length + plan.deleteFiles.length;
  const total = plan.removals.reduce((n, u) => n + u.keys.length, 0) + fileOps;
  let done = 0;
  for (const batch of batches(plan.removals)) {
    await applyBatch(store, disk, batch, options.now, result);
    done += batch.reduce((n, u) => n + u.keys.length + u.files.length, 0);
    options.onProgress?.(done, total);
  }
  for (const name of [...plan.deleteOrphans, ...plan.deleteFiles]) {
    await disk!.removeDiskFile(name);
    result.deleted.push(name);
    options.onProgress?.(++done, total);
  }
  return result;
}

function* batches(units: readonly RemovalUnit[]): Generator<RemovalUnit[]> {
  let batch: RemovalUnit[] = [];
  let rows = 0;
  for (const unit of units) {
    batch.push(unit);
    rows += unit.keys.length;
    if (rows >= BATCH_ROWS) {
      yield batch;
      batch = [];
      rows = 0;
    }
  }
  if (batch.length) yield batch;
}

async function applyBatch(store: SessionStore, disk: DiskOps | null, batch: readonly RemovalUnit[], now: number, result: ApplyResult): Promise<void> {
  const renamed: Array<{ unit: RemovalUnit; name: string; archive: string; op: "archive" | "delete" }> = [];
  const undo = async (keep: (unit: RemovalUnit) => boolean): Promise<void> => {
    for (const r of renamed.reverse()) if (!keep(r.unit)) await disk!.restoreDiskFile(r.archive, r.name);
  };
  try {
    for (const unit of batch) {
      for (const f of unit.files) renamed.push({ unit, name: f.name, op: f.op, archive: await disk!.archiveDiskFile(f.name, "deleted", now) });
    }
  } catch (err) {
    await undo(() => false);
    throw err;
  }
  // Without a sessions directory the store archives by id; that cannot be undone, so it goes last
  // before the rows (a retry finds nothing left to archive and removes the rows).
  if (!disk) {
    for (const unit of batch) {
      if (!unit.releasesTranscript) continue;
      await store.archiveTranscript(unit.sessionId, "deleted", now);
      result.archivedSessionIds.push(unit.sessionId);
    }
  }
  try {
    await store.putMany(batch.flatMap((u) => u.keys.map((key) => ({ key, entry: null }))));
  } catch (err) {
    // Part of the batch may have landed: a unit whose rows are all gone stays processed.
    const present = new Set<string>();
    for (const unit of batch) for (const key of unit.keys) if ((await store.get(key)) !== undefined) present.add(key);
    await undo((unit) => unit.keys.every((k) => !present.has(k)));
    throw err;
  }
  result.removedRows += batch.reduce((n, u) => n + u.keys.length, 0);
  for (const r of renamed) {
    if (r.op === "archive") result.archived.push({ name: r.name, archive: r.archive });
    else {
      await disk!.removeDiskFile(r.archive);
      result.deleted.push(r.name);
    }
  }
}

/** Refuses, before any change, a plan that no longer matches the store or that this store cannot carry out. */
async function validatePlan(store: SessionStore, plan: MaintenancePlan, now: number): Promise<DiskOps | null> {
  const disk = diskOpsOf(store);
  const where = store.location;
  const conflict = (what: string): never => {
    throw new MaintenancePlanConflictError(`${where}: maintenance plan not applied (nothing changed): ${what}; run the cleanup again`);
  };
  const hasFiles = plan.removals.some((u) => u.files.length > 0) || plan.deleteOrphans.length > 0 || plan.deleteFiles.length > 0;
  if (hasFiles && !disk) conflict(`the plan deletes or archives files by name, but the ${store.backend} store has no sessions directory`);
  if (plan.fileLevel && !disk) conflict(`the plan was made from a disk inventory, but the ${store.backend} store has no sessions directory`);

  const planned = new Map<string, SessionEntry>(plan.actions.filter((a) => a.action !== "keep").map((a) => [a.key, a.entry]));
  const current = new Map((await store.all()).map((r) => [r.key, r.entry]));
  const removing = new Set<string>();
  for (const unit of plan.removals) {
    for (const key of unit.keys) {
      const was = planned.get(key);
      const is = current.get(key);
      if (!was) conflict(`row ${JSON.stringify(key)} is removed but has no planned action`);
      if (!is) conflict(`row ${JSON.stringify(key)} no longer exists`);
      if (is!.sessionId !== was!.sessionId || is!.updatedAt !== was!.updatedAt) {
        conflict(`row ${JSON.stringify(key)} changed since it was planned (sessionId ${was!.sessionId} updatedAt ${was!.updatedAt}, now ${is!.sessionId} updatedAt ${is!.updatedAt})`);
      }
      removing.add(key);
    }
  }
  const remainingIds = new Set<string>();
  const remainingFiles = new Set<string>();
  for (const [key, entry] of current) {
    if (removing.has(key)) continue;
    remainingIds.add(entry.sessionId);
    remainingFiles.add(`${entry.sessionId}.jsonl`);
    if (disk && typeof entry.sessionFile === "string" && entry.sessionFile !== "") {
      const resolved = path.resolve(disk.dir, entry.sessionFile);
      if (path.dirname(resolved) === path.resolve(disk.dir)) remainingFiles.add(path.basename(resolved));
    }
  }
  for (const unit of plan.removals) {
    if (unit.releasesTranscript && remainingIds.has(unit.sessionId)) conflict(`a remaining row now references session ${unit.sessionId}, whose transcript the plan releases`);
  }
  if (!disk) return null;

  const inventory = new Set(disk.diskInventory().map((f) => f.name));
  const ts = archiveTimestamp(now);
  const mustBe = (name: string, kind: "transcript" | "archive", why: string): void => {
    if (classify(name).kind !== kind || name !== path.basename(name)) conflict(`${JSON.stringify(name)} (${why}) is not a ${kind} file name`);
    if (!inventory.has(name)) conflict(`${JSON.stringify(name)} (${why}) is no longer in ${disk.dir}`);
    if (kind === "transcript") {
      if (remainingFiles.has(name)) conflict(`${JSON.stringify(name)} (${why}) is referenced by a remaining row`);
      const c = classify(name);
      if (c.kind === "transcript" && remainingIds.has(c.sessionId)) conflict(`${JSON.stringify(name)} (${why}) belongs to session ${c.sessionId}, which a remaining row references`);
    }
  };
  for (const unit of plan.removals) {
    for (const f of unit.files) {
      mustBe(f.name, "transcript", `transcript of ${unit.sessionId}`);
      if (inventory.has(`${f.name}.deleted.${ts}`)) conflict(`archive name ${JSON.stringify(`${f.name}.deleted.${ts}`)} is already taken`);
    }
  }
  for (const name of plan.deleteOrphans) mustBe(name, "transcript", "unreferenced transcript");
  for (const name of plan.deleteFiles) mustBe(name, "archive", "archive to purge");
  return disk;
}
