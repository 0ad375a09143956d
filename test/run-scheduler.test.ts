/**
 * The run scheduler on its own: queue modes, debounce, overflow, `/stop`, tasks, lease holds and
 * the shutdown drain, with runs the test finishes by hand and a fake clock (no gateway, no model,
 * no store). End-to-end queue behaviour through a real gateway stays in runtime-queue.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RunScheduler, type BatchResult, type BatchRun, type LeaseHolds } from "../src/runtime/run-scheduler.ts";
import type { QueueOutcome } from "../src/runtime/session-queue.ts";
import type { QueueDrop, QueueMode } from "../src/runtime/queue-settings.ts";
import type { SessionHold } from "../src/session/session-leases.ts";
import { handleCommand } from "../src/runtime/command-handlers.ts";
import type { CommandContext } from "../src/runtime/command-context.ts";
import type { SessionEntry } from "../src/store/entry.ts";

const REF = { agentId: "main", sessionKey: "agent:main:main" };

interface Started {
  run: BatchRun;
  finish(result?: Partial<BatchResult>): void;
  fail(err: Error): void;
}

interface Options {
  mode?: QueueMode;
  debounceMs?: number;
  cap?: number;
  drop?: QueueDrop;
  leases?: LeaseHolds;
}

function setup(defaults: Options = {}) {
  const runs: Started[] = [];
  let depth = 0;
  const scheduler = new RunScheduler({
    runBatch: (run) =>
      new Promise<BatchResult>((resolve, reject) => {
        runs.push({
          run,
          finish: (r = {}) => resolve({ status: "ok", reply: `re: ${run.runIds().join("+")}`, delivered: true, ...r }),
          fail: reject,
        });
      }),
    leases: defaults.leases ?? null,
    now: () => Date.now(),
    onDepth: (d) => {
      depth += d;
    },
  });
  /** Queues the message `text` (run id `r-<text>`, entry `e-<text>`); resolves with its outcome. */
  const send = (text: string, o: Options = {}): Promise<QueueOutcome> =>
    new Promise((resolve) => {
      const settings = {
        mode: o.mode ?? defaults.mode ?? "collect",
        debounceMs: o.debounceMs ?? defaults.debounceMs ?? 0,
        cap: o.cap ?? defaults.cap ?? 20,
        drop: o.drop ?? defaults.drop ?? "summarize",
      };
      scheduler.enqueue(
        REF,
        { runId: `r-${text}`, entryId: `e-${text}`, preview: text, settings, resolve },
        { channel: "telegram", chatType: "direct" },
      );
    });
  return { scheduler, runs, send, depth: () => depth };
}

/** Lets settled runs end and the next one start (microtasks and due timers). */
const settle = () => vi.advanceTimersByTimeAsync(0);

/** Whether a promise has settled yet. */
async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await settle();
  return done;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("queue modes while a run is active", () => {
  it("collect: messages queued during a run are answered together by one follow-up run, which the first run did not see", async () => {
    const { scheduler, runs, send, depth } = setup({ mode: "collect" });
    const first = send("first");
    expect(runs).toHaveLength(1);
    const later = [send("second"), send("third")];
    expect(scheduler.view(REF)).toMatchObject({ depth: 2, active: { runId: "r-first", runIds: ["r-first"] } });
    expect(depth()).toBe(2);
    expect([...runs[0]!.run.exclude]).toEqual(["e-second", "e-third"]);
    runs[0]!.finish();
    await settle();
    expect(runs).toHaveLength(2);
    expect(runs[1]!.run.runIds()).toEqual(["r-second", "r-third"]);
    expect(runs[1]!.run.exclude.size).toBe(0);
    runs[1]!.finish();
    expect(await first).toMatchObject({ runId: "r-first", batchRunId: "r-first", status: "ok", reply: "re: r-first" });
    const [b, c] = await Promise.all(later);
    expect(b).toMatchObject({ runId: "r-second", batchRunId: "r-second", reply: "re: r-second+r-third" });
    expect(c).toMatchObject({ runId: "r-third", batchRunId: "r-second", reply: "re: r-second+r-third" });
    expect(depth()).toBe(0);
    expect(scheduler.view(REF)).toBeUndefined();
  });

  it("followup: each queued message gets its own run, in order, and does not see the ones behind it", async () => {
    const { runs, send } = setup({ mode: "followup" });
    const outcomes = [send("first"), send("second"), send("third")];
    for (let i = 0; i < 3; i++) {
      expect(runs).toHaveLength(i + 1);
      runs[i]!.finish();
      await settle();
    }
    expect(runs.map((r) => r.run.runIds())).toEqual([["r-first"], ["r-second"], ["r-third"]]);
    expect([...runs[1]!.run.exclude]).toEqual(["e-third"]);
    expect((await Promise.all(outcomes)).map((o) => o.reply)).toEqual(["re: r-first", "re: r-second", "re: r-third"]);
  });

  it("steer: a message joins the active run (read at its next model round) instead of waiting", async () => {
    const { scheduler, runs, send, depth } = setup({ mode: "steer" });
    const first = send("start");
    runs[0]!.run.onRound(0);
    const steered = send("also this");
    expect(runs).toHaveLength(1);
    expect(runs[0]!.run.runIds()).toEqual(["r-start", "r-also this"]);
    expect(runs[0]!.run.exclude.has("e-also this")).toBe(false);
    expect(scheduler.view(REF)!.depth).toBe(0);
    expect(depth()).toBe(0);
    runs[0]!.run.onRound(1);
    runs[0]!.finish({ reply: "saw both" });
    expect(await steered).toMatchObject({ runId: "r-also this", batchRunId: "r-start", reply: "saw both" });
    expect((await first).reply).toBe("saw both");
    await settle();
    expect(runs).toHaveLength(1);
  });

  it("steer: a message joining after the run's last model round is queued again and gets a follow-up run", async () => {
    const { runs, send, depth } = setup({ mode: "steer" });
    const first = send("start");
    runs[0]!.run.onRound(0);
    const late = send("too late");
    runs[0]!.finish();
    expect((await first).batchRunId).toBe("r-start");
    await settle();
    expect(runs).toHaveLength(2);
    expect(runs[1]!.run.runIds()).toEqual(["r-too late"]);
    expect(depth()).toBe(0);
    runs[1]!.finish();
    expect(await late).toMatchObject({ batchRunId: "r-too late", status: "ok" });
  });

  it("steer: a failed run does not re-queue a late steered message; it shares the failure", async () => {
    const { runs, send } = setup({ mode: "steer" });
    void send("start");
    runs[0]!.run.onRound(0);
    const late = send("too late");
    runs[0]!.finish({ status: "error", reply: null, delivered: false, error: "model down" });
    expect(await late).toMatchObject({ status: "error", error: "model down", batchRunId: "r-start" });
    await settle();
    expect(runs).toHaveLength(1);
  });

  it("steer-backlog: a message joins the active run and also stays queued for a follow-up run", async () => {
    const { scheduler, runs, send } = setup({ mode: "steer-backlog" });
    void send("start");
    runs[0]!.run.onRound(0);
    const backlog = send("more");
    expect(runs[0]!.run.runIds()).toEqual(["r-start", "r-more"]);
    expect(runs[0]!.run.exclude.has("e-more")).toBe(false);
    expect(scheduler.view(REF)!.depth).toBe(1);
    runs[0]!.run.onRound(1);
    runs[0]!.finish();
    expect((await backlog).batchRunId).toBe("r-start");
    await settle();
    expect(runs).toHaveLength(2);
    expect(runs[1]!.run.runIds()).toEqual(["r-more"]);
  });

  it("interrupt: the active run is aborted and the newest message runs next", async () => {
    const { runs, send } = setup({ mode: "interrupt" });
    const first = send("long task");
    const signal = runs[0]!.run.signal;
    expect(signal.aborted).toBe(false);
    const second = send("never mind");
    expect(signal.aborted).toBe(true);
    runs[0]!.finish({ status: "aborted", reply: null, delivered: false });
    expect((await first).status).toBe("aborted");
    await settle();
    expect(runs[1]!.run.runIds()).toEqual(["r-never mind"]);
    runs[1]!.finish();
    expect((await second).reply).toBe("re: r-never mind");
  });

  it("debounce: the run waits until the newest message is debounceMs old, then takes the burst", async () => {
    const { runs, send } = setup({ mode: "collect", debounceMs: 500 });
    void send("a");
    await vi.advanceTimersByTimeAsync(300);
    void send("b");
    await vi.advanceTimersByTimeAsync(499);
    expect(runs).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.run.runIds()).toEqual(["r-a", "r-b"]);
  });
});

describe("overflow: cap and drop", () => {
  it("drop:new refuses the incoming message and keeps the queued one", async () => {
    const { scheduler, runs, send, depth } = setup({ mode: "followup", cap: 1, drop: "new" });
    void send("one");
    const queued = send("two");
    const refused = await send("three");
    expect(refused).toEqual({
      runId: "r-three",
      status: "dropped",
      reply: null,
      delivered: false,
      error: "dropped: the session queue is full",
    });
    expect(scheduler.view(REF)!.depth).toBe(1);
    expect(depth()).toBe(1);
    runs[0]!.finish();
    await settle();
    expect(runs[1]!.run.runIds()).toEqual(["r-two"]);
    expect(runs[1]!.run.note).toBeUndefined();
    runs[1]!.finish();
    expect((await queued).status).toBe("ok");
  });

  it("drop:old pushes out the oldest queued message, with no overflow note", async () => {
    const { runs, send, depth } = setup({ mode: "followup", cap: 1, drop: "old" });
    void send("one");
    const pushedOut = send("two");
    void send("three");
    expect(await pushedOut).toMatchObject({ status: "dropped", error: "dropped: the session queue is full" });
    expect(depth()).toBe(1);
    runs[0]!.finish();
    await settle();
    expect(runs[1]!.run.runIds()).toEqual(["r-three"]);
    expect(runs[1]!.run.note).toBeUndefined();
  });

  it("drop:summarize tells the next run, once, what was dropped", async () => {
    const { runs, send } = setup({ mode: "followup", cap: 1, drop: "summarize" });
    void send("one");
    const dropped = send("two");
    void send("three");
    expect((await dropped).status).toBe("dropped");
    runs[0]!.finish();
    await settle();
    expect(runs[1]!.run.note).toBe("[Queue overflow] Dropped 1 message(s) due to cap.\nSummary:\n- two");
    void send("four");
    runs[1]!.finish();
    await settle();
    expect(runs[2]!.run.note).toBeUndefined();
  });
});

describe("/stop and abort", () => {
  it("abort stops the active run, clears the queue and resolves everything queued as aborted", async () => {
    const { scheduler, runs, send, depth } = setup({ mode: "followup" });
    const first = send("work");
    const queued = send("more");
    expect(scheduler.abort(REF, "stopped by /stop")).toEqual({ aborted: true, runIds: ["r-work"], cleared: 1 });
    expect(runs[0]!.run.signal.aborted).toBe(true);
    expect(await queued).toEqual({
      runId: "r-more",
      status: "aborted",
      reply: null,
      delivered: false,
      error: "stopped by /stop",
    });
    expect(depth()).toBe(0);
    // A second /stop finds the run already aborted.
    expect(scheduler.abort(REF, "again")).toEqual({ aborted: false, runIds: [], cleared: 0 });
    runs[0]!.finish({ status: "aborted", reply: null, delivered: false });
    expect((await first).status).toBe("aborted");
    await settle();
    expect(runs).toHaveLength(1);
    expect(scheduler.view(REF)).toBeUndefined();
  });

  it("the /stop command aborts through the scheduler, marks abortedLastRun and says what it stopped", async () => {
    const { scheduler, runs, send } = setup({ mode: "followup" });
    void send("work");
    void send("more");
    let row: SessionEntry = { sessionId: "s1", updatedAt: 1 };
    const ctx = {
      manager: {
        async patchSession(
          _agentId: string,
          _key: string,
          mutate: (cur: SessionEntry | undefined, now: number) => SessionEntry | null | undefined,
        ) {
          row = mutate(row, Date.now()) ?? row;
          return row;
        },
      },
      abort: (agentId: string, sessionKey: string, reason?: string) =>
        scheduler.abort({ agentId, sessionKey }, reason ?? "aborted"),
    } as unknown as CommandContext;
    const envelope = {
      channel: "telegram",
      chatType: "direct" as const,
      peerId: "alice",
      senderId: "alice",
      text: "/stop",
    };
    const reply = await handleCommand(ctx, { name: "stop", args: "" }, { ...REF, envelope, channel: "telegram" });
    expect(reply).toBe("⚙️ Agent was aborted. Stopped 1 run(s), cleared 1 queued message(s).");
    expect(row.abortedLastRun).toBe(true);
    expect(runs[0]!.run.signal.aborted).toBe(true);
  });

  it("a /stop while the queue waits on its debounce closes the session's lane and gives its lease back", async () => {
    const leases = fakeLeases(true);
    const { scheduler, runs, send } = setup({ mode: "collect", debounceMs: 1000, leases });
    const waiting = send("soon");
    expect(leases.held).toBe(1);
    expect(scheduler.abort(REF, "stopped")).toEqual({ aborted: false, runIds: [], cleared: 1 });
    expect((await waiting).status).toBe("aborted");
    expect(scheduler.view(REF)).toBeUndefined();
    expect(leases.held).toBe(0);
    await vi.advanceTimersByTimeAsync(2000);
    expect(runs).toHaveLength(0);
  });

  it("abortActive (compaction) aborts only the running turn; queued messages stay", async () => {
    const { scheduler, runs, send } = setup({ mode: "followup" });
    void send("work");
    void send("more");
    scheduler.abortActive(REF);
    expect(runs[0]!.run.signal.aborted).toBe(true);
    expect(scheduler.view(REF)!.depth).toBe(1);
  });
});

describe("tasks, failures and leases", () => {
  it("a task runs alone in the slot: messages before it run first, messages after it run after", async () => {
    const { scheduler, runs, send } = setup({ mode: "collect" });
    void send("a");
    const order: string[] = [];
    let endTask!: () => void;
    scheduler.enqueue(
      REF,
      {
        runId: "task",
        entryId: null,
        preview: "/compact",
        settings: { mode: "followup", debounceMs: 0, cap: Number.MAX_SAFE_INTEGER, drop: "new" },
        resolve: () => order.push("task resolved"),
        task: () =>
          new Promise((r) => (endTask = () => r({ runId: "task", status: "ok", reply: null, delivered: false }))),
      },
      {},
    );
    void send("b");
    runs[0]!.finish();
    await settle();
    expect(runs).toHaveLength(1);
    expect(scheduler.view(REF)).toMatchObject({ depth: 1, active: { runId: "task", isTask: true } });
    endTask();
    await settle();
    expect(order).toEqual(["task resolved"]);
    expect(runs[1]!.run.runIds()).toEqual(["r-b"]);
  });

  it("a failing run ends with an error outcome for its batch, and the queue goes on", async () => {
    const { runs, send } = setup({ mode: "followup" });
    const first = send("one");
    const second = send("two");
    runs[0]!.fail(new Error("disk full"));
    expect(await first).toEqual({ runId: "r-one", status: "error", reply: null, delivered: false, error: "disk full" });
    await settle();
    runs[1]!.finish();
    expect((await second).status).toBe("ok");
  });

  it("holds the session's lease while the queue has work and releases it when idle", async () => {
    const leases = fakeLeases(false);
    const { scheduler, runs, send } = setup({ mode: "followup", leases });
    const first = send("one");
    await settle();
    expect(leases.acquired).toBe(1);
    expect(leases.held).toBe(1);
    runs[0]!.finish();
    await first;
    await settle();
    expect(scheduler.view(REF)).toBeUndefined();
    expect(leases.held).toBe(0);
  });

  it("tells a run whether anything waits behind it (then its last write may free the lease)", async () => {
    const { runs, send } = setup({ mode: "followup" });
    const first = send("one");
    await settle();
    expect(runs[0]!.run.nothingQueued()).toBe(true);
    const second = send("two");
    expect(runs[0]!.run.nothingQueued()).toBe(false);
    runs[0]!.finish();
    await first;
    await settle();
    expect(runs[1]!.run.nothingQueued()).toBe(true);
    runs[1]!.finish();
    await second;
  });

  it("a queued run whose hold is no longer current (its lease was freed by a write) takes the lease again", async () => {
    const leases = fakeLeases(false);
    const { runs, send } = setup({ mode: "followup", leases });
    const first = send("one");
    await settle();
    const second = send("two");
    // The first run's last write freed the lease (as SessionLeases.freedBy marks it).
    leases.current = false;
    runs[0]!.finish();
    await first;
    await settle();
    expect(leases.acquired).toBe(2);
    runs[1]!.finish();
    await second;
    await settle();
    expect(leases.held).toBe(0);
  });

  it("a session busy on another gateway fails its batch with an error naming it", async () => {
    const leases = fakeLeases(false, new Error("lease wait timed out after 5000 ms"));
    const { runs, send } = setup({ leases });
    const outcome = await send("one");
    expect(outcome).toMatchObject({
      status: "error",
      error: "the session is busy on another gateway: lease wait timed out after 5000 ms",
    });
    expect(runs).toHaveLength(0);
  });
});

describe("drain", () => {
  it("waits for the in-flight run and its queued follow-up", async () => {
    const { scheduler, runs, send } = setup({ mode: "followup" });
    const outcomes = [send("in flight"), send("queued")];
    const drained = scheduler.drain(10_000);
    runs[0]!.finish();
    await settle();
    expect(await isSettled(drained)).toBe(false);
    runs[1]!.finish();
    await drained;
    expect((await Promise.all(outcomes)).map((o) => o.status)).toEqual(["ok", "ok"]);
  });

  it("returns at once when nothing runs or waits", async () => {
    const { scheduler } = setup();
    expect(await isSettled(scheduler.drain(10_000))).toBe(true);
  });

  it("at the deadline aborts what still runs and what is queued, then returns when the run has ended", async () => {
    const { scheduler, runs, send } = setup({ mode: "followup" });
    void send("stuck");
    const queued = send("behind");
    const drained = scheduler.drain(200);
    await vi.advanceTimersByTimeAsync(199);
    expect(runs[0]!.run.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs[0]!.run.signal.aborted).toBe(true);
    expect(await queued).toMatchObject({ status: "aborted", error: "gateway shutting down" });
    expect(await isSettled(drained)).toBe(false);
    runs[0]!.finish({ status: "aborted", reply: null, delivered: false });
    await settle();
    expect(await isSettled(drained)).toBe(true);
  });

  it("gives an aborted run that never ends two more seconds, then returns anyway", async () => {
    const { scheduler, send } = setup({ mode: "followup" });
    void send("hung");
    const drained = scheduler.drain(100);
    await vi.advanceTimersByTimeAsync(100 + 1999);
    expect(await isSettled(drained)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await isSettled(drained)).toBe(true);
  });
});

/** Session leases as the scheduler sees them; `held` counts holds not yet given back. */
function fakeLeases(alreadyHeld: boolean, acquireError?: Error) {
  const hold: SessionHold = { ...REF };
  const state = {
    held: 0,
    acquired: 0,
    /** Set to false to make the holds taken so far stale; the next acquisition is current again. */
    current: true,
    retain: () => {
      if (!alreadyHeld) return null;
      state.held++;
      return hold;
    },
    acquire: async () => {
      if (acquireError) throw acquireError;
      state.acquired++;
      state.held++;
      state.current = true;
      return hold;
    },
    release: () => {
      state.held--;
    },
    isCurrent: () => state.current && state.held > 0,
  };
  return state;
}
