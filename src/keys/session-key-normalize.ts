/**
 * Canonicalisation of keys that arrive from outside (RPC, CLI, HTTP header, legacy stores):
 * OpenClaw's aliasing rules applied on top of the codec.
 */
import { buildSessionKey, checkRawKey, parseSessionKey } from "./session-key-codec.ts";
import { DEFAULT_MAIN_KEY, normalizeAgentId } from "./ids.ts";
import { asciiLower } from "./segment.ts";

export interface NormalizeKeyOptions {
  /** Agent that legacy bare keys belong to (default `main`). */
  defaultAgentId?: string;
  /** The configured `session.mainKey` (default `main`). */
  mainKey?: string;
}

/**
 * Trims, lower-cases structural words, re-encodes values canonically (`dm` → `direct`, escapes in
 * lower-case hex, case folded per channel), prefixes legacy bare keys with the default agent
 * (`x` → `agent:<default>:x`) and maps every main alias (`main`, `agent:<id>:main`) to the
 * configured main key. `global` and `unknown` stay as they are. Throws SessionKeyError.
 */
export function normalizeSessionKey(raw: string, opts: NormalizeKeyOptions = {}): string {
  const trimmed = checkRawKey(raw);
  const lower = asciiLower(trimmed);
  if (lower === "global" || lower === "unknown") return lower;
  const mainKey = opts.mainKey?.trim() || DEFAULT_MAIN_KEY;
  const scoped = lower.startsWith("agent:") ? trimmed : `agent:${normalizeAgentId(opts.defaultAgentId)}:${trimmed}`;
  const parts = parseSessionKey(scoped, { mainKey });
  return buildSessionKey(parts.kind === "main" ? { ...parts, mainKey } : parts, { mainKey });
}
