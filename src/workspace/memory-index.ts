/**
 * Full-text search over an agent's memory files (`MEMORY.md` and `memory/**.md` in its workspace)
 * with SQLite FTS5 through `node:sqlite` (no dependency). The index is in memory, one per
 * workspace, and follows the files: each search re-reads only files whose size or mtime changed,
 * so a note appended a moment ago is found. Results are ranked by bm25 and carry file and lines.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { PincerError } from "../errors.ts";
import { MEMORY_DIR, MEMORY_FILE, MEMORY_FILE_ALT } from "./layout.ts";

/** Lines per indexed chunk at most (a paragraph is one chunk when shorter). */
const CHUNK_LINES = 12;
const MAX_FILE_BYTES = 2 * 1024 * 1024;
const MAX_FILES = 2000;

export interface MemoryHit {
  /** Relative to the workspace, `/`-separated: `MEMORY.md`, `memory/2026-12-01.md`. */
  path: string;
  startLine: number;
  endLine: number;
  score: number;
  snippet: string;
}

/** A memory path the model asked for that is not a memory file of this workspace. */
export class MemoryPathError extends PincerError {
  override readonly code = "invalid_memory_path";
  override readonly httpStatus = 400;
}

interface Indexed {
  identity: string;
}

export class MemoryIndex {
  readonly dir: string;
  private readonly db: DatabaseSync;
  private readonly files = new Map<string, Indexed>();
  private readonly insert: StatementSync;
  private readonly remove: StatementSync;
  private readonly query: StatementSync;

  constructor(dir: string) {
    this.dir = dir;
    this.db = new DatabaseSync(":memory:");
    this.db.exec(
      "CREATE VIRTUAL TABLE chunks USING fts5(path UNINDEXED, start_line UNINDEXED, end_line UNINDEXED, text, tokenize = 'porter unicode61')",
    );
    this.insert = this.db.prepare("INSERT INTO chunks (path, start_line, end_line, text) VALUES (?, ?, ?, ?)");
    this.remove = this.db.prepare("DELETE FROM chunks WHERE path = ?");
    this.query = this.db.prepare(
      "SELECT path, start_line, end_line, bm25(chunks) AS rank, snippet(chunks, 3, '', '', '…', 32) AS snippet " +
        "FROM chunks WHERE chunks MATCH ? ORDER BY rank LIMIT ?",
    );
  }

  /** Brings the index up to the files on disk. */
  async sync(): Promise<void> {
    const seen = new Set<string>();
    for (const rel of await this.memoryFiles()) {
      seen.add(rel);
      const abs = path.join(this.dir, rel);
      const st = await fs.stat(abs).catch(() => null);
      if (!st || !st.isFile() || st.size > MAX_FILE_BYTES) continue;
      const identity = `${st.ino}:${st.size}:${st.mtimeMs}`;
      if (this.files.get(rel)?.identity === identity) continue;
      const text = await fs.readFile(abs, "utf8");
      this.remove.run(rel);
      for (const c of chunk(text)) this.insert.run(rel, c.start, c.end, c.text);
      this.files.set(rel, { identity });
    }
    for (const rel of [...this.files.keys()])
      if (!seen.has(rel)) {
        this.remove.run(rel);
        this.files.delete(rel);
      }
  }

  async search(text: string, maxResults = 6): Promise<MemoryHit[]> {
    const terms = text.match(/[\p{L}\p{N}_]+/gu) ?? [];
    if (terms.length === 0) return [];
    await this.sync();
    const match = [...new Set(terms.map((t) => t.toLowerCase()))].map((t) => `"${t}"`).join(" OR ");
    const rows = this.query.all(match, Math.max(1, Math.min(50, maxResults))) as Array<{
      path: string;
      start_line: number;
      end_line: number;
      rank: number;
      snippet: string;
    }>;
    return rows.map((r) => ({
      path: r.path,
      startLine: r.start_line,
      endLine: r.end_line,
      // bm25: higher is better; only the order is meaningful (tiny corpora give tiny values).
      score: Number((-r.rank).toPrecision(4)),
      snippet: r.snippet,
    }));
  }

  /** A memory file's text, or `lines` lines of it from line `from` (1-based). */
  async get(rel: string, from?: number, lines?: number): Promise<{ path: string; text: string; totalLines: number }> {
    const clean = checkMemoryPath(rel);
    const abs = path.join(this.dir, clean);
    const real = await fs.realpath(abs).catch(() => null);
    const root = await fs.realpath(this.dir).catch(() => this.dir);
    if (!real || !real.startsWith(root + path.sep))
      throw new MemoryPathError(`memory_get: no such memory file: ${clean}`);
    const st = await fs.stat(real);
    if (!st.isFile() || st.size > MAX_FILE_BYTES)
      throw new MemoryPathError(`memory_get: not a readable file: ${clean}`);
    const all = (await fs.readFile(real, "utf8")).split("\n");
    const start = Math.max(1, Math.floor(from ?? 1));
    const count = lines === undefined ? all.length : Math.max(0, Math.floor(lines));
    return { path: clean, text: all.slice(start - 1, start - 1 + count).join("\n"), totalLines: all.length };
  }

  close(): void {
    this.db.close();
  }

  private async memoryFiles(): Promise<string[]> {
    const out: string[] = [];
    for (const name of [MEMORY_FILE, MEMORY_FILE_ALT]) {
      const st = await fs.lstat(path.join(this.dir, name)).catch(() => null);
      // On case-insensitive file systems both names are the same file: index it once.
      if (st?.isFile() && !out.some((o) => o.toLowerCase() === name.toLowerCase())) out.push(name);
    }
    const walk = async (relDir: string): Promise<void> => {
      const entries = await fs.readdir(path.join(this.dir, relDir), { withFileTypes: true }).catch(() => []);
      for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (out.length >= MAX_FILES) return;
        const rel = `${relDir}/${e.name}`;
        if (e.isDirectory()) await walk(rel);
        else if (e.isFile() && e.name.endsWith(".md")) out.push(rel);
      }
    };
    await walk(MEMORY_DIR);
    return out;
  }
}

/** Only `MEMORY.md`, `memory.md` and `.md` files under `memory/`; never `..` or an absolute path. */
export function checkMemoryPath(rel: string): string {
  const clean = rel.replaceAll("\\", "/").replace(/^\.\//, "");
  const parts = clean.split("/");
  const ok =
    clean === MEMORY_FILE ||
    clean === MEMORY_FILE_ALT ||
    (parts[0] === MEMORY_DIR &&
      parts.length > 1 &&
      clean.endsWith(".md") &&
      parts.every((p) => p !== "" && p !== "." && p !== ".." && !p.includes("\0")));
  if (!ok)
    throw new MemoryPathError(`memory_get: ${JSON.stringify(rel)} is not a memory file (MEMORY.md or memory/*.md)`);
  return clean;
}

/** Paragraphs (runs of non-blank lines), split every CHUNK_LINES lines, with 1-based line numbers. */
function chunk(text: string): Array<{ start: number; end: number; text: string }> {
  const lines = text.split("\n");
  const out: Array<{ start: number; end: number; text: string }> = [];
  let cur: string[] = [];
  let start = 0;
  const flush = (end: number) => {
    if (cur.length > 0) out.push({ start, end, text: cur.join("\n") });
    cur = [];
  };
  lines.forEach((line, i) => {
    if (line.trim() === "") {
      flush(i);
      return;
    }
    if (cur.length === 0) start = i + 1;
    cur.push(line);
    if (cur.length >= CHUNK_LINES) flush(i + 1);
  });
  flush(lines.length);
  return out;
}

/** One index per workspace directory, opened on first use. */
export class MemoryIndexes {
  private readonly byDir = new Map<string, MemoryIndex>();

  for(dir: string): MemoryIndex {
    let idx = this.byDir.get(dir);
    if (!idx) {
      idx = new MemoryIndex(dir);
      this.byDir.set(dir, idx);
    }
    return idx;
  }

  closeAll(): void {
    for (const idx of this.byDir.values()) idx.close();
    this.byDir.clear();
  }
}
