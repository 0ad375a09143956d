/** File-system helpers that keep state private (0600 files, 0700 dirs) and writes atomic. */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { isStorageFull, StorageFullError } from "../types.ts";

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
}

/**
 * Writes `data` to `target` via a temp file, fsync and rename: readers see old or new, never half.
 * A failed write (disk full) removes its temp file, so it does not keep the space it could not use.
 */
export function writeFileAtomicSync(target: string, data: string | Uint8Array): void {
  const tmp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    const fd = fs.openSync(tmp, "wx", FILE_MODE);
    try {
      writeAllSync(
        fd,
        typeof data === "string" ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      );
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw storageErrorOf(err, target);
  }
  fsyncDir(path.dirname(target));
}

/** `err` as a StorageFullError naming `file` when it means the disk is full; otherwise `err` itself. */
export function storageErrorOf(err: unknown, file: string): unknown {
  if (err instanceof StorageFullError || !isStorageFull(err)) return err;
  return new StorageFullError(file, String((err as { code: string }).code), err);
}

/**
 * Appends `buf` to the end of an O_APPEND file and (optionally) fdatasyncs it: all or nothing. When
 * the write or the sync fails half-way (ENOSPC), the bytes that did land are cut off again, so no
 * torn line is left for the next append to be glued onto. They are cut only while they are still
 * the file's last bytes (read back and compared), so another process's later append is never cut;
 * callers still start their next append on a fresh line if the file does not end with one. A full
 * disk throws StorageFullError naming `file`.
 */
export function appendWholeSync(fd: number, buf: Buffer, options: { file: string; fsync?: boolean }): void {
  let written = 0;
  try {
    while (written < buf.length) written += fs.writeSync(fd, buf, written, buf.length - written, null);
    if (options.fsync) fs.fdatasyncSync(fd);
  } catch (err) {
    if (written > 0) cutOwnTail(fd, buf.subarray(0, written));
    throw storageErrorOf(err, options.file);
  }
}

/** Truncates the file by `ours.length` bytes if they are exactly its current last bytes. */
function cutOwnTail(fd: number, ours: Buffer): void {
  try {
    const size = fs.fstatSync(fd).size;
    if (size < ours.length) return;
    const tail = Buffer.allocUnsafe(ours.length);
    let got = 0;
    while (got < tail.length) {
      const n = fs.readSync(fd, tail, got, tail.length - got, size - ours.length + got);
      if (n === 0) return;
      got += n;
    }
    if (tail.equals(ours)) fs.ftruncateSync(fd, size - ours.length);
  } catch {
    // Could not check or cut: the caller's next append starts on a fresh line instead.
  }
}

export function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on directories; the rename itself is still atomic.
  }
}

/** Writes the whole buffer with one `write` per call where the kernel allows (appends stay whole). */
export function writeAllSync(fd: number, buf: Buffer, position?: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = fs.writeSync(fd, buf, off, buf.length - off, position === undefined ? null : position + off);
    off += n;
  }
}

export const ARCHIVE_TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d{3})?Z$/;

export function parseArchiveTimestamp(ts: string): number | null {
  if (!ARCHIVE_TS_RE.test(ts)) return null;
  const iso = ts.replace(/T(\d{2})-(\d{2})-(\d{2})/, "T$1:$2:$3");
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}
