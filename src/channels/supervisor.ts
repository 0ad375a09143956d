/**
 * One supervisor per channel account: starts the adapter, restarts it with exponential backoff and
 * jitter (delay bounded by `maxMs`) when a start fails or the transport goes away, and stops for good
 * on `ChannelFatalError` (revoked token, 401, Discord 4004/4010–4014) — retrying cannot help, the
 * operator has to act, and `channels status` says so.
 *
 * Health is judged by what arrives, not by an open socket: the status carries the last inbound and
 * outbound times, and a watchdog restarts an adapter whose transport reported no activity for
 * `staleMs` (a long poll or stream that silently stopped: "healthy while deaf").
 *
 * Each start gets a fresh adapter from the factory; callbacks of an earlier instance are ignored.
 */
import type { Logger } from "pino";
import {
  ChannelFatalError,
  type AdapterContext,
  type ChannelAdapter,
  type ChannelName,
  type ChannelStateStore,
  type ChannelInbound,
  type IngestResult,
} from "./types.ts";

export type SupervisorState = "idle" | "starting" | "running" | "backoff" | "stopped" | "fatal";

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** ± this fraction of the delay, so accounts that failed together do not retry together. */
  jitter: number;
  /** Consecutive failed starts before giving up (state `fatal`); Infinity: never. */
  maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 1000,
  maxMs: 60_000,
  factor: 1.8,
  jitter: 0.25,
  maxAttempts: Infinity,
};

export interface AccountStatus {
  channel: ChannelName;
  accountId: string;
  state: SupervisorState;
  connected: boolean;
  mode?: string;
  /** Failed starts / reconnects since the last good start. */
  attempts: number;
  restarts: number;
  lastError?: string;
  lastErrorAt?: number;
  lastStartAt?: number;
  lastInboundAt?: number;
  lastOutboundAt?: number;
  lastTransportActivityAt?: number;
  nextAttemptAt?: number;
  /** Inbound liveness: `receiving` (a message within `quietMs`), `quiet`, `none-yet`, or `down`. */
  inbound: "receiving" | "quiet" | "none-yet" | "down";
  skipped: number;
}

export interface SupervisorOptions {
  channel: ChannelName;
  accountId: string;
  create(): ChannelAdapter;
  ingest(msg: ChannelInbound): Promise<IngestResult>;
  state: ChannelStateStore;
  log: Logger;
  now?: () => number;
  backoff?: Partial<BackoffOptions>;
  random?: () => number;
  /** Restart when the transport reported no activity for this long (0: off). Default 180 s. */
  staleMs?: number;
  /** Inbound counts as `quiet` after this long without a message. Default 30 min. */
  quietMs?: number;
  onSkipped?(reason: string): void;
  /** After every (re)start: the delivery queue retries what waited for this account. */
  onStarted?(adapter: ChannelAdapter): void;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class AccountSupervisor {
  private readonly opts: SupervisorOptions;
  private readonly backoff: BackoffOptions;
  private readonly now: () => number;
  private readonly random: () => number;
  private current: ChannelAdapter | undefined;
  private generation = 0;
  private st: SupervisorState = "idle";
  private attempts = 0;
  private restarts = 0;
  private skippedCount = 0;
  private lastError?: string;
  private lastErrorAt?: number;
  private lastStartAt?: number;
  private lastInboundAt?: number;
  private lastOutboundAt?: number;
  private nextAttemptAt?: number;
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private stopping = false;
  private starting: Promise<void> | undefined;

  constructor(opts: SupervisorOptions) {
    this.opts = opts;
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  get state(): SupervisorState {
    return this.st;
  }

  /** The running adapter (undefined while starting, backing off or stopped). */
  get adapter(): ChannelAdapter | undefined {
    return this.st === "running" ? this.current : undefined;
  }

  /** Begins the start loop; resolves after the first attempt (successful or not). */
  start(): Promise<void> {
    this.stopping = false;
    const staleMs = this.opts.staleMs ?? 180_000;
    if (staleMs > 0 && !this.watchdog) {
      this.watchdog = setInterval(() => this.checkStale(staleMs), Math.min(30_000, staleMs / 2));
      this.watchdog.unref();
    }
    return this.attempt();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.timer = this.watchdog = undefined;
    this.generation++;
    await this.starting?.catch(() => undefined);
    await this.stopAdapter();
    if (this.st !== "fatal") this.st = "stopped";
  }

  noteOutbound(): void {
    this.lastOutboundAt = this.now();
  }

  status(): AccountStatus {
    const t = this.st === "running" ? this.current?.status() : undefined;
    const now = this.now();
    const quietMs = this.opts.quietMs ?? 30 * 60_000;
    const inbound =
      this.st !== "running"
        ? "down"
        : this.lastInboundAt === undefined
          ? "none-yet"
          : now - this.lastInboundAt <= quietMs
            ? "receiving"
            : "quiet";
    return {
      channel: this.opts.channel,
      accountId: this.opts.accountId,
      state: this.st,
      connected: this.st === "running" && (t?.connected ?? false),
      ...(t?.mode ? { mode: t.mode } : {}),
      attempts: this.attempts,
      restarts: this.restarts,
      ...(this.lastError !== undefined ? { lastError: this.lastError, lastErrorAt: this.lastErrorAt } : {}),
      ...(this.lastStartAt !== undefined ? { lastStartAt: this.lastStartAt } : {}),
      ...(this.lastInboundAt !== undefined ? { lastInboundAt: this.lastInboundAt } : {}),
      ...(this.lastOutboundAt !== undefined ? { lastOutboundAt: this.lastOutboundAt } : {}),
      ...(t?.lastTransportActivityAt !== undefined ? { lastTransportActivityAt: t.lastTransportActivityAt } : {}),
      ...(this.st === "backoff" && this.nextAttemptAt !== undefined ? { nextAttemptAt: this.nextAttemptAt } : {}),
      inbound,
      skipped: this.skippedCount,
    };
  }

  /** The delay before attempt `n` (1-based): initial × factor^(n-1), capped, ± jitter. */
  delayFor(n: number): number {
    const { initialMs, maxMs, factor, jitter } = this.backoff;
    const base = Math.min(maxMs, initialMs * factor ** Math.max(0, n - 1));
    return Math.max(0, Math.round(base * (1 + jitter * (2 * this.random() - 1))));
  }

  private attempt(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    const gen = ++this.generation;
    this.st = "starting";
    this.nextAttemptAt = undefined;
    const adapter = this.opts.create();
    this.current = adapter;
    const run = (async () => {
      try {
        await adapter.start(this.context(gen));
      } catch (err) {
        if (gen !== this.generation) return;
        await adapter.stop().catch(() => undefined);
        this.fail(err, gen);
        return;
      }
      if (gen !== this.generation || this.stopping) {
        await adapter.stop().catch(() => undefined);
        return;
      }
      this.st = "running";
      this.attempts = 0;
      this.lastStartAt = this.now();
      this.opts.log.info({ channel: this.opts.channel, accountId: this.opts.accountId }, "channel account started");
      this.opts.onStarted?.(adapter);
    })();
    this.starting = run;
    return run;
  }

  private context(gen: number): AdapterContext {
    const live = () => gen === this.generation && !this.stopping;
    return {
      ingest: async (msg) => {
        if (live()) this.lastInboundAt = this.now();
        return this.opts.ingest(msg);
      },
      skipped: (reason, detail) => {
        this.skippedCount++;
        this.opts.onSkipped?.(reason);
        this.opts.log.debug(
          { channel: this.opts.channel, accountId: this.opts.accountId, reason, ...detail },
          "channel event skipped",
        );
      },
      disconnected: (err) => {
        if (live() && (this.st === "running" || this.st === "starting")) this.fail(err, gen);
      },
      state: this.opts.state,
      log: this.opts.log,
      now: this.now,
    };
  }

  /** A failed start or a lost transport: fatal stops for good, anything else retries after a delay. */
  private fail(err: unknown, gen: number): void {
    if (gen !== this.generation || this.stopping) return;
    this.lastError = message(err);
    this.lastErrorAt = this.now();
    const wasRunning = this.st === "running";
    const adapter = this.current;
    if (wasRunning) {
      this.generation++;
      void adapter?.stop().catch(() => undefined);
    }
    const who = { channel: this.opts.channel, accountId: this.opts.accountId, err: this.lastError };
    if (err instanceof ChannelFatalError) {
      this.st = "fatal";
      this.current = undefined;
      this.opts.log.error(who, "channel account stopped: fatal error (fix the config or token, then restart)");
      return;
    }
    this.attempts++;
    if (this.attempts >= this.backoff.maxAttempts) {
      this.st = "fatal";
      this.opts.log.error({ ...who, attempts: this.attempts }, "channel account stopped: too many failed attempts");
      return;
    }
    this.restarts++;
    const delay = this.delayFor(this.attempts);
    this.st = "backoff";
    this.nextAttemptAt = this.now() + delay;
    this.opts.log.warn(
      { ...who, attempt: this.attempts, delayMs: delay },
      wasRunning ? "channel transport lost; reconnecting" : "channel start failed; retrying",
    );
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.attempt();
    }, delay);
    this.timer.unref();
  }

  private checkStale(staleMs: number): void {
    if (this.st !== "running") return;
    const at = this.current?.status().lastTransportActivityAt;
    if (at !== undefined && this.now() - at > staleMs)
      this.fail(new Error(`no transport activity for ${Math.round((this.now() - at) / 1000)}s`), this.generation);
  }

  private async stopAdapter(): Promise<void> {
    const a = this.current;
    this.current = undefined;
    await a?.stop().catch((err: unknown) => this.opts.log.warn({ err }, "channel adapter stop failed"));
  }
}
