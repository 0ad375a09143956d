/**
 * Durable dedupe of inbound platform message ids: Slack redelivers an event it thinks was not
 * acknowledged (`retry_attempt` 1–3, up to about 5 minutes later), Telegram hands out the same
 * updates again when the offset was not committed before a crash, Discord replays after a resume.
 * `claim` answers true the first time a (channel, account, conversation, message id) is seen, and
 * only after that claim is on disk (fdatasync, group-committed with concurrent claims), so a
 * restart between "claimed" and "acknowledged to the platform" still knows the id.
 *
 * Bounded per account: the newest `maxPerAccount` ids (default 10 000) no older than `ttlMs`
 * (default 24 h) — far past any platform's redelivery window. A Map per account in insertion
 * (= time) order makes claim and eviction O(1). The journal is compacted by atomic rewrite.
 */
import * as path from "node:path";
import { z } from "zod";
import { JsonlJournal, readJsonl } from "./jsonl-journal.ts";
import type { ChannelName } from "./types.ts";

export interface InboundDedupeOptions {
  dir: string;
  now?: () => number;
  maxPerAccount?: number;
  ttlMs?: number;
  /** Rewrite the file once this many lines were appended since the last rewrite (and most are stale). */
  compactAfter?: number;
}

const lineSchema = z.object({
  c: z.string(),
  a: z.string(),
  k: z.string(),
  m: z.string(),
  at: z.number(),
  /** A released claim (the message could not be stored): the next delivery is taken again. */
  rel: z.literal(1).optional(),
});
type Line = z.infer<typeof lineSchema>;

export class InboundDedupe {
  readonly file: string;
  private readonly journal: JsonlJournal;
  private readonly now: () => number;
  private readonly maxPerAccount: number;
  private readonly ttlMs: number;
  private readonly compactAfter: number;
  /** account key → (conversation + id) → first seen. */
  private readonly seen = new Map<string, Map<string, number>>();
  /** Claims whose line is still being synced: a concurrent redelivery waits for the outcome. */
  private readonly inflight = new Map<string, Promise<boolean>>();
  private total = 0;
  private compacting = false;
  /** Lines skipped at open (a torn last line after a crash). */
  badLines = 0;

  constructor(opts: InboundDedupeOptions) {
    this.file = path.join(opts.dir, "inbound-seen.jsonl");
    this.journal = new JsonlJournal(this.file);
    this.now = opts.now ?? Date.now;
    this.maxPerAccount = opts.maxPerAccount ?? 10_000;
    this.ttlMs = opts.ttlMs ?? 24 * 3600_000;
    this.compactAfter = opts.compactAfter ?? 20_000;
  }

  open(): Promise<void> {
    const read = readJsonl(this.file, (v) => {
      const r = lineSchema.safeParse(v);
      return r.success ? r.data : undefined;
    });
    this.badLines = read.bad.length;
    for (const l of read.records) {
      const acct = this.account(l.c, l.a);
      const key = entryKey(l.k, l.m);
      if (l.rel) {
        if (acct.delete(key)) this.total--;
      } else {
        // A later claim of the same id (the earlier one had aged out) moves it to the end, as live.
        if (acct.delete(key)) this.total--;
        acct.set(key, l.at);
        this.total++;
      }
    }
    const now = this.now();
    for (const acct of this.seen.values()) this.evict(acct, now);
    this.journal.openWith(this.snapshot());
    return Promise.resolve();
  }

  /** True the first time this message is seen (durably recorded before resolving); false for a redelivery. */
  async claim(channel: ChannelName, accountId: string, conversation: string, messageId: string): Promise<boolean> {
    const acctKey = accountKey(channel, accountId);
    const key = entryKey(conversation, messageId);
    const pending = this.inflight.get(`${acctKey}\u0000${key}`);
    if (pending) {
      // The first delivery is still being recorded: a redelivery is a duplicate only if that succeeds.
      const firstWon = await pending.catch(() => false);
      if (firstWon) return false;
    }
    const acct = this.account(channel, accountId);
    const now = this.now();
    if (acct.has(key) && now - acct.get(key)! <= this.ttlMs) return false;
    this.evict(acct, now, 1);
    if (acct.has(key)) return false;
    acct.set(key, now);
    this.total++;
    const line: Line = { c: channel, a: accountId, k: conversation, m: messageId, at: now };
    const flight = this.journal.append([JSON.stringify(line)]).then(
      () => true,
      (err: unknown) => {
        if (acct.delete(key)) this.total--;
        throw err;
      },
    );
    const fk = `${acctKey}\u0000${key}`;
    this.inflight.set(fk, flight);
    try {
      return await flight;
    } finally {
      this.inflight.delete(fk);
      this.maybeCompact();
    }
  }

  /** Undoes a claim whose message could not be made durable, so the platform's redelivery is taken. */
  async release(channel: ChannelName, accountId: string, conversation: string, messageId: string): Promise<void> {
    const acct = this.account(channel, accountId);
    if (!acct.delete(entryKey(conversation, messageId))) return;
    this.total--;
    const line: Line = { c: channel, a: accountId, k: conversation, m: messageId, at: this.now(), rel: 1 };
    await this.journal.append([JSON.stringify(line)]);
  }

  /** Ids currently remembered (all accounts). */
  size(): number {
    return this.total;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.inflight.values()]);
    await this.journal.close();
  }

  private account(channel: string, accountId: string): Map<string, number> {
    const k = accountKey(channel, accountId);
    let m = this.seen.get(k);
    if (!m) {
      m = new Map();
      this.seen.set(k, m);
    }
    return m;
  }

  /** Drops the oldest ids past the count bound (keeping `room` free) or the age bound (insertion order is time order). */
  private evict(acct: Map<string, number>, now: number, room = 0): void {
    for (const [key, at] of acct) {
      if (acct.size + room <= this.maxPerAccount && now - at <= this.ttlMs) break;
      acct.delete(key);
      this.total--;
    }
  }

  private maybeCompact(): void {
    const lines = this.journal.linesSinceRewrite;
    if (this.compacting || lines < this.compactAfter || lines < this.total) return;
    this.compacting = true;
    const now = this.now();
    for (const acct of this.seen.values()) this.evict(acct, now);
    this.journal
      .rewrite(() => this.snapshot())
      .catch(() => {
        // The old file stays valid; the next trigger tries again.
      })
      .finally(() => {
        this.compacting = false;
      });
  }

  private snapshot(): string {
    let out = "";
    for (const [ak, acct] of this.seen) {
      const [c, a] = splitAccountKey(ak);
      for (const [key, at] of acct) {
        const [k, m] = splitEntryKey(key);
        out += JSON.stringify({ c, a, k, m, at } satisfies Line) + "\n";
      }
    }
    return out;
  }
}

// JSON-encoded pairs: no separator can collide with the ids' own characters.
function accountKey(channel: string, accountId: string): string {
  return JSON.stringify([channel, accountId]);
}
function splitAccountKey(k: string): [string, string] {
  return JSON.parse(k) as [string, string];
}
function entryKey(conversation: string, messageId: string): string {
  return JSON.stringify([conversation, messageId]);
}
function splitEntryKey(k: string): [string, string] {
  return JSON.parse(k) as [string, string];
}
