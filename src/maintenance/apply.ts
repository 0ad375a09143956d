/** Carries out a maintenance plan against a store: rows first, then files. */
import type { SessionStore } from "../store/types.ts";
import type { MaintenancePlan } from "./plan.ts";
import type { DiskFile } from "../store/fs/disk-files.ts";

/** File operations only the file-system backend has (disk budget, archive purge). */
export interface DiskOps {
  diskInventory(): DiskFile[];
  /** Deletes one artifact by base name inside the sessions directory. */
  removeArtifact(name: string): void;
  removeTranscript(sessionId: string): void;
}

export function diskOpsOf(store: SessionStore): DiskOps | null {
  const s = store as Partial<DiskOps>;
  return typeof s.diskInventory === "function" && typeof s.removeArtifact === "function" && typeof s.removeTranscript === "function" ? (s as DiskOps) : null;
}

export interface ApplyOptions {
  now: number;
  onProgress?: (done: number, total: number) => void;
}

export async function applyMaintenancePlan(store: SessionStore, plan: MaintenancePlan, options: ApplyOptions): Promise<void> {
  const removals = plan.actions.filter((a) => a.action !== "keep").map((a) => ({ key: a.key, entry: null }));
  const total = removals.length + plan.archiveSessionIds.length + plan.deleteSessionIds.length + plan.deleteFiles.length;
  let done = 0;
  const BATCH = 1000;
  for (let i = 0; i < removals.length; i += BATCH) {
    const batch = removals.slice(i, i + BATCH);
    await store.putMany(batch);
    done += batch.length;
    options.onProgress?.(done, total);
  }
  for (const id of plan.archiveSessionIds) {
    await store.archiveTranscript(id, "deleted", options.now);
    options.onProgress?.(++done, total);
  }
  const disk = diskOpsOf(store);
  if (!disk) return;
  for (const id of plan.deleteSessionIds) {
    disk.removeTranscript(id);
    options.onProgress?.(++done, total);
  }
  for (const name of plan.deleteFiles) {
    disk.removeArtifact(name);
    options.onProgress?.(++done, total);
  }
}
