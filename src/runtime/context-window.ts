/**
 * The context window of the model that will answer, and the compaction headroom inside it. The
 * window comes from that model (`models.providers.*.models[].contextWindow`), not from what the row
 * recorded for an earlier model, so a switch to a small model takes effect at once in `/status`,
 * pruning and compaction. The reserve (`max(reserveTokens, reserveTokensFloor)`, OpenClaw's rule)
 * is clamped to a quarter of a small window: 20 000 tokens of headroom in an 8k window would
 * compact after every turn.
 */
import type { ModelProvider } from "../providers/types.ts";
import type { SessionEntry } from "../store/entry.ts";
import type { AgentSettings, CompactionSettings } from "./agent-settings.ts";

export const DEFAULT_CONTEXT_WINDOW = 200_000;
/** The largest share of the window the compaction reserve (and the flush headroom) may take. */
export const MAX_RESERVE_SHARE = 0.25;

/**
 * Window precedence: the provider's catalogue for this model → the row's recorded window when it
 * was recorded for this same model → 200 000; capped by `agents.defaults.contextTokens`.
 */
export function contextWindowOf(
  settings: Pick<AgentSettings, "contextTokens">,
  provider: ModelProvider,
  model: string,
  entry?: SessionEntry,
): number {
  const recorded =
    entry?.contextTokens !== undefined && entry.model === model && entry.modelProvider === provider.name
      ? entry.contextTokens
      : undefined;
  const known = provider.contextWindow(model) ?? recorded ?? DEFAULT_CONTEXT_WINDOW;
  return settings.contextTokens !== undefined ? Math.min(known, settings.contextTokens) : known;
}

export interface CompactionBudget {
  /** Headroom kept free: compaction runs once a turn's tokens exceed `window - reserve`. */
  reserve: number;
  /** The reserve the config asks for (`max(reserveTokens, reserveTokensFloor)`). */
  configuredReserve: number;
  clamped: boolean;
  compactAbove: number;
  /** The pre-compaction memory flush runs from here (`window - floor - softThreshold`, both clamped). */
  flushAt: number;
}

export function compactionBudget(window: number, c: CompactionSettings): CompactionBudget {
  const cap = Math.floor(window * MAX_RESERVE_SHARE);
  const configuredReserve = Math.max(c.reserveTokens, c.reserveTokensFloor);
  const reserve = Math.min(configuredReserve, cap);
  const floor = Math.min(c.reserveTokensFloor, cap);
  const soft = Math.min(c.memoryFlush.softThresholdTokens, cap);
  return {
    reserve,
    configuredReserve,
    clamped: reserve < configuredReserve,
    compactAbove: window - reserve,
    flushAt: window - floor - soft,
  };
}
