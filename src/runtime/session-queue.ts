/**
 * The queue of one session: at most one run at a time; while one runs, the queue mode decides
 * what a new message does (collect, followup, steer, steer-backlog, interrupt) and `cap`/`drop`
 * bound the backlog. Messages are already durable in the transcript when they get here — the
 * queue only decides which run answers them. Pure state, synchronous: time, leases and the runs
 * themselves belong to the RunScheduler that drives it.
 */
import type { QueueSettings } from "./queue-settings.ts";
import type { UsageTotals } from "./usage.ts";

export interface QueueOutcome {
  runId: string;
  /** The run that answered (several submissions share one run in collect mode). */
  batchRunId?: string;
  status: "ok" | "silent" | "error" | "aborted" | "dropped";
  reply: string | null;
  delivered: boolean;
  error?: string;
  /** The answering run's model calls added up (the OpenAI endpoint's `usage`). */
  usage?: UsageTotals;
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

/** The run in the session's slot, as its driver sees it. */
export interface ActiveRun {
  readonly runId: string;
  readonly controller: AbortController;
  /** Every item this run answers; steered messages join while it runs. */
  readonly batch: readonly QueueItem[];
  /** Recorded messages this run must not answer (queued for later runs); read live by the runner. */
  readonly exclude: Set<string>;
  /** The model round the run is at (-1 before the first). */
  round: number;
  readonly isTask: boolean;
}

interface Run extends ActiveRun {
  readonly batch: QueueItem[];
}

export interface Admission {
  /** Items pushed out by the cap (to resolve as dropped), possibly the incoming one (`drop: new`). */
  droppedItems: QueueItem[];
  /** The item joined the active run (steer) instead of waiting. */
  steered: boolean;
}

export class SessionQueue {
  #active: Run | null = null;
  readonly #pending: QueueItem[] = [];
  /** Summaries of items dropped on overflow (drop: summarize), injected into the next run. */
  readonly #dropped: string[] = [];
  #lastEnqueueAt = 0;

  get active(): ActiveRun | null {
    return this.#active;
  }

  get depth(): number {
    return this.#pending.length;
  }

  /** Nothing runs and nothing waits. */
  get empty(): boolean {
    return !this.#active && this.#pending.length === 0;
  }

  /** Accepts an item while a run may be active. */
  admit(item: QueueItem, now: number): Admission {
    this.#lastEnqueueAt = now;
    const active = this.#active;
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
    if (this.#pending.length >= item.settings.cap && !item.task) {
      if (item.settings.drop === "new") return { droppedItems: [item], steered: false };
      while (this.#pending.length >= item.settings.cap) {
        const idx = this.#pending.findIndex((p) => !p.task);
        if (idx < 0) break;
        const [old] = this.#pending.splice(idx, 1);
        droppedItems.push(old!);
        if (item.settings.drop === "summarize") this.#dropped.push(old!.preview);
      }
    }
    this.#pending.push(item);
    return { droppedItems, steered: false };
  }

  /** How long the newest message's debounce still holds the next run back (≤ 0: it may start). */
  debounceLeft(now: number): number {
    const newest = this.#pending.at(-1);
    if (!newest || newest.task) return 0;
    return newest.settings.debounceMs - (now - this.#lastEnqueueAt);
  }

  /**
   * Puts the next batch in the run slot: a task alone, one item in followup mode, else everything
   * queued up to the next task. Null while a run is active or nothing waits.
   */
  start(): ActiveRun | null {
    if (this.#active || this.#pending.length === 0) return null;
    const batch = this.takeBatch();
    const exclude = new Set<string>();
    for (const p of this.#pending) if (p.entryId) exclude.add(p.entryId);
    this.#active = {
      runId: batch[0]!.runId,
      controller: new AbortController(),
      batch,
      exclude,
      round: -1,
      isTask: !!batch[0]!.task,
    };
    return this.#active;
  }

  private takeBatch(): QueueItem[] {
    if (this.#pending[0]!.task) return this.#pending.splice(0, 1);
    const newest = this.#pending.at(-1)!;
    if (newest.settings.mode === "followup") return this.#pending.splice(0, 1);
    const firstTask = this.#pending.findIndex((p) => p.task);
    return this.#pending.splice(0, firstTask < 0 ? this.#pending.length : firstTask);
  }

  /**
   * Steered items injected at or after the run's last model round were never read by it: they go
   * back to the front of the queue as follow-ups. Returns them (the run does not answer them).
   */
  requeueLateSteers(): QueueItem[] {
    const run = this.#active;
    if (!run) return [];
    const late = run.batch.filter((b) => b.injectedAtRound !== undefined && b.injectedAtRound >= run.round);
    // Each goes to the front in turn (so several come back newest first, as they always have).
    for (const b of late) {
      b.injectedAtRound = undefined;
      b.settings = { ...b.settings, mode: "followup" };
      this.#pending.unshift(b);
    }
    return late;
  }

  /** Empties the run slot. */
  finish(): void {
    this.#active = null;
  }

  /** Removes every queued item (the active run is the caller's to abort). */
  clear(): QueueItem[] {
    return this.#pending.splice(0);
  }

  /** The synthetic overflow prompt, consumed once. */
  takeOverflowNote(): string | undefined {
    if (this.#dropped.length === 0) return undefined;
    const lines = this.#dropped.splice(0).map((p) => `- ${p}`);
    return `[Queue overflow] Dropped ${lines.length} message(s) due to cap.\nSummary:\n${lines.join("\n")}`;
  }
}

export function previewOf(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}
