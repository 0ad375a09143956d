/**
 * Cron jobs (`cron.jobs[]`, scheduled with croner). An isolated job runs in a fresh session each
 * time (`agent:<agent>:cron:<job>:run:<uuid>`); others reuse `agent:<agent>:cron:<job>`. Cron turns
 * are not interactive, so they never extend idle freshness. Run rows older than
 * `cron.sessionRetention` (default 24h) are reaped and their transcripts archived.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { Cron } from "croner";
import type { Logger } from "pino";
import { parseDurationMs } from "../util/units.ts";
import { cronRunSessionKey, cronSessionKey, isCronRunKey } from "../keys/session-key-helpers.ts";
import type { AgentRuntime, TurnOutcome } from "../runtime/runtime.ts";
import { writeFileAtomicSync } from "../store/fs/secure-fs.ts";

export interface CronJobConfig {
  id: string;
  name?: string;
  schedule: string;
  tz?: string;
  agent?: string;
  message: string;
  isolated?: boolean;
  enabled?: boolean;
  /** A native channel target for the reply; without it the session's last route (if a channel). */
  deliver?: { channel: "telegram" | "slack" | "discord" | "signal"; to: string; accountId?: string; threadId?: string };
}

/** A job as `cron.list` reports it. */
export interface CronJobStatus {
  id: string;
  name?: string;
  schedule: string;
  tz?: string;
  agentId: string;
  enabled: boolean;
  running: boolean;
  nextRunAt?: number;
  last?: CronLastRun;
  deliver?: NonNullable<CronJobConfig["deliver"]>;
}
export interface CronLastRun {
  at: number;
  status: string;
  sessionKey: string;
  error?: string;
  reply?: string;
}
interface JobState {
  job: CronJobConfig;
  cron: Cron;
  enabled: boolean;
  /** The job's `enabled` in the config file (as loaded, or as `cron.update` wrote it back). */
  configEnabled: boolean;
  running: boolean;
  last?: CronLastRun;
}

/** Claims one fire of a job for this gateway; false when another gateway has it. */
export type CronClaim = (agentId: string, jobId: string, ttlMs: number) => Promise<boolean>;

export class CronScheduler {
  private readonly jobs: Cron[] = [];
  private readonly rt: AgentRuntime;
  private readonly logger: Logger;
  private readonly retentionMs: number;
  private reaper: NodeJS.Timeout | null = null;
  private readonly agentIds = new Set<string>(["main"]);
  private readonly states = new Map<string, JobState>();
  private stateFile: string | null = null;

  /** Posts a finished job's reply to its channel (set by the gateway when channels are configured). */
  deliver: ((job: CronJobConfig, outcome: TurnOutcome) => Promise<void>) | null = null;

  /** Set when several gateways share the store: a scheduled run happens on the gateway that claims it. */
  private readonly claim: CronClaim | null;

  constructor(
    rt: AgentRuntime,
    logger: Logger,
    config: { jobs?: CronJobConfig[]; sessionRetention?: string | number; enabled?: boolean } | undefined,
    claim: CronClaim | null = null,
  ) {
    this.rt = rt;
    this.logger = logger;
    this.claim = claim;
    this.retentionMs = parseDurationMs(config?.sessionRetention ?? "24h", "m");
    if (config?.enabled === false) return;
    for (const job of config?.jobs ?? []) {
      this.agentIds.add((job.agent ?? "main").toLowerCase());
      let cron: Cron;
      try {
        // Disabled jobs get a paused timer: the Control UI shows them and may enable them.
        cron = new Cron(
          job.schedule,
          { timezone: job.tz, protect: true, name: job.id, paused: job.enabled === false },
          (self: Cron) => void this.fire(job, self),
        );
      } catch (err) {
        throw new Error(
          `cron.jobs[${job.id}].schedule: got ${JSON.stringify(job.schedule)}, expected a cron expression (${err instanceof Error ? err.message : String(err)})`,
        );
      }
      this.jobs.push(cron);
      const enabled = job.enabled !== false;
      this.states.set(job.id, { job, cron, enabled, configEnabled: enabled, running: false });
    }
  }

  /** Every configured job with its schedule and last outcome (the Control UI's Cron page). */
  list(): CronJobStatus[] {
    return [...this.states.values()].map((s) => ({
      id: s.job.id,
      ...(s.job.name ? { name: s.job.name } : {}),
      schedule: s.job.schedule,
      ...(s.job.tz ? { tz: s.job.tz } : {}),
      agentId: (s.job.agent ?? "main").toLowerCase(),
      enabled: s.enabled,
      running: s.running,
      ...(s.enabled && s.cron.nextRun() ? { nextRunAt: s.cron.nextRun()!.getTime() } : {}),
      ...(s.last ? { last: s.last } : {}),
      ...(s.job.deliver ? { deliver: { ...s.job.deliver } } : {}),
    }));
  }

  has(id: string): boolean {
    return this.states.has(id);
  }

  /** The state file enable/disable choices are kept in when the config file is not written (or null). */
  get stateFilePath(): string | null {
    return this.stateFile;
  }

  /**
   * Pauses or resumes a job's schedule. `inConfig`: the caller wrote the choice to the config file
   * (admin.ts), so the state file drops its override; otherwise the state file (when one is set)
   * keeps it, winning over the job's `enabled` until the job leaves the config.
   */
  setEnabled(id: string, enabled: boolean, opts: { inConfig?: boolean } = {}): boolean {
    const s = this.states.get(id);
    if (!s) return false;
    s.enabled = enabled;
    if (opts.inConfig) s.configEnabled = enabled;
    if (enabled) s.cron.resume();
    else s.cron.pause();
    if (this.stateFile) {
      const overrides = Object.fromEntries(
        [...this.states.values()].filter((j) => j.enabled !== j.configEnabled).map((j) => [j.job.id, j.enabled]),
      );
      writeFileAtomicSync(this.stateFile, `${JSON.stringify({ enabled: overrides }, null, 2)}\n`);
    }
    return true;
  }

  /** Reads (and from now on writes) the enable/disable choices made through `cron.update`. */
  useStateFile(file: string): void {
    this.stateFile = file;
    let saved: unknown;
    try {
      saved = (JSON.parse(fs.readFileSync(file, "utf8")) as { enabled?: unknown }).enabled;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT")
        this.logger.warn({ file, err }, "cron: the state file could not be read; using the config's enabled flags");
      return;
    }
    if (saved === null || typeof saved !== "object") return;
    for (const [id, enabled] of Object.entries(saved))
      if (typeof enabled === "boolean" && this.states.has(id)) {
        const s = this.states.get(id)!;
        s.enabled = enabled;
        if (enabled) s.cron.resume();
        else s.cron.pause();
      }
  }

  /** Starts a configured job now; resolves when it was accepted (not when it finished). */
  runNow(id: string): { started: boolean; found: boolean } {
    const s = this.states.get(id);
    if (!s) return { started: false, found: false };
    if (s.running) return { started: false, found: true };
    void this.runJob(s.job).catch((err: unknown) => this.logger.error({ job: id, err }, "cron job failed"));
    return { started: true, found: true };
  }

  start(): void {
    if (this.jobs.length > 0 || this.retentionMs > 0) {
      this.reaper = setInterval(
        () => void this.reap().catch((err: unknown) => this.logger.warn({ err }, "cron reaper failed")),
        60_000,
      );
      this.reaper.unref();
    }
  }

  stop(): void {
    for (const j of this.jobs) j.stop();
    if (this.reaper) clearInterval(this.reaper);
  }

  /** A scheduled fire: on a shared store only the gateway that claims this fire runs it. */
  private async fire(job: CronJobConfig, self: Cron): Promise<void> {
    if (this.claim) {
      // The claim outlives this fire's clock differences between gateways but not the next fire.
      const next = self.nextRun()?.getTime();
      const ttlMs = Math.min(300_000, Math.max(200, next ? Math.floor((next - Date.now()) / 2) : 30_000));
      const agentId = (job.agent ?? "main").toLowerCase();
      let claimed: boolean;
      try {
        claimed = await this.claim(agentId, job.id, ttlMs);
      } catch (err) {
        this.logger.warn({ job: job.id, err }, "cron: could not claim the run on the shared store; skipped");
        return;
      }
      if (!claimed) {
        this.logger.debug({ job: job.id }, "cron: another gateway runs this fire");
        return;
      }
    }
    await this.runJob(job).catch((err: unknown) => this.logger.error({ job: job.id, err }, "cron job failed"));
  }

  /** Runs one job now (also used by tests and `pincer cron run`). */
  async runJob(job: CronJobConfig): Promise<TurnOutcome> {
    const agentId = (job.agent ?? "main").toLowerCase();
    const sessionKey =
      job.isolated === false ? cronSessionKey(agentId, job.id) : cronRunSessionKey(agentId, job.id, randomUUID());
    const envelope = {
      channel: "cron",
      chatType: "direct",
      peerId: job.id,
      senderId: "cron",
      senderName: job.name ?? `Cron: ${job.id}`,
      text: job.message,
    };
    const state = this.states.get(job.id);
    if (state) state.running = true;
    let outcome: TurnOutcome;
    try {
      const accepted = await this.rt.submit(envelope, {
        surface: "cron",
        interactive: false,
        commandAuthorized: false,
        target: { agentId, sessionKey },
      });
      outcome = await accepted.done;
    } catch (err) {
      if (state) {
        state.running = false;
        state.last = {
          at: Date.now(),
          status: "error",
          sessionKey,
          error: err instanceof Error ? err.message : String(err),
        };
      }
      throw err;
    }
    if (state) {
      state.running = false;
      state.last = {
        at: Date.now(),
        status: outcome.status,
        sessionKey,
        ...(outcome.error ? { error: outcome.error } : {}),
        ...(outcome.reply ? { reply: outcome.reply.slice(0, 500) } : {}),
      };
    }
    this.logger.info({ job: job.id, sessionKey, status: outcome.status }, "cron job ran");
    if (this.deliver)
      await this.deliver(job, outcome).catch((err: unknown) =>
        this.logger.error({ job: job.id, err }, "cron: the reply could not be queued for its channel"),
      );
    return outcome;
  }

  /** Removes cron run rows older than the retention; their transcripts are archived, not deleted. */
  async reap(): Promise<number> {
    if (this.retentionMs <= 0) return 0;
    const cutoff = this.rt.now() - this.retentionMs;
    let reaped = 0;
    for (const agentId of this.agentIds) {
      const page = await this.rt.manager.list(agentId);
      for (const row of page.rows) {
        if (isCronRunKey(row.key) && row.entry.updatedAt < cutoff) {
          await this.rt.delete(agentId, row.key);
          reaped++;
        }
      }
    }
    return reaped;
  }
}
