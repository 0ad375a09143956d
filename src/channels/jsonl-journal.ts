/**
 * An append-only JSONL file with group commit: every `append` resolves only after its line is
 * written and fdatasync'd, and appends that arrive while a sync runs share the next one, so many
 * chats delivering at once cost one sync per batch, not one per record. `rewrite` replaces the whole
 * file atomically (temp + fsync + rename), serialised with the appends: the outbox and the inbound
 * dedupe compact through it. Files 0600, the directory 0700.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DIR_MODE, FILE_MODE, fsyncDir, storageErrorOf } from "../store/fs/secure-fs.ts";

export interface JournalReadResult<T> {
  records: T[];
  /** Lines that were not JSON (a torn last line after a crash, or damage): skipped, reported by the caller. */
  bad: Array<{ line: number; text: string; torn: boolean }>;
}

/** Creates `dir` 0700 (and tightens it if it already existed with wider modes). */
export function ensurePrivateDirSync(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  const st = fs.statSync(dir);
  if ((st.mode & 0o777) !== DIR_MODE) fs.chmodSync(dir, DIR_MODE);
}

/** Reads every line of `file` (absent: none). A line that does not parse is skipped and listed in `bad`. */
export function readJsonl<T>(file: string, parse: (value: unknown) => T | undefined): JournalReadResult<T> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { records: [], bad: [] };
    throw err;
  }
  const records: T[] = [];
  const bad: JournalReadResult<T>["bad"] = [];
  const lines = text.split("\n");
  // The text after the last "\n" is a line only if non-empty; it is the torn one when a crash cut a write.
  const endsClean = text.length === 0 || text.endsWith("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0) continue;
    const torn = i === lines.length - 1 && !endsClean;
    let value: T | undefined;
    try {
      value = parse(JSON.parse(line));
    } catch {
      value = undefined;
    }
    if (value === undefined) bad.push({ line: i + 1, text: line.slice(0, 200), torn });
    else records.push(value);
  }
  return { records, bad };
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

export class JsonlJournal {
  private fd: number | undefined;
  private size = 0;
  private pending: string[] = [];
  private waiters: Waiter[] = [];
  private rewriteQueued: { content: () => string; waiters: Waiter[] } | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  /** Lines appended since the last rewrite (compaction heuristics). */
  linesSinceRewrite = 0;

  readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  /** Replaces the file with `content` (atomic) and opens it for appending. */
  openWith(content: string): void {
    ensurePrivateDirSync(path.dirname(this.file));
    this.writeAtomic(content);
    this.fd = fs.openSync(this.file, "a", FILE_MODE);
    fs.fchmodSync(this.fd, FILE_MODE);
    this.size = fs.fstatSync(this.fd).size;
  }

  /** Appends one line per record; resolves once they are on disk (fdatasync). */
  append(lines: string[]): Promise<void> {
    if (this.closed || this.fd === undefined) return Promise.reject(new Error(`journal ${this.file} is closed`));
    return new Promise<void>((resolve, reject) => {
      for (const l of lines) this.pending.push(l + "\n");
      this.waiters.push({ resolve, reject });
      this.kick();
    });
  }

  /**
   * Replaces the file with `content()` after the write in progress; `content` is called at that
   * moment and must describe every record appended or queued so far (the callers apply a record in
   * memory before appending it, and replay is idempotent). Queued appends land in the new file.
   */
  rewrite(content: () => string): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      if (this.rewriteQueued) this.rewriteQueued.waiters.push({ resolve, reject });
      else this.rewriteQueued = { content, waiters: [{ resolve, reject }] };
      this.kick();
    });
  }

  /** Waits for queued writes, then closes the file. */
  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.closed = true;
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.loop().finally(() => {
      this.flushing = undefined;
    });
  }

  private async loop(): Promise<void> {
    while (this.pending.length > 0 || this.rewriteQueued) {
      // A queued rewrite goes first, or steady appends would starve it. Its content comes from the
      // caller's memory, which already reflects the records still pending (they are applied before
      // they are appended), so those land in the snapshot and again after it: replay is idempotent.
      if (this.pending.length > 0 && !this.rewriteQueued) {
        const buf = Buffer.from(this.pending.join(""));
        const count = this.pending.length;
        const waiters = this.waiters;
        this.pending = [];
        this.waiters = [];
        try {
          await this.writeAndSync(buf);
          this.linesSinceRewrite += count;
          for (const w of waiters) w.resolve();
        } catch (err) {
          for (const w of waiters) w.reject(storageErrorOf(err, this.file));
        }
        continue;
      }
      const rw = this.rewriteQueued!;
      this.rewriteQueued = undefined;
      try {
        const content = rw.content();
        await new Promise<void>((resolve, reject) => {
          setImmediate(() => {
            try {
              this.writeAtomic(content);
              const old = this.fd;
              this.fd = fs.openSync(this.file, "a", FILE_MODE);
              if (old !== undefined) fs.closeSync(old);
              this.size = fs.fstatSync(this.fd).size;
              this.linesSinceRewrite = 0;
              resolve();
            } catch (err) {
              reject(err instanceof Error ? err : new Error(String(err)));
            }
          });
        });
        for (const w of rw.waiters) w.resolve();
      } catch (err) {
        for (const w of rw.waiters) w.reject(storageErrorOf(err, this.file));
      }
    }
  }

  /** One write + fdatasync on the thread pool; on failure the bytes that landed are cut off again. */
  private writeAndSync(buf: Buffer): Promise<void> {
    const fd = this.fd!;
    const start = this.size;
    return new Promise<void>((resolve, reject) => {
      const fail = (err: unknown): void => {
        try {
          fs.ftruncateSync(fd, start);
        } catch {
          // Could not cut: the next replay reports the torn line and skips it.
        }
        reject(err);
      };
      let off = 0;
      const step = (): void => {
        fs.write(fd, buf, off, buf.length - off, null, (err, n) => {
          if (err) return fail(err);
          off += n;
          if (off < buf.length) return step();
          fs.fdatasync(fd, (err2) => {
            if (err2) return fail(err2);
            this.size = start + buf.length;
            resolve();
          });
        });
      };
      step();
    });
  }

  private writeAtomic(content: string): void {
    const tmp = `${this.file}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      const fd = fs.openSync(tmp, "wx", FILE_MODE);
      try {
        const buf = Buffer.from(content);
        let off = 0;
        while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off, null);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw storageErrorOf(err, this.file);
    }
    fsyncDir(path.dirname(this.file));
  }
}
