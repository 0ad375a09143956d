/**
 * Appends entries to transcripts, keeping the parent chain: each new entry is a child of the
 * current leaf. Per-session state (leaf, recent ids, recent inbound message ids) is cached and,
 * after a restart, recovered from a bounded tail read — never from the whole file, except once
 * per session for retry dedupe (below).
 *
 * Retry dedupe: the transcript is the durable record of which message ids a session recorded
 * (each user entry carries `pincer.messageId`). A retry is recognised for the last
 * MESSAGE_IDS_KEPT ids of the session within MESSAGE_ID_MAX_AGE_MS, across restarts: the first
 * check on a session whose tail read did not reach the start of the file scans the transcript
 * (through the parsed-transcript cache the session's next turn reads anyway).
 */
import type { Fence, SessionStore, TranscriptLine, TranscriptRead } from "../store/types.ts";
import { makeHeader, newEntryId, type NewEntry, type TranscriptEntry } from "./entries.ts";
import { ParsedTranscriptCache, type TranscriptView } from "./parsed-cache.ts";

const TAIL_FOR_RECOVERY = 64;
const RECENT_IDS = 256;
const MAX_CACHED_SESSIONS = 4096;
/** Memory for remembered message ids, per writer: sessions are forgotten (least recent first) past it. */
const MAX_MESSAGE_ID_BYTES = 32 * 1024 * 1024;
/** Rough cost of one remembered id beyond its characters (map entry, record, entry id). */
const MESSAGE_ID_OVERHEAD = 96;
/** Retries are recognised for this many of a session's most recent message ids… */
export const MESSAGE_IDS_KEPT = 1024;
/** …and for this long after the first delivery. */
export const MESSAGE_ID_MAX_AGE_MS = 24 * 3_600_000;

interface RecordedMessage {
  entryId: string;
  /** When the first delivery was recorded (epoch ms; NaN when the entry has no timestamp). */
  at: number;
}

interface SessionTail {
  exists: boolean;
  leafId: string | null;
  /** Entry ids near the leaf, for collision checks. */
  ids: Set<string>;
  /** Inbound message ids recently recorded (oldest first), so a retried delivery is not recorded twice. */
  messageIds: Map<string, RecordedMessage>;
  /** False until `messageIds` holds every id the dedupe bounds cover (a cold tail read may not). */
  messageIdsComplete: boolean;
  /** Approximate memory of `messageIds`. */
  messageIdBytes: number;
}

let writerSeq = 0;

export class TranscriptWriter {
  private readonly cache = new Map<string, SessionTail>();
  /** Parsed whole transcripts (shared across writers, bounded in bytes); keys carry this writer's prefix. */
  private readonly full: ParsedTranscriptCache;
  private readonly prefix = `${++writerSeq}\u0000`;
  /** Memory of every cached session's remembered message ids. */
  private messageIdBytes = 0;
  private readonly store: SessionStore;
  /** The transcript id a session's lines are stored under (OpenClaw's `sessionFile` may name another file). */
  private readonly nameOf: (sessionId: string) => string;

  constructor(
    store: SessionStore,
    cache: ParsedTranscriptCache = new ParsedTranscriptCache(),
    nameOf: (sessionId: string) => string = (id) => id,
  ) {
    this.store = store;
    this.full = cache;
    this.nameOf = nameOf;
  }

  /** Creates the transcript with its header if it does not exist yet. */
  async ensureHeader(sessionId: string, now: number, cwd: string, fence?: Fence): Promise<void> {
    const tail = await this.tail(sessionId);
    if (tail.exists) return;
    await this.store.appendTranscript(
      this.nameOf(sessionId),
      [makeHeader(sessionId, now, cwd) as unknown as TranscriptLine],
      fence,
    );
    tail.exists = true;
  }

  /**
   * Starts a transcript that does not exist yet with `lines` — a header, then entries copied from
   * another transcript (a thread forked from its parent) — so later appends chain onto the last of
   * them. False, and nothing written, when the transcript exists already.
   */
  async startWith(sessionId: string, lines: readonly TranscriptLine[], fence?: Fence): Promise<boolean> {
    const tail = await this.tail(sessionId);
    if (tail.exists) return false;
    await this.store.appendTranscript(this.nameOf(sessionId), lines, fence);
    tail.exists = true;
    this.full.append(this.prefix + sessionId, lines);
    // The copied entries are this transcript's chain; their message ids stay the parent's own.
    for (const line of lines) {
      if (line.type === "session" || typeof line.id !== "string") continue;
      tail.leafId = line.id;
      tail.ids.add(line.id);
      if (tail.ids.size > RECENT_IDS) tail.ids.delete(tail.ids.values().next().value as string);
    }
    return true;
  }

  /** The entry that recorded `messageId` in this session, if it is within the dedupe bounds. */
  async findMessageId(sessionId: string, messageId: string, now: number): Promise<string | null> {
    const tail = await this.tail(sessionId);
    if (!tail.messageIds.has(messageId) && !tail.messageIdsComplete) {
      const { lines } = await this.readAll(sessionId);
      for (const line of lines) this.rememberMessageId(tail, line);
      tail.messageIdsComplete = true;
      this.evictTails(sessionId);
    }
    const hit = tail.messageIds.get(messageId);
    if (!hit) return null;
    // An entry without a readable timestamp is kept (retried deliveries must never double).
    return Number.isNaN(hit.at) || now - hit.at <= MESSAGE_ID_MAX_AGE_MS ? hit.entryId : null;
  }

  async hasMessageId(sessionId: string, messageId: string, now = Date.now()): Promise<boolean> {
    return (await this.findMessageId(sessionId, messageId, now)) !== null;
  }

  /** Appends entries in order as one write; returns them with ids and parents filled in. */
  async append(
    sessionId: string,
    entries: readonly NewEntry[],
    options: {
      now: number;
      cwd: string;
      fence?: Fence;
      /** Writes the lines instead of `appendTranscript` (e.g. together with a row patch). */
      write?: (lines: TranscriptLine[]) => Promise<unknown>;
    },
  ): Promise<TranscriptEntry[]> {
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
    await (options.write
      ? options.write(lines)
      : this.store.appendTranscript(this.nameOf(sessionId), lines, options.fence));
    tail.exists = true;
    this.full.append(this.prefix + sessionId, lines);
    for (const w of written) this.remember(tail, w);
    return written;
  }

  /**
   * Brings a session's cached state up to date after another process may have appended (a shared
   * store): from `read` (a short tail the caller read with the lease) or else a bounded tail read
   * here, when the cached leaf is in it, takes on just the newer lines; otherwise forgets the
   * session so the next use reads it afresh.
   */
  async refresh(sessionId: string, read?: TranscriptRead): Promise<void> {
    const tail = this.cache.get(sessionId);
    if (!tail?.leafId) {
      this.forget(sessionId);
      return;
    }
    const leaf = tail.leafId;
    // A longer tail when the cached leaf is not in the one given (and that one was cut short).
    let at = read ? read.lines.findIndex((l) => l.id === leaf) : -1;
    if (at < 0 && !(read && !read.truncated)) {
      read = await this.store.readTranscript(this.nameOf(sessionId), { tail: TAIL_FOR_RECOVERY });
      at = read.lines.findIndex((l) => l.id === leaf);
    }
    if (!read || at < 0) {
      this.forget(sessionId);
      return;
    }
    const newer = read.lines.slice(at + 1);
    this.full.append(this.prefix + sessionId, newer);
    for (const line of newer) this.remember(tail, line);
  }

  /** Whether this writer has state of the session that `refresh` would bring up to date. */
  knows(sessionId: string): boolean {
    return this.cache.get(sessionId)?.leafId != null;
  }

  /** Forgets a session's cached state (after archive or delete). */
  forget(sessionId: string): void {
    this.dropTail(sessionId);
    this.full.drop(this.prefix + sessionId);
  }

  /**
   * The whole transcript, parsed. Like the leaf cache above, this relies on every append to the
   * session going through this writer while the process holds it, so a read costs the file once
   * and then only what was appended since. Returns a snapshot the caller may keep.
   */
  async readAll(sessionId: string): Promise<{ lines: TranscriptLine[]; issues: number }> {
    const cached = this.full.get(this.prefix + sessionId);
    if (cached) return { lines: cached.slice(), issues: 0 };
    const read = await this.store.readTranscript(this.nameOf(sessionId));
    this.full.set(this.prefix + sessionId, read.lines);
    return { lines: read.lines, issues: read.issues.length };
  }

  /**
   * The transcript (or its last `tail` lines) read from the store, leaving the caches alone: for a
   * reader that does not hold the session on a shared store, where another process may have
   * appended since any copy here.
   */
  async readUncached(sessionId: string, tail?: number): Promise<{ lines: TranscriptLine[]; issues: number }> {
    const read = await this.store.readTranscript(this.nameOf(sessionId), tail !== undefined ? { tail } : {});
    return { lines: read.lines, issues: read.issues.length };
  }

  /**
   * The whole transcript without a copy, for a reader that keeps state derived from it between
   * turns (see TranscriptView). A transcript too large to cache is read afresh, with nothing kept.
   */
  async view(sessionId: string): Promise<TranscriptView> {
    const key = this.prefix + sessionId;
    const cached = this.full.view(key);
    if (cached) return cached;
    const read = await this.store.readTranscript(this.nameOf(sessionId));
    this.full.set(key, read.lines);
    const kept = this.full.view(key);
    if (kept) return { ...kept, issues: read.issues.length };
    return { lines: read.lines, length: read.lines.length, issues: read.issues.length, derived: undefined, keep() {} };
  }

  private remember(tail: SessionTail, entry: TranscriptEntry | TranscriptLine): void {
    const id = typeof entry.id === "string" ? entry.id : null;
    if (!id || entry.type === "session") return;
    tail.leafId = id;
    tail.ids.add(id);
    if (tail.ids.size > RECENT_IDS) tail.ids.delete(tail.ids.values().next().value as string);
    this.rememberMessageId(tail, entry);
  }

  private rememberMessageId(tail: SessionTail, entry: TranscriptEntry | TranscriptLine): void {
    const origin = (entry as { pincer?: { messageId?: unknown } }).pincer;
    if (typeof entry.id !== "string" || !origin || typeof origin.messageId !== "string") return;
    // Re-inserting moves the id to the newest end, so eviction below drops the oldest.
    const cost = (id: string) => id.length * 2 + MESSAGE_ID_OVERHEAD;
    if (tail.messageIds.delete(origin.messageId)) this.adjustIdBytes(tail, -cost(origin.messageId));
    tail.messageIds.set(origin.messageId, {
      entryId: entry.id,
      at: typeof entry.timestamp === "string" ? Date.parse(entry.timestamp) : NaN,
    });
    this.adjustIdBytes(tail, cost(origin.messageId));
    if (tail.messageIds.size > MESSAGE_IDS_KEPT) {
      const oldest = tail.messageIds.keys().next().value as string;
      tail.messageIds.delete(oldest);
      this.adjustIdBytes(tail, -cost(oldest));
    }
  }

  private adjustIdBytes(tail: SessionTail, delta: number): void {
    tail.messageIdBytes += delta;
    this.messageIdBytes += delta;
  }

  private dropTail(sessionId: string): void {
    const tail = this.cache.get(sessionId);
    if (!tail) return;
    this.messageIdBytes -= tail.messageIdBytes;
    this.cache.delete(sessionId);
  }

  /** Forgets the least recently used sessions' state past the session count or id memory bounds. */
  private evictTails(keep: string): void {
    while (
      this.cache.size > MAX_CACHED_SESSIONS ||
      (this.messageIdBytes > MAX_MESSAGE_ID_BYTES && this.cache.size > 1)
    ) {
      const oldest = this.cache.keys().next().value as string;
      if (oldest === keep) break;
      this.dropTail(oldest);
    }
  }

  private async tail(sessionId: string): Promise<SessionTail> {
    const cached = this.cache.get(sessionId);
    if (cached) {
      this.cache.delete(sessionId);
      this.cache.set(sessionId, cached);
      return cached;
    }
    const read = await this.store.readTranscript(this.nameOf(sessionId), { tail: TAIL_FOR_RECOVERY });
    const exists = read.lines.length > 0 || (await this.store.transcriptExists(this.nameOf(sessionId)));
    // A tail that reached the start of the file saw every message id the session has.
    const state: SessionTail = {
      exists,
      leafId: null,
      ids: new Set(),
      messageIds: new Map(),
      messageIdsComplete: !read.truncated,
      messageIdBytes: 0,
    };
    for (const line of read.lines) this.remember(state, line);
    this.cache.set(sessionId, state);
    this.evictTails(sessionId);
    return state;
  }
}
