/**
 * `agents.defaults.contextPruning` (reference §10.1) and the provider eligibility rule (§10.2).
 * Parsing is strict: a wrong value is reported with its key path instead of being silently clamped,
 * so a typo in the config is noticed at load time rather than as a surprising cache bill.
 */
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

const PREFIX = "agents.defaults.contextPruning";

function fail(key: string, value: unknown, expected: string): never {
  throw new Error(`${PREFIX}.${key}: got ${describe(value)}, expected ${expected}`);
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function section(raw: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = raw[key];
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) fail(key, value, "an object");
  return value;
}

function nonNegativeInt(raw: Record<string, unknown>, key: string, path: string, fallback: number): number {
  const value = raw[key];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) fail(path, value, "an integer ≥ 0");
  return value;
}

function ratio(raw: Record<string, unknown>, key: string, fallback: number): number {
  const value = raw[key];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1) fail(key, value, "a number between 0 and 1");
  return value;
}

function globList(raw: Record<string, unknown>, key: string, path: string): string[] {
  const value = raw[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === "string")) fail(path, value, "an array of glob strings");
  return [...value];
}

function ttlMs(value: unknown): number {
  if (value === undefined) return DEFAULT_PRUNE_SETTINGS.ttlMs;
  const expected = 'a duration like "5m"';
  if (typeof value !== "string" && typeof value !== "number") fail("ttl", value, expected);
  let ms: number;
  try {
    ms = parseDurationMs(value, "m");
  } catch {
    fail("ttl", value, expected);
  }
  if (!Number.isFinite(ms) || ms < 0) fail("ttl", value, `a non-negative duration like "5m"`);
  return ms;
}

/** Parses the raw config block; absent means defaults with pruning off. */
export function resolvePruneSettings(raw: unknown): PruneSettings {
  if (raw === undefined || raw === null) return DEFAULT_PRUNE_SETTINGS;
  if (!isRecord(raw)) throw new Error(`${PREFIX}: got ${describe(raw)}, expected an object`);

  // The reference treats every mode except "cache-ttl" as off; only a non-string is a config error.
  if (raw.mode !== undefined && typeof raw.mode !== "string") fail("mode", raw.mode, '"off" or "cache-ttl"');
  const mode = raw.mode === "cache-ttl" ? "cache-ttl" : "off";

  const d = DEFAULT_PRUNE_SETTINGS;
  const soft = section(raw, "softTrim");
  const hard = section(raw, "hardClear");
  const tools = section(raw, "tools");

  let enabled = d.hardClear.enabled;
  if (hard.enabled !== undefined) {
    if (typeof hard.enabled !== "boolean") fail("hardClear.enabled", hard.enabled, "true or false");
    enabled = hard.enabled;
  }
  let placeholder = d.hardClear.placeholder;
  if (hard.placeholder !== undefined) {
    if (typeof hard.placeholder !== "string" || hard.placeholder.trim() === "") fail("hardClear.placeholder", hard.placeholder, "a non-empty string");
    placeholder = hard.placeholder.trim();
  }

  return {
    mode,
    ttlMs: ttlMs(raw.ttl),
    keepLastAssistants: nonNegativeInt(raw, "keepLastAssistants", "keepLastAssistants", d.keepLastAssistants),
    softTrimRatio: ratio(raw, "softTrimRatio", d.softTrimRatio),
    hardClearRatio: ratio(raw, "hardClearRatio", d.hardClearRatio),
    minPrunableToolChars: nonNegativeInt(raw, "minPrunableToolChars", "minPrunableToolChars", d.minPrunableToolChars),
    softTrim: {
      maxChars: nonNegativeInt(soft, "maxChars", "softTrim.maxChars", d.softTrim.maxChars),
      headChars: nonNegativeInt(soft, "headChars", "softTrim.headChars", d.softTrim.headChars),
      tailChars: nonNegativeInt(soft, "tailChars", "softTrim.tailChars", d.softTrim.tailChars),
    },
    hardClear: { enabled, placeholder },
    tools: { allow: globList(tools, "allow", "tools.allow"), deny: globList(tools, "deny", "tools.deny") },
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
