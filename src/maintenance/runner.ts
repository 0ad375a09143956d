/**
 * Automatic maintenance for a running process: at most once per interval per store (time-based,
 * so its cost per message does not grow with the store), in the background, never on the message
 * path. Warn mode only reports what enforce would remove (rows, and whether the disk budget is
 * exceeded); it changes no row and no file (as OpenClaw's warn mode), archive purges and disk budget included.
 */
import { diskOpsOf, applyMaintenancePlan } from "./apply.ts";
import { planMaintenance, type DiskBudgetReport, type MaintenancePlan } from "./plan.ts";
import type { MaintenanceSettings } from "../config/maintenance-settings.ts";
import type { SessionStore } from "../store/types.ts";

export interface MaintenanceWarning {
  store: string;
  /** Sessions that enforce mode would remove, with why. */
  wouldRemove: Array<{ key: string; action: string }>;
  /** Archive and orphan files enforce mode would delete. */
  wouldDeleteFiles: number;
  diskBudget: DiskBudgetReport | null;
}

export interface RunnerOptions {
  settings: MaintenanceSettings;
  intervalMs?: number;
  now: () => number;
  /** Keys that must survive this run: main sessions, active sessions, runs in progress. */
  protectedKeys: () => ReadonlySet<string>;
  onWarning?: (warning: MaintenanceWarning) => void;
  onApplied?: (store: SessionStore, plan: MaintenancePlan) => void;
  onError?: (err: unknown) => void;
}

export class MaintenanceRunner {
  private readonly lastRun = new Map<SessionStore, number>();
  private readonly running = new Set<SessionStore>();
  private readonly options: RunnerOptions;

  constructor(options: RunnerOptions) {
    this.options = options;
  }

  /** Called after writes; starts a background run when the interval has passed. */
  poke(store: SessionStore): void {
    const now = this.options.now();
    const last = this.lastRun.get(store);
    if (last === undefined) {
      // The first poke only starts the clock: maintenance never runs during startup bursts.
      this.lastRun.set(store, now);
      return;
    }
    if (this.running.has(store) || now - last < (this.options.intervalMs ?? 5 * 60_000)) return;
    this.lastRun.set(store, now);
    this.running.add(store);
    this.run(store)
      .catch((err: unknown) => this.options.onError?.(err))
      .finally(() => this.running.delete(store));
  }

  async run(store: SessionStore): Promise<MaintenancePlan> {
    const { settings } = this.options;
    const now = this.options.now();
    const disk = diskOpsOf(store);
    const plan = planMaintenance({
      rows: await store.all(),
      now,
      settings,
      trigger: "automatic",
      protectedKeys: this.options.protectedKeys(),
      ...(disk ? { disk: disk.diskInventory(), diskDir: disk.dir } : {}),
    });
    if (settings.mode === "enforce") {
      if (plan.wouldMutate) {
        await applyMaintenancePlan(store, plan, { now });
        this.options.onApplied?.(store, plan);
      }
    } else {
      // The plan above is what enforce would do; in warn mode it is only reported, never applied.
      const wouldRemove = plan.actions
        .filter((a) => a.action !== "keep")
        .map((a) => ({ key: a.key, action: a.action }));
      const wouldDeleteFiles = plan.deleteFiles.length + plan.deleteOrphans.length;
      if (wouldRemove.length || wouldDeleteFiles || plan.diskBudget?.overBudget) {
        this.options.onWarning?.({ store: store.location, wouldRemove, wouldDeleteFiles, diskBudget: plan.diskBudget });
      }
    }
    return plan;
  }
}
