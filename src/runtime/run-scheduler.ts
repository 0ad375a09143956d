/**
 * Runs each session's queue: one run at a time per session, debounce timers, the session lease
 * held while a queue has work (shared stores), `/stop`-style aborts and the drain at shutdown.
 * What a run does is the caller's `runBatch`; tasks (compaction) bring their own work. Kept apart
 * from the runtime so the queue's behaviour can be tested without a model, a store or a clock.
 */
import type { SessionHold, SessionLeases } from "../session/session-leases.ts";
import { refKey, type SessionRef } from "../session/session-ref.ts";
import { SessionQueue, type ActiveRun, type QueueItem, type QueueOutcome } from "./session-queue.ts";

/** Where the message that started a run came from (the send policy may depend on it). */
export interface RunRoute {
  channel?: string;
  chatType?: string;
}

/** One model run over a batch of queued messages, as `runBatch` gets it. */
export interface BatchRun {
  readonly ref: SessionRef;
  readonly runId: string;
  readonly route: RunRoute;
  /** When the run was taken off the queue (before any lease wait). */
  readonly startedAt: number;
  readonly signal: AbortSignal;
  /** Recorded messages still queued for later runs; grows while this run works (read it live). */
  readonly exclude: Set<string>;
  /** The overflow summary (drop: summarize) to show this run once. */
  readonly note: string | undefined;
  /** Every submission this run answers (steered messages join while it runs). */
  runIds(): string[];
  /** Report each model round: steered messages joining after the last one are queued again. */
  onRound(round: number): void;
  /**
   * Whether nothing else waits on the session here right now (no queued message, no debounce):
   * then the run's last write may free the session's lease (SessionLeases.fence).
   */
  nothingQueued(): boolean;
}

/** What a batch run produced, for every submission it answers. */
export type BatchResult = Omit<QueueOutcome, "runId" | "batchRunId">;

export type LeaseHolds = Pick<SessionLeases, "retain" | "acquire" | "release" | "isCurrent">;

export interface RunSchedulerOptions {
  runBatch(run: BatchRun): Promise<BatchResult>;
  /** Cross-process session leases (shared stores); none on a store only this process writes. */
  leases?: LeaseHolds | null;
  now?: () => number;
  /** Queued-message count changes (metrics). */
  onDepth?(delta: number): void;
}

/** What `abort` stopped. */
export interface AbortResult {
  aborted: boolean;
  runIds: string[];
  cleared: number;
}

/** A session's queue as observers see it. */
export interface QueueView {
  depth: number;
  active: { runId: string; runIds: string[]; isTask: boolean } | null;
}

interface Lane {
  readonly ref: SessionRef;
  readonly queue: SessionQueue;
  timer: NodeJS.Timeout | null;
  hold: SessionHold | null;
}

/** How long, after the drain deadline aborted what ran, runs get to record their end. */
const ABORT_GRACE_MS = 2000;

export class RunScheduler {
  private readonly lanes = new Map<string, Lane>();
  private readonly options: RunSchedulerOptions;
  private readonly now: () => number;
  private inFlight = 0;
  private drainWaiters: Array<() => void> = [];

  constructor(options: RunSchedulerOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** Queues an item on its session; starts a run when the slot is free and the debounce has passed. */
  enqueue(ref: SessionRef, item: QueueItem, route: RunRoute): void {
    const lane = this.laneOf(ref);
    const { droppedItems, steered } = lane.queue.admit(item, this.now());
    for (const d of droppedItems)
      d.resolve({
        runId: d.runId,
        status: "dropped",
        reply: null,
        delivered: false,
        error: "dropped: the session queue is full",
      });
    if (steered) return;
    if (!droppedItems.includes(item)) this.depth(1);
    this.depth(-droppedItems.filter((d) => d !== item).length);
    this.pump(lane, route);
  }

  /** Aborts the active run and clears queued messages (`/stop`, `chat.abort`, resets). */
  abort(ref: SessionRef, reason: string): AbortResult {
    const lane = this.lanes.get(refKey(ref));
    if (!lane) return { aborted: false, runIds: [], cleared: 0 };
    const runIds: string[] = [];
    const active = lane.queue.active;
    if (active && !active.controller.signal.aborted) {
      active.controller.abort();
      runIds.push(...active.batch.map((b) => b.runId));
    }
    if (lane.timer) {
      clearTimeout(lane.timer);
      lane.timer = null;
    }
    const cleared = lane.queue.clear();
    this.depth(-cleared.length);
    for (const c of cleared)
      c.resolve({ runId: c.runId, status: "aborted", reply: null, delivered: false, error: reason });
    // Cleared while waiting on a debounce: nothing will run, so the lane (and its lease) goes now.
    this.closeIfIdle(lane);
    return { aborted: runIds.length > 0, runIds, cleared: cleared.length };
  }

  /** Aborts only the active run; what is queued stays (a compaction takes the slot next). */
  abortActive(ref: SessionRef): void {
    this.lanes.get(refKey(ref))?.queue.active?.controller.abort();
  }

  /** The session's queue, while it has work (undefined when idle). */
  view(ref: SessionRef): QueueView | undefined {
    const lane = this.lanes.get(refKey(ref));
    if (!lane) return undefined;
    const active = lane.queue.active;
    return {
      depth: lane.queue.depth,
      active: active ? { runId: active.runId, runIds: active.batch.map((b) => b.runId), isTask: active.isTask } : null,
    };
  }

  /** Messages waiting in every session's queue (not counting those in a run). */
  depthTotal(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.queue.depth;
    return n;
  }

  /** Resolves when nothing runs and nothing waits; at the deadline aborts what is left (queued messages stay recorded, unanswered). */
  async drain(timeoutMs: number): Promise<void> {
    if (this.drained()) return;
    const drained = new Promise<void>((r) => this.drainWaiters.push(r));
    const deadline = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs).unref());
    if ((await Promise.race([drained, deadline])) !== "timeout") return;
    for (const lane of [...this.lanes.values()]) this.abort(lane.ref, "gateway shutting down");
    await Promise.race([drained, new Promise((r) => setTimeout(r, ABORT_GRACE_MS).unref())]);
  }

  private laneOf(ref: SessionRef): Lane {
    const key = refKey(ref);
    let lane = this.lanes.get(key);
    if (!lane) {
      // On a shared store the session stays leased to this gateway while its queue has work; the
      // message was just recorded under the lease, so joining it here leaves no gap.
      lane = {
        ref: { agentId: ref.agentId, sessionKey: ref.sessionKey },
        queue: new SessionQueue(),
        timer: null,
        hold: this.options.leases?.retain(ref.agentId, ref.sessionKey) ?? null,
      };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  private pump(lane: Lane, route: RunRoute): void {
    if (lane.queue.active || lane.queue.depth === 0 || lane.timer) return;
    const wait = lane.queue.debounceLeft(this.now());
    if (wait > 0) {
      lane.timer = setTimeout(() => {
        lane.timer = null;
        this.pump(lane, route);
      }, wait);
      return;
    }
    const run = lane.queue.start()!;
    this.depth(-run.batch.length);
    this.inFlight++;
    // A failure outside the run (e.g. a full disk marking an aborted run) ends it with an error; it
    // must never become an unhandled rejection, which would end the process.
    const failed = (err: unknown) =>
      settleAll(run, {
        status: "error",
        reply: null,
        delivered: false,
        error: err instanceof Error ? err.message : String(err),
      });
    void this.execute(lane, run, route)
      .catch(failed)
      .finally(() => {
        lane.queue.finish();
        this.inFlight--;
        if (!this.closeIfIdle(lane)) this.pump(lane, route);
      });
  }

  private async execute(lane: Lane, run: ActiveRun, route: RunRoute): Promise<void> {
    const startedAt = this.now();
    const leases = this.options.leases;
    // A hold whose lease the previous run's last write freed (SessionLeases.freedBy) is taken again.
    if (leases && (!lane.hold || !leases.isCurrent(lane.hold))) {
      if (lane.hold) leases.release(lane.hold);
      lane.hold = null;
      try {
        lane.hold = await leases.acquire(lane.ref.agentId, lane.ref.sessionKey);
      } catch (err) {
        settleAll(run, {
          status: "error",
          reply: null,
          delivered: false,
          error: `the session is busy on another gateway: ${err instanceof Error ? err.message : String(err)}`,
        });
        return;
      }
    }
    if (run.isTask) {
      const item = run.batch[0]!;
      const outcome = await item.task!(run.controller.signal).catch((err: unknown) => ({
        runId: item.runId,
        status: "error" as const,
        reply: null,
        delivered: false,
        error: String(err),
      }));
      item.resolve(outcome);
      return;
    }
    const result = await this.options.runBatch({
      ref: lane.ref,
      runId: run.runId,
      route,
      startedAt,
      signal: run.controller.signal,
      exclude: run.exclude,
      note: lane.queue.takeOverflowNote(),
      runIds: () => run.batch.map((b) => b.runId),
      onRound: (round) => {
        run.round = round;
      },
      nothingQueued: () => lane.queue.depth === 0 && lane.timer === null,
    });
    const answered = result.status === "ok" || result.status === "silent";
    const requeued = answered ? lane.queue.requeueLateSteers() : [];
    for (const b of run.batch)
      if (!requeued.includes(b)) b.resolve({ runId: b.runId, batchRunId: run.runId, ...result });
    this.depth(requeued.length);
  }

  /** Drops an idle lane and gives back its lease hold; true when it was idle. */
  private closeIfIdle(lane: Lane): boolean {
    if (!lane.queue.empty || lane.timer) return false;
    this.lanes.delete(refKey(lane.ref));
    if (lane.hold) this.options.leases?.release(lane.hold);
    lane.hold = null;
    // Drained only when nothing runs and nothing waits (a queued follow-up would have started instead).
    if (this.drained()) for (const w of this.drainWaiters.splice(0)) w();
    return true;
  }

  private drained(): boolean {
    return this.inFlight === 0 && this.depthTotal() === 0;
  }

  private depth(delta: number): void {
    if (delta !== 0) this.options.onDepth?.(delta);
  }
}

function settleAll(run: ActiveRun, outcome: BatchResult): void {
  for (const b of run.batch) b.resolve({ runId: b.runId, ...outcome });
}
