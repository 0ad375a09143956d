/**
 * The `sqlite` backend on Node's built-in `node:sqlite` (no native addon): one database file per
 * store, WAL journal, short `BEGIN IMMEDIATE` write transactions (another process waits up to the
 * busy timeout), row-level upserts. Sessions, transcript lines, archives and leases are tables; the
 * schema is versioned and a newer one is refused with the command that migrates.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { assertValidSessionId } from "../../keys/ids.ts";
import type { SessionEntry } from "../entry.ts";
import { decodeCursor, encodeCursor } from "../list-order.ts";
import { MemorySessionStore } from "../memory-store.ts";
import { archiveName, joinLines, parseStoredLines, splitLines } from "../transcript-codec.ts";
import {
  FencedError,
  SchemaVersionError,
  LeaseTimeoutError,
  type ArchiveReason,
  type Fence,
  type Lease,
  type ListFilter,
  type ListOptions,
  type ListPage,
  type PatchMutator,
  type PatchResult,
  type ReadIssue,
  type SessionRow,
  type SessionStore,
  type StoreCapabilities,
  type TranscriptLine,
  type TranscriptRead,
} from "../types.ts";

export const SQLITE_SCHEMA_VERSION = 1;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE sessions (key TEXT PRIMARY KEY, entry TEXT NOT NULL, updated_at REAL NOT NULL);
    CREATE INDEX sessions_by_update ON sessions (updated_at DESC, key ASC);
    CREATE TABLE transcript_lines (session_id TEXT NOT NULL, seq INTEGER NOT NULL, line TEXT NOT NULL, PRIMARY KEY (session_id, seq)) WITHOUT ROWID;
    CREATE TABLE archives (name TEXT PRIMARY KEY, session_id TEXT NOT NULL, reason TEXT NOT NULL, archived_at INTEGER NOT NULL, lines TEXT NOT NULL);
    CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, epoch INTEGER NOT NULL, expires_at INTEGER NOT NULL, free INTEGER NOT NULL DEFAULT 0);
  `,
};

export interface SqliteStoreOptions {
  file: string;
  now?: () => number;
  leaseTtlMs?: number;
  /** How long a write waits for another process's transaction (ms). */
  busyTimeoutMs?: number;
  readOnly?: boolean;
}

export { SchemaVersionError } from "../types.ts";

export class SqliteSessionStore implements SessionStore {
  readonly backend = "sqlite";
  readonly location: string;
  readonly capabilities: StoreCapabilities = { shared: false };
  private readonly db: DatabaseSync;
  private readonly now: () => number;
  private readonly leaseTtlMs: number;
  private readonly owner = `sqlite-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly stmts = new Map<string, StatementSync>();

  private constructor(db: DatabaseSync, options: SqliteStoreOptions) {
    this.db = db;
    this.location = options.file;
    this.now = options.now ?? Date.now;
    this.leaseTtlMs = options.leaseTtlMs ?? 5000;
  }

  static open(options: SqliteStoreOptions): SqliteSessionStore {
    fs.mkdirSync(path.dirname(options.file), { recursive: true, mode: 0o700 });
    const existed = fs.existsSync(options.file);
    const db = new DatabaseSync(options.file, {
      readOnly: options.readOnly ?? false,
      timeout: options.busyTimeoutMs ?? 5000,
    });
    if (!existed) fs.chmodSync(options.file, 0o600);
    if (!options.readOnly) {
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
      SqliteSessionStore.migrate(db, options.file);
    } else SqliteSessionStore.checkVersion(db, options.file);
    return new SqliteSessionStore(db, options);
  }

  private static version(db: DatabaseSync): number {
    return Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version);
  }

  private static checkVersion(db: DatabaseSync, file: string): void {
    const v = SqliteSessionStore.version(db);
    if (v > SQLITE_SCHEMA_VERSION) {
      throw new SchemaVersionError(
        `${file}: schema version ${v} is newer than this Pincer understands (${SQLITE_SCHEMA_VERSION}); upgrade Pincer, or copy the data with \`pincer store migrate --from sqlite:<state dir> --to <location>\` using the newer version`,
      );
    }
  }

  /** Versioned migrations, each in its own transaction. */
  private static migrate(db: DatabaseSync, file: string): void {
    SqliteSessionStore.checkVersion(db, file);
    for (let v = SqliteSessionStore.version(db) + 1; v <= SQLITE_SCHEMA_VERSION; v++) {
      db.exec("BEGIN IMMEDIATE");
      try {
        // Another process may have migrated while we waited for the lock.
        if (SqliteSessionStore.version(db) < v) {
          db.exec(MIGRATIONS[v]!);
          db.exec(`PRAGMA user_version = ${v}`);
        }
        db.exec("COMMIT");
      } catch (err) {
        db.exec("ROLLBACK");
        throw err;
      }
    }
  }

  private stmt(sql: string): StatementSync {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** Runs `work` in a write transaction (BEGIN IMMEDIATE: the write lock is taken up front). */
  private write<T>(work: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const out = work();
      this.db.exec("COMMIT");
      return out;
    } catch (err) {
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
      throw err;
    }
  }

  private readRow(key: string): SessionEntry | undefined {
    const row = this.stmt("SELECT entry FROM sessions WHERE key = ?").get(key) as { entry: string } | undefined;
    return row ? (JSON.parse(row.entry) as SessionEntry) : undefined;
  }

  private putRow(key: string, entry: SessionEntry): void {
    this.stmt(
      "INSERT INTO sessions (key, entry, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET entry = excluded.entry, updated_at = excluded.updated_at",
    ).run(key, JSON.stringify(entry), Number.isFinite(entry.updatedAt) ? entry.updatedAt : 0);
  }

  async get(key: string): Promise<SessionEntry | undefined> {
    return this.readRow(key);
  }

  async patch(key: string, mutator: PatchMutator): Promise<PatchResult> {
    return this.write(() => {
      const before = this.readRow(key);
      const next = mutator(before ? structuredClone(before) : undefined);
      if (next === undefined) return { before, after: before, changed: false };
      if (next === null) {
        this.stmt("DELETE FROM sessions WHERE key = ?").run(key);
        return { before, after: undefined, changed: before !== undefined };
      }
      this.putRow(key, next);
      return { before, after: structuredClone(next), changed: true };
    });
  }

  async putMany(changes: ReadonlyArray<{ key: string; entry: SessionEntry | null }>): Promise<void> {
    this.write(() => {
      for (const { key, entry } of changes) {
        if (entry === null) this.stmt("DELETE FROM sessions WHERE key = ?").run(key);
        else this.putRow(key, entry);
      }
    });
  }

  async list(filter: ListFilter = {}, options: ListOptions = {}): Promise<ListPage> {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (filter.activeSince !== undefined) {
      where.push("updated_at >= ?");
      args.push(filter.activeSince);
    }
    if (filter.keyPrefix !== undefined) {
      // A range on the primary key instead of LIKE: prefixes may contain % or _.
      where.push("key >= ? AND key < ?");
      args.push(filter.keyPrefix, `${filter.keyPrefix}\uffff`);
    }
    if (options.cursor) {
      const c = decodeCursor(options.cursor);
      where.push("(updated_at < ? OR (updated_at = ? AND key > ?))");
      args.push(c.u, c.u, c.k);
    }
    const limit = options.limit ?? -1;
    const sql = `SELECT key, entry FROM sessions ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY updated_at DESC, key ASC LIMIT ?`;
    const got = this.stmt(sql).all(...args, limit === -1 ? -1 : limit + 1) as Array<{ key: string; entry: string }>;
    const more = limit !== -1 && got.length > limit;
    const rows: SessionRow[] = (more ? got.slice(0, limit) : got).map((r) => ({
      key: r.key,
      entry: JSON.parse(r.entry) as SessionEntry,
    }));
    const last = rows[rows.length - 1];
    return { rows, nextCursor: more && last ? encodeCursor(last) : null };
  }

  async count(): Promise<number> {
    return Number((this.stmt("SELECT COUNT(*) AS n FROM sessions").get() as { n: number }).n);
  }

  async all(): Promise<SessionRow[]> {
    return (await this.list()).rows;
  }

  async appendTranscript(sessionId: string, lines: readonly TranscriptLine[], fence?: Fence): Promise<void> {
    assertValidSessionId(sessionId);
    this.write(() => {
      if (fence && !this.fenceIsCurrent(fence))
        throw new FencedError(`lease epoch ${fence.epoch} of ${fence.owner} is no longer current`);
      const last = this.stmt("SELECT MAX(seq) AS m FROM transcript_lines WHERE session_id = ?").get(sessionId) as {
        m: number | null;
      };
      let seq = (last.m ?? -1) + 1;
      const insert = this.stmt("INSERT INTO transcript_lines (session_id, seq, line) VALUES (?, ?, ?)");
      for (const line of lines) insert.run(sessionId, seq++, JSON.stringify(line));
    });
  }

  private parseLines(
    sessionId: string,
    rows: Array<{ seq: number; line: string }>,
  ): { lines: TranscriptLine[]; issues: ReadIssue[] } {
    return parseStoredLines(
      `${this.location}#${sessionId}`,
      rows.map((r) => ({ text: r.line, line: r.seq + 1 })),
    );
  }

  async readTranscript(sessionId: string, options: { tail?: number } = {}): Promise<TranscriptRead> {
    assertValidSessionId(sessionId);
    if (options.tail !== undefined) {
      const rows = (
        this.stmt("SELECT seq, line FROM transcript_lines WHERE session_id = ? ORDER BY seq DESC LIMIT ?").all(
          sessionId,
          options.tail + 1,
        ) as Array<{ seq: number; line: string }>
      ).reverse();
      const truncated = rows.length > options.tail;
      return { ...this.parseLines(sessionId, truncated ? rows.slice(1) : rows), truncated };
    }
    const rows = this.stmt("SELECT seq, line FROM transcript_lines WHERE session_id = ? ORDER BY seq").all(
      sessionId,
    ) as Array<{ seq: number; line: string }>;
    return { ...this.parseLines(sessionId, rows), truncated: false };
  }

  async transcriptExists(sessionId: string): Promise<boolean> {
    assertValidSessionId(sessionId);
    return this.stmt("SELECT 1 AS x FROM transcript_lines WHERE session_id = ? LIMIT 1").get(sessionId) !== undefined;
  }

  async transcriptHeader(sessionId: string): Promise<TranscriptLine | null> {
    assertValidSessionId(sessionId);
    const row = this.stmt("SELECT seq, line FROM transcript_lines WHERE session_id = ? ORDER BY seq LIMIT 1").get(
      sessionId,
    ) as { seq: number; line: string } | undefined;
    return row ? (this.parseLines(sessionId, [row]).lines[0] ?? null) : null;
  }

  async archiveTranscript(sessionId: string, reason: ArchiveReason, now = this.now()): Promise<string | null> {
    assertValidSessionId(sessionId);
    return this.write(() => {
      const rows = this.stmt("SELECT line FROM transcript_lines WHERE session_id = ? ORDER BY seq").all(
        sessionId,
      ) as Array<{ line: string }>;
      if (rows.length === 0) return null;
      const name = archiveName(sessionId, reason, now);
      this.stmt(
        "INSERT OR REPLACE INTO archives (name, session_id, reason, archived_at, lines) VALUES (?, ?, ?, ?, ?)",
      ).run(name, sessionId, reason, now, joinLines(rows.map((r) => r.line)));
      this.stmt("DELETE FROM transcript_lines WHERE session_id = ?").run(sessionId);
      return name;
    });
  }

  async listTranscripts(): Promise<string[]> {
    return (
      this.stmt("SELECT DISTINCT session_id FROM transcript_lines ORDER BY session_id").all() as Array<{
        session_id: string;
      }>
    ).map((r) => r.session_id);
  }

  /** The stored line texts joined with "\n", plus the final "\n"; null when there are none. */
  async exportTranscript(sessionId: string): Promise<string | null> {
    assertValidSessionId(sessionId);
    const rows = this.stmt("SELECT line FROM transcript_lines WHERE session_id = ? ORDER BY seq").all(
      sessionId,
    ) as Array<{ line: string }>;
    return rows.length ? joinLines(rows.map((r) => r.line)) : null;
  }

  /** One transaction: the old lines go, each line of `text` is stored as given (not re-serialised). */
  async importTranscript(sessionId: string, text: string): Promise<void> {
    assertValidSessionId(sessionId);
    const parts = splitLines(text);
    this.write(() => {
      this.stmt("DELETE FROM transcript_lines WHERE session_id = ?").run(sessionId);
      const insert = this.stmt("INSERT INTO transcript_lines (session_id, seq, line) VALUES (?, ?, ?)");
      for (let i = 0; i < parts.length; i++) insert.run(sessionId, i, parts[i]!);
    });
  }

  private fenceIsCurrent(fence: Fence): boolean {
    const cur = this.stmt("SELECT owner, epoch, expires_at, free FROM leases WHERE name = ?").get(fence.name) as
      { owner: string; epoch: number; expires_at: number; free: number } | undefined;
    return !!cur && !cur.free && cur.owner === fence.owner && cur.epoch === fence.epoch && this.now() < cur.expires_at;
  }

  async acquireLease(name: string, options: { ttlMs?: number; waitMs?: number } = {}): Promise<Lease> {
    const ttl = options.ttlMs ?? this.leaseTtlMs;
    const deadline = this.now() + (options.waitMs ?? 10_000);
    for (;;) {
      const got = this.write(() => {
        const now = this.now();
        const cur = this.stmt("SELECT owner, epoch, expires_at, free FROM leases WHERE name = ?").get(name) as
          { owner: string; epoch: number; expires_at: number; free: number } | undefined;
        if (cur && !cur.free && now < cur.expires_at) {
          if (cur.owner !== this.owner) return { held: cur };
          return { lease: { name, owner: this.owner, epoch: cur.epoch, expiresAt: cur.expires_at } };
        }
        const epoch = (cur?.epoch ?? 0) + 1;
        this.stmt(
          "INSERT INTO leases (name, owner, epoch, expires_at, free) VALUES (?, ?, ?, ?, 0) ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, epoch = excluded.epoch, expires_at = excluded.expires_at, free = 0",
        ).run(name, this.owner, epoch, now + ttl);
        return { lease: { name, owner: this.owner, epoch, expiresAt: now + ttl } };
      });
      if ("lease" in got && got.lease) return got.lease;
      if (this.now() >= deadline) {
        const held = (got as { held: { owner: string; epoch: number; expires_at: number } }).held;
        throw new LeaseTimeoutError(
          `${this.location}: lease ${JSON.stringify(name)} is held by ${held.owner} (epoch ${held.epoch}) until ${new Date(held.expires_at).toISOString()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async renewLease(lease: Lease, ttlMs = this.leaseTtlMs): Promise<Lease> {
    return this.write(() => {
      if (!this.fenceIsCurrent(lease))
        throw new FencedError(`lease ${JSON.stringify(lease.name)} epoch ${lease.epoch} was lost`);
      const expiresAt = this.now() + ttlMs;
      this.stmt("UPDATE leases SET expires_at = ? WHERE name = ?").run(expiresAt, lease.name);
      return { ...lease, expiresAt };
    });
  }

  async releaseLease(lease: Lease): Promise<void> {
    this.write(() => {
      this.stmt("UPDATE leases SET free = 1 WHERE name = ? AND owner = ? AND epoch = ?").run(
        lease.name,
        lease.owner,
        lease.epoch,
      );
    });
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}

/** Opens a SQLite store; read-only and absent, an empty store instead (nothing is created). */
export function openSqliteStore(options: SqliteStoreOptions): SessionStore {
  if (options.readOnly && !fs.existsSync(options.file))
    return new MemorySessionStore({ now: options.now, leaseTtlMs: options.leaseTtlMs });
  return SqliteSessionStore.open(options);
}
