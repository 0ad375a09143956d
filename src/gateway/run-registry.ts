/** Recent run outcomes by run id, so `?async=1` callers and `agent.wait` can fetch them later. */
import type { Accepted, TurnOutcome } from "../runtime/runtime.ts";

const MAX_RUNS = 10_000;

export class RunRegistry {
  private readonly runs = new Map<string, { owner: string; sessionKey: string; outcome: TurnOutcome | null; done: Promise<TurnOutcome> }>();

  track(accepted: Accepted, owner = "operator"): void {
    const rec = { owner, sessionKey: accepted.sessionKey, outcome: null as TurnOutcome | null, done: accepted.done };
    this.runs.set(accepted.runId, rec);
    void accepted.done.then((o) => {
      rec.outcome = o;
    });
    if (this.runs.size > MAX_RUNS) this.runs.delete(this.runs.keys().next().value as string);
  }

  get(runId: string): { owner: string; sessionKey: string; outcome: TurnOutcome | null; done: Promise<TurnOutcome> } | undefined {
    return this.runs.get(runId);
  }
}
