/**
 * `pincer sessions cleanup`: preview (`--dry-run`) or apply store maintenance, like `openclaw sessions cleanup`.
 * The preview is always enforce-style; applying uses the configured mode unless `--enforce`. In
 * warn mode an apply changes no row and no file (only an explicit `--fix-missing` removes rows, as
 * OpenClaw does); it reports, and warns when the disk budget is exceeded.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { MaintenanceSettings } from "../../config/maintenance-settings.ts";
import { resolveMaintenance } from "../../config/resolve.ts";
import { applyMaintenancePlan, diskOpsOf } from "../../maintenance/apply.ts";
import { planMaintenance, type MaintenancePlan } from "../../maintenance/plan.ts";
import type { SessionEntry } from "../../store/entry.ts";
import { classify, type DiskFile } from "../../store/fs/disk-files.ts";
import { openDiskIndex } from "../../store/fs/disk-index.ts";
import type { SessionRow, SessionStore } from "../../store/types.ts";
import { openTarget, selectStores, type CliContext, type StoreSelection } from "../context.ts";
import { compactDryRun } from "../cleanup-dry-run.ts";
import { progressBar } from "../progress.ts";
import {
  displayModel,
  formatAge,
  formatFlags,
  plannedActionsHead,
  tableLine,
  truncateKey,
  type DisplayDefaults,
} from "../session-rows.ts";
import { mainSessionKey } from "./keys.ts";

/** Loaded only for the text preview: resolving them loads the provider registry (and the model SDKs). */
async function displayDefaults(ctx: CliContext): Promise<DisplayDefaults> {
  return (await import("./display-defaults.ts")).displayDefaults(ctx);
}

export interface CleanupOptions extends StoreSelection {
  dryRun?: boolean;
  enforce?: boolean;
  fixMissing?: boolean;
  json?: boolean;
  activeKey?: string;
}

interface StoreSummary extends Record<string, unknown> {
  agentId: string;
  storePath: string;
}

export async function sessionsCleanup(ctx: CliContext, opts: CleanupOptions): Promise<number> {
  const { targets, aggregate } = await selectStores(ctx, opts);
  const settings = resolveMaintenance(ctx.config);
  const configuredMode = settings.mode;
  const mode = opts.enforce ? "enforce" : configuredMode;
  const now = ctx.io.now();
  // The preview of one fs store without a disk budget: planned in columns and written as it goes.
  if (opts.dryRun && !opts.fixMissing && !aggregate && targets[0]!.kind === "fs" && settings.maxDiskBytes === null) {
    const target = targets[0]!;
    const protectedKeys = new Set([mainSessionKey(ctx, target.agentId)]);
    if (opts.activeKey) protectedKeys.add(opts.activeKey);
    const defaults = opts.json ? null : await displayDefaults(ctx); // as the general path: only the table needs them
    const o = { json: !!opts.json, configuredMode, mode, settings, protectedKeys, now, defaults };
    if (await compactDryRun(ctx, target, o)) return 0;
  }
  const summaries: StoreSummary[] = [];
  const text: string[] = [];
  for (const target of targets) {
    // A dry run of an fs store reads the index straight from disk, keeping of each row only what the
    // plan and the preview use; anything else (and every apply) goes through the store.
    const lean = opts.dryRun && !opts.fixMissing && target.kind === "fs" ? readLean(ctx, target.path, settings) : null;
    const store = lean ? null : await openTarget(ctx, target, { readOnly: !!opts.dryRun });
    try {
      const rows = lean ? lean.rows : await store!.all();
      const disk = lean ? lean.disk : diskOf(store!);
      const protectedKeys = new Set([mainSessionKey(ctx, target.agentId)]);
      if (opts.activeKey) protectedKeys.add(opts.activeKey);
      // The preview always shows enforce-style maintenance: exactly what `--enforce` would do.
      const enforcing = opts.dryRun || mode === "enforce";
      const plan = planMaintenance({
        rows,
        now,
        settings,
        warnOnly: !enforcing,
        trigger: "explicit",
        protectedKeys,
        ...(opts.fixMissing && store ? { missingTranscript: await missingTranscriptCheck(store, rows) } : {}),
        ...(disk ? { disk: disk.inventory(), diskDir: disk.dir } : {}),
      });
      const summary: StoreSummary = {
        agentId: target.agentId,
        storePath: target.path,
        mode,
        dryRun: !!opts.dryRun,
        beforeCount: plan.beforeCount,
        afterCount: plan.afterCount,
        missing: plan.missing,
        pruned: plan.pruned,
        capped: plan.capped,
        diskBudget: plan.diskBudget,
        wouldMutate: plan.wouldMutate,
        archivesPurged: plan.deleteFiles.length,
      };
      // Beyond OpenClaw's summary: every row and file the plan touches, so a dry run can be checked
      // (only printed with --json: not built otherwise).
      if (opts.json) {
        summary.remove = plan.actions.filter((x) => x.action !== "keep").map((x) => ({ key: x.key, action: x.action }));
        summary.files = plannedFiles(plan);
      }
      if (!enforcing && plan.diskBudget?.overBudget) {
        const d = plan.diskBudget;
        ctx.io.err(
          `warning: ${target.path}: sessions directory holds ${d.totalBytesBefore} bytes, over session.maintenance.maxDiskBytes (${d.maxBytes}); mode is warn, so nothing was removed (use --enforce)`,
        );
      }
      if (opts.dryRun) {
        if (!opts.json)
          text.push(...dryRunText(target, aggregate, configuredMode, plan, now, await displayDefaults(ctx)));
      } else if (store) {
        const files = plannedFiles(plan);
        const bar = progressBar(
          ctx.io,
          "cleanup",
          plan.beforeCount - plan.afterCount + files.archive.length + files.delete.length,
        );
        const result = await applyMaintenancePlan(store, plan, { now, onProgress: (d) => bar.update(d) });
        bar.done();
        // Rows a writer changed after the plan was checked are kept with their transcripts, and listed.
        summary.result = {
          removedRows: result.removedRows,
          archived: result.archived.map((a) => a.name),
          deleted: result.deleted,
          skipped: result.skipped,
        };
        for (const r of result.skipped)
          ctx.io.err(
            `note: ${target.path}: kept ${JSON.stringify(r.key)}: it was ${r.reason === "changed" ? "updated" : "removed"} after the plan was made`,
          );
        summary.applied = true;
        summary.appliedCount = await store.count();
        if (!opts.json) {
          if (aggregate) text.push(`Agent: ${target.agentId}`);
          text.push(`Session store: ${target.path}`, `Applied maintenance. Current entries: ${summary.appliedCount}`);
        }
      }
      summaries.push(summary);
    } finally {
      await store?.close();
    }
  }
  if (opts.json) {
    const out = aggregate ? { allAgents: true, mode, dryRun: !!opts.dryRun, stores: summaries } : summaries[0];
    ctx.io.out(JSON.stringify(out, null, 2));
  } else ctx.io.out(text.join("\n"));
  return 0;
}

/** The sessions directory as the plan sees it; a directory not created yet holds nothing. */
interface PlanDisk {
  dir: string;
  inventory(): DiskFile[];
}

function diskOf(store: SessionStore): PlanDisk | null {
  const disk = diskOpsOf(store);
  if (!disk) return null;
  return { dir: disk.dir, inventory: () => (fs.existsSync(disk.dir) ? disk.diskInventory() : []) };
}

/** What the plan (`sessionId`, `updatedAt`, `pinned`, `sessionFile`) and the preview's table read of a row. */
function slimEntry(e: SessionEntry): SessionEntry {
  return {
    sessionId: e.sessionId,
    updatedAt: e.updatedAt,
    sessionFile: e.sessionFile,
    pinned: e.pinned,
    model: e.model,
    modelOverride: e.modelOverride,
    thinkingLevel: e.thinkingLevel,
    verboseLevel: e.verboseLevel,
    reasoningLevel: e.reasoningLevel,
    elevatedLevel: e.elevatedLevel,
    responseUsage: e.responseUsage,
    groupActivation: e.groupActivation,
    systemSent: e.systemSent,
    abortedLastRun: e.abortedLastRun,
  };
}

/**
 * The rows of an fs store as `store.all()` returns them (snapshot order, then the journals applied to
 * the same map), slimmed unless the disk budget needs each row's size; the directory's files from the
 * same listing, stat'ed only when the disk budget needs sizes and times. Null: load the store.
 */
function readLean(
  ctx: CliContext,
  storePath: string,
  settings: MaintenanceSettings,
): { rows: SessionRow[]; disk: PlanDisk } | null {
  const index = openDiskIndex(storePath, (i) => ctx.io.err(`warning: ${i.file}: ${i.reason}`));
  if (!index) return null;
  const whole = settings.maxDiskBytes !== null;
  const map = new Map<string, SessionEntry>();
  for (const row of index.snapshotRows()) map.set(row.key, whole ? row.entry : slimEntry(row.entry));
  for (const [key, entry] of index.ops) {
    if (entry) map.set(key, whole ? entry : slimEntry(entry));
    else map.delete(key);
  }
  const dir = path.dirname(storePath);
  const inventory = (): DiskFile[] => {
    const out: DiskFile[] = [];
    for (const name of index.files) {
      if (!whole) {
        out.push({ name, size: 0, mtimeMs: 0, class: classify(name) });
        continue;
      }
      try {
        const st = fs.statSync(path.join(dir, name));
        out.push({ name, size: st.size, mtimeMs: st.mtimeMs, class: classify(name) });
      } catch {
        // removed meanwhile
      }
    }
    return out;
  };
  return { rows: [...map].map(([key, entry]) => ({ key, entry })), disk: { dir, inventory } };
}

/** Every file the plan archives (`.deleted.<ts>`) or deletes, by name: what `--enforce` will do to the directory. */
function plannedFiles(plan: MaintenancePlan): { archive: string[]; delete: string[] } {
  const archive: string[] = [];
  const del: string[] = [];
  for (const unit of plan.removals) for (const f of unit.files) (f.op === "archive" ? archive : del).push(f.name);
  del.push(...plan.deleteOrphans, ...plan.deleteFiles);
  return { archive, delete: del };
}

/** Which rows have no transcript: on disk per file (fs), else from one listing of the store's transcripts. */
async function missingTranscriptCheck(
  store: SessionStore,
  rows: readonly SessionRow[],
): Promise<(row: SessionRow) => boolean> {
  const disk = store.capabilities.disk;
  if (disk) return (r) => !disk.transcriptExistsSync(r.entry.sessionId, r.entry.sessionFile);
  if (rows.length === 0) return () => false;
  const live = new Set(await store.listTranscripts());
  return (r) => !live.has(r.entry.sessionId);
}

function dryRunText(
  target: { agentId: string; path: string },
  aggregate: boolean,
  configuredMode: string,
  plan: MaintenancePlan,
  now: number,
  defaults: DisplayDefaults,
): string[] {
  const lines: string[] = [];
  if (aggregate) lines.push(`Agent: ${target.agentId}`);
  lines.push(`Session store: ${target.path}`);
  lines.push(`Maintenance mode: ${configuredMode}`);
  lines.push(`Entries: ${plan.beforeCount} -> ${plan.afterCount} (remove ${plan.beforeCount - plan.afterCount})`);
  lines.push(`Would prune missing transcripts: ${plan.missing}`);
  lines.push(`Would prune stale: ${plan.pruned}`);
  lines.push(`Would cap overflow: ${plan.capped}`);
  if (plan.diskBudget?.overBudget) {
    const d = plan.diskBudget;
    lines.push(
      `Would enforce disk budget: ${d.totalBytesBefore} -> ${d.totalBytesAfter} bytes (files ${d.removedFiles}, entries ${d.removedEntries})`,
    );
  }
  if (plan.deleteFiles.length) lines.push(`Would purge archives: ${plan.deleteFiles.length}`);
  const files = plannedFiles(plan);
  if (files.archive.length) lines.push(`Would archive transcripts: ${files.archive.length}`);
  if (files.delete.length) lines.push(`Would delete files: ${files.delete.length}`);
  lines.push(...plannedActionsHead());
  const ordered = [...plan.actions].sort((a, b) => (b.entry.updatedAt || 0) - (a.entry.updatedAt || 0));
  for (const a of ordered) {
    lines.push(
      tableLine([
        [a.action, 12],
        [truncateKey(a.key), 26],
        [formatAge(a.entry.updatedAt > 0 ? now - a.entry.updatedAt : null), 9],
        [displayModel(a.entry, defaults), 14],
        [formatFlags(a.entry), 0],
      ]),
    );
  }
  return lines;
}
