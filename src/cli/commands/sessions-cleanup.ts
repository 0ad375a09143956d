/**
 * `pincer sessions cleanup`: preview (`--dry-run`) or apply store maintenance, like `openclaw sessions cleanup`.
 * The preview is always enforce-style; applying uses the configured mode unless `--enforce`. In
 * warn mode an apply changes no row and no file (only an explicit `--fix-missing` removes rows, as
 * OpenClaw does); it reports, and warns when the disk budget is exceeded.
 */
import { resolveMaintenance } from "../../config/resolve.ts";
import { applyMaintenancePlan, diskOpsOf } from "../../maintenance/apply.ts";
import { planMaintenance, type MaintenancePlan } from "../../maintenance/plan.ts";
import type { SessionRow, SessionStore } from "../../store/types.ts";
import { openTarget, selectStores, type CliContext, type StoreSelection } from "../context.ts";
import { progressBar } from "../progress.ts";
import { displayModel, formatAge, formatFlags, tableLine, truncateKey } from "../session-rows.ts";
import { displayDefaults } from "./display-defaults.ts";
import { mainSessionKey } from "./keys.ts";

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
  const summaries: StoreSummary[] = [];
  const text: string[] = [];
  for (const target of targets) {
    const store = await openTarget(ctx, target, { readOnly: !!opts.dryRun });
    try {
      const rows = await store.all();
      const disk = diskOpsOf(store);
      // The disk budget and archive purge are about files in a sessions directory: only the fs
      // backend has them. A database store keeps its archives; its rows are maintained the same way.
      if (!disk && settings.maxDiskBytes !== null)
        ctx.io.err(
          `warning: session.maintenance.maxDiskBytes applies to fs stores only; not enforced on ${target.path}`,
        );
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
        ...(opts.fixMissing ? { missingTranscript: await missingTranscriptCheck(store, rows) } : {}),
        ...(disk ? { disk: disk.diskInventory(), diskDir: disk.dir } : {}),
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
        // Beyond OpenClaw's summary: every row and file the plan touches, so a dry run can be checked.
        remove: plan.actions.filter((x) => x.action !== "keep").map((x) => ({ key: x.key, action: x.action })),
        files: plannedFiles(plan),
      };
      if (!enforcing && plan.diskBudget?.overBudget) {
        const d = plan.diskBudget;
        ctx.io.err(
          `warning: ${target.path}: sessions directory holds ${d.totalBytesBefore} bytes, over session.maintenance.maxDiskBytes (${d.maxBytes}); mode is warn, so nothing was removed (use --enforce)`,
        );
      }
      if (opts.dryRun) {
        if (!opts.json) text.push(...dryRunText(ctx, target, aggregate, configuredMode, plan, now));
      } else {
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
      await store.close();
    }
  }
  if (opts.json) {
    const out = aggregate ? { allAgents: true, mode, dryRun: !!opts.dryRun, stores: summaries } : summaries[0];
    ctx.io.out(JSON.stringify(out, null, 2));
  } else ctx.io.out(text.join("\n"));
  return 0;
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
  ctx: CliContext,
  target: { agentId: string; path: string },
  aggregate: boolean,
  configuredMode: string,
  plan: MaintenancePlan,
  now: number,
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
  lines.push("", "Planned session actions:");
  lines.push(
    tableLine([
      ["Action", 12],
      ["Key", 26],
      ["Age", 9],
      ["Model", 14],
      ["Flags", 0],
    ]),
  );
  const defaults = displayDefaults(ctx);
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
