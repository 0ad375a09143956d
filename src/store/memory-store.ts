/** In-process backend for tests and incognito use. Same semantics as the durable backends. */
import { randomUUID } from "node:crypto";
import { assertValidSessionId } from "../keys/ids.ts";
import type { SessionEntry } from "./entry.ts";
import { LeaseTable } from "./lease-table.ts";
import { compareRows, matchesFilter, pageOf } from "./list-order.ts";
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
  type ReadIssue,
  type SessionRow,
  type SessionStore,
  type TranscriptLine,
  type TranscriptRead,
} from "./types.ts";

export interface MemoryStoreOptions {
  now?: () => number;
  leaseTtlMs?: number;
}

export class MemorySessionStore implements SessionStore {
  readonly backend = "memory";
  readonly location = "memory";
  private readonly rows = new Map<string, SessionEntry>();
  /** Each transcript as its stored line texts (JSON), so an imported text exports byte-identical. */
  private readonly transcripts = new Map<string, string[]>();
  private readonly archives = new Map<string, string[]>();
  private readonly leases = new LeaseTable();
  private readonly owner = `mem-${randomUUID()}`;
  private readonly now: () => number;
  private readonly leaseTtlMs: number;

  constructor(options: MemoryStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.leaseTtlMs = options.leaseTtlMs ?? 5000;
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
    if (fence && !this.fenceIsCurrent(fence)) throw new FencedError(`lease epoch ${fence.epoch} of ${fence.owner} is no longer current`);
    const list = this.transcripts.get(sessionId) ?? [];
    for (const line of lines) list.push(JSON.stringify(line));
    this.transcripts.set(sessionId, list);
  }

  async readTranscript(sessionId: string, options: { tail?: number } = {}): Promise<TranscriptRead> {
    assertValidSessionId(sessionId);
    const all = this.transcripts.get(sessionId) ?? [];
    const start = options.tail !== undefined ? Math.max(0, all.length - options.tail) : 0;
    const lines: TranscriptLine[] = [];
    const issues: ReadIssue[] = [];
    for (let i = start; i < all.length; i++) {
      const parsed = parseLine(all[i]!);
      if (parsed) lines.push(parsed);
      else issues.push({ file: `memory#${sessionId}`, line: i + 1, byteOffset: 0, reason: "malformed JSON line" });
    }
    return { lines, issues, truncated: start > 0 };
  }

  async transcriptExists(sessionId: string): Promise<boolean> {
    assertValidSessionId(sessionId);
    return this.transcripts.has(sessionId);
  }

  async transcriptHeader(sessionId: string): Promise<TranscriptLine | null> {
    assertValidSessionId(sessionId);
    const first = this.transcripts.get(sessionId)?.[0];
    return first !== undefined ? parseLine(first) : null;
  }

  async archiveTranscript(sessionId: string, reason: ArchiveReason, now = this.now()): Promise<string | null> {
    assertValidSessionId(sessionId);
    const lines = this.transcripts.get(sessionId);
    if (!lines) return null;
    const name = `${sessionId}.jsonl.${reason}.${new Date(now).toISOString().replaceAll(":", "-")}`;
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
        throw new LeaseTimeoutError(`lease ${JSON.stringify(name)} is held by ${cur?.owner} (epoch ${cur?.epoch}) until ${new Date(cur?.expiresAt ?? 0).toISOString()}`);
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

  /** Test hook: pretend another process holds leases under a different owner id. */
  withOwner(owner: string): MemorySessionStore {
    const view = Object.create(this) as MemorySessionStore;
    Object.defineProperty(view, "owner", { value: owner });
    return view;
  }

  async close(): Promise<void> {}

  private fenceIsCurrent(fence: Fence): boolean {
    return this.leases.isCurrent(fence.name, fence, this.now());
  }
}

function parseLine(raw: string): TranscriptLine | null {
  try {
    const v = JSON.parse(raw) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as TranscriptLine) : null;
  } catch {
    return null;
  }
}

/** JSONL text to line texts: split on "\n", dropping only the empty piece after the final newline. */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const parts = text.split("\n");
  if (parts[parts.length - 1] === "") parts.pop();
  return parts;
}

/** Line texts back to JSONL: each line followed by "\n" (the inverse of splitLines for such text). */
export function joinLines(lines: readonly string[]): string {
  return lines.length ? lines.join("\n") + "\n" : "";
}
