/**
 * The one storage interface every backend implements. It is row-level on purpose: no
 * operation reads or rewrites the whole store per message, so the cost of a message does not grow
 * with the number of sessions.
 */
import { PincerError } from "../errors.ts";
import type { SessionEntry } from "./entry.ts";
import type { DiskFile } from "./fs/disk-files.ts";

/** Identifies a lease holder at one moment: a write carrying a stale fence is refused. */
export interface Fence {
  /** Lease name, e.g. `index` or `session:<key>`. */
  name: string;
  owner: string;
  epoch: number;
  /**
   * When set, the backend may extend the lease to now + `renewTtlMs` in the same transaction as the
   * fenced write (the write proves its holder alive); it then reports the new expiry as
   * `PatchResult.leaseExpiresAt`. A backend that does not simply ignores it.
   */
  renewTtlMs?: number;
  /**
   * When set (with `renewTtlMs`), this write is the holder's last under the lease: the backend may
   * free the lease in the same transaction, and then says so (`PatchResult.leaseReleased`). A
   * backend that does not leaves the lease held; the holder releases it as usual.
   */
  release?: boolean;
}

export interface Lease extends Fence {
  expiresAt: number;
}

/** A lease just taken and the row it guards, read once the lease was held (`acquireLeaseWithRow`). */
export interface LeaseWithRow {
  lease: Lease;
  row: SessionEntry | undefined;
  /** The transcript tail asked for (`TailHint`), read after the lease was taken; absent when not asked or not read. */
  tail?: TranscriptRead & { sessionId: string };
}

/** A transcript whose last `lines` lines `acquireLeaseWithRow` should read too (the caller's guess of the session's). */
export interface TailHint {
  sessionId: string;
  lines: number;
}

/**
 * Decides the new row from the current one, atomically. Return the new row, `undefined` to leave
 * the row as it is, or `null` to delete it. Must be synchronous and side-effect free: a backend may
 * call it again after losing a race.
 */
export type PatchMutator = (current: SessionEntry | undefined) => SessionEntry | undefined | null;

export interface PatchResult {
  before: SessionEntry | undefined;
  after: SessionEntry | undefined;
  changed: boolean;
  /** Set when a fenced write renewed its lease (`Fence.renewTtlMs`): the new expiry, lease clock. */
  leaseExpiresAt?: number;
  /** True when the write also freed its lease (`Fence.release`). */
  leaseReleased?: boolean;
}

export interface ListFilter {
  /** Only rows with `updatedAt >= activeSince` (epoch ms). */
  activeSince?: number;
  /** Only keys starting with this prefix. */
  keyPrefix?: string;
}

export interface ListOptions {
  /** Opaque cursor returned by the previous page. */
  cursor?: string | null;
  limit?: number;
}

export interface SessionRow {
  key: string;
  entry: SessionEntry;
}

/** Rows ordered by `updatedAt` descending, ties by key ascending. */
export interface ListPage {
  rows: SessionRow[];
  nextCursor: string | null;
}

/** A problem found while reading stored data: reported, skipped, never fatal. */
export interface ReadIssue {
  file: string;
  line: number;
  byteOffset: number;
  reason: string;
}

/** One transcript line (pi v3 format): the header or an entry; kept as parsed JSON. */
export type TranscriptLine = Record<string, unknown>;

export interface TranscriptRead {
  lines: TranscriptLine[];
  issues: ReadIssue[];
  /** True when the read stopped before the start of the file because of a tail bound. */
  truncated: boolean;
}

export type ArchiveReason = "reset" | "deleted";

/** A message between gateway processes sharing one store (chat events, resets). JSON only. */
export interface StoreEvent {
  /** The publishing process (a listener ignores its own). */
  origin: string;
  kind: string;
  payload: unknown;
}

/** Cross-process notifications of a shared store (LISTEN/NOTIFY, Redis pub/sub). */
export interface StoreEvents {
  publish(event: StoreEvent): Promise<void>;
  /**
   * Like `publish`, but the backend may hold the event for a few milliseconds to send it together
   * with a write it makes anyway (postgres: inside that write's transaction, so no commit of its
   * own). Events given here are delivered in call order; resolves once sent. Optional.
   */
  publishSoon?(event: StoreEvent): Promise<void>;
  subscribe(listener: (event: StoreEvent) => void): () => void;
}

/** File operations only a store with a sessions directory has (disk budget, archive purge), by exact name. */
export interface DiskOps {
  readonly dir: string;
  /** Every regular file of the sessions directory, classified (transcript, archive, index, other). */
  diskInventory(): DiskFile[];
  /** The name `archiveDiskFile(name, reason, now)` would give the file. */
  archiveDiskName(name: string, reason: ArchiveReason, now: number): string;
  archiveDiskFile(name: string, reason: ArchiveReason, now: number): Promise<string>;
  restoreDiskFile(archived: string, name: string): Promise<void>;
  removeDiskFile(name: string): Promise<void>;
  /** Synchronous existence check (a row's `sessionFile` honoured inside the directory), for scans over many rows. */
  transcriptExistsSync(sessionId: string, sessionFile?: string): boolean;
}

/**
 * What a store can do beyond the interface, declared instead of guessed: callers branch on these,
 * never on the backend's name or class.
 */
export interface StoreCapabilities {
  /** Several gateway processes may share the store: sessions are leased across processes. */
  readonly shared: boolean;
  /** The sessions directory's file operations (the fs backend). */
  readonly disk?: DiskOps;
  /** How the gateways sharing the store tell each other what happened (postgres, redis). */
  readonly events?: StoreEvents;
}

export interface SessionStore {
  /** Backend name (`fs`, `memory`, ...) and where it lives, for status output. */
  readonly backend: string;
  readonly location: string;
  readonly capabilities: StoreCapabilities;

  get(key: string): Promise<SessionEntry | undefined>;
  /** Atomic read-modify-write of one row, safe against other writers (threads or processes). */
  patch(key: string, mutator: PatchMutator): Promise<PatchResult>;
  /** Several rows in one atomic step (maintenance). `null` deletes. */
  putMany(changes: ReadonlyArray<{ key: string; entry: SessionEntry | null }>): Promise<void>;
  list(filter?: ListFilter, options?: ListOptions): Promise<ListPage>;
  count(): Promise<number>;
  /** Every row, for maintenance and full listings. Cost is O(store), never on the message path. */
  all(): Promise<SessionRow[]>;

  /** Appends lines to a transcript, creating it when missing. With a fence, refused unless current. */
  appendTranscript(sessionId: string, lines: readonly TranscriptLine[], fence?: Fence): Promise<void>;
  /**
   * `appendTranscript` and then `patch`, as one atomic step where the backend can (postgres, redis:
   * one transaction / script, so one commit per turn's reply instead of two); refused as a whole
   * when the fence is not current. Optional: `appendAndPatch()` below runs the two in sequence.
   * `known`: the row as the caller, holding the fence's lease, last wrote or read it; a backend may
   * then apply the mutator to it and write in one round trip, compare-and-set on that row (falling
   * back to its read-modify-write when the stored row differs). `known.row` may be the caller's cached
   * row itself, not a copy: a backend never changes it (it copies before mutating); it may come
   * back as the result's `before`, which such a caller then must not change either.
   */
  appendAndPatch?(
    sessionId: string,
    lines: readonly TranscriptLine[],
    fence: Fence | undefined,
    key: string,
    mutator: PatchMutator,
    known?: { row: SessionEntry | undefined },
  ): Promise<PatchResult>;
  /** The last `tail` lines (all when omitted); torn or garbage lines are skipped and reported. */
  readTranscript(sessionId: string, options?: { tail?: number }): Promise<TranscriptRead>;
  transcriptExists(sessionId: string): Promise<boolean>;
  /** The first line (the `session` header) without reading the rest; null when absent or unreadable. */
  transcriptHeader(sessionId: string): Promise<TranscriptLine | null>;
  /** Moves the transcript aside (`.reset.<ts>` / `.deleted.<ts>`); returns the archive name. */
  archiveTranscript(sessionId: string, reason: ArchiveReason, now?: number): Promise<string | null>;

  /** Every live (not archived) transcript's session id, for migration. O(store). */
  listTranscripts(): Promise<string[]>;
  /** A transcript's stored text exactly (JSONL, one line per entry), or null when absent. */
  exportTranscript(sessionId: string): Promise<string | null>;
  /** Replaces a transcript with `text` (JSONL) in one atomic step, for migration. */
  importTranscript(sessionId: string, text: string): Promise<void>;

  /** Named leases with fencing: a holder whose lease expired or was taken over cannot write. */
  acquireLease(name: string, options?: { ttlMs?: number; waitMs?: number }): Promise<Lease>;
  renewLease(lease: Lease, ttlMs?: number): Promise<Lease>;
  /**
   * `acquireLease` and then `get(key)` in the same round trip where the backend can (postgres: the
   * acquiring transaction; redis: its script), so a session's first read costs nothing. Optional:
   * without it, a caller takes the lease and reads the row when it needs it. `tail`: the caller
   * also wants the last lines of that transcript (to catch up on what another holder appended); a
   * backend that cannot read them in the same round trip leaves `LeaseWithRow.tail` out.
   */
  acquireLeaseWithRow?(
    name: string,
    key: string,
    options?: { ttlMs?: number; waitMs?: number },
    tail?: TailHint,
  ): Promise<LeaseWithRow>;
  releaseLease(lease: Lease): Promise<void>;

  /** Flushes and releases everything; the store is left complete for other tools. */
  close(): Promise<void>;
}

/** The store's combined append-and-patch, or the two operations one after the other. */
export async function appendAndPatch(
  store: SessionStore,
  sessionId: string,
  lines: readonly TranscriptLine[],
  fence: Fence | undefined,
  key: string,
  mutator: PatchMutator,
  known?: { row: SessionEntry | undefined },
): Promise<PatchResult> {
  if (store.appendAndPatch) return store.appendAndPatch(sessionId, lines, fence, key, mutator, known);
  await store.appendTranscript(sessionId, lines, fence);
  return store.patch(key, mutator);
}

export class StoreError extends PincerError {
  override readonly code: string = "store_error";
}

/** A write was refused because its fence (lease) is no longer current. */
export class FencedError extends StoreError {
  override readonly code = "store_unavailable";
  override readonly httpStatus = 503;
  override readonly retryable = true;
}

/** The store's database cannot be reached; says where and how often it was tried. */
export class StoreUnavailableError extends StoreError {
  override readonly code = "store_unavailable";
  override readonly httpStatus = 503;
  override readonly retryable = true;
}

/** The stored schema is newer (or older) than this Pincer handles; says which command migrates. */
export class SchemaVersionError extends StoreError {
  override readonly code = "store_schema_mismatch";
}

/** A lease stayed held by someone else for the whole wait: the session is busy on another gateway. */
export class LeaseTimeoutError extends StoreError {
  override readonly code = "store_unavailable";
  override readonly httpStatus = 503;
  override readonly retryable = true;
}

/** errno codes meaning "no room to write": the device is full, or the user's quota is used up. */
const STORAGE_FULL_CODES = new Set(["ENOSPC", "EDQUOT"]);

/**
 * A write could not be made durable because the disk (or the quota) is full. Nothing of it was kept
 * (a partial append is undone), so the caller must not acknowledge it; the same write may succeed
 * once space is freed, with no restart.
 */
export class StorageFullError extends StoreError {
  override readonly code = "insufficient_storage";
  override readonly httpStatus = 507;
  override readonly retryable = true;
  /** `ENOSPC` or `EDQUOT`. */
  readonly errno: string;
  /** The file that could not be written. */
  readonly path: string;
  constructor(path: string, code: string, cause?: unknown) {
    super(`${path}: no space left to write (${code}); free disk space (or quota) and retry`, { cause });
    this.errno = code;
    this.path = path;
  }
}

/** SQLite's result code for "database or disk is full", as node:sqlite reports it in `errcode`. */
const SQLITE_FULL = 13;

/** Whether `err` is a StorageFullError, a raw ENOSPC/EDQUOT from Node's fs, or SQLite's SQLITE_FULL. */
export function isStorageFull(err: unknown): boolean {
  if (err instanceof StorageFullError) return true;
  const e = err as { code?: unknown; errcode?: unknown } | null;
  if (typeof e?.code !== "string") return false;
  return STORAGE_FULL_CODES.has(e.code) || (e.code === "ERR_SQLITE_ERROR" && e.errcode === SQLITE_FULL);
}

/** A stored file cannot be read safely; names the file and byte offset. */
export class CorruptStoreError extends StoreError {
  override readonly code = "store_corrupt";
  readonly file: string;
  readonly byteOffset: number;
  constructor(file: string, byteOffset: number, reason: string) {
    super(`${file}: ${reason} (at byte ${byteOffset})`);
    this.file = file;
    this.byteOffset = byteOffset;
  }
}
