/** File-system helpers that keep state private (0600 files, 0700 dirs) and writes atomic. */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
}

/** Writes `data` to `target` via a temp file, fsync and rename: readers see old or new, never half. */
export function writeFileAtomicSync(target: string, data: string | Uint8Array): void {
  const tmp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = fs.openSync(tmp, "wx", FILE_MODE);
  try {
    fs.writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, target);
  fsyncDir(path.dirname(target));
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

/** ISO time with `:` replaced by `-`, as OpenClaw names archives. */
export function archiveTimestamp(ms: number): string {
  return new Date(ms).toISOString().replaceAll(":", "-");
}

export const ARCHIVE_TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d{3})?Z$/;

export function parseArchiveTimestamp(ts: string): number | null {
  if (!ARCHIVE_TS_RE.test(ts)) return null;
  const iso = ts.replace(/T(\d{2})-(\d{2})-(\d{2})/, "T$1:$2:$3");
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}
