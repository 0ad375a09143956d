/**
 * Carries out a maintenance plan against a store, exactly as planned or not at all:
 *
 * - Validate first: every row to remove is still as planned, every file still there, and no
 *   remaining row references a transcript the plan releases. Otherwise nothing is changed.
 * - Then per session (removal unit): remove each row only if it is still exactly as planned, in one
 *   atomic conditional patch, so a message recorded into it after the check keeps its row. A row
 *   that changed (or went) meanwhile is skipped and reported, and its transcript is not touched.
 *   Once every row of a unit is gone, its transcripts are archived (or deleted for the disk budget).
 *   Rows go first on purpose: a writer that finds the row gone starts a new session with a new id,
 *   so no acknowledged message can land in a transcript that is being moved away.
 * - A failed rename puts the unit back (files renamed back, rows restored unless a new row took the
 *   key), so each row ends untouched or fully processed. A crash between a unit's row removal and
 *   its renames leaves its transcript in place, unreferenced: kept, never lost. Deletions (disk
 *   budget) come last, as they cannot be undone.
 *
 * File operations go through the store's DiskOps (only the fs backend has them); this module knows
 * no file naming rules of its own.
 */
import * as path from "node:path";
import { PincerError } from "../errors.ts";
import type { SessionEntry } from "../store/entry.ts";
import type { DiskOps, SessionStore } from "../store/types.ts";
import type { MaintenancePlan, RemovalUnit } from "./plan.ts";

export type { DiskOps } from "../store/types.ts";

/** The store's sessions-directory operations, when it declares them (`capabilities.disk`; only the fs backend). */
export function diskOpsOf(store: SessionStore): DiskOps | null {
  return store.capabilities.disk ?? null;
}

/** The store changed between planning and applying, or the plan asks for something impossible: nothing was changed. */
export class MaintenancePlanConflictError extends PincerError {
  override readonly code = "maintenance_plan_conflict";
  override readonly httpStatus = 409;
}

export interface ApplyOptions {
  now: number;
  onProgress?: (done: number, total: number) => void;
}

/** A planned row left alone because a writer got to it after the plan was checked. */
export interface SkippedRow {
  key: string;
  /** `changed`: updated meanwhile (say a message was recorded); `gone`: removed meanwhile by someone else. */
  reason: "changed" | "gone";
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
  /** Planned rows that changed after the check: kept, with their transcripts. */
  skipped: SkippedRow[];
}

export async function applyMaintenancePlan(
  store: SessionStore,
  plan: MaintenancePlan,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const disk = await validatePlan(store, plan, options.now);
  const planned = new Map(plan.actions.map((a) => [a.key, a.entry]));
  const result: ApplyResult = { removedRows: 0, archived: [], deleted: [], archivedSessionIds: [], skipped: [] };
  const fileOps =
    plan.removals.reduce((n, u) => n + u.files.length, 0) + plan.deleteOrphans.length + plan.deleteFiles.length;
  const total = plan.removals.reduce((n, u) => n + u.keys.length, 0) + fileOps;
  let done = 0;
  for (const unit of plan.removals) {
    await applyUnit(store, disk, unit, planned, options.now, result);
    done += unit.keys.length + unit.files.length;
    options.onProgress?.(done, total);
  }
  for (const name of [...plan.deleteOrphans, ...plan.deleteFiles]) {
    await disk!.removeDiskFile(name);
    result.deleted.push(name);
    options.onProgress?.(++done, total);
  }
  return result;
}

/** Removes the row only if it is still the planned one (same session, not updated since): atomic in every backend. */
async function removeIfUnchanged(store: SessionStore, key: string, was: SessionEntry): Promise<SkippedRow | null> {
  const res = await store.patch(key, (cur) =>
    cur && cur.sessionId === was.sessionId && cur.updatedAt === was.updatedAt ? null : undefined,
  );
  if (res.changed) return null;
  return { key, reason: res.before ? "changed" : "gone" };
}

/**
 * The transcript names of a removal unit in a store without a directory: the session id, and the
 * basename of each row's `sessionFile` when it names this session's own file (`<id>-<suffix>.jsonl`).
 */
function transcriptNames(unit: RemovalUnit, planned: ReadonlyMap<string, SessionEntry>): string[] {
  const names = new Set([unit.sessionId]);
  for (const key of unit.keys) {
    const file = planned.get(key)?.sessionFile;
    const base = typeof file === "string" ? (file.trim().split(/[\\/]/).pop() ?? "") : "";
    const name = base.endsWith(".jsonl") ? base.slice(0, -".jsonl".length) : "";
    if (name.startsWith(`${unit.sessionId}-`) && /^[a-z0-9][a-z0-9._-]{0,127}$/i.test(name)) names.add(name);
  }
  return [...names];
}

async function applyUnit(
  store: SessionStore,
  disk: DiskOps | null,
  unit: RemovalUnit,
  planned: ReadonlyMap<string, SessionEntry>,
  now: number,
  result: ApplyResult,
): Promise<void> {
  const removed: string[] = [];
  let kept = false;
  for (const key of unit.keys) {
    const skipped = await removeIfUnchanged(store, key, planned.get(key)!);
    if (skipped) {
      result.skipped.push(skipped);
      kept = true;
    } else removed.push(key);
  }
  result.removedRows += removed.length;
  // A row of this session is still there (or another writer took it over): its transcript stays.
  if (kept || !unit.releasesTranscript) return;

  const renamed: Array<{ name: string; archive: string }> = [];
  try {
    if (disk) {
      for (const f of unit.files) {
        if (f.op === "archive")
          renamed.push({ name: f.name, archive: await disk.archiveDiskFile(f.name, "deleted", now) });
      }
    } else {
      // Without a sessions directory the store archives by id (not undoable; it is the last step),
      // and by the name a row gave its transcript (OpenClaw's `sessionFile`, e.g. `<id>-topic-42`).
      for (const name of transcriptNames(unit, planned)) await store.archiveTranscript(name, "deleted", now);
      result.archivedSessionIds.push(unit.sessionId);
    }
  } catch (err) {
    // Undo: the transcripts back under their names, then the rows, unless a new row took the key.
    for (const r of renamed.reverse()) await disk!.restoreDiskFile(r.archive, r.name);
    for (const key of removed) {
      const was = planned.get(key)!;
      await store.patch(key, (cur) => (cur === undefined ? was : undefined));
    }
    result.removedRows -= removed.length;
    throw err;
  }
  result.archived.push(...renamed);
  // Deleting (the disk budget wanted the bytes) cannot be undone, so it comes after everything that can.
  for (const f of unit.files) {
    if (f.op !== "delete") continue;
    await disk!.removeDiskFile(f.name);
    result.deleted.push(f.name);
  }
}

/** Refuses, before any change, a plan that no longer matches the store or that this store cannot carry out. */
async function validatePlan(store: SessionStore, plan: MaintenancePlan, now: number): Promise<DiskOps | null> {
  const disk = diskOpsOf(store);
  const where = store.location;
  const conflict = (what: string): never => {
    throw new MaintenancePlanConflictError(
      `${where}: maintenance plan not applied (nothing changed): ${what}; run the cleanup again`,
    );
  };
  const hasFiles =
    plan.removals.some((u) => u.files.length > 0) || plan.deleteOrphans.length > 0 || plan.deleteFiles.length > 0;
  if (hasFiles && !disk)
    conflict(`the plan deletes or archives files by name, but the ${store.backend} store has no sessions directory`);
  if (plan.fileLevel && !disk)
    conflict(`the plan was made from a disk inventory, but the ${store.backend} store has no sessions directory`);

  const planned = new Map<string, SessionEntry>(
    plan.actions.filter((a) => a.action !== "keep").map((a) => [a.key, a.entry]),
  );
  const current = new Map((await store.all()).map((r) => [r.key, r.entry]));
  const removing = new Set<string>();
  for (const unit of plan.removals) {
    for (const key of unit.keys) {
      const was = planned.get(key);
      const is = current.get(key);
      if (!was) conflict(`row ${JSON.stringify(key)} is removed but has no planned action`);
      if (!is) conflict(`row ${JSON.stringify(key)} no longer exists`);
      if (is!.sessionId !== was!.sessionId || is!.updatedAt !== was!.updatedAt) {
        conflict(
          `row ${JSON.stringify(key)} changed since it was planned (sessionId ${was!.sessionId} updatedAt ${was!.updatedAt}, now ${is!.sessionId} updatedAt ${is!.updatedAt})`,
        );
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
    if (unit.releasesTranscript && remainingIds.has(unit.sessionId))
      conflict(`a remaining row now references session ${unit.sessionId}, whose transcript the plan releases`);
  }
  if (!disk) return null;

  // The backend classified every file; a name it did not list (or listed as something else) is refused.
  const inventory = new Map(disk.diskInventory().map((f) => [f.name, f.class]));
  const mustBe = (name: string, kind: "transcript" | "archive", why: string): void => {
    if (!inventory.has(name)) conflict(`${JSON.stringify(name)} (${why}) is no longer in ${disk.dir}`);
    const c = inventory.get(name)!;
    if (c.kind !== kind) conflict(`${JSON.stringify(name)} (${why}) is not a ${kind} file name`);
    if (c.kind === "transcript") {
      if (remainingFiles.has(name)) conflict(`${JSON.stringify(name)} (${why}) is referenced by a remaining row`);
      if (remainingIds.has(c.sessionId))
        conflict(
          `${JSON.stringify(name)} (${why}) belongs to session ${c.sessionId}, which a remaining row references`,
        );
    }
  };
  for (const unit of plan.removals) {
    for (const f of unit.files) {
      mustBe(f.name, "transcript", `transcript of ${unit.sessionId}`);
      const archive = disk.archiveDiskName(f.name, "deleted", now);
      if (f.op === "archive" && inventory.has(archive))
        conflict(`archive name ${JSON.stringify(archive)} is already taken`);
    }
  }
  for (const name of plan.deleteOrphans) mustBe(name, "transcript", "unreferenced transcript");
  for (const name of plan.deleteFiles) mustBe(name, "archive", "archive to purge");
  return disk;
}
