/**
 * `agents.defaults.contextPruning` with its defaults applied, and the provider eligibility rule.
 * The values were checked when the config was loaded (config/agents-schema.ts), so a typo is
 * noticed at start-up rather than as a failing turn or a surprising cache bill.
 */
import type { ContextPruningConfig } from "../config/agents-schema.ts";
import { parseDurationMs } from "../util/units.ts";

export interface PruneSettings {
  readonly mode: "off" | "cache-ttl";
  readonly ttlMs: number;
  readonly keepLastAssistants: number;
  readonly softTrimRatio: number;
  readonly hardClearRatio: number;
  readonly minPrunableToolChars: number;
  readonly softTrim: { readonly maxChars: number; readonly headChars: number; readonly tailChars: number };
  readonly hardClear: { readonly enabled: boolean; readonly placeholder: string };
  readonly tools: { readonly allow: readonly string[]; readonly deny: readonly string[] };
}

export const DEFAULT_PRUNE_SETTINGS: PruneSettings = {
  mode: "off",
  ttlMs: 5 * 60_000,
  keepLastAssistants: 3,
  softTrimRatio: 0.3,
  hardClearRatio: 0.5,
  minPrunableToolChars: 50_000,
  softTrim: { maxChars: 4_000, headChars: 1_500, tailChars: 1_500 },
  hardClear: { enabled: true, placeholder: "[Old tool result content cleared]" },
  tools: { allow: [], deny: [] },
};

/** Absent means defaults with pruning off. */
export function resolvePruneSettings(config: ContextPruningConfig | undefined): PruneSettings {
  if (config === undefined) return DEFAULT_PRUNE_SETTINGS;
  const d = DEFAULT_PRUNE_SETTINGS;
  return {
    mode: config.mode ?? d.mode,
    ttlMs: config.ttl !== undefined ? parseDurationMs(config.ttl, "m") : d.ttlMs,
    keepLastAssistants: config.keepLastAssistants ?? d.keepLastAssistants,
    softTrimRatio: config.softTrimRatio ?? d.softTrimRatio,
    hardClearRatio: config.hardClearRatio ?? d.hardClearRatio,
    minPrunableToolChars: config.minPrunableToolChars ?? d.minPrunableToolChars,
    softTrim: { ...d.softTrim, ...config.softTrim },
    hardClear: {
      enabled: config.hardClear?.enabled ?? d.hardClear.enabled,
      placeholder: config.hardClear?.placeholder?.trim() ?? d.hardClear.placeholder,
    },
    tools: { allow: [...(config.tools?.allow ?? [])], deny: [...(config.tools?.deny ?? [])] },
  };
}

const NATIVE_CACHE_TTL_PROVIDERS = new Set(["anthropic", "moonshot", "zai"]);
const OPENROUTER_CACHE_TTL_PREFIXES = ["anthropic/", "moonshot/", "moonshotai/", "zai/"];

/**
 * Only providers with a TTL-bound prompt cache benefit: pruning elsewhere would just throw away
 * context without saving a cache re-write.
 */
export function isCacheTtlEligible(provider: string, modelId: string): boolean {
  const p = provider.trim().toLowerCase();
  const m = modelId.trim().toLowerCase();
  if (NATIVE_CACHE_TTL_PROVIDERS.has(p)) return true;
  if (p === "openrouter") return OPENROUTER_CACHE_TTL_PREFIXES.some((prefix) => m.startsWith(prefix));
  if (p === "kilocode") return m.startsWith("anthropic/");
  return false;
}
