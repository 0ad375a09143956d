/** The one ordering every backend lists in: newest `updatedAt` first, ties by key. */
import type { ListFilter, ListPage, SessionRow } from "./types.ts";

export function compareRows(a: SessionRow, b: SessionRow): number {
  const d = (b.entry.updatedAt ?? -Infinity) - (a.entry.updatedAt ?? -Infinity);
  if (d !== 0 && !Number.isNaN(d)) return d;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

export function matchesFilter(row: SessionRow, filter: ListFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.keyPrefix !== undefined && !row.key.startsWith(filter.keyPrefix)) return false;
  if (filter.activeSince !== undefined && !(row.entry.updatedAt >= filter.activeSince)) return false;
  return true;
}

interface Cursor {
  u: number;
  k: string;
}

export function encodeCursor(row: SessionRow): string {
  const c: Cursor = { u: row.entry.updatedAt, k: row.key };
  return Buffer.from(JSON.stringify(c)).toString("base64url");
}

export function decodeCursor(cursor: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Partial<Cursor>;
    if (typeof c.u === "number" && typeof c.k === "string") return { u: c.u, k: c.k };
  } catch {
    // fall through to the error below
  }
  throw new Error(`invalid list cursor ${JSON.stringify(cursor)}`);
}

/** True when `row` sorts strictly after the cursor position. */
export function isAfterCursor(row: SessionRow, cursor: Cursor): boolean {
  return compareRows(row, { key: cursor.k, entry: { sessionId: "", updatedAt: cursor.u } }) > 0;
}

/** Pages an already sorted, already filtered sequence. */
export function pageOf(sorted: Iterable<SessionRow>, cursor: string | null | undefined, limit: number): ListPage {
  const after = cursor ? decodeCursor(cursor) : null;
  const rows: SessionRow[] = [];
  let more = false;
  for (const row of sorted) {
    if (after && !isAfterCursor(row, after)) continue;
    if (rows.length === limit) {
      more = true;
      break;
    }
    rows.push(row);
  }
  const last = rows[rows.length - 1];
  return { rows, nextCursor: more && last ? encodeCursor(last) : null };
}
