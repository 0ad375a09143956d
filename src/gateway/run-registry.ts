/**
 * Recent run outcomes, so `?async=1` callers and `agent.wait` can fetch them later, and so a
 * `chat.send` retried with the same idempotency key gets its first run back. Runs belong to the
 * principal that started them: a WebSocket run id is the caller's idempotency key (as in
 * OpenClaw), so two callers may use the same id, and neither ever sees the other's run by it.
 */
import type { Accepted, TurnOutcome } from "../runtime/runtime.ts";

const MAX_RUNS = 10_000;
/** Memory for remembered replies: a run's outcome holds its whole reply text. */
export const MAX_OUTCOME_BYTES = 32 * 1024 * 1024;

export interface RunRecord {
  runId: string;
  owner: string;
  agentId: string;
  sessionKey: string;
  outcome: TurnOutcome | null;
  done: Promise<TurnOutcome>;
}

export class RunRegistry {
  /** By owner and run id; insertion order is age, for the bound. */
  private readonly runs = new Map<string, RunRecord>();
  /** Run id → owners that used it (for lookups that may cross owners, e.g. the operator's). */
  private readonly owners = new Map<string, string[]>();
  private outcomeBytes = 0;

  track(accepted: Accepted, owner: string): RunRecord {
    const rec: RunRecord = {
      runId: accepted.runId,
      owner,
      agentId: accepted.agentId,
      sessionKey: accepted.sessionKey,
      outcome: null,
      done: accepted.done,
    };
    const k = slot(owner, accepted.runId);
    if (!this.runs.has(k)) this.owners.set(accepted.runId, [...(this.owners.get(accepted.runId) ?? []), owner]);
    const prior = this.runs.get(k);
    if (prior?.outcome) this.outcomeBytes -= outcomeSize(prior.outcome);
    this.runs.delete(k);
    this.runs.set(k, rec);
    void accepted.done.then((o) => {
      if (this.runs.get(k) !== rec) return;
      rec.outcome = o;
      this.outcomeBytes += outcomeSize(o);
      this.bound();
    });
    this.bound();
    return rec;
  }

  /** Memory held by remembered outcomes (approximate). */
  get outcomeMemory(): number {
    return this.outcomeBytes;
  }

  /** The run `owner` started under this id (a chat.send idempotency key), if still remembered. */
  own(owner: string, runId: string): RunRecord | undefined {
    return this.runs.get(slot(owner, runId));
  }

  /** The caller's own run with this id first, else another owner's run that `visible` admits. */
  find(runId: string, owner: string, visible: (rec: RunRecord) => boolean): RunRecord | undefined {
    const mine = this.own(owner, runId);
    if (mine) return mine;
    for (const o of this.owners.get(runId) ?? []) {
      const rec = this.runs.get(slot(o, runId));
      if (rec && visible(rec)) return rec;
    }
    return undefined;
  }

  /** Oldest first out, past the count or the memory bound. */
  private bound(): void {
    while (this.runs.size > MAX_RUNS || (this.outcomeBytes > MAX_OUTCOME_BYTES && this.runs.size > 0))
      this.evict(this.runs.keys().next().value as string);
  }

  private evict(k: string): void {
    const rec = this.runs.get(k);
    this.runs.delete(k);
    if (!rec) return;
    if (rec.outcome) this.outcomeBytes -= outcomeSize(rec.outcome);
    const rest = (this.owners.get(rec.runId) ?? []).filter((o) => o !== rec.owner);
    if (rest.length > 0) this.owners.set(rec.runId, rest);
    else this.owners.delete(rec.runId);
  }
}

function outcomeSize(o: TurnOutcome): number {
  return (o.reply?.length ?? 0) * 2 + (o.error?.length ?? 0) * 2 + 256;
}

function slot(owner: string, runId: string): string {
  return `${owner}\u0000${runId}`;
}
