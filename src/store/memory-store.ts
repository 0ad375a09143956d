/** In-process backend for tests and incognito use. Same semantics as the durable backends. */
import { randomUUID } from "node:crypto";
import { assertValidSessionId } from "../keys/ids.ts";
import type { SessionEntry } from "./entry.ts";
import { LeaseTable } from "./lease-table.ts";
import { compareRows, matchesFilter, pageOf } from "./list-order.ts";
import { archiveName, joinLines, numberedFrom, parseStoredLines, splitLines } from "./transcript-codec.ts";
import {
  FencedError,
  LeaseTimeoutError,
  type ArchiveReason,
  type Fence,
  type Lease,
  type ListFilter,
  type ListOptions,
  type ListPage,
  type PatchMutator,
  type PatchResult,
  type SessionRow,
  type SessionStore,
  type StoreCapabilities,
  type TranscriptLine,
  type TranscriptRead,
} from "./types.ts";

export interface MemoryStoreOptions {
  now?: () => number;
  leaseTtlMs?: number;
  /**
   * Another writer on the same data as `store` (its own lease owner), as a second process would be
   * on a durable backend: what the conformance kit's `another()` opens.
   */
  sameDataAs?: MemorySessionStore;
}

/** Everything a memory store holds; writers opened with `sameDataAs` share one. */
interface MemoryData {
  rows: Map<string, SessionEntry>;
  /** Each transcript as its stored line texts (JSON), so an imported text exports byte-identical. */
  transcripts: Map<string, string[]>;
  archives: Map<string, string[]>;
  leases: LeaseTable;
}

export class MemorySessionStore implements SessionStore {
  readonly backend = "memory";
  readonly location = "memory";
  readonly capabilities: StoreCapabilities = { shared: false };
  private readonly data: MemoryData;
  private readonly rows: Map<string, SessionEntry>;
  private readonly transcripts: Map<string, string[]>;
  private readonly archives: Map<string, string[]>;
  private readonly leases: LeaseTable;
  private readonly owner = `mem-${randomUUID()}`;
  private readonly now: () => number;
  private readonly leaseTtlMs: number;

  constructor(options: MemoryStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.leaseTtlMs = options.leaseTtlMs ?? 5000;
    this.data = options.sameDataAs?.data ?? {
      rows: new Map(),
      transcripts: new Map(),
      archives: new Map(),
      leases: new LeaseTable(),
    };
    ({ rows: this.rows, transcripts: this.transcripts, archives: this.archives, leases: this.leases } = this.data);
  }

  async get(key: string): Promise<SessionEntry | undefined> {
    const row = this.rows.get(key);
    return row ? structuredClone(row) : undefined;
  }

  async patch(key: string, mutator: PatchMutator): Promise<PatchResult> {
    const before = this.rows.get(key);
    const next = mutator(before ? structuredClone(before) : undefined);
    if (next === undefined) return { before, after: before, changed: false };
    if (next === null) {
      this.rows.delete(key);
      return { before, after: undefined, changed: before !== undefined };
    }
    this.rows.set(key, structuredClone(next));
    return { before, after: structuredClone(next), changed: true };
  }

  async putMany(changes: ReadonlyArray<{ key: string; entry: SessionEntry | null }>): Promise<void> {
    for (const { key, entry } of changes) {
      if (entry === null) this.rows.delete(key);
      else this.rows.set(key, structuredClone(entry));
    }
  }

  async list(filter?: ListFilter, options: ListOptions = {}): Promise<ListPage> {
    const rows = (await this.all()).filter((r) => matchesFilter(r, filter)).sort(compareRows);
    return pageOf(rows, options.cursor, options.limit ?? Number.MAX_SAFE_INTEGER);
  }

  async count(): Promise<number> {
    return this.rows.size;
  }

  async all(): Promise<SessionRow[]> {
    return [...this.rows].map(([key, entry]) => ({ key, entry: structuredClone(entry) }));
  }

  async appendTranscript(sessionId: string, lines: readonly TranscriptLine[], fence?: Fence): Promise<void> {
    assertValidSessionId(sessionId);
    if (fence && !this.fenceIsCurrent(fence))
      throw new FencedError(`lease epoch ${fence.epoch} of ${fence.owner} is no longer current`);
    const list = this.transcripts.get(sessionId) ?? [];
    for (const line of lines) list.push(JSON.stringify(line));
    this.transcripts.set(sessionId, list);
  }

  async readTranscript(sessionId: string, options: { tail?: number } = {}): Promise<TranscriptRead> {
    assertValidSessionId(sessionId);
    const all = this.transcripts.get(sessionId) ?? [];
    const start = options.tail !== undefined ? Math.max(0, all.length - options.tail) : 0;
    return {
      ...parseStoredLines(`memory#${sessionId}`, numberedFrom(start + 1, all.slice(start))),
      truncated: start > 0,
    };
  }

  async transcriptExists(sessionId: string): Promise<boolean> {
    assertValidSessionId(sessionId);
    return this.transcripts.has(sessionId);
  }

  async transcriptHeader(sessionId: string): Promise<TranscriptLine | null> {
    assertValidSessionId(sessionId);
    const first = this.transcripts.get(sessionId)?.[0];
    return first !== undefined
      ? (parseStoredLines(`memory#${sessionId}`, numberedFrom(1, [first])).lines[0] ?? null)
      : null;
  }

  async archiveTranscript(sessionId: string, reason: ArchiveReason, now = this.now()): Promise<string | null> {
    assertValidSessionId(sessionId);
    const lines = this.transcripts.get(sessionId);
    if (!lines) return null;
    const name = archiveName(sessionId, reason, now);
    this.archives.set(name, lines);
    this.transcripts.delete(sessionId);
    return name;
  }

  async listTranscripts(): Promise<string[]> {
    return [...this.transcripts.keys()];
  }

  async exportTranscript(sessionId: string): Promise<string | null> {
    assertValidSessionId(sessionId);
    const lines = this.transcripts.get(sessionId);
    return lines ? joinLines(lines) : null;
  }

  async importTranscript(sessionId: string, text: string): Promise<void> {
    assertValidSessionId(sessionId);
    this.transcripts.set(sessionId, splitLines(text));
  }

  async acquireLease(name: string, options: { ttlMs?: number; waitMs?: number } = {}): Promise<Lease> {
    const ttl = options.ttlMs ?? this.leaseTtlMs;
    const deadline = this.now() + (options.waitMs ?? 10_000);
    for (;;) {
      const now = this.now();
      const epoch = (this.leases.get(name)?.epoch ?? 0) + 1;
      if (this.leases.request(name, this.owner, epoch, now + ttl, now)) {
        return { name, owner: this.owner, epoch, expiresAt: now + ttl };
      }
      if (now >= deadline) {
        const cur = this.leases.get(name);
        throw new LeaseTimeoutError(
          `lease ${JSON.stringify(name)} is held by ${cur?.owner} (epoch ${cur?.epoch}) until ${new Date(cur?.expiresAt ?? 0).toISOString()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async renewLease(lease: Lease, ttlMs = this.leaseTtlMs): Promise<Lease> {
    const now = this.now();
    if (!this.leases.request(lease.name, lease.owner, lease.epoch, now + ttlMs, now)) {
      throw new FencedError(`lease ${JSON.stringify(lease.name)} epoch ${lease.epoch} was lost`);
    }
    return { ...lease, expiresAt: now + ttlMs };
  }

  async releaseLease(lease: Lease): Promise<void> {
    this.leases.release(lease.name, lease.owner, lease.epoch);
  }

  async close(): Promise<void> {}

  private fenceIsCurrent(fence: Fence): boolean {
    return this.leases.isCurrent(fence.name, fence, this.now());
  }
}
