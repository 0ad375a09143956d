/**
 * Bounded listing straight from disk for the CLI: when the snapshot is Pincer-written (sorted
 * newest first), the newest N rows are found by reading only the head of `sessions.json` plus the
 * journal, so `pincer sessions --limit 50` stays fast on a store of any size.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { SessionEntry } from "../entry.ts";
import { compareRows, matchesFilter } from "../list-order.ts";
import type { ListFilter, SessionRow } from "../types.ts";
import { JOURNAL_RE, JournalState, parseRecord } from "./journal.ts";
import { isSessionEntry, snapshotIsSorted, streamSnapshotRows } from "./snapshot.ts";

/** A map that remembers deletions, so journal deletes can hide rows of the snapshot. */
class OverlayMap extends Map<string, SessionEntry> {
  readonly deleted = new Set<string>();
  override set(key: string, value: SessionEntry): this {
    this.deleted.delete(key);
    return super.set(key, value);
  }
  override delete(key: string): boolean {
    this.deleted.add(key);
    return super.delete(key);
  }
}

function replayJournals(dir: string): OverlayMap {
  const overlay = new OverlayMap();
  const state = new JournalState(overlay);
  let names: string[] = [];
  try {
    names = fs
      .readdirSync(dir)
      .filter((n) => JOURNAL_RE.test(n))
      .sort();
  } catch {
    return overlay;
  }
  for (const name of names) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, name), "utf8");
    } catch {
      continue;
    }
    state.sealedTo = null;
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      const rec = parseRecord(line);
      if (rec) state.apply(rec);
      if (state.sealedTo !== null) break;
    }
  }
  return overlay;
}

/**
 * The newest `limit` rows matching `filter`, or null when the snapshot is not in Pincer's sorted
 * form (the caller then loads the whole store).
 */
export function listHeadFromDisk(storePath: string, filter: ListFilter, limit: number): SessionRow[] | null {
  if (!fs.existsSync(storePath) || !snapshotIsSorted(storePath)) return null;
  const overlay = replayJournals(path.dirname(storePath));
  const candidates: SessionRow[] = [];
  for (const [key, entry] of overlay) {
    const row = { key, entry };
    if (matchesFilter(row, filter)) candidates.push(row);
  }
  let fromSnapshot = 0;
  streamSnapshotRows(storePath, (key, value) => {
    if (overlay.has(key) || overlay.deleted.has(key) || !isSessionEntry(value)) return true;
    const row = { key, entry: value };
    // Sorted newest first: once rows are older than the window, nothing later can match.
    if (filter.activeSince !== undefined && !(value.updatedAt >= filter.activeSince)) return false;
    if (!matchesFilter(row, filter)) return true;
    candidates.push(row);
    fromSnapshot++;
    return fromSnapshot < limit;
  });
  return candidates.sort(compareRows).slice(0, limit);
}
