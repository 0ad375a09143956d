/**
 * Appends entries to transcripts, keeping the parent chain: each new entry is a child of the
 * current leaf. Per-session state (leaf, recent ids, recent inbound message ids) is cached and,
 * after a restart, recovered from a bounded tail read — never from the whole file.
 */
import type { Fence, SessionStore, TranscriptLine } from "../store/types.ts";
import { makeHeader, newEntryId, type NewEntry, type TranscriptEntry } from "./entries.ts";

const TAIL_FOR_RECOVERY = 64;
const RECENT_IDS = 256;
const MAX_CACHED_SESSIONS = 4096;
/** Whole transcripts kept parsed in memory for context builds, bounded by total lines. */
const MAX_CACHED_LINES = 200_000;

interface SessionTail {
  exists: boolean;
  leafId: string | null;
  /** Entry ids near the leaf, for collision checks. */
  ids: Set<string>;
  /** Inbound message ids recently recorded, so a retried delivery is not recorded twice. */
  messageIds: Set<string>;
}

export class TranscriptWriter {
  private readonly cache = new Map<string, SessionTail>();
  private readonly full = new Map<string, TranscriptLine[]>();
  private fullLines = 0;
  private readonly store: SessionStore;

  constructor(store: SessionStore) {
    this.store = store;
  }

  /** Creates the transcript with its header if it does not exist yet. */
  async ensureHeader(sessionId: string, now: number, cwd: string, fence?: Fence): Promise<void> {
    const tail = await this.tail(sessionId);
    if (tail.exists) return;
    await this.store.appendTranscript(sessionId, [makeHeader(sessionId, now, cwd) as unknown as TranscriptLine], fence);
    tail.exists = true;
  }

  async hasMessageId(sessionId: string, messageId: string): Promise<boolean> {
    return (await this.tail(sessionId)).messageIds.has(messageId);
  }

  /** Appends entries in order as one write; returns them with ids and parents filled in. */
  async append(sessionId: string, entries: readonly NewEntry[], options: { now: number; cwd: string; fence?: Fence }): Promise<TranscriptEntry[]> {
    const tail = await this.tail(sessionId);
    const lines: TranscriptLine[] = [];
    if (!tail.exists) lines.push(makeHeader(sessionId, options.now, options.cwd) as unknown as TranscriptLine);
    let parent = tail.leafId;
    const written: TranscriptEntry[] = [];
    const timestamp = new Date(options.now).toISOString();
    for (const e of entries) {
      let id = newEntryId();
      while (tail.ids.has(id)) id = newEntryId();
      const full = { ...e, id, parentId: parent, timestamp } as TranscriptEntry;
      written.push(full);
      lines.push(full as unknown as TranscriptLine);
      parent = id;
    }
    await this.store.appendTranscript(sessionId, lines, options.fence);
    tail.exists = true;
    const full = this.full.get(sessionId);
    if (full) {
      full.push(...lines);
      this.fullLines += lines.length;
    }
    for (const w of written) this.remember(tail, w);
    return written;
  }

  /**
   * Brings a session's cached state up to date after another process may have appended (a shared
   * store): reads a bounded tail and, when the cached leaf is in it, takes on just the newer lines;
   * otherwise forgets the session so the next use reads it afresh.
   */
  async refresh(sessionId: string): Promise<void> {
    const tail = this.cache.get(sessionId);
    if (!tail?.leafId) {
      this.forget(sessionId);
      return;
    }
    const read = await this.store.readTranscript(sessionId, { tail: TAIL_FOR_RECOVERY });
    const at = read.lines.findIndex((l) => l.id === tail.leafId);
    if (at < 0) {
      this.forget(sessionId);
      return;
    }
    const newer = read.lines.slice(at + 1);
    const full = this.full.get(sessionId);
    if (full) {
      full.push(...newer);
      this.fullLines += newer.length;
    }
    for (const line of newer) this.remember(tail, line);
  }

  /** Forgets a session's cached state (after archive or delete). */
  forget(sessionId: string): void {
    this.cache.delete(sessionId);
    this.dropFull(sessionId);
  }

  /**
   * The whole transcript, parsed. Like the leaf cache above, this relies on every append to the
   * session going through this writer while the process holds it, so a read costs the file once
   * and then only what was appended since. Returns a snapshot the caller may keep.
   */
  async readAll(sessionId: string): Promise<{ lines: TranscriptLine[]; issues: number }> {
    const cached = this.full.get(sessionId);
    if (cached) {
      this.full.delete(sessionId);
      this.full.set(sessionId, cached);
      return { lines: cached.slice(), issues: 0 };
    }
    const read = await this.store.readTranscript(sessionId);
    if (read.lines.length < MAX_CACHED_LINES / 4) {
      this.full.set(sessionId, read.lines.slice());
      this.fullLines += read.lines.length;
      while (this.fullLines > MAX_CACHED_LINES && this.full.size > 1) this.dropFull(this.full.keys().next().value as string);
    }
    return { lines: read.lines, issues: read.issues.length };
  }

  private dropFull(sessionId: string): void {
    const lines = this.full.get(sessionId);
    if (!lines) return;
    this.fullLines -= lines.length;
    this.full.delete(sessionId);
  }

  private remember(tail: SessionTail, entry: TranscriptEntry | TranscriptLine): void {
    const id = typeof entry.id === "string" ? entry.id : null;
    if (!id || entry.type === "session") return;
    tail.leafId = id;
    tail.ids.add(id);
    if (tail.ids.size > RECENT_IDS) tail.ids.delete(tail.ids.values().next().value as string);
    const origin = (entry as { pincer?: { messageId?: unknown } }).pincer;
    if (origin && typeof origin.messageId === "string") {
      tail.messageIds.add(origin.messageId);
      if (tail.messageIds.size > RECENT_IDS) tail.messageIds.delete(tail.messageIds.values().next().value as string);
    }
  }

  private async tail(sessionId: string): Promise<SessionTail> {
    const cached = this.cache.get(sessionId);
    if (cached) {
      this.cache.delete(sessionId);
      this.cache.set(sessionId, cached);
      return cached;
    }
    const read = await this.store.readTranscript(sessionId, { tail: TAIL_FOR_RECOVERY });
    const exists = read.lines.length > 0 || (await this.store.transcriptExists(sessionId));
    const state: SessionTail = { exists, leafId: null, ids: new Set(), messageIds: new Set() };
    for (const line of read.lines) this.remember(state, line);
    this.cache.set(sessionId, state);
    if (this.cache.size > MAX_CACHED_SESSIONS) this.cache.delete(this.cache.keys().next().value as string);
    return state;
  }
}
