/**
 * What the Control UI's operator pages read besides sessions: the log ring, the cron scheduler,
 * the resolved config (secrets masked), config validation and the security audit. Built by
 * start.ts and handed to the WS methods (admin-methods.ts); every read here is read-only.
 */
import * as fs from "node:fs";
import JSON5 from "json5";
import { resolveIncludes } from "../config/includes.ts";
import { configFileOf, configNotes, ConfigError, validateConfig } from "../config/load.ts";
import type { PincerConfig } from "../config/schema.ts";
import { runAudit, type AuditReport } from "../security/audit.ts";
import type { SessionStore } from "../store/types.ts";
import type { CronScheduler } from "./cron.ts";
import { writeCronEnabled } from "./cron-config-write.ts";
import type { LogRing } from "./log-ring.ts";

/** Keys whose string values are secrets (tokens, passwords, API keys, signing secrets, …). */
const SECRET_KEY = /(token|secret|password|passphrase|api.?key|credential|private.?key|cookie|signing)/i;
export const MASK = "***";

/** A copy of `value` with every secret string replaced by "***" (and passwords in URLs). */
export function maskSecrets(value: unknown, key = ""): unknown {
  if (typeof value === "string") {
    if (SECRET_KEY.test(key) && value !== "") return MASK;
    // user:password@ in a store URL.
    return value.replace(/(\/\/[^/:@\s]*:)[^@/\s]+@/g, `$1${MASK}@`);
  }
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, key));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // Every variable under env.vars may be a key: masked whatever its name.
      out[k] = key === "vars" && typeof v === "string" ? MASK : maskSecrets(v, k);
    }
    return out;
  }
  return value;
}

/** Where `cron.update` kept an enable/disable choice (the Control UI says so). */
export type CronSaved =
  | { savedTo: "config"; file: string }
  | { savedTo: "state"; file: string; note: string }
  | { savedTo: "memory"; note: string };

export interface AdminOptions {
  config: PincerConfig;
  home: string;
  env: NodeJS.ProcessEnv;
  logs: LogRing;
  agentIds(): string[];
  storeFor(agentId: string): Promise<SessionStore>;
  now(): number;
}

export class AdminSurface {
  readonly logs: LogRing;
  /** Set once the scheduler exists (it is created after the server). */
  cron: CronScheduler | null = null;

  private readonly opts: AdminOptions;

  constructor(opts: AdminOptions) {
    this.opts = opts;
    this.logs = opts.logs;
  }

  configView(): { config: Record<string, unknown>; warnings: string[]; notices: string[] } {
    const notes = configNotes(this.opts.config);
    return {
      config: maskSecrets(this.opts.config) as Record<string, unknown>,
      warnings: notes.warnings,
      notices: notes.notices,
    };
  }

  /** Checks config text as `pincer config validate` would; nothing is written. */
  validate(text: string): { ok: boolean; problems: string[]; warnings: string[] } {
    let raw: unknown;
    try {
      raw = JSON5.parse(text);
    } catch (err) {
      return { ok: false, problems: [`syntax: ${err instanceof Error ? err.message : String(err)}`], warnings: [] };
    }
    if (raw === null || typeof raw !== "object" || Array.isArray(raw))
      return { ok: false, problems: ["(root): expected an object"], warnings: [] };
    try {
      const { warnings } = validateConfig(raw, null);
      return { ok: true, problems: [], warnings };
    } catch (err) {
      if (err instanceof ConfigError) return { ok: false, problems: err.issues, warnings: [] };
      throw err;
    }
  }

  /**
   * Enables or disables a cron job: written to the config file the gateway was started from
   * (`cron.jobs[i].enabled`, in place), else kept in `$PINCER_HOME/cron-state.json`. Null for an
   * unknown job.
   */
  setCronEnabled(id: string, enabled: boolean): CronSaved | null {
    const cron = this.cron;
    if (!cron?.has(id)) return null;
    const file = configFileOf(this.opts.config);
    const write = file ? writeCronEnabled(file, id, enabled) : null;
    cron.setEnabled(id, enabled, { inConfig: write?.written === true });
    if (file && write?.written) return { savedTo: "config", file };
    const why = file
      ? `not written to the config file: ${(write as { reason: string }).reason}`
      : "the gateway was started without a config file";
    const state = cron.stateFilePath;
    if (state) return { savedTo: "state", file: state, note: `${why}; kept in ${state}` };
    return { savedTo: "memory", note: `${why}; with the memory store it lasts until the gateway stops` };
  }

  /**
   * The config file as written (`$include`s merged, `${VAR}`s and legacy keys left as they are),
   * as `pincer security audit` reads it; the resolved config when there is no file to read.
   */
  private rawConfig(): Record<string, unknown> {
    const file = configFileOf(this.opts.config);
    if (file) {
      try {
        const text = fs.readFileSync(file, "utf8");
        const raw: unknown = resolveIncludes(text.trim() === "" ? {} : JSON5.parse(text), file);
        if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) return raw as Record<string, unknown>;
      } catch {
        // Unreadable since start (moved, edited into bad JSON5): audit what the gateway runs on.
      }
    }
    return structuredClone(this.opts.config) as Record<string, unknown>;
  }

  /** `pincer security audit` over the running gateway's config and stores (read-only). */
  async audit(): Promise<AuditReport> {
    const stores: Array<{ agentId: string; store: SessionStore }> = [];
    for (const agentId of this.opts.agentIds()) {
      try {
        stores.push({ agentId, store: await this.opts.storeFor(agentId) });
      } catch {
        // A store that cannot open has nothing to inspect; the audit still runs.
      }
    }
    return runAudit({
      config: this.opts.config,
      rawConfig: this.rawConfig(),
      configFile: configFileOf(this.opts.config),
      home: this.opts.home,
      env: this.opts.env,
      stores,
      now: this.opts.now(),
    });
  }
}
