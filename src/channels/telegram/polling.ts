/**
 * Long polling with the update offset kept in the account's durable state. The offset moves past
 * an update only after the gateway took it (`ctx.ingest` resolved, or a deliberate skip), and is
 * written before the next getUpdates confirms it to Telegram: a restart re-reads nothing already
 * taken, and a crash mid-batch loses nothing (what comes again is caught by the inbound dedupe).
 * An update whose ingest keeps failing is retried a few times, then skipped, so one poisoned
 * update cannot stall the account forever.
 */
import type { Api } from "grammy";
import { GrammyError } from "grammy";
import type { Logger } from "pino";
import { backoffMs, type BackoffPolicy } from "../backoff.ts";
import type { ChannelStateStore } from "../types.ts";
import { conflictError, startError } from "./errors.ts";
import { updateIdOf } from "./inbound.ts";

/** What the adapter receives; `message_reaction` and the rest are not asked for. */
export const ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "edited_channel_post", "my_chat_member"];

const OFFSET_KEY = "offset";
const BOT_KEY = "botId";
const MAX_INGEST_ATTEMPTS = 3;
/** Consecutive failed polls before the supervisor is told the transport is gone. */
const MAX_POLL_FAILURES = 8;

export interface PollerDeps {
  api: Api;
  accountId: string;
  /** The bot's id (getMe): an offset saved for another bot (the token changed) is not used. */
  botId: string;
  timeoutSec: number;
  state: ChannelStateStore;
  log: Logger;
  /** Takes one update; false: not taken (ingest failed), poll it again later. Never throws. */
  handle(update: unknown): Promise<boolean>;
  /** Skips an update after repeated ingest failures (counted by the adapter). */
  giveUp(update: unknown): void;
  onPoll(ok: boolean): void;
  /** The loop ended for good (revoked token, conflict, too many failures). */
  onLost(err: unknown): void;
}

export class Poller {
  private readonly deps: PollerDeps;
  private readonly abort = new AbortController();
  private offset: number | undefined;
  private persisted: number | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private retryId: number | undefined;
  private retries = 0;
  private botSaved = false;

  constructor(deps: PollerDeps) {
    this.deps = deps;
  }

  /** Loads the offset and makes one short poll, so a refused token or a 409 fails the start itself. */
  async open(): Promise<void> {
    const saved = Number(await this.deps.state.get(OFFSET_KEY));
    const savedBot = await this.deps.state.get(BOT_KEY);
    if (savedBot !== undefined && savedBot !== this.deps.botId) {
      // Another bot's update ids: sent as this bot's offset, it would confirm (drop) updates never read.
      this.deps.log.warn({ savedBot, botId: this.deps.botId }, "telegram offset belongs to another bot; not used");
    } else if (Number.isSafeInteger(saved) && saved > 0) {
      this.offset = this.persisted = saved;
      this.botSaved = savedBot !== undefined;
    }
    let first: unknown[];
    try {
      first = await this.poll(0);
    } catch (err) {
      throw startError(err, this.deps.accountId);
    }
    this.deps.onPoll(true);
    // run() handles its own failures; anything else still ends in the supervisor, never unhandled.
    this.loop = this.run(first).catch((err: unknown) => this.deps.onLost(err));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.loop;
  }

  private async poll(timeout: number): Promise<unknown[]> {
    const updates = await this.deps.api.getUpdates(
      {
        ...(this.offset !== undefined ? { offset: this.offset } : {}),
        timeout,
        allowed_updates: ALLOWED_UPDATES as never,
      },
      // grammY types its signal as the abort-controller polyfill's; Node's own is what it receives.
      this.abort.signal as Parameters<Api["getUpdates"]>[1],
    );
    return Array.isArray(updates) ? (updates as unknown[]) : [];
  }

  private async run(first: unknown[]): Promise<void> {
    let batch = first;
    let failures = 0;
    while (!this.stopped) {
      const complete = await this.take(batch);
      if (this.stopped) break;
      if (!complete) await this.sleep(Math.min(5000, 250 * 2 ** this.retries));
      try {
        batch = await this.poll(complete ? this.deps.timeoutSec : 0);
        failures = 0;
        this.deps.onPoll(true);
        // pollingTimeoutSec 0 is short polling: an empty answer must not turn into a busy loop.
        if (batch.length === 0 && this.deps.timeoutSec === 0) await this.sleep(1000);
      } catch (err) {
        if (this.stopped) break;
        batch = [];
        this.deps.onPoll(false);
        if (err instanceof GrammyError && (err.error_code === 401 || err.error_code === 404)) {
          return this.deps.onLost(startError(err, this.deps.accountId));
        }
        if (err instanceof GrammyError && err.error_code === 409) {
          return this.deps.onLost(conflictError(err, this.deps.accountId));
        }
        failures++;
        this.deps.log.warn({ err, failures }, "telegram getUpdates failed");
        if (failures >= MAX_POLL_FAILURES) return this.deps.onLost(err);
        const retryAfter = err instanceof GrammyError ? Number(err.parameters.retry_after) * 1000 : NaN;
        await this.sleep(Number.isFinite(retryAfter) ? retryAfter : backoffMs(failures, POLL_BACKOFF));
      }
    }
  }

  /**
   * Hands a batch over (each chat's updates in order, chats side by side) and moves the offset over
   * the prefix that was taken; false when an update must be polled again. Persists the new offset.
   * An update taken after one that failed comes again with the retry: the gateway's dedupe drops it.
   */
  private async take(batch: unknown[]): Promise<boolean> {
    const fresh = batch.filter((u) => {
      const id = updateIdOf(u);
      return id === undefined || this.offset === undefined || id >= this.offset;
    });
    const taken = await this.ingestByChat(fresh);
    let complete = true;
    for (let i = 0; i < fresh.length; i++) {
      const update = fresh[i];
      const id = updateIdOf(update);
      if (taken[i] === undefined) {
        complete = false; // not tried: stopping, or behind a failed update of its chat
        break;
      }
      if (!taken[i]) {
        if (id === this.retryId) this.retries++;
        else [this.retryId, this.retries] = [id, 1];
        if (this.retries < MAX_INGEST_ATTEMPTS) {
          complete = false;
          break;
        }
        this.deps.giveUp(update);
        [this.retryId, this.retries] = [undefined, 0];
      }
      if (id !== undefined) this.offset = Math.max(this.offset ?? 0, id + 1);
    }
    if (this.offset !== undefined && this.offset !== this.persisted) {
      try {
        if (!this.botSaved) {
          await this.deps.state.set(BOT_KEY, this.deps.botId);
          this.botSaved = true;
        }
        await this.deps.state.set(OFFSET_KEY, String(this.offset));
        this.persisted = this.offset;
      } catch (err) {
        // The next batch writes it again; until then a restart may re-read (dedupe catches it).
        this.deps.log.error({ err }, "telegram offset could not be saved");
      }
    }
    return complete;
  }

  /** Concurrent ingests share the gateway's journal commits (one fsync for many); a chat stays in order. */
  private async ingestByChat(updates: unknown[]): Promise<Array<boolean | undefined>> {
    const result = new Array<boolean | undefined>(updates.length);
    const lanes = new Map<string, number[]>();
    updates.forEach((u, i) => {
      const key = chatKeyOf(u) ?? `#${i}`;
      const lane = lanes.get(key);
      if (lane) lane.push(i);
      else lanes.set(key, [i]);
    });
    await Promise.all(
      [...lanes.values()].map(async (lane) => {
        for (const i of lane) {
          if (this.stopped) return;
          result[i] = await this.deps.handle(updates[i]);
          if (!result[i]) return;
        }
      }),
    );
    return result;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.abort.signal.aborted) return resolve();
      const signal = this.abort.signal;
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}

/** 0.5 s, 1 s, 2 s … up to 15 s, with ±25 % jitter so many accounts do not poll in step. */
const POLL_BACKOFF: BackoffPolicy = { firstMs: 500, maxMs: 15_000, factor: 2, jitter: 0.25 };

const CHAT_FIELDS = ["message", "edited_message", "channel_post", "edited_channel_post", "my_chat_member"];

/** The chat an update belongs to, read defensively (the update is untrusted JSON). */
function chatKeyOf(update: unknown): string | undefined {
  if (typeof update !== "object" || update === null) return undefined;
  for (const field of CHAT_FIELDS) {
    const m = (update as Record<string, unknown>)[field];
    const chat = typeof m === "object" && m !== null ? (m as Record<string, unknown>).chat : undefined;
    const id = typeof chat === "object" && chat !== null ? (chat as Record<string, unknown>).id : undefined;
    if (typeof id === "number" || typeof id === "string") return String(id);
  }
  return undefined;
}
