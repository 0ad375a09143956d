/**
 * How the `sessions` listing shows a row: OpenClaw's `sessions --json` projection (absent fields
 * omitted, `model` and `contextTokens` resolved rather than raw) and
 * the fields of the text table. Kept apart from I/O so `status` and `cleanup` reuse it.
 */
import type { SessionEntry } from "../store/entry.ts";

export const DEFAULT_CONTEXT_TOKENS = 200_000;
/** Pincer's built-in offline provider: what a session uses when nothing else is configured. */
export const DEFAULT_DISPLAY_MODEL = "echo";

export interface DisplayDefaults {
  model: string;
  contextTokens: number;
}

export type ListKind = "direct" | "group" | "global" | "unknown";

export function kindOf(key: string, entry: SessionEntry): ListKind {
  if (key === "global") return "global";
  if (key === "unknown") return "unknown";
  if (entry.chatType === "group" || entry.chatType === "channel") return "group";
  if (key.includes(":group:") || key.includes(":channel:")) return "group";
  return "direct";
}

export function agentIdOf(key: string, fallback: string): string {
  const m = /^agent:([^:]+):/.exec(key);
  return m?.[1] ?? fallback;
}

export function displayModel(entry: SessionEntry, defaults: DisplayDefaults): string {
  return entry.model || entry.modelOverride || defaults.model;
}

/** The JSON row of `pincer sessions --json`, in OpenClaw's field order; absent fields omitted. */
export function projectRow(
  key: string,
  entry: SessionEntry,
  now: number,
  storeAgentId: string,
  defaults: DisplayDefaults,
): Record<string, unknown> {
  const updatedAt = typeof entry.updatedAt === "number" && entry.updatedAt > 0 ? entry.updatedAt : null;
  const fresh = typeof entry.totalTokens === "number" ? entry.totalTokensFresh !== false : false;
  const row: Record<string, unknown> = {
    key,
    updatedAt,
    ageMs: updatedAt === null ? null : Math.max(0, now - updatedAt),
    sessionId: entry.sessionId,
    systemSent: entry.systemSent,
    abortedLastRun: entry.abortedLastRun,
    thinkingLevel: entry.thinkingLevel,
    verboseLevel: entry.verboseLevel,
    reasoningLevel: entry.reasoningLevel,
    elevatedLevel: entry.elevatedLevel,
    responseUsage: entry.responseUsage,
    groupActivation: entry.groupActivation,
    inputTokens: entry.inputTokens,
    outputTokens: entry.outputTokens,
    totalTokens: fresh ? entry.totalTokens : null,
    totalTokensFresh: fresh,
    model: displayModel(entry, defaults),
    modelProvider: entry.modelProvider,
    providerOverride: entry.providerOverride,
    modelOverride: entry.modelOverride,
    contextTokens: entry.contextTokens ?? defaults.contextTokens,
    agentId: agentIdOf(key, storeAgentId),
    kind: kindOf(key, entry),
  };
  for (const k of Object.keys(row)) if (row[k] === undefined) delete row[k];
  return row;
}

export function formatAge(ageMs: number | null): string {
  if (ageMs === null) return "unknown";
  const m = Math.floor(ageMs / 60_000);
  if (m < 1) return "just now";
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ago`;
  return `${Math.floor(h / 24)}d ago`;
}

export function formatKTokens(v: number): string {
  return `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)}k`;
}

export function formatTokens(entry: SessionEntry, contextTokens: number): string {
  const ctx = formatKTokens(contextTokens);
  const fresh = typeof entry.totalTokens === "number" && entry.totalTokens >= 0 && entry.totalTokensFresh !== false;
  if (!fresh) return `unknown/${ctx} (?%)`;
  const pct = Math.min(999, Math.round((100 * entry.totalTokens!) / contextTokens));
  return `${formatKTokens(entry.totalTokens!)}/${ctx} (${pct}%)`;
}

export function formatFlags(entry: SessionEntry): string {
  const flags: string[] = [];
  if (entry.thinkingLevel) flags.push(`think:${entry.thinkingLevel}`);
  if (entry.verboseLevel) flags.push(`verbose:${entry.verboseLevel}`);
  if (entry.reasoningLevel) flags.push(`reasoning:${entry.reasoningLevel}`);
  if (entry.elevatedLevel) flags.push(`elev:${entry.elevatedLevel}`);
  if (entry.responseUsage) flags.push(`usage:${entry.responseUsage}`);
  if (entry.groupActivation) flags.push(`activation:${entry.groupActivation}`);
  if (entry.systemSent) flags.push("system");
  if (entry.abortedLastRun) flags.push("aborted");
  flags.push(`id:${entry.sessionId}`);
  return flags.join(" ");
}

export function truncateKey(key: string): string {
  return key.length > 26 ? `${key.slice(0, 16)}...${key.slice(-6)}` : key;
}

/** One line of the text table (cells padded, never cut, as OpenClaw does). */
export function tableLine(cells: Array<[string, number]>): string {
  return cells
    .map(([text, width]) => text.padEnd(width))
    .join(" ")
    .trimEnd();
}
