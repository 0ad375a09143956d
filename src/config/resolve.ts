/** Normalised settings derived from the config (defaults applied, units converted). */
import * as os from "node:os";
import * as path from "node:path";
import { normalizeAgentId } from "../keys/ids.ts";
import { isSharedBackend, type StoreBackendName } from "./backends.ts";
import type { MaintenanceSettings } from "./maintenance-settings.ts";
import type { PincerConfig } from "./schema.ts";
import { expandEnvRefs } from "../util/env-refs.ts";
import { parseDurationMs, parseSizeBytes } from "../util/units.ts";

const DAY = 86_400_000;

/** `0` or a negative duration/count disables a rule; it never means "delete everything". */
function positiveOrNull(v: number | undefined): number | null {
  return v !== undefined && v > 0 ? v : null;
}

export function resolveMaintenance(cfg: PincerConfig): MaintenanceSettings {
  const m = cfg.session?.maintenance ?? {};
  const pruneAfterMs =
    m.pruneAfter !== undefined
      ? positiveOrNull(parseDurationMs(m.pruneAfter, "d"))
      : m.pruneDays !== undefined
        ? positiveOrNull(m.pruneDays * DAY)
        : 30 * DAY;
  const maxEntries = m.maxEntries !== undefined ? positiveOrNull(m.maxEntries) : 500;
  const highWaterEntries =
    maxEntries === null
      ? null
      : Math.max(maxEntries, m.highWaterEntries ?? maxEntries + Math.max(10, Math.ceil(maxEntries * 0.1)));
  const maxDiskBytes = m.maxDiskBytes !== undefined ? positiveOrNull(parseSizeBytes(m.maxDiskBytes)) : null;
  const highWaterBytes =
    maxDiskBytes === null
      ? null
      : Math.min(
          maxDiskBytes,
          m.highWaterBytes !== undefined
            ? Math.max(1, parseSizeBytes(m.highWaterBytes))
            : Math.max(1, Math.floor(maxDiskBytes * 0.8)),
        );
  const retention = m.resetArchiveRetention;
  const resetArchiveRetentionMs =
    retention === false
      ? null
      : retention !== undefined
        ? positiveOrNull(parseDurationMs(retention, "d"))
        : pruneAfterMs;
  return {
    mode: m.mode ?? "warn",
    pruneAfterMs,
    maxEntries,
    highWaterEntries,
    rotateBytes: m.rotateBytes !== undefined ? parseSizeBytes(m.rotateBytes) : 10 * 1024 * 1024,
    resetArchiveRetentionMs,
    maxDiskBytes,
    highWaterBytes,
  };
}

function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
}

export function resolveStorePath(cfg: PincerConfig, agentId: string, home: string): string {
  const id = normalizeAgentId(agentId);
  const store = cfg.session?.store;
  const template = typeof store === "string" ? store : store?.path;
  const file = typeof store === "object" && store.backend === "sqlite" ? "sessions.sqlite" : "sessions.json";
  if (!template) return path.join(home, "agents", id, "sessions", file);
  return path.resolve(home, expandHome(template.replaceAll("{agentId}", id)));
}

export interface StoreOptions {
  backend: StoreBackendName;
  fsync: boolean;
  leaseTtlMs: number;
  /** Database URL of the postgres and redis backends, `${ENV}` expanded. */
  url?: string;
  poolSize?: number;
}

// Re-exported so callers that resolve store options find the shared-backend rule beside them.
export { isSharedBackend };

export function resolveStoreOptions(cfg: PincerConfig): StoreOptions {
  const store = cfg.session?.store;
  const obj = typeof store === "object" ? store : undefined;
  return {
    backend: obj?.backend ?? "fs",
    fsync: obj?.fsync ?? false,
    leaseTtlMs: obj?.leaseTtlMs ?? 5000,
    ...(obj?.url ? { url: expandEnvRefs(obj.url, process.env, "session.store.url") } : {}),
    ...(obj?.poolSize ? { poolSize: obj.poolSize } : {}),
  };
}

export function resolveAgents(cfg: PincerConfig): { ids: string[]; defaultAgentId: string } {
  const list = cfg.agents?.list ?? [];
  const ids = list.map((a) => normalizeAgentId(a.id));
  const def = list.find((a) => a.default) ?? list[0];
  const defaultAgentId = def ? normalizeAgentId(def.id) : "main";
  return { ids: ids.length ? ids : ["main"], defaultAgentId };
}
