/**
 * Which reset policy applies to a session (OpenClaw's resolution, plus Pincer's `none` mode):
 * `resetByChannel[channel]` replaces both `reset` and `resetByType` (and the legacy top-level
 * `idleMinutes`); otherwise a `resetByType` entry is merged with `reset` field by field.
 */
export type ResetMode = "daily" | "idle" | "none";

export interface ResetBlock {
  mode?: ResetMode;
  atHour?: number;
  idleMinutes?: number;
}

export interface ResetConfig {
  reset?: ResetBlock;
  resetByType?: { direct?: ResetBlock; dm?: ResetBlock; group?: ResetBlock; thread?: ResetBlock };
  resetByChannel?: Record<string, ResetBlock | undefined>;
  /** Legacy: alone it means idle-only mode; beside `reset`/`resetByType` it is the default idle window. */
  idleMinutes?: number;
}

export interface ResetPolicy {
  mode: ResetMode;
  atHour: number;
  /** Undefined = no idle expiry. */
  idleMinutes: number | undefined;
}

export const DEFAULT_AT_HOUR = 4;
const DEFAULT_IDLE_MINUTES = 60;

function clampHour(v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) return DEFAULT_AT_HOUR;
  return Math.min(23, Math.max(0, Math.floor(v)));
}

export function resolveResetPolicy(
  cfg: ResetConfig,
  resetType: "direct" | "group" | "thread",
  channel?: string,
): ResetPolicy {
  const byChannel = cfg.resetByChannel ?? {};
  const ch = channel?.trim().toLowerCase();
  const override = ch
    ? (byChannel[ch] ?? Object.entries(byChannel).find(([k]) => k.toLowerCase() === ch)?.[1])
    : undefined;
  const base = override ?? cfg.reset;
  const typed = override
    ? undefined
    : (cfg.resetByType?.[resetType] ?? (resetType === "direct" ? cfg.resetByType?.dm : undefined));
  const explicit = base !== undefined || cfg.resetByType !== undefined;
  const legacyIdle = override ? undefined : cfg.idleMinutes;
  const mode: ResetMode = typed?.mode ?? base?.mode ?? (!explicit && legacyIdle !== undefined ? "idle" : "daily");
  if (mode === "none") return { mode, atHour: clampHour(typed?.atHour ?? base?.atHour), idleMinutes: undefined };
  const idleRaw = typed?.idleMinutes ?? base?.idleMinutes ?? legacyIdle;
  const idleMinutes =
    idleRaw !== undefined ? Math.max(Math.floor(idleRaw), 1) : mode === "idle" ? DEFAULT_IDLE_MINUTES : undefined;
  return { mode, atHour: clampHour(typed?.atHour ?? base?.atHour), idleMinutes };
}
