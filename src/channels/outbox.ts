/**
 * The outbox: every outbound message and, per chunk, what happened to it, in one append-only JSONL
 * journal (`<dir>/outbox.jsonl`, fdatasync'd before a record counts). The delivery queue writes a
 * record BEFORE it acts on it: `try` before a chunk is handed to the platform, `sent` (with the
 * platform's ids) before the next chunk starts. So after a crash the journal tells, per chunk:
 * acknowledged (never sent again), known not sent (sent now), or in doubt — a `try` without an
 * outcome, which is resent only to an adapter whose sends are idempotent and otherwise marked
 * uncertain (OpenClaw #22780/#78264: duplicate replies are the complaint users make most).
 *
 * An item may carry a caller's dedupe id (a reply's ledger entry, a sub-agent's announce): an
 * enqueue with an id already known returns the first item. Done items leave the journal at
 * compaction, so their ids stay behind as `seen` records (7 days, at most 10 000): the crash window
 * "enqueued, then died before the caller noted it" cannot send a message twice.
 *
 * Replaying a record twice changes nothing, so a compaction (atomic rewrite of the live items as
 * `item` records) may run while later records are still queued behind it. A torn last line (a crash
 * mid-write) or any unreadable line is skipped and reported; the rewrite at open drops it.
 */
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { z } from "zod";
import { JsonlJournal, readJsonl, type JournalReadResult } from "./jsonl-journal.ts";
import type { ChannelName, ReplyTarget } from "./types.ts";

export type OriginKind = "reply" | "command" | "pairing" | "announce" | "cron" | "notice";

export interface DeliveryOrigin {
  agentId: string;
  sessionKey?: string;
  kind: OriginKind;
}

export interface OutboxItem {
  id: string;
  /** Enqueue time (ms): delivery latency and expiry. */
  at: number;
  target: ReplyTarget;
  origin: DeliveryOrigin;
  /** The caller's dedupe id: a second enqueue with it returns this item. */
  dedupeId?: string;
  /** The markdown as enqueued; dropped from the journal once `chunks` is recorded. */
  markdown?: string;
  /** Rendered chunks, fixed once recorded: the idempotency key `<id>:<index>` always means the same text. */
  chunks?: string[];
  /** Platform message ids per acknowledged chunk. */
  sent: Array<string[] | null>;
  /** Chunks whose outcome is unknown and which were not resent. */
  uncertain: number[];
  /** The next chunk to send. */
  next: number;
  /** A `try` for this chunk has no outcome yet (set by replay after a crash mid-send). */
  inDoubt?: number;
  status: "pending" | "done" | "failed";
  failure?: { chunk: number; kind: string; reason: string; at: number };
  /** When it became done or failed (retention of failed items). */
  endedAt?: number;
}

const CHANNELS = ["telegram", "slack", "discord", "signal"] as const satisfies readonly ChannelName[];

export const targetSchema = z.object({
  channel: z.enum(CHANNELS),
  accountId: z.string().min(1),
  to: z.string().min(1),
  threadId: z.string().optional(),
  replyToMessageId: z.string().optional(),
});

export const originSchema = z.object({
  agentId: z.string(),
  sessionKey: z.string().optional(),
  kind: z.enum(["reply", "command", "pairing", "announce", "cron", "notice"]),
});

const itemSchema = z.object({
  id: z.string().min(1),
  at: z.number(),
  target: targetSchema,
  origin: originSchema,
  dedupeId: z.string().optional(),
  markdown: z.string().optional(),
  chunks: z.array(z.string()).optional(),
  sent: z.array(z.array(z.string()).nullable()),
  uncertain: z.array(z.number().int()),
  next: z.number().int().min(0),
  inDoubt: z.number().int().optional(),
  status: z.enum(["pending", "done", "failed"]),
  failure: z.object({ chunk: z.number(), kind: z.string(), reason: z.string(), at: z.number() }).optional(),
  endedAt: z.number().optional(),
});

const idx = z.number().int().min(0);
const recordSchema = z.discriminatedUnion("t", [
  z.object({
    t: z.literal("enq"),
    id: z.string().min(1),
    at: z.number(),
    target: targetSchema,
    origin: originSchema,
    markdown: z.string(),
    chunks: z.array(z.string()).optional(),
    dedupe: z.string().optional(),
  }),
  z.object({ t: z.literal("chunks"), id: z.string(), chunks: z.array(z.string()) }),
  z.object({ t: z.literal("try"), id: z.string(), i: idx }),
  /** The send failed in a way that proves it was not accepted (429, 5xx before acceptance): no longer in doubt. */
  z.object({ t: z.literal("nack"), id: z.string(), i: idx, kind: z.string() }),
  z.object({ t: z.literal("sent"), id: z.string(), i: idx, ids: z.array(z.string()), at: z.number() }),
  z.object({ t: z.literal("unc"), id: z.string(), i: idx, reason: z.string(), at: z.number() }),
  z.object({ t: z.literal("fail"), id: z.string(), i: idx, kind: z.string(), reason: z.string(), at: z.number() }),
  z.object({ t: z.literal("item"), item: itemSchema }),
  /** The dedupe id of an item that is done and compacted away. */
  z.object({ t: z.literal("seen"), key: z.string(), id: z.string(), at: z.number() }),
]);

export type OutboxRecord = z.infer<typeof recordSchema>;

/** A new outbox id: time-ordered prefix (readable in logs), random suffix from crypto. */
export function newOutboxId(now: number): string {
  return `${now.toString(36)}-${randomBytes(6).toString("hex")}`;
}

export interface OutboxOptions {
  dir: string;
  /** Failed items are kept (inspectable) this long, and at most `keepFailed` of them. */
  keepFailedMs?: number;
  keepFailed?: number;
  /** Dedupe ids of delivered items are remembered this long (default 7 days), at most `keepSeen` of them. */
  keepSeenMs?: number;
  keepSeen?: number;
  /** Compact once this many records were appended since the last rewrite (and most are dead). */
  compactAfter?: number;
}

export class Outbox {
  readonly file: string;
  private readonly journal: JsonlJournal;
  private readonly items = new Map<string, OutboxItem>();
  private readonly keepFailedMs: number;
  private readonly keepFailed: number;
  private readonly compactAfter: number;
  private readonly keepSeenMs: number;
  private readonly keepSeen: number;
  /** Every known dedupe id → its outbox id and enqueue time (live items and compacted `seen` ones). */
  private readonly dedupe = new Map<string, { id: string; at: number }>();
  private compacting = false;

  constructor(opts: OutboxOptions) {
    this.file = path.join(opts.dir, "outbox.jsonl");
    this.journal = new JsonlJournal(this.file);
    this.keepFailedMs = opts.keepFailedMs ?? 7 * 24 * 3600_000;
    this.keepFailed = opts.keepFailed ?? 1000;
    this.compactAfter = opts.compactAfter ?? 2000;
    this.keepSeenMs = opts.keepSeenMs ?? 7 * 24 * 3600_000;
    this.keepSeen = opts.keepSeen ?? 10_000;
  }

  /** Replays the journal, rewrites it compacted, opens it for appending. Returns the lines it skipped. */
  open(now: number): JournalReadResult<OutboxRecord>["bad"] {
    const read = readJsonl(this.file, (v) => {
      const r = recordSchema.safeParse(v);
      return r.success ? r.data : undefined;
    });
    for (const rec of read.records) this.apply(rec);
    this.journal.openWith(this.snapshot(now));
    return read.bad;
  }

  get(id: string): OutboxItem | undefined {
    return this.items.get(id);
  }

  /** The outbox id already enqueued under `dedupeId` (pending, done, or failed within retention). */
  idFor(dedupeId: string): string | undefined {
    return this.dedupe.get(dedupeId)?.id;
  }

  /** Every item in journal order (enqueue order). */
  all(): IterableIterator<OutboxItem> {
    return this.items.values();
  }

  /** Applies `rec` in memory at once, then resolves when it is on disk. */
  async record(rec: OutboxRecord, now: number): Promise<void> {
    this.apply(rec);
    try {
      await this.journal.append([JSON.stringify(rec)]);
    } catch (err) {
      // An enqueue that is not durable did not happen (the caller sees the error); a later record
      // that failed leaves memory ahead of the disk, which replay after a restart reads as "in doubt".
      if (rec.t === "enq") {
        this.items.delete(rec.id);
        if (rec.dedupe && this.dedupe.get(rec.dedupe)?.id === rec.id) this.dedupe.delete(rec.dedupe);
      }
      throw err;
    }
    this.maybeCompact(now);
  }

  close(): Promise<void> {
    return this.journal.close();
  }

  private maybeCompact(now: number): void {
    if (this.compacting || this.journal.linesSinceRewrite < this.compactAfter) return;
    let live = 0;
    for (const it of this.items.values()) if (it.status === "pending") live++;
    if (this.journal.linesSinceRewrite < live * 4) return;
    this.compacting = true;
    this.journal
      .rewrite(() => this.snapshot(now))
      .catch(() => {
        // The old journal stays valid (appends keep going to it); the next trigger tries again.
      })
      .finally(() => {
        this.compacting = false;
      });
  }

  /** The journal's compacted content: pending items, and failed ones still within retention; done items dropped. */
  private snapshot(now: number): string {
    const failed: OutboxItem[] = [];
    for (const [id, it] of this.items) {
      if (it.status === "done") this.items.delete(id);
      else if (it.status === "failed") failed.push(it);
    }
    const expired = failed.filter(
      (it, i) => now - (it.endedAt ?? it.at) > this.keepFailedMs || failed.length - i > this.keepFailed,
    );
    for (const it of expired) {
      this.items.delete(it.id);
      if (it.dedupeId && this.dedupe.get(it.dedupeId)?.id === it.id) this.dedupe.delete(it.dedupeId);
    }
    // Ids of delivered items: the newest `keepSeen` within `keepSeenMs` (the map is in enqueue order).
    let seen = 0;
    for (const v of this.dedupe.values()) if (!this.items.has(v.id)) seen++;
    for (const [key, v] of this.dedupe) {
      if (this.items.has(v.id)) continue;
      if (seen > this.keepSeen || now - v.at > this.keepSeenMs) {
        this.dedupe.delete(key);
        seen--;
      }
    }
    let out = "";
    for (const [key, v] of this.dedupe) {
      if (!this.items.has(v.id)) out += JSON.stringify({ t: "seen", key, ...v } satisfies OutboxRecord) + "\n";
    }
    for (const it of this.items.values()) out += JSON.stringify({ t: "item", item: it } satisfies OutboxRecord) + "\n";
    return out;
  }

  /** Idempotent: a record already reflected (replayed twice, or after a compaction) changes nothing. */
  private apply(rec: OutboxRecord): void {
    if (rec.t === "item") {
      this.items.set(rec.item.id, rec.item as OutboxItem);
      if (rec.item.dedupeId) this.noteDedupe(rec.item.dedupeId, rec.item.id, rec.item.at);
      return;
    }
    if (rec.t === "seen") {
      this.noteDedupe(rec.key, rec.id, rec.at);
      return;
    }
    if (rec.t === "enq") {
      if (this.items.has(rec.id)) return;
      const item: OutboxItem = {
        id: rec.id,
        at: rec.at,
        target: rec.target,
        origin: rec.origin,
        ...(rec.dedupe ? { dedupeId: rec.dedupe } : {}),
        markdown: rec.markdown,
        sent: [],
        uncertain: [],
        next: 0,
        status: "pending",
      };
      this.items.set(rec.id, item);
      if (rec.dedupe) this.noteDedupe(rec.dedupe, rec.id, rec.at);
      if (rec.chunks) this.setChunks(item, rec.chunks, rec.at);
      return;
    }
    const item = this.items.get(rec.id);
    if (!item || item.status !== "pending") return;
    switch (rec.t) {
      case "chunks":
        if (!item.chunks) this.setChunks(item, rec.chunks, item.at);
        return;
      case "try":
        if (rec.i >= item.next) item.inDoubt = rec.i;
        return;
      case "nack":
        if (item.inDoubt === rec.i) delete item.inDoubt;
        return;
      case "sent":
        item.sent[rec.i] = rec.ids;
        this.advance(item, rec.i, rec.at);
        return;
      case "unc":
        if (!item.uncertain.includes(rec.i)) item.uncertain.push(rec.i);
        this.advance(item, rec.i, rec.at);
        return;
      case "fail":
        if (item.inDoubt === rec.i) delete item.inDoubt;
        item.status = "failed";
        item.failure = { chunk: rec.i, kind: rec.kind, reason: rec.reason, at: rec.at };
        item.endedAt = rec.at;
        return;
    }
  }

  /** The first item under a dedupe id keeps it. */
  private noteDedupe(key: string, id: string, at: number): void {
    if (!this.dedupe.has(key)) this.dedupe.set(key, { id, at });
  }

  private setChunks(item: OutboxItem, chunks: string[], at: number): void {
    item.chunks = chunks;
    delete item.markdown;
    while (item.sent.length < chunks.length) item.sent.push(null);
    if (chunks.length === 0) {
      item.status = "done";
      item.endedAt = at;
    }
  }

  private advance(item: OutboxItem, i: number, at: number): void {
    if (item.inDoubt === i) delete item.inDoubt;
    if (item.next <= i) item.next = i + 1;
    if (item.chunks && item.next >= item.chunks.length) {
      item.status = "done";
      item.endedAt = at;
    }
  }
}
