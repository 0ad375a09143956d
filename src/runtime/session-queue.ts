/**
 * The per-session queue (spec §8, reference §14): at most one run per session; while one runs,
 * new messages are handled by the queue mode. Messages are already durable in the transcript when
 * they get here — the queue only decides which run answers them. State is in memory.
 */
import type { SessionHold } from "../session/session-leases.ts";
import type { QueueSettings } from "./queue-settings.ts";

export interface QueueOutcome {
  runId: string;
  /** The run that answered (several submissions share one run in collect mode). */
  batchRunId?: string;
  status: "ok" | "silent" | "error" | "aborted" | "dropped";
  reply: string | null;
  delivered: boolean;
  error?: string;
}

export interface QueueItem {
  runId: string;
  /** Transcript entry of the recorded message (null for tasks). */
  entryId: string | null;
  /** A short line for overflow summaries. */
  preview: string;
  settings: QueueSettings;
  resolve(outcome: QueueOutcome): void;
  /** A task (compaction) runs alone in the run slot instead of a model turn. */
  task?: (signal: AbortSignal) => Promise<QueueOutcome>;
  /** The run round at which a steered item was injected. */
  injectedAtRound?: number;
}

export interface ActiveRun {
  runId: string;
  controller: AbortController;
  batch: QueueItem[];
  /** Recorded messages this run must not answer (queued for later runs). */
  exclude: Set<string>;
  round: number;
  isTask: boolean;
}

export class SessionQueue {
  active: ActiveRun | null = null;
  readonly pending: QueueItem[] = [];
  /** Summaries of items dropped on overflow (drop: summarize), injected into the next run. */
  readonly dropped: string[] = [];
  lastEnqueueAt = 0;
  timer: NodeJS.Timeout | null = null;
  /** This process's cross-process lease on the session while the queue has work (shared stores). */
  hold: SessionHold | null = null;

  /**
   * Accepts an item while a run may be active. Returns the items pushed out (to resolve as
   * dropped) — possibly the incoming one itself under `drop: new`.
   */
  admit(item: QueueItem, now: number): { droppedItems: QueueItem[]; steered: boolean } {
    this.lastEnqueueAt = now;
    const active = this.active;
    const mode = item.settings.mode;
    if (active && !active.isTask && item.entryId && (mode === "steer" || mode === "steer-backlog")) {
      // Joins the active run: its next model round reads the message.
      item.injectedAtRound = active.round;
      active.batch.push(item);
      if (mode === "steer") return { droppedItems: [], steered: true };
    }
    if (active && item.entryId) active.exclude.add(item.entryId);
    if (active && mode === "steer-backlog" && item.entryId) active.exclude.delete(item.entryId);
    if (active && mode === "interrupt") active.controller.abort();
    const droppedItems: QueueItem[] = [];
    if (this.pending.length >= item.settings.cap && !item.task) {
      if (item.settings.drop === "new") return { droppedItems: [item], steered: false };
      while (this.pending.length >= item.settings.cap) {
        const idx = this.pending.findIndex((p) => !p.task);
        if (idx < 0) break;
        const [old] = this.pending.splice(idx, 1);
        droppedItems.push(old!);
        if (item.settings.drop === "summarize") this.dropped.push(old!.preview);
      }
    }
    this.pending.push(item);
    return { droppedItems, steered: false };
  }

  /** The next batch to run: a task alone, one item in followup mode, else everything queued. */
  takeBatch(): QueueItem[] {
    if (this.pending.length === 0) return [];
    if (this.pending[0]!.task) return this.pending.splice(0, 1);
    const newest = this.pending[this.pending.length - 1]!;
    const firstTask = this.pending.findIndex((p) => p.task);
    const end = firstTask < 0 ? this.pending.length : firstTask;
    if (newest.settings.mode === "followup") return this.pending.splice(0, 1);
    return this.pending.splice(0, end);
  }

  /** The synthetic overflow prompt (reference §14.3), consumed once. */
  takeOverflowNote(): string | undefined {
    if (this.dropped.length === 0) return undefined;
    const lines = this.dropped.splice(0).map((p) => `- ${p}`);
    return `[Queue overflow] Dropped ${lines.length} message(s) due to cap.\nSummary:\n${lines.join("\n")}`;
  }

  get depth(): number {
    return this.pending.length;
  }

  get idle(): boolean {
    return !this.active && this.pending.length === 0 && !this.timer;
  }
}

export function previewOf(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}
