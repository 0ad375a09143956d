/**
 * The append-only journal beside `sessions.json`. Every index change is one line, appended with a
 * single `write` (O_APPEND), so it is durable before the caller is acknowledged and costs the same
 * whatever the size of the store. The journal is also where processes arbitrate the writer lease:
 * lease requests are lines too, and every reader applies the same rules in file order, so all
 * processes agree on who held the lease when — and lines written by a holder whose lease had
 * expired or been taken over are ignored by everyone (fencing).
 */
import type { SessionEntry } from "../entry.ts";
import { LeaseTable, type LeaseState } from "../lease-table.ts";

export type JournalRecord =
  | { op: "put"; k: string; v: SessionEntry; o: string; e: number; t: number }
  | { op: "del"; k: string; o: string; e: number; t: number }
  /** `over`: a takeover of that holder's lease, which the writer found dead (liveness.ts). */
  | { op: "lease"; n: string; o: string; e: number; x: number; t: number; over?: string }
  /** `for`/`until`: handed over to that waiter, reserved for it until then. */
  | { op: "free"; n: string; o: string; e: number; t: number; for?: string; until?: number }
  | { op: "want"; n: string; o: string; t: number }
  /** This generation ends here; the journal continues in generation `g`. */
  | { op: "seal"; g: number; o: string; e: number; t: number }
  /** First line of a generation: lease epochs carried over so they keep increasing. */
  | { op: "base"; g: number; leases: Array<[string, LeaseState]> };

/** The lease every index write is fenced by. */
export const INDEX_LEASE = "index";

export const JOURNAL_RE = /^sessions\.journal\.(\d{1,12})$/;

export function journalName(gen: number): string {
  return `sessions.journal.${String(gen).padStart(8, "0")}`;
}

export type RecordOutcome = "applied" | "rejected" | "ignored";

/**
 * The deterministic state machine over journal lines. `rows` is the index as of the last applied
 * line; `sealedTo` is set once a seal line is accepted (later lines in that file are void).
 */
export class JournalState {
  readonly leases = new LeaseTable();
  sealedTo: number | null = null;
  rejected = 0;

  readonly rows: Map<string, SessionEntry>;

  constructor(rows: Map<string, SessionEntry>) {
    this.rows = rows;
  }

  apply(rec: JournalRecord): RecordOutcome {
    if (this.sealedTo !== null) return "ignored";
    switch (rec.op) {
      case "put":
      case "del": {
        if (!this.leases.isCurrent(INDEX_LEASE, { name: INDEX_LEASE, owner: rec.o, epoch: rec.e }, rec.t)) {
          this.rejected++;
          return "rejected";
        }
        if (rec.op === "put") this.rows.set(rec.k, rec.v);
        else this.rows.delete(rec.k);
        return "applied";
      }
      case "lease":
        return this.leases.request(
          rec.n,
          rec.o,
          rec.e,
          rec.x,
          rec.t,
          typeof rec.over === "string" ? rec.over : undefined,
        )
          ? "applied"
          : "rejected";
      case "free": {
        const handTo =
          typeof rec.for === "string" && typeof rec.until === "number"
            ? { owner: rec.for, until: rec.until }
            : undefined;
        return this.leases.release(rec.n, rec.o, rec.e, handTo) ? "applied" : "ignored";
      }
      case "want":
        return "applied";
      case "seal":
        if (!this.leases.isCurrent(INDEX_LEASE, { name: INDEX_LEASE, owner: rec.o, epoch: rec.e }, rec.t))
          return "rejected";
        this.sealedTo = rec.g;
        return "applied";
      case "base":
        for (const [name, state] of rec.leases) {
          const cur = this.leases.get(name);
          if (!cur || cur.epoch < state.epoch) this.leases.restore(name, state);
        }
        return "applied";
    }
  }
}

/** Parses one line; returns null for a torn or garbage line (the caller reports it). */
export function parseRecord(line: string): JournalRecord | null {
  try {
    const rec = JSON.parse(line) as { op?: unknown };
    if (rec && typeof rec === "object" && typeof rec.op === "string") return rec as JournalRecord;
  } catch {
    // reported by the caller
  }
  return null;
}
