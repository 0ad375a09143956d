/**
 * What the Control UI's operator pages read besides sessions: the log ring, the cron scheduler,
 * the resolved config (secrets masked), config validation and the security audit. Built by
 * start.ts and handed to the WS methods (admin-methods.ts); every read here is read-only.
 */
import JSON5 from "json5";
import { configNotes, ConfigError, validateConfig } from "../config/load.ts";
import type { PincerConfig } from "../config/schema.ts";
import { runAudit, type AuditReport } from "../security/audit.ts";
import type { SessionStore } from "../store/types.ts";
import type { CronScheduler } from "./cron.ts";
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
      rawConfig: structuredClone(this.opts.config) as Record<string, unknown>,
      home: this.opts.home,
      env: this.opts.env,
      stores,
      now: this.opts.now(),
    });
  }
}
