/**
 * The durable outbound path: every message to a chat goes through here (replies, command answers,
 * pairing codes, announces, cron deliveries). `enqueue` makes it durable in the outbox (fsync)
 * before it resolves; a lane per chat sends its items in order, chunk by chunk, each chunk journaled
 * as tried and then as sent before the next; lanes of different chats run concurrently under a
 * token bucket per chat and one per account. Failures follow `ChannelSendError.kind`:
 *
 * - "rate-limited": wait `retryAfterMs` — the chat, or the whole account for a global 429 — then
 *   send again (OpenClaw #50866: `retry_after` ignored, a 429 spiral).
 * - "transient": retried with bounded exponential backoff and jitter, then failed.
 * - "permanent": failed at once (message too long, chat not found, bot removed). "auth" too, and
 *   the account's other lanes wait for `kick` (a fixed token / reconnect) instead of each burning a
 *   401 (OpenClaw #27092: a 401 loop got bots deleted).
 * - "unknown": the platform may have the chunk. Resent with the same idempotency key only when the
 *   adapter's sends are idempotent; otherwise marked uncertain, logged, counted, never resent.
 *
 * Failed items stay in the journal (marked failed) for inspection. `open()` replays what a crash or
 * restart left: acknowledged chunks are never sent again.
 */
import type { Logger } from "pino";
import { z } from "zod";
import { PincerError } from "../errors.ts";
import { chunkMarkdown } from "./chunk.ts";
import { newOutboxId, originSchema, Outbox, targetSchema, type DeliveryOrigin, type OutboxItem } from "./outbox.ts";
import { DEFAULT_LIMITS, isGroupChat, takeAll, TokenBucket, type ChannelLimits } from "./rate-limit.ts";
import {
  ChannelSendError,
  type ChannelAdapter,
  type ChannelName,
  type DeliveryReceipt,
  type OutboundChunk,
  type ReplyTarget,
  type SendFailureKind,
} from "./types.ts";

export interface DeliveryRequest {
  target: ReplyTarget;
  markdown: string;
  origin: DeliveryOrigin;
  /**
   * The caller's id for this message (a reply's ledger entry, a sub-agent's announce): an enqueue
   * whose id the journal already holds — pending, sent, or failed within retention — returns the
   * first outbox id and enqueues nothing, across restarts too.
   */
  dedupeId?: string;
}

export type DeliveryEvent = {
  type: "sent" | "retried" | "failed";
  channel: ChannelName;
  accountId: string;
  /** "sent": enqueue → platform acknowledgement of this chunk. */
  latencyMs?: number;
  /** "retried"/"failed": the failure kind (`rate-limited`, `transient`, `permanent`, `auth`, `uncertain`, `expired`). */
  reason?: string;
  /** The outbox id and chunk index the event is about. */
  id?: string;
  chunk?: number;
};

export interface RetryPolicy {
  /** First backoff after a "transient" failure (doubles each time, ±20 % jitter). */
  baseMs: number;
  maxMs: number;
  /** Transient attempts per chunk before the item fails. */
  maxAttempts: number;
  /** "rate-limited" answers per chunk before the item fails (each one is waited out). */
  maxRateLimited: number;
}

export interface DeliveryQueueOptions {
  /** `$PINCER_HOME/channels/outbox` (created 0700). */
  dir: string;
  adapterFor(channel: ChannelName, accountId: string): ChannelAdapter | undefined;
  log: Logger;
  now?: () => number;
  onEvent?(ev: DeliveryEvent): void;
  /** Per-channel bucket overrides (tests, self-hosted servers). */
  limits?: Partial<Record<ChannelName, Partial<ChannelLimits>>>;
  retry?: Partial<RetryPolicy>;
  /** A message not delivered after this long fails as "expired" (default 24 h): a reply days late is noise. */
  maxAgeMs?: number;
  /** Lanes sending at once (default 64). */
  maxConcurrent?: number;
  /** How often chats waiting for an absent adapter look again without a `kick` (default 30 s). */
  adapterPollMs?: number;
  /** Outbox compaction threshold (records since the last rewrite). */
  compactAfter?: number;
  /** How long `close` waits for sends in flight (default 5 s). */
  closeGraceMs?: number;
  /** A send the adapter has not settled after this long counts as "unknown" (default 120 s). */
  sendTimeoutMs?: number;
}

/** A request the queue cannot take (closed, or malformed target). */
export class DeliveryRejectedError extends PincerError {
  override readonly code = "delivery_rejected";
  override readonly httpStatus = 400;
}

/** Unknown fields are dropped: the journal keeps only what delivery needs. */
const requestSchema = z.object({
  target: targetSchema,
  markdown: z.string(),
  origin: originSchema,
  dedupeId: z.string().min(1).max(512).optional(),
});

const DEFAULT_RETRY: RetryPolicy = { baseMs: 500, maxMs: 30_000, maxAttempts: 8, maxRateLimited: 20 };

interface Account {
  channel: ChannelName;
  accountId: string;
  bucket: TokenBucket;
  /** A global 429: no lane of the account sends before this. */
  pausedUntil: number;
  /** An "auth" failure: lanes wait for `kick`. */
  authBlocked: boolean;
}

interface Lane {
  key: string;
  channel: ChannelName;
  accountId: string;
  to: string;
  ids: string[];
  bucket: TokenBucket;
  groupBucket?: TokenBucket;
  running: boolean;
  /** Queued for a concurrency slot. */
  ready: boolean;
  timer?: NodeJS.Timeout;
  /** Waiting for an adapter or for `kick` after an auth failure (not "due": `idle` does not wait for it). */
  blocked: boolean;
  rateUntil: number;
  backoffUntil: number;
  /** Attempts of the chunk at the lane's head (reset when it moves on). */
  head?: { id: string; chunk: number; transient: number; rateLimited: number };
}

function laneKey(channel: ChannelName, accountId: string, to: string): string {
  return `${channel}\u0000${accountId}\u0000${to}`;
}

function accountKey(channel: ChannelName, accountId: string): string {
  return `${channel}\u0000${accountId}`;
}

export class DeliveryQueue {
  private readonly opts: DeliveryQueueOptions;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly outbox: Outbox;
  private readonly retry: RetryPolicy;
  private readonly maxAgeMs: number;
  private readonly maxConcurrent: number;
  private readonly lanes = new Map<string, Lane>();
  private readonly accounts = new Map<string, Account>();
  private readonly readyQueue: Lane[] = [];
  private readonly running = new Set<Promise<void>>();
  private idleWaiters: Array<() => void> = [];
  /** Enqueues with a dedupe id whose record is not yet on disk: a second caller waits for the first. */
  private readonly enqueuing = new Map<string, Promise<string>>();
  private pollTimer: NodeJS.Timeout | undefined;
  private opened = false;
  private closed = false;
  /** Counters since open (status, tests): journal lines skipped at open, chunks marked uncertain. */
  readonly stats = { badJournalLines: 0, uncertain: 0, sent: 0, retried: 0, failed: 0 };

  constructor(opts: DeliveryQueueOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.log = opts.log;
    this.outbox = new Outbox({ dir: opts.dir, ...(opts.compactAfter ? { compactAfter: opts.compactAfter } : {}) });
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.maxAgeMs = opts.maxAgeMs ?? 24 * 3600_000;
    this.maxConcurrent = opts.maxConcurrent ?? 64;
  }

  /** Replays the journal: pending items go back on their lanes; acknowledged chunks are never sent again. */
  async open(): Promise<void> {
    if (this.opened) return;
    this.opened = true;
    const bad = this.outbox.open(this.now());
    for (const b of bad) {
      this.stats.badJournalLines++;
      this.log.warn(
        { file: this.outbox.file, line: b.line, torn: b.torn, text: b.text },
        b.torn ? "outbox: torn last line skipped (crash mid-write)" : "outbox: unreadable line skipped",
      );
    }
    let pending = 0;
    for (const item of this.outbox.all()) {
      if (item.status !== "pending") continue;
      pending++;
      this.laneFor(item.target).ids.push(item.id);
    }
    if (pending > 0) this.log.info({ pending }, "outbox: replaying undelivered messages");
    this.pollTimer = setInterval(() => this.unblockAll(), this.opts.adapterPollMs ?? 30_000);
    this.pollTimer.unref();
    for (const lane of this.lanes.values()) this.schedule(lane);
    await Promise.resolve();
  }

  /** Durable (fsync'd) before it resolves; returns the outbox id. */
  async enqueue(req: DeliveryRequest): Promise<string> {
    if (!this.opened || this.closed) throw new DeliveryRejectedError("delivery queue is not open");
    const parsed = requestSchema.safeParse(req);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new DeliveryRejectedError(`delivery request: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
    }
    const { target, origin, markdown, dedupeId } = parsed.data as {
      target: ReplyTarget;
      origin: DeliveryOrigin;
      markdown: string;
      dedupeId?: string;
    };
    if (dedupeId !== undefined) {
      const first = this.enqueuing.get(dedupeId);
      if (first) return first;
      const known = this.outbox.idFor(dedupeId);
      if (known !== undefined) {
        this.log.info({ id: known, dedupeId, origin: origin.kind }, "delivery: already enqueued; not enqueued again");
        return known;
      }
      const p = this.append(target, origin, markdown, dedupeId).finally(() => this.enqueuing.delete(dedupeId));
      this.enqueuing.set(dedupeId, p);
      return p;
    }
    return this.append(target, origin, markdown, undefined);
  }

  private async append(
    target: ReplyTarget,
    origin: DeliveryOrigin,
    markdown: string,
    dedupeId: string | undefined,
  ): Promise<string> {
    const t = target;
    const at = this.now();
    const id = newOutboxId(at);
    // Chunked now when the adapter is there (one record instead of two); otherwise at the first send.
    const adapter = this.opts.adapterFor(t.channel, t.accountId);
    let chunks: string[] | undefined;
    try {
      chunks = adapter ? this.chunk(adapter, markdown) : undefined;
    } catch {
      chunks = undefined; // the lane retries it and fails the item, logged, if rendering keeps throwing
    }
    await this.outbox.record(
      {
        t: "enq",
        id,
        at,
        target,
        origin,
        markdown,
        ...(chunks ? { chunks } : {}),
        ...(dedupeId !== undefined ? { dedupe: dedupeId } : {}),
      },
      at,
    );
    if (!this.closed) {
      const lane = this.laneFor(target);
      lane.ids.push(id);
      this.schedule(lane);
    }
    return id;
  }

  /** An adapter (re)connected: its chats send now (auth block and transient backoff lifted; a 429 wait stays). */
  kick(channel: ChannelName, accountId: string): void {
    const acct = this.accounts.get(accountKey(channel, accountId));
    if (acct) acct.authBlocked = false;
    for (const lane of this.lanes.values()) {
      if (lane.channel !== channel || lane.accountId !== accountId) continue;
      lane.blocked = false;
      lane.backoffUntil = 0;
      if (lane.timer && lane.rateUntil <= this.now()) {
        clearTimeout(lane.timer);
        lane.timer = undefined;
      }
      this.schedule(lane);
    }
  }

  /** Messages not yet delivered (pending), optionally for one channel / account. */
  depth(channel?: ChannelName, accountId?: string): number {
    let n = 0;
    for (const it of this.outbox.all()) {
      if (it.status !== "pending") continue;
      if (channel !== undefined && it.target.channel !== channel) continue;
      if (accountId !== undefined && it.target.accountId !== accountId) continue;
      n++;
    }
    return n;
  }

  /** An item's state (status, tests). */
  item(id: string): Readonly<OutboxItem> | undefined {
    return this.outbox.get(id);
  }

  /** Resolves when no lane is sending or waiting on a timer; lanes blocked on an absent adapter do not count. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops sending (a send in flight completes and is recorded), then closes the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const lane of this.lanes.values()) {
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = undefined;
    }
    this.readyQueue.length = 0;
    // A send in flight completes and is recorded, unless it hangs: then its chunk stays "tried" in
    // the journal and the next open treats it as in doubt.
    const grace = new Promise<void>((r) => setTimeout(r, this.opts.closeGraceMs ?? 5000).unref());
    while (this.running.size > 0) {
      const settled = await Promise.race([Promise.all([...this.running]).then(() => true), grace.then(() => false)]);
      if (!settled) break;
    }
    await this.outbox.close();
    this.notifyIdle();
  }

  private chunk(adapter: ChannelAdapter, markdown: string): string[] {
    const caps = adapter.caps;
    return chunkMarkdown(markdown, {
      maxChars: caps.maxChars,
      countUnit: caps.countUnit,
      ...(caps.maxLines !== undefined ? { maxLines: caps.maxLines } : {}),
      render: (md) => adapter.render(md),
    });
  }

  private limitsFor(channel: ChannelName): ChannelLimits {
    return { ...DEFAULT_LIMITS[channel], ...this.opts.limits?.[channel] };
  }

  private accountFor(channel: ChannelName, accountId: string): Account {
    const key = accountKey(channel, accountId);
    let acct = this.accounts.get(key);
    if (!acct) {
      acct = {
        channel,
        accountId,
        bucket: new TokenBucket(this.limitsFor(channel).account, this.now()),
        pausedUntil: 0,
        authBlocked: false,
      };
      this.accounts.set(key, acct);
    }
    return acct;
  }

  private laneFor(target: ReplyTarget): Lane {
    const key = laneKey(target.channel, target.accountId, target.to);
    let lane = this.lanes.get(key);
    if (!lane) {
      const limits = this.limitsFor(target.channel);
      lane = {
        key,
        channel: target.channel,
        accountId: target.accountId,
        to: target.to,
        ids: [],
        bucket: new TokenBucket(limits.chat, this.now()),
        running: false,
        ready: false,
        blocked: false,
        rateUntil: 0,
        backoffUntil: 0,
      };
      if (limits.group && isGroupChat(target.channel, target.to)) {
        lane.groupBucket = new TokenBucket(limits.group, this.now());
      }
      this.lanes.set(key, lane);
    }
    return lane;
  }

  /** The periodic sweep: chats blocked on an absent adapter look again; empty lanes whose buckets refilled go. */
  private unblockAll(): void {
    const now = this.now();
    for (const [key, lane] of this.lanes) {
      if (lane.ids.length === 0 && !lane.running && !lane.timer && lane.bucket.isFull(now)) {
        if (!lane.groupBucket || lane.groupBucket.isFull(now)) this.lanes.delete(key);
        continue;
      }
      const acct = this.accounts.get(accountKey(lane.channel, lane.accountId));
      if (lane.blocked && !acct?.authBlocked) {
        lane.blocked = false;
        this.schedule(lane);
      }
    }
  }

  /** Puts a lane in line for a concurrency slot unless it is running, waiting on a timer or blocked. */
  private schedule(lane: Lane): void {
    if (this.closed || lane.running || lane.ready || lane.timer || lane.blocked || lane.ids.length === 0) return;
    lane.ready = true;
    this.readyQueue.push(lane);
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.maxConcurrent && this.readyQueue.length > 0) {
      const lane = this.readyQueue.shift()!;
      lane.ready = false;
      lane.running = true;
      const p: Promise<void> = this.runLane(lane)
        .catch((err: unknown) => {
          // The journal could not be written (disk full): nothing is sent without its record; retry later.
          this.log.error({ err, chat: lane.to, channel: lane.channel }, "delivery: lane stopped on a journal error");
          this.wakeAt(lane, this.now() + this.retry.maxMs);
        })
        .finally(() => {
          lane.running = false;
          this.running.delete(p);
          this.schedule(lane);
          this.pump();
          this.notifyIdle();
        });
      this.running.add(p);
    }
  }

  private wakeAt(lane: Lane, at: number): void {
    if (this.closed) return;
    if (lane.timer) clearTimeout(lane.timer);
    lane.timer = setTimeout(
      () => {
        lane.timer = undefined;
        this.schedule(lane);
        this.notifyIdle();
      },
      Math.max(0, at - this.now()),
    );
  }

  private isIdle(): boolean {
    if (this.running.size > 0 || this.readyQueue.length > 0) return false;
    for (const lane of this.lanes.values()) if (lane.timer) return false;
    return true;
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0 || !(this.isIdle() || this.closed)) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }

  private emit(ev: DeliveryEvent): void {
    this.stats[ev.type]++;
    try {
      this.opts.onEvent?.(ev);
    } catch (err) {
      this.log.warn({ err }, "delivery: onEvent listener threw");
    }
  }

  /** Sends the lane's items in order until it is empty, must wait (returns; a timer or kick resumes it), or closes. */
  private async runLane(lane: Lane): Promise<void> {
    const acct = this.accountFor(lane.channel, lane.accountId);
    while (!this.closed && lane.ids.length > 0) {
      const item = this.outbox.get(lane.ids[0]!);
      if (!item || item.status !== "pending") {
        lane.ids.shift();
        lane.head = undefined;
        continue;
      }
      const now = this.now();
      if (now - item.at > this.maxAgeMs) {
        await this.fail(item, item.next, "expired", `not delivered within ${Math.round(this.maxAgeMs / 1000)} s`);
        continue;
      }
      if (acct.authBlocked) {
        lane.blocked = true;
        return;
      }
      const adapter = this.opts.adapterFor(lane.channel, lane.accountId);
      if (!adapter) {
        lane.blocked = true;
        return;
      }
      if (!item.chunks) {
        let chunks: string[];
        try {
          chunks = this.chunk(adapter, item.markdown ?? "");
        } catch (err) {
          await this.fail(
            item,
            0,
            "permanent",
            `rendering failed: ${err instanceof Error ? err.message : String(err)}`,
          );
          continue;
        }
        await this.outbox.record({ t: "chunks", id: item.id, chunks }, now);
        continue; // an empty message is done now
      }
      const i = item.next;
      if (!lane.head || lane.head.id !== item.id || lane.head.chunk !== i) {
        lane.head = { id: item.id, chunk: i, transient: 0, rateLimited: 0 };
      }
      if (item.inDoubt === i && !adapter.caps.idempotentSends) {
        await this.uncertain(item, i, "interrupted mid-send (crash or restart); the platform may have it");
        continue;
      }
      const waitUntil = Math.max(lane.rateUntil, lane.backoffUntil, acct.pausedUntil);
      if (waitUntil > now) {
        this.wakeAt(lane, waitUntil);
        return;
      }
      const buckets = lane.groupBucket ? [lane.bucket, lane.groupBucket, acct.bucket] : [lane.bucket, acct.bucket];
      const wait = takeAll(buckets, now);
      if (wait > 0) {
        this.wakeAt(lane, now + wait);
        return;
      }
      // The "try" record is what makes a crash mid-send visible as "in doubt"; an idempotent
      // adapter resends such a chunk anyway, so it is spared that fsync.
      if (!adapter.caps.idempotentSends) await this.outbox.record({ t: "try", id: item.id, i }, now);
      let ids: string[];
      try {
        const receipt = await this.sendWithTimeout(adapter, {
          target: item.target,
          text: item.chunks[i]!,
          idempotencyKey: `${item.id}:${i}`,
        });
        ids = receipt.messageIds.map(String);
      } catch (err) {
        await this.onSendError(lane, acct, adapter, item, i, err);
        continue;
      }
      const at = this.now();
      await this.outbox.record({ t: "sent", id: item.id, i, ids, at }, at);
      this.emit({
        type: "sent",
        channel: lane.channel,
        accountId: lane.accountId,
        latencyMs: at - item.at,
        id: item.id,
        chunk: i,
      });
    }
  }

  /** A send that never settles would stall its chat for good: after `sendTimeoutMs` it counts as "unknown". */
  private sendWithTimeout(adapter: ChannelAdapter, chunk: OutboundChunk): Promise<DeliveryReceipt> {
    const ms = this.opts.sendTimeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ChannelSendError(`no answer from the adapter within ${ms} ms`, "unknown")),
        ms,
      );
    });
    return Promise.race([adapter.send(chunk), timeout]).finally(() => clearTimeout(timer));
  }

  private async onSendError(
    lane: Lane,
    acct: Account,
    adapter: ChannelAdapter,
    item: OutboxItem,
    i: number,
    err: unknown,
  ): Promise<void> {
    const kind: SendFailureKind = err instanceof ChannelSendError ? err.kind : "unknown";
    const message = err instanceof Error ? err.message : String(err);
    const head = lane.head!;
    const now = this.now();
    const ctx = { channel: lane.channel, accountId: lane.accountId, chat: lane.to, id: item.id, chunk: i, kind };
    const retried = async (until: number): Promise<void> => {
      await this.outbox.record({ t: "nack", id: item.id, i, kind }, now);
      this.emit({
        type: "retried",
        channel: lane.channel,
        accountId: lane.accountId,
        reason: kind,
        id: item.id,
        chunk: i,
      });
      this.log.info({ ...ctx, retryInMs: until - now, err: message }, "delivery: send failed, will retry");
    };
    switch (kind) {
      case "rate-limited": {
        head.rateLimited++;
        if (head.rateLimited > this.retry.maxRateLimited) {
          await this.fail(item, i, kind, `still rate-limited after ${head.rateLimited - 1} waits: ${message}`);
          return;
        }
        const wait = Math.max(
          err instanceof ChannelSendError && err.retryAfterMs !== undefined ? err.retryAfterMs : 1000,
          0,
        );
        if (err instanceof ChannelSendError && err.scope === "account") acct.pausedUntil = now + wait;
        else lane.rateUntil = now + wait;
        await retried(now + wait);
        return;
      }
      case "transient":
      case "unknown": {
        if (kind === "unknown" && !adapter.caps.idempotentSends) {
          if (!(err instanceof ChannelSendError))
            this.log.error({ ...ctx, err }, "delivery: adapter threw an unclassified error");
          await this.uncertain(item, i, message);
          return;
        }
        head.transient++;
        if (head.transient >= this.retry.maxAttempts) {
          await this.fail(item, i, kind, `gave up after ${head.transient} attempts: ${message}`);
          return;
        }
        const exp = Math.min(this.retry.maxMs, this.retry.baseMs * 2 ** (head.transient - 1));
        const wait = Math.round(exp * (0.8 + Math.random() * 0.4));
        lane.backoffUntil = now + wait;
        await retried(now + wait);
        return;
      }
      case "auth":
        acct.authBlocked = true;
        await this.fail(item, i, kind, message);
        this.log.error(ctx, "delivery: the account's credentials were refused; its chats wait for a reconnect");
        return;
      case "permanent":
        await this.fail(item, i, kind, message);
        return;
    }
  }

  private async fail(item: OutboxItem, i: number, kind: string, reason: string): Promise<void> {
    const at = this.now();
    await this.outbox.record({ t: "fail", id: item.id, i, kind, reason, at }, at);
    const t = item.target;
    this.log.warn(
      {
        channel: t.channel,
        accountId: t.accountId,
        chat: t.to,
        id: item.id,
        chunk: i,
        kind,
        reason,
        origin: item.origin.kind,
      },
      "delivery: message failed",
    );
    this.emit({ type: "failed", channel: t.channel, accountId: t.accountId, reason: kind, id: item.id, chunk: i });
  }

  private async uncertain(item: OutboxItem, i: number, reason: string): Promise<void> {
    const at = this.now();
    await this.outbox.record({ t: "unc", id: item.id, i, reason, at }, at);
    this.stats.uncertain++;
    const t = item.target;
    this.log.warn(
      { channel: t.channel, accountId: t.accountId, chat: t.to, id: item.id, chunk: i, reason },
      "delivery: chunk outcome unknown; not resent (it may or may not have arrived)",
    );
    this.emit({
      type: "failed",
      channel: t.channel,
      accountId: t.accountId,
      reason: "uncertain",
      id: item.id,
      chunk: i,
    });
  }
}
