/**
 * Rows of sessions this process holds the lease of, on a shared store. While the lease is held no
 * other process writes the row, and every write here goes through the manager, so the row the
 * manager last wrote or read (inside the session's lane) is the row in the database: reads during a
 * turn need no round trip. An entry is valid only for the hold it was made under; once the lease is
 * released (or lost) the next hold starts empty.
 */
import type { SessionEntry } from "../store/entry.ts";
import { copyRow, freezeShared } from "../store/row-copy.ts";
import type { SessionHold, SessionLeases } from "./session-leases.ts";
import { refKey } from "./session-ref.ts";

const PRUNE_ABOVE = 4096;
/** Session ids remembered past their hold (see `lastSessionId`), least recently held dropped first. */
const MAX_LAST_IDS = 16_384;

interface Cached {
  hold: SessionHold;
  row: SessionEntry | undefined;
}

export class HeldRowCache {
  private readonly rows = new Map<string, Cached>();
  /** The session id each key's row had when last seen here, kept after the hold ends. */
  private readonly lastIds = new Map<string, string>();
  private readonly leases: SessionLeases;

  constructor(leases: SessionLeases) {
    this.leases = leases;
  }

  /** The cached row (a copy), or null when there is none valid for the current hold. */
  lookup(agentId: string, sessionKey: string): { row: SessionEntry | undefined } | null {
    const kept = this.peek(agentId, sessionKey);
    if (!kept) return null;
    return { row: kept.row ? copyRow(kept.row) : undefined };
  }

  /**
   * The cached row itself, not a copy, for a store's `known` argument (which only reads it: see
   * SessionStore.appendAndPatch); null as for `lookup`. Never change or hand out what this returns.
   */
  peek(agentId: string, sessionKey: string): { readonly row: SessionEntry | undefined } | null {
    const k = refKey({ agentId, sessionKey });
    const c = this.rows.get(k);
    if (!c) return null;
    if (!this.leases.isCurrent(c.hold)) {
      this.rows.delete(k);
      return null;
    }
    return { row: c.row };
  }

  /** Records the row as it is now; only call from inside the session's lane. */
  remember(agentId: string, sessionKey: string, row: SessionEntry | undefined): void {
    const hold = this.leases.current(agentId, sessionKey);
    if (!hold) {
      this.rows.delete(refKey({ agentId, sessionKey }));
      return;
    }
    this.rememberUnder(hold, row);
  }

  /**
   * The session id the key's row had when this process last saw it under a hold, even after the
   * hold ended: a guess (another gateway may have reset the session since) of which transcript the
   * next hold will want to catch up on.
   */
  lastSessionId(agentId: string, sessionKey: string): string | undefined {
    return this.lastIds.get(refKey({ agentId, sessionKey }));
  }

  /**
   * Records the row read together with the lease of `hold`, before that hold is visible to anyone
   * (no lane is needed: nothing else can write through this process yet).
   */
  rememberUnder(hold: SessionHold, row: SessionEntry | undefined): void {
    const k = refKey({ agentId: hold.agentId, sessionKey: hold.sessionKey });
    if (row && this.lastIds.get(k) !== row.sessionId) {
      this.lastIds.delete(k);
      this.lastIds.set(k, row.sessionId);
      if (this.lastIds.size > MAX_LAST_IDS) this.lastIds.delete(this.lastIds.keys().next().value as string);
    }
    // A JSON-semantics copy sharing the report and totals, frozen in place as the file store does
    // (they are only ever replaced whole): structuredClone of the ~3 KB row on every lookup and
    // remember was ~15 % of a Redis turn's CPU.
    this.rows.set(k, { hold, row: row ? keptCopy(row) : undefined });
    if (this.rows.size > PRUNE_ABOVE)
      for (const [key, c] of this.rows) if (!this.leases.isCurrent(c.hold)) this.rows.delete(key);
  }
}

function keptCopy(row: SessionEntry): SessionEntry {
  freezeShared(row);
  // Frozen: `peek` hands out this very object, which no one may change.
  return Object.freeze(copyRow(row));
}
