/**
 * A read-only pass over an fs store's index for the CLI at 100 000 rows: the journals replayed with
 * the store's own rules (fencing, seals followed), and the rows of a Pincer-written snapshot streamed
 * one at a time instead of parsed whole, so a listing or a dry run holds what it prints, not the
 * whole index. It reads exactly what `FsSessionStore.open` + `all()` would see; anything it cannot
 * vouch for (a snapshot not in Pincer's sorted form) makes `openDiskIndex` return null and the
 * caller opens the store as before.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { SessionEntry } from "../entry.ts";
import type { ReadIssue, SessionRow } from "../types.ts";
import { isValidSessionId } from "../../keys/ids.ts";
import { JOURNAL_RE, JournalState, journalName, parseRecord } from "./journal.ts";
import { isSessionEntry, metaPathFor, migrateLegacyFields, type SnapshotMeta } from "./snapshot.ts";
import { rawString, type RawRow, type RowScanner } from "./sessions-json-reader.ts";

/** The journals' effect on the index, in file order: a row put (entry) or deleted (null). */
type JournalOp = readonly [key: string, entry: SessionEntry | null];

/** A Map that records what the journal state machine does to it, in order. */
class RecordingMap extends Map<string, SessionEntry> {
  readonly ops: JournalOp[] = [];
  override set(key: string, value: SessionEntry): this {
    this.ops.push([key, value]);
    return super.set(key, value);
  }
  override delete(key: string): boolean {
    this.ops.push([key, null]);
    return super.delete(key);
  }
}

export interface DiskIndex {
  /** The regular files of the sessions directory (one `readdir`, reused for the disk inventory). */
  readonly files: readonly string[];
  /** Valid rows in the snapshot (from its meta, which matches the file exactly). */
  readonly snapshotCount: number;
  /** The journals' changes, in order. */
  readonly ops: readonly JournalOp[];
  /** The snapshot's rows in file order (newest first), read as they are asked for; invalid rows are reported and skipped. */
  snapshotRows(): Generator<SessionRow>;
  /**
   * The same rows (valid ones, same order, same issues) without parsing them: the scanner's fields
   * as written (it must ask for `sessionId`). Fields that `loadSnapshot` renames (legacy `channel`, `lastChannel`,
   * `groupChannel`) and a non-number `updatedAt` (read as 0) are the caller's to interpret.
   */
  snapshotRawRows(scanner: RowScanner): Generator<RawRow>;
  /** Which of `keys` are valid rows of the snapshot, found from its key lines without parsing a row. */
  snapshotKeysAmong(keys: ReadonlySet<string>): Set<string>;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === "ENOENT";
}

/**
 * Opens the index beside `storePath`. Returns an empty index when the directory does not exist,
 * and null when the snapshot is not Pincer's sorted form (the caller loads the store instead).
 */
export function openDiskIndex(storePath: string, onIssue: (issue: ReadIssue) => void): DiskIndex | null {
  const dir = path.dirname(storePath);
  let names: string[];
  try {
    names = listFiles(dir);
  } catch (err) {
    if (isMissing(err))
      return {
        files: [],
        snapshotCount: 0,
        ops: [],
        snapshotRows: function* () {},
        snapshotRawRows: function* () {},
        snapshotKeysAmong: () => new Set(),
      };
    throw err;
  }
  // A compaction may delete a journal between listing and opening it: start over, as the store does.
  for (let attempt = 0; ; attempt++) {
    try {
      return openOnce(storePath, names, onIssue);
    } catch (err) {
      if (!isMissing(err) || attempt >= 5) throw err;
      names = listFiles(dir);
    }
  }
}

/** Regular files only, as `diskInventory` lists them (journals are regular files too). */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  // readdirSync, not opendir: the inventory's order (sorted by name) is part of what a dry run prints.
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) if (d.isFile()) out.push(d.name);
  return out;
}

function openOnce(storePath: string, names: string[], onIssue: (issue: ReadIssue) => void): DiskIndex | null {
  const dir = path.dirname(storePath);
  const gens = names
    .map((n) => JOURNAL_RE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  // Journals opened before the snapshot (as `FsSessionStore` does): a snapshot written meanwhile only
  // makes their replay redundant, never lossy.
  const fds: Array<{ gen: number; fd: number }> = [];
  let snapFd: number | null = null;
  try {
    for (const gen of gens) fds.push({ gen, fd: fs.openSync(path.join(dir, journalName(gen)), "r") });
    try {
      snapFd = fs.openSync(storePath, "r");
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    const count = snapFd === null ? 0 : sortedCount(storePath, snapFd);
    if (count === null) return null;
    const rows = new RecordingMap();
    const state = new JournalState(rows);
    for (const { gen, fd } of fds) replayJournal(dir, gen, fd, state, onIssue);
    // The last journal may have been sealed by a compaction whose successor was not listed.
    let last = gens[gens.length - 1];
    while (last !== undefined && state.sealedTo !== null) {
      const next: number = state.sealedTo;
      let fd: number;
      try {
        fd = fs.openSync(path.join(dir, journalName(next)), "r");
      } catch (err) {
        if (isMissing(err)) break;
        throw err;
      }
      fds.push({ gen: next, fd });
      replayJournal(dir, next, fd, state, onIssue);
      last = next;
    }
    const fd = snapFd;
    snapFd = null;
    // The descriptor stays open until the rows are streamed: the file read is the one whose meta matched.
    let open = fd !== null;
    const done = (): void => {
      if (open && fd !== null) fs.closeSync(fd);
      open = false;
    };
    return {
      files: names,
      snapshotCount: count,
      ops: rows.ops,
      snapshotRows: function* () {
        if (!open || fd === null) return;
        try {
          yield* streamRows(fd, storePath, onIssue);
        } finally {
          done();
        }
      },
      snapshotRawRows: function* (scanner) {
        if (!open || fd === null) return;
        try {
          yield* streamRawRows(fd, storePath, scanner, onIssue);
        } finally {
          done();
        }
      },
      snapshotKeysAmong: (keys) => (open && fd !== null && keys.size > 0 ? keyScan(fd, count, keys) : new Set()),
    };
  } finally {
    for (const { fd } of fds) fs.closeSync(fd);
    if (snapFd !== null) fs.closeSync(snapFd);
  }
}

/** The valid-row count of a snapshot whose meta describes exactly this file, else null. */
function sortedCount(storePath: string, fd: number): number | null {
  let meta: Partial<SnapshotMeta>;
  try {
    meta = JSON.parse(fs.readFileSync(metaPathFor(storePath), "utf8")) as Partial<SnapshotMeta>;
  } catch {
    return null;
  }
  const st = fs.fstatSync(fd);
  if (meta.order !== "updatedAt-desc" || meta.size !== st.size || meta.mtimeMs !== st.mtimeMs) return null;
  return typeof meta.count === "number" && Number.isSafeInteger(meta.count) ? meta.count : null;
}

/** Applies one journal's complete lines (the store's reading: a torn last line is not yet a record). */
function replayJournal(
  dir: string,
  gen: number,
  fd: number,
  state: JournalState,
  onIssue: (issue: ReadIssue) => void,
): void {
  const buf = fs.readFileSync(fd);
  state.sealedTo = null;
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) break;
    const line = buf.toString("utf8", start, nl);
    if (line.trim() !== "") {
      const rec = parseRecord(line);
      if (rec) state.apply(rec);
      else
        onIssue({
          file: path.join(dir, journalName(gen)),
          line: 0,
          byteOffset: start,
          reason: "malformed journal line skipped",
        });
    }
    start = nl + 1;
    if (state.sealedTo !== null) break;
  }
}

/**
 * Complete rows of `JSON.stringify(store, null, 2)`, read 256 KB at a time, as text: each batch
 * starts at the newline before a key line (after the previous batch's separating comma) and ends
 * at a line that is exactly "  }" (deeper lines are indented further, and JSON strings never hold
 * a raw newline).
 */
function* snapshotBatches(fd: number): Generator<string> {
  // Cut in bytes at the last row end, so each batch is decoded once and never concatenated; small
  // enough to stay a young-generation string (a bigger one lives until a full GC).
  let chunk = Buffer.allocUnsafe(BATCH_BYTES);
  let carried = 0;
  let position = 0;
  let from = -1; // where rows start in the first chunk (after the opening brace)
  for (;;) {
    if (carried === chunk.length) {
      // A row longer than the buffer (a huge field): grow it.
      const bigger = Buffer.allocUnsafe(chunk.length * 2);
      chunk.copy(bigger, 0, 0, carried);
      chunk = bigger;
    }
    const n = fs.readSync(fd, chunk, carried, chunk.length - carried, position);
    if (n === 0) return;
    position += n;
    const filled = carried + n;
    if (from < 0) {
      if (chunk[0] !== 0x7b) return;
      from = 1;
    }
    // A row ends at a line that is exactly "  }" (ASCII: no UTF-8 sequence is split there).
    const cut = chunk.lastIndexOf(ROW_END, filled - 1);
    if (cut < from) {
      carried = filled;
      continue;
    }
    const batch = chunk.toString("utf8", from, cut + ROW_END.length);
    chunk.copy(chunk, 0, cut + ROW_END.length, filled);
    carried = filled - cut - ROW_END.length;
    from = 0;
    yield batch;
  }
}

const ROW_END = Buffer.from("\n  }");
const BATCH_BYTES = Number(process.env.PINCER_BATCH_KB ?? 256) * 1024;

function unusableRow(storePath: string, key: string): ReadIssue {
  return {
    file: storePath,
    line: 0,
    byteOffset: 0,
    reason: `${storePath}: row ${JSON.stringify(key)} is not a usable session entry (needs a sessionId matching ^[a-z0-9][a-z0-9._-]{0,127}$); kept as is and ignored`,
  };
}

/** The snapshot's rows, parsed and normalised as `loadSnapshot` does. */
function* streamRows(fd: number, storePath: string, onIssue: (issue: ReadIssue) => void): Generator<SessionRow> {
  for (const raw of snapshotBatches(fd)) {
    const batch = raw.replace(/^,?\s*\n/, "");
    // Every complete row of the chunk in one JSON.parse (one native call, as fast as a whole-file
    // parse). A JS object lists array-index keys first: when the first key is one, the batch may be
    // reordered, so its rows go one by one (file order).
    const whole = JSON.parse(`{${batch}}`) as Record<string, unknown>;
    const objs = ARRAY_INDEX.test(firstKey(whole))
      ? rowTexts(batch).map((t) => JSON.parse(`{${t}}`) as Record<string, unknown>)
      : [whole];
    for (const obj of objs) {
      for (const [key, value] of Object.entries(obj)) {
        if (!isSessionEntry(value)) {
          onIssue(unusableRow(storePath, key));
          continue;
        }
        migrateLegacyFields(value as Record<string, unknown>);
        if (typeof value.updatedAt !== "number") value.updatedAt = 0;
        yield { key, entry: value };
      }
    }
  }
}

/** The snapshot's usable rows as the scanner's field texts: what `streamRows` yields, unparsed. */
function* streamRawRows(
  fd: number,
  storePath: string,
  scanner: RowScanner,
  onIssue: (issue: ReadIssue) => void,
): Generator<RawRow> {
  const idAt = scanner.fields.indexOf("sessionId");
  if (idAt < 0) throw new Error("snapshotRawRows: the scanner must read sessionId");
  const rows: RawRow[] = [];
  const take = (r: RawRow): void => void rows.push(r);
  const odd = (r: { key: string }): void => onIssue(unusableRow(storePath, r.key));
  for (const batch of snapshotBatches(fd)) {
    rows.length = 0;
    scanner.scan(batch, take, odd);
    for (const row of rows) {
      const id = row.values[idAt];
      // The common id needs no parse: its characters are never escaped.
      if (id === undefined || !(isPlainIdText(id) || isValidSessionId(rawString(id)))) {
        onIssue(unusableRow(storePath, row.key));
        continue;
      }
      yield row;
    }
  }
}

/** `/^"[a-z0-9][a-z0-9._-]{0,127}"$/` (a valid id needs no escape), without a regex per row. */
function isPlainIdText(t: string): boolean {
  const n = t.length;
  if (n < 3 || n > 130 || t.charCodeAt(0) !== 0x22 || t.charCodeAt(n - 1) !== 0x22) return false;
  for (let i = 1; i < n - 1; i++) {
    const c = t.charCodeAt(i);
    const alnum = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
    if (!alnum && (i === 1 || (c !== 0x2e && c !== 0x5f && c !== 0x2d))) return false;
  }
  return true;
}
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

function firstKey(obj: Record<string, unknown>): string {
  for (const k in obj) return k;
  return "";
}

/** The rows of a batch, each on its own (it ends at a line that is exactly "  }"). */
function rowTexts(batch: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (;;) {
    const end = batch.indexOf("\n  }", from);
    if (end < 0) return out;
    out.push(batch.slice(from, end + 4).replace(/^,?\s*\n/, ""));
    from = end + 4;
  }
}

/**
 * Reads only the key lines of the first `count` rows (`  "<key>": {`): Pincer writes keys with
 * `JSON.stringify`, so a key's line is its exact encoding, and nested lines are indented further.
 */
function keyScan(fd: number, count: number, keys: ReadonlySet<string>): Set<string> {
  const wanted = new Map<string, string>();
  for (const k of keys) wanted.set(JSON.stringify(k), k);
  const found = new Set<string>();
  const chunk = Buffer.allocUnsafe(1 << 20);
  const marker = Buffer.from('\n  "');
  let carry = Buffer.alloc(0);
  let position = 0;
  let seen = 0;
  while (seen < count) {
    const n = fs.readSync(fd, chunk, 0, chunk.length, position);
    if (n === 0) break;
    position += n;
    const bytes = carry.length ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
    let at = 0;
    let keep = -1;
    for (;;) {
      const hit = bytes.indexOf(marker, at);
      if (hit < 0) break;
      const eol = bytes.indexOf(0x0a, hit + 1);
      if (eol < 0) {
        keep = hit; // a key line cut by the chunk: read it whole next time
        break;
      }
      at = eol;
      const line = bytes.toString("utf8", hit + 3, eol);
      if (!line.endsWith(": {")) continue;
      seen++;
      const key = wanted.get(line.slice(0, -3));
      if (key !== undefined) found.add(key);
      if (seen >= count) break;
    }
    // Otherwise keep what may be the start of a marker cut by the chunk (never a line already read).
    if (keep < 0) keep = Math.max(at, bytes.length - marker.length + 1);
    carry = Buffer.from(bytes.subarray(keep));
  }
  return found;
}
