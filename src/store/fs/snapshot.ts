/**
 * `sessions.json`: the OpenClaw-compatible snapshot of the index. Pincer writes it byte-for-byte as
 * `JSON.stringify(store, null, 2)` would, with rows ordered newest-first so that a bounded listing
 * can stop reading early; a small meta file records that order for the exact file it describes.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { StringDecoder } from "node:string_decoder";
import { promisify } from "node:util";
import { compareRows } from "../list-order.ts";
import { CorruptStoreError, type SessionRow } from "../types.ts";
import type { SessionEntry } from "../entry.ts";
import { isValidSessionId } from "../../keys/ids.ts";
import { FILE_MODE, fsyncDir, writeAllSync, writeFileAtomicSync } from "./secure-fs.ts";

export interface SnapshotMeta {
  version: 1;
  order: "updatedAt-desc";
  size: number;
  mtimeMs: number;
  count: number;
}

export interface LoadedSnapshot {
  rows: Map<string, SessionEntry>;
  /** Rows that are not valid session entries: kept verbatim and written back, never dropped. */
  invalid: Map<string, unknown>;
  issues: string[];
  bytes: number;
}

export function metaPathFor(storePath: string): string {
  return path.join(path.dirname(storePath), "sessions.pincer-meta.json");
}

function positionOf(err: unknown): number {
  const m = /position (\d+)/.exec(String((err as Error)?.message ?? ""));
  return m ? Number(m[1]) : 0;
}

/** OpenClaw's load-time migrations of legacy field names. */
export function migrateLegacyFields(entry: Record<string, unknown>): void {
  const renames: Array<[string, string]> = [
    ["provider", "channel"],
    ["lastProvider", "lastChannel"],
    ["room", "groupChannel"],
  ];
  for (const [from, to] of renames) {
    if (from in entry) {
      if (!(to in entry)) entry[to] = entry[from];
      delete entry[from];
    }
  }
}

/** A usable row: an object whose sessionId is safe to become a file name (no file name ever comes from a key). */
export function isSessionEntry(value: unknown): value is SessionEntry {
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  return isValidSessionId((value as Record<string, unknown>).sessionId);
}

/** Reads and validates the whole snapshot. Missing file = empty store; a broken file is an error. */
export function loadSnapshot(storePath: string): LoadedSnapshot {
  let text: string;
  try {
    text = fs.readFileSync(storePath, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      return { rows: new Map(), invalid: new Map(), issues: [], bytes: 0 };
    throw err;
  }
  if (text.trim() === "") {
    throw new CorruptStoreError(
      storePath,
      0,
      "the session index is empty (expected a JSON object); refusing to start with an empty store. Restore it from a sessions.json.bak.* file, or delete it to start over — transcripts are untouched",
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CorruptStoreError(
      storePath,
      positionOf(err),
      `the session index is not valid JSON: ${(err as Error).message}`,
    );
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new CorruptStoreError(storePath, 0, "the session index must be a JSON object of session key -> entry");
  }
  const rows = new Map<string, SessionEntry>();
  const invalid = new Map<string, unknown>();
  const issues: string[] = [];
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (isSessionEntry(value)) {
      migrateLegacyFields(value as Record<string, unknown>);
      if (typeof value.updatedAt !== "number") value.updatedAt = 0;
      rows.set(key, value);
    } else {
      invalid.set(key, value);
      issues.push(
        `${storePath}: row ${JSON.stringify(key)} is not a usable session entry (needs a sessionId matching ^[a-z0-9][a-z0-9._-]{0,127}$); kept as is and ignored`,
      );
    }
  }
  return { rows, invalid, issues, bytes: Buffer.byteLength(text) };
}

/** One row as it appears inside `JSON.stringify(store, null, 2)`. */
function serializeRow(key: string, value: unknown): string {
  return `  ${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replaceAll("\n", "\n  ")}`;
}

/** Keys a JS object would reorder (array indices come first): those rows go one by one. */
const ARRAY_INDEX = /^(0|[1-9]\d{0,9})$/;

/**
 * Rows as they appear inside `JSON.stringify(store, null, 2)`, joined by `,\n` — the same text as
 * `serializeRow` per row, in one native call for the whole slice (most of a rewrite's CPU is here).
 */
function serializeRows(rows: ReadonlyArray<readonly [string, unknown]>): string {
  if (rows.some(([key]) => ARRAY_INDEX.test(key))) return rows.map(([k, v]) => serializeRow(k, v)).join(",\n");
  // A null prototype: a `__proto__` key is an own property like any other.
  const slice: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of rows) slice[key] = value;
  const text = JSON.stringify(slice, null, 2);
  return text.slice(2, -2); // without the enclosing "{\n" and "\n}"
}

const ROWS_PER_SLICE = 2000;

/**
 * Writes the snapshot atomically (temp file, fsync, rename) in slices, yielding to the event loop
 * between slices so a large store does not stall message handling while it is written.
 */
export interface SnapshotHooks {
  /** Called between slices (e.g. to renew the writer lease on a very large store). */
  onSlice?: () => void;
  /** Asked just before the rename; returning false abandons the write (the lease was lost). */
  mayCommit?: () => boolean;
}

export async function writeSnapshot(
  storePath: string,
  rows: ReadonlyArray<SessionRow>,
  invalid: ReadonlyMap<string, unknown>,
  hooks: SnapshotHooks = {},
): Promise<SnapshotMeta | null> {
  const sorted = [...rows].sort(compareRows);
  const tmp = `${storePath}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = fs.openSync(tmp, "wx", FILE_MODE);
  try {
    const total = sorted.length + invalid.size;
    if (total === 0) writeAllSync(fd, Buffer.from("{}"));
    else {
      let first = true;
      const emit = (slice: ReadonlyArray<readonly [string, unknown]>, last: boolean): void => {
        if (slice.length === 0 && !last) return;
        const body = slice.length > 0 ? (first ? "{\n" : ",\n") + serializeRows(slice) : "";
        if (slice.length > 0) first = false;
        writeAllSync(fd, Buffer.from(last ? body + "\n}" : body));
      };
      for (let i = 0; i < sorted.length; i += ROWS_PER_SLICE) {
        emit(
          sorted.slice(i, i + ROWS_PER_SLICE).map((r) => [r.key, r.entry] as const),
          false,
        );
        await new Promise<void>((r) => setImmediate(r));
        hooks.onSlice?.();
      }
      emit([...invalid], true);
    }
    // On the thread pool: syncing a large snapshot must not stall message handling.
    await fsyncAsync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  if (hooks.mayCommit && !hooks.mayCommit()) {
    fs.rmSync(tmp, { force: true });
    return null;
  }
  fs.renameSync(tmp, storePath);
  fsyncDir(path.dirname(storePath));
  const st = fs.statSync(storePath);
  const meta: SnapshotMeta = {
    version: 1,
    order: "updatedAt-desc",
    size: st.size,
    mtimeMs: st.mtimeMs,
    count: sorted.length,
  };
  writeFileAtomicSync(metaPathFor(storePath), JSON.stringify(meta));
  return meta;
}

const fsyncAsync = promisify(fs.fsync);

/** True when the meta file describes exactly the current snapshot (same size and mtime). */
export function snapshotIsSorted(storePath: string): boolean {
  try {
    const meta = JSON.parse(fs.readFileSync(metaPathFor(storePath), "utf8")) as Partial<SnapshotMeta>;
    const st = fs.statSync(storePath);
    return meta.order === "updatedAt-desc" && meta.size === st.size && meta.mtimeMs === st.mtimeMs;
  } catch {
    return false;
  }
}

/**
 * Streams rows from the start of a Pincer-written (sorted) snapshot, calling `visit` for each until
 * it returns false. Reads only as much of the file as the caller consumes.
 */
export function streamSnapshotRows(storePath: string, visit: (key: string, entry: unknown) => boolean): void {
  const fd = fs.openSync(storePath, "r");
  try {
    const chunk = Buffer.allocUnsafe(256 * 1024);
    const decoder = new StringDecoder("utf8");
    let pending = "";
    let position = 0;
    let started = false;
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, position);
      if (n === 0) return;
      position += n;
      pending += decoder.write(chunk.subarray(0, n));
      if (!started) {
        if (!pending.startsWith("{")) return;
        pending = pending.slice(1);
        started = true;
      }
      // Each row ends at a line that is exactly "  }" (deeper lines are indented further and JSON
      // strings never contain a raw newline).
      for (;;) {
        const end = pending.indexOf("\n  }");
        if (end < 0) break;
        const rowText = pending.slice(0, end + 4).replace(/^,?\s*\n/, "");
        pending = pending.slice(end + 4);
        const obj = JSON.parse(`{${rowText}}`) as Record<string, unknown>;
        for (const [key, value] of Object.entries(obj)) if (!visit(key, value)) return;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}
