/**
 * Transcript files `<sessionId>.jsonl` (pi v3 format) inside one sessions directory. File names are
 * only ever built from a validated session id, never from a session key.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { assertValidSessionId, isValidSessionId } from "../../keys/ids.ts";
import { archiveName } from "../transcript-codec.ts";
import type { ArchiveReason, ReadIssue, TranscriptLine, TranscriptRead } from "../types.ts";
import { appendWholeSync, FILE_MODE } from "./secure-fs.ts";

/**
 * How many transcript files stay open for appending. A quarter of the process's file limit (read
 * once from /proc on Linux; 256 where it cannot be read), so sockets always have room: with the
 * usual 1024 that is 256, on a server configured for more it keeps thousands of sessions warm.
 */
const MAX_OPEN_FILES = openFileBudget();

function openFileBudget(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync("/proc/self/limits", "utf8"));
    if (m) return Math.max(64, Math.min(4096, Math.floor(Number(m[1]) / 4)));
  } catch {
    // Not Linux: keep the conservative default.
  }
  return 256;
}

/** An open append handle and where this process last left the file's end. */
interface AppendHandle {
  fd: number;
  file: string;
  /**
   * The file's size right after this handle's last complete append (which ended with a newline),
   * or -1 when unknown (just opened, or the last append failed). Any other size on disk means
   * someone else wrote or a failed write could not be undone: the last byte is checked then.
   */
  endsCleanAt: number;
}

const NEWLINE = Buffer.from("\n");

export class TranscriptFiles {
  /** Open append handles, least recently used first (Map keeps insertion order). */
  private readonly handles = new Map<string, AppendHandle>();

  readonly dir: string;
  private readonly fsync: boolean;

  constructor(dir: string, fsync: boolean) {
    this.dir = dir;
    this.fsync = fsync;
  }

  pathFor(sessionId: string): string {
    assertValidSessionId(sessionId);
    return path.join(this.dir, `${sessionId}.jsonl`);
  }

  /**
   * Appends whole lines, all or nothing: a write that fails half-way (disk full) is cut off again
   * (StorageFullError), and an append never continues a line someone else left unfinished — it
   * starts on a fresh line, so a torn line can only ever be reported, never swallow this one.
   */
  append(sessionId: string, lines: readonly TranscriptLine[]): void {
    if (lines.length === 0) return;
    const h = this.handle(sessionId);
    const body = Buffer.from(lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    const size = fs.fstatSync(h.fd).size;
    const buf =
      size > 0 && size !== h.endsCleanAt && !endsWithNewline(h.fd, size) ? Buffer.concat([NEWLINE, body]) : body;
    h.endsCleanAt = -1;
    appendWholeSync(h.fd, buf, { file: h.file, fsync: this.fsync });
    h.endsCleanAt = size + buf.length;
  }

  exists(sessionId: string): boolean {
    return fs.existsSync(this.pathFor(sessionId));
  }

  sizeOf(sessionId: string): number {
    try {
      return fs.statSync(this.pathFor(sessionId)).size;
    } catch {
      return 0;
    }
  }

  read(sessionId: string, tail?: number): TranscriptRead {
    const file = this.pathFor(sessionId);
    let fd: number;
    try {
      fd = fs.openSync(file, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { lines: [], issues: [], truncated: false };
      throw err;
    }
    try {
      const size = fs.fstatSync(fd).size;
      const { text, start } =
        tail === undefined ? { text: readRange(fd, 0, size), start: 0 } : readTail(fd, size, tail);
      return parseLines(file, text, start, tail);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Reads only the first line (bounded to 64 KiB); null when missing, empty or not JSON. */
  header(sessionId: string): TranscriptLine | null {
    let fd: number;
    try {
      fd = fs.openSync(this.pathFor(sessionId), "r");
    } catch {
      return null;
    }
    try {
      const buf = Buffer.alloc(64 * 1024);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      const nl = buf.subarray(0, n).indexOf(0x0a);
      const value = JSON.parse(buf.toString("utf8", 0, nl < 0 ? n : nl)) as unknown;
      return value && typeof value === "object" && !Array.isArray(value) ? (value as TranscriptLine) : null;
    } catch {
      return null;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Renames the transcript to `<id>.jsonl.<reason>.<ts>`; returns the new base name or null. */
  archive(sessionId: string, reason: ArchiveReason, now: number): string | null {
    this.close(sessionId);
    const file = this.pathFor(sessionId);
    const target = path.join(this.dir, archiveName(sessionId, reason, now));
    try {
      fs.renameSync(file, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    return path.basename(target);
  }

  /** Session ids of the live `<id>.jsonl` files (archives, temp files and invalid names excluded). */
  list(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const ids: string[] = [];
    for (const name of names) {
      if (!name.endsWith(".jsonl")) continue;
      const id = name.slice(0, -".jsonl".length);
      if (isValidSessionId(id)) ids.push(id);
    }
    return ids.sort();
  }

  /** The file's bytes as UTF-8, or null when it does not exist. */
  readText(sessionId: string): string | null {
    try {
      return fs.readFileSync(this.pathFor(sessionId), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  /**
   * Replaces the transcript with `text` atomically: temp file (0600), fsync, rename, directory
   * fsync. Asynchronous (the fsyncs run on the thread pool), so a migration can overlap many. The
   * cached append handle is dropped before and after the rename: later appends reach the new file.
   */
  async replaceText(sessionId: string, text: string): Promise<void> {
    const file = this.pathFor(sessionId);
    this.close(sessionId);
    const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    const handle = await fsp.open(tmp, "wx", FILE_MODE);
    try {
      try {
        await handle.writeFile(text, "utf8");
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.rename(tmp, file);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    this.close(sessionId);
    await fsyncDirAsync(this.dir);
  }

  close(sessionId: string): void {
    const h = this.handles.get(sessionId);
    if (h !== undefined) {
      this.handles.delete(sessionId);
      fs.closeSync(h.fd);
    }
  }

  closeAll(): void {
    for (const id of [...this.handles.keys()]) this.close(id);
  }

  private handle(sessionId: string): AppendHandle {
    const cached = this.handles.get(sessionId);
    if (cached !== undefined) {
      this.handles.delete(sessionId);
      this.handles.set(sessionId, cached);
      return cached;
    }
    // The end is unknown until the first append looks: a crash may have torn the last line.
    const file = this.pathFor(sessionId);
    const h: AppendHandle = { fd: fs.openSync(file, "a+", FILE_MODE), file, endsCleanAt: -1 };
    this.handles.set(sessionId, h);
    if (this.handles.size > MAX_OPEN_FILES) {
      const oldest = this.handles.keys().next().value;
      if (oldest !== undefined) this.close(oldest);
    }
    return h;
  }
}

function endsWithNewline(fd: number, size: number): boolean {
  const last = Buffer.alloc(1);
  return fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === 0x0a;
}

function readRange(fd: number, start: number, end: number): string {
  const buf = Buffer.allocUnsafe(end - start);
  let off = 0;
  while (off < buf.length) {
    const n = fs.readSync(fd, buf, off, buf.length - off, start + off);
    if (n === 0) break;
    off += n;
  }
  return buf.toString("utf8", 0, off);
}

/** Reads backwards from the end until `n` complete lines are in hand (bounded I/O for long files). */
function readTail(fd: number, size: number, n: number): { text: string; start: number } {
  const CHUNK = 64 * 1024;
  let start = size;
  let newlines = 0;
  const probe = Buffer.allocUnsafe(CHUNK);
  while (start > 0 && newlines <= n) {
    const from = Math.max(0, start - CHUNK);
    const len = start - from;
    fs.readSync(fd, probe, 0, len, from);
    for (let i = len - 1; i >= 0; i--) if (probe[i] === 0x0a) newlines++;
    start = from;
  }
  return { text: readRange(fd, start, size), start };
}

export function parseLines(file: string, text: string, startByte: number, tail?: number): TranscriptRead {
  const issues: ReadIssue[] = [];
  const lines: TranscriptLine[] = [];
  let offset = startByte;
  const parts = text.split("\n");
  // When reading a tail from mid-file, the first piece may be a partial line: drop it silently.
  const first = startByte > 0 ? 1 : 0;
  for (let i = 0; i < parts.length; i++) {
    const raw = parts[i]!;
    const lineStart = offset;
    offset += Buffer.byteLength(raw) + 1;
    if (i < first || raw.trim() === "") continue;
    try {
      const value = JSON.parse(raw) as unknown;
      if (value && typeof value === "object" && !Array.isArray(value)) lines.push(value as TranscriptLine);
      else issues.push({ file, line: i + 1, byteOffset: lineStart, reason: "line is not a JSON object" });
    } catch {
      const torn = i === parts.length - 1;
      issues.push({
        file,
        line: i + 1,
        byteOffset: lineStart,
        reason: torn ? "torn last line (incomplete write)" : "malformed JSON line",
      });
    }
  }
  const truncated = tail !== undefined && (startByte > 0 || lines.length > tail);
  return { lines: tail !== undefined ? lines.slice(-tail) : lines, issues, truncated };
}

async function fsyncDirAsync(dir: string): Promise<void> {
  try {
    const h = await fsp.open(dir, "r");
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // Some file systems refuse fsync on directories; the rename itself is still atomic.
  }
}
