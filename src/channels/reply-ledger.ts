/**
 * The channel messages whose answer is not yet in the delivery queue. A channel message is written
 * here (fsync) first — before the dedupe claim, the gate and the record — and closed once it was
 * refused, held or found a redelivery, or once its reply is enqueued in the outbox. If the process dies between the reply being recorded in
 * the transcript and `DeliveryQueue.enqueue`, the next start finds the entry still open and submits
 * the message again: the runtime's retry path (same `messageId`) answers it from the transcript — or
 * runs it, when it was never answered — and that answer is enqueued. Nothing recorded is silently
 * lost. `$PINCER_HOME/channels/replies.jsonl`, compacted to the open entries as it grows.
 */
import * as path from "node:path";
import { JsonlJournal, readJsonl } from "./jsonl-journal.ts";
import type { ChannelInbound } from "./types.ts";

export interface LedgerEntry {
  id: string;
  at: number;
  /** The message as the adapter handed it over (before the gate). */
  inbound: Pick<ChannelInbound, "envelope" | "reply" | "mention">;
}

type Line = { t: "open"; e: LedgerEntry } | { t: "done"; id: string };

const COMPACT_AFTER = 2000;

export class ReplyLedger {
  private readonly journal: JsonlJournal;
  private readonly entries = new Map<string, LedgerEntry>();

  constructor(dir: string) {
    this.journal = new JsonlJournal(path.join(dir, "replies.jsonl"));
  }

  /** Loads the file; returns the entries still open (to be answered again). */
  open(): { pending: LedgerEntry[]; bad: number } {
    const { records, bad } = readJsonl<Line>(this.journal.file, (v) => {
      const l = v as Line;
      if (l && l.t === "open" && typeof l.e?.id === "string" && l.e.inbound?.envelope) return l;
      if (l && l.t === "done" && typeof l.id === "string") return l;
      return undefined;
    });
    for (const l of records) {
      if (l.t === "open") this.entries.set(l.e.id, l.e);
      else this.entries.delete(l.id);
    }
    this.journal.openWith(this.render());
    return { pending: [...this.entries.values()], bad: bad.length };
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Durable (fdatasync) before it resolves. */
  async add(entry: LedgerEntry): Promise<void> {
    this.entries.set(entry.id, entry);
    await this.journal.append([JSON.stringify({ t: "open", e: entry } satisfies Line)]);
  }

  async done(id: string): Promise<void> {
    if (!this.entries.delete(id)) return;
    await this.journal.append([JSON.stringify({ t: "done", id } satisfies Line)]);
    if (this.journal.linesSinceRewrite > COMPACT_AFTER) await this.journal.rewrite(() => this.render());
  }

  close(): Promise<void> {
    return this.journal.close();
  }

  private render(): string {
    let out = "";
    for (const e of this.entries.values()) out += JSON.stringify({ t: "open", e } satisfies Line) + "\n";
    return out;
  }
}
