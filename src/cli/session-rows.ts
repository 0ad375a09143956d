/**
 * How the `sessions` listing shows a row: OpenClaw's `sessions --json` projection (absent fields
 * omitted, `model` and `contextTokens` resolved rather than raw) and
 * the fields of the text table. Kept apart from I/O so `status` and `cleanup` reuse it.
 */
import type { SessionEntry } from "../store/entry.ts";
import { isRawNumber, isRawObject, isRawTruthy, type RawRow } from "../store/fs/sessions-json-reader.ts";

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

/** The fields of a `pincer sessions --json` row, in OpenClaw's order. */
const ROW_FIELDS = [
  "key",
  "updatedAt",
  "ageMs",
  "sessionId",
  "systemSent",
  "abortedLastRun",
  "thinkingLevel",
  "verboseLevel",
  "reasoningLevel",
  "elevatedLevel",
  "responseUsage",
  "groupActivation",
  "inputTokens",
  "outputTokens",
  "totalTokens",
  "totalTokensFresh",
  "model",
  "modelProvider",
  "providerOverride",
  "modelOverride",
  "contextTokens",
  "agentId",
  "kind",
  /** Pincer: running token and cost totals of the session (runtime/usage.ts); absent on OpenClaw rows. */
  "usageTotals",
] as const;

/** The row's values in `ROW_FIELDS` order (undefined = omitted). */
function projectValues(
  key: string,
  entry: SessionEntry,
  now: number,
  storeAgentId: string,
  defaults: DisplayDefaults,
): unknown[] {
  const updatedAt = typeof entry.updatedAt === "number" && entry.updatedAt > 0 ? entry.updatedAt : null;
  const fresh = typeof entry.totalTokens === "number" ? entry.totalTokensFresh !== false : false;
  return [
    key,
    updatedAt,
    updatedAt === null ? null : Math.max(0, now - updatedAt),
    entry.sessionId,
    entry.systemSent,
    entry.abortedLastRun,
    entry.thinkingLevel,
    entry.verboseLevel,
    entry.reasoningLevel,
    entry.elevatedLevel,
    entry.responseUsage,
    entry.groupActivation,
    entry.inputTokens,
    entry.outputTokens,
    fresh ? entry.totalTokens : null,
    fresh,
    displayModel(entry, defaults),
    entry.modelProvider,
    entry.providerOverride,
    entry.modelOverride,
    entry.contextTokens ?? defaults.contextTokens,
    agentIdOf(key, storeAgentId),
    kindOf(key, entry),
    entry.usageTotals !== null && typeof entry.usageTotals === "object" ? entry.usageTotals : undefined,
  ];
}

/** The JSON row of `pincer sessions --json`, in OpenClaw's field order; absent fields omitted. */
export function projectRow(
  key: string,
  entry: SessionEntry,
  now: number,
  storeAgentId: string,
  defaults: DisplayDefaults,
): Record<string, unknown> {
  const values = projectValues(key, entry, now, storeAgentId, defaults);
  const row: Record<string, unknown> = {};
  ROW_FIELDS.forEach((name, i) => {
    if (values[i] !== undefined) row[name] = values[i];
  });
  return row;
}

/** `"<name>": ` one level inside a row at `indent`, for each field. */
function fieldPrefixes(indent: string): string[] {
  return ROW_FIELDS.map((name) => `\n${indent}  ${JSON.stringify(name)}: `);
}
const prefixesByIndent = new Map<string, string[]>();

/**
 * The row as `JSON.stringify(projectRow(...), null, 2)` would print it nested at `indent` (the same
 * bytes), without building the row object: what a 100 000-row listing spends its time on.
 */
export function projectRowJson(
  key: string,
  entry: SessionEntry,
  now: number,
  storeAgentId: string,
  defaults: DisplayDefaults,
  indent: string,
): string {
  let prefixes = prefixesByIndent.get(indent);
  if (!prefixes) prefixesByIndent.set(indent, (prefixes = fieldPrefixes(indent)));
  const inner = `\n${indent}  `;
  const values = projectValues(key, entry, now, storeAgentId, defaults);
  let out = "{";
  let first = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === undefined) continue;
    out += (first ? "" : ",") + prefixes[i]!;
    first = false;
    out += v !== null && typeof v === "object" ? JSON.stringify(v, null, 2).replaceAll("\n", inner) : JSON.stringify(v);
  }
  return `${out}\n${indent}}`;
}

/** OpenClaw's formatTimeAgo: each unit rounded (not floored) from the one below; days from 48 h. */
export function formatAge(ageMs: number | null): string {
  if (ageMs === null || !Number.isFinite(ageMs) || ageMs < 0) return "unknown";
  const m = Math.round(Math.round(ageMs / 1000) / 60);
  if (m < 1) return "just now";
  if (m < 60) return `${m}m ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.round(h / 24)}d ago`;
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

/** The head of `sessions cleanup --dry-run`'s table of planned actions (a blank line, a title, the columns). */
export function plannedActionsHead(): string[] {
  return [
    "",
    "Planned session actions:",
    tableLine([
      ["Action", 12],
      ["Key", 26],
      ["Age", 9],
      ["Model", 14],
      ["Flags", 0],
    ]),
  ];
}

/** One line of the text table (cells padded, never cut, as OpenClaw does). */
export function tableLine(cells: Array<[string, number]>): string {
  return cells
    .map(([text, width]) => text.padEnd(width))
    .join(" ")
    .trimEnd();
}

/** What `projectRawRowJson` reads of a row (`RowScanner` fields); index constants below follow this order. */
export const RAW_ROW_FIELDS = [
  "sessionId",
  "updatedAt",
  "systemSent",
  "abortedLastRun",
  "thinkingLevel",
  "verboseLevel",
  "reasoningLevel",
  "elevatedLevel",
  "responseUsage",
  "groupActivation",
  "inputTokens",
  "outputTokens",
  "totalTokens",
  "totalTokensFresh",
  "model",
  "modelProvider",
  "providerOverride",
  "modelOverride",
  "contextTokens",
  "chatType",
  "usageTotals",
] as const;
const RAW = Object.fromEntries(RAW_ROW_FIELDS.map((f, i) => [f, i])) as Record<(typeof RAW_ROW_FIELDS)[number], number>;

/** A raw row's `updatedAt` as the store reads it (a non-number is 0). */
export function rawUpdatedAt(row: RawRow): number {
  const raw = row.values[RAW.updatedAt];
  return isRawNumber(raw) ? Number(raw) : 0;
}

/** A raw row's `usageTotals`, parsed only when it is an object (what `UsageSummary.add` can use). */
export function rawUsageTotals(row: RawRow): unknown {
  const raw = row.values[RAW.usageTotals];
  return isRawObject(raw) ? JSON.parse(raw) : undefined;
}

const RAW_VALUES = new Array<string | undefined>(ROW_FIELDS.length);
const KIND_JSON: Record<ListKind, string> = {
  direct: '"direct"',
  group: '"group"',
  global: '"global"',
  unknown: '"unknown"',
};
let lastAgent: { prefix: string; fallback: string; json: string } | null = null;

/** `JSON.stringify(agentIdOf(key, fallback))`, the last agent's kept: rows of one store share it. */
function agentIdJson(key: string, fallback: string): string {
  if (lastAgent && lastAgent.fallback === fallback && key.startsWith(lastAgent.prefix)) return lastAgent.json;
  const id = agentIdOf(key, fallback);
  const prefix = `agent:${id}:`;
  // Only a key that starts with `agent:<id>:` has that id (any other falls back, and is not cached).
  if (key.startsWith(prefix) && !id.includes(":")) lastAgent = { prefix, fallback, json: JSON.stringify(id) };
  return JSON.stringify(id);
}

/**
 * `projectRowJson` of a row read by `RowScanner` with `RAW_ROW_FIELDS`: the same bytes, from the
 * fields' JSON text as the snapshot holds it (JSON.stringify is canonical, so a value written back
 * is the text it was read from) — no row is parsed.
 */
export function projectRawRowJson(
  row: RawRow,
  now: number,
  storeAgentId: string,
  defaults: DisplayDefaults,
  indent: string,
): string {
  const pieces: string[] = [];
  appendRawRowJson(pieces, row, now, storeAgentId, defaults, indent);
  return pieces.join("");
}

/**
 * `projectRawRowJson` as pieces pushed onto `pieces`, joined by the caller once per output chunk:
 * concatenating a row's ~30 pieces one by one made ~3 million intermediate strings per listing.
 */
export function appendRawRowJson(
  pieces: string[],
  row: RawRow,
  now: number,
  storeAgentId: string,
  defaults: DisplayDefaults,
  indent: string,
): void {
  const v = row.values;
  const updatedAtRaw = v[RAW.updatedAt];
  const updatedAt = isRawNumber(updatedAtRaw) && Number(updatedAtRaw) > 0 ? Number(updatedAtRaw) : null;
  const fresh = isRawNumber(v[RAW.totalTokens]) ? v[RAW.totalTokensFresh] !== "false" : false;
  const model = isRawTruthy(v[RAW.model])
    ? v[RAW.model]
    : isRawTruthy(v[RAW.modelOverride])
      ? v[RAW.modelOverride]
      : JSON.stringify(defaults.model);
  const ctx = v[RAW.contextTokens];
  const chatType = v[RAW.chatType];
  const kind =
    row.key === "global"
      ? "global"
      : row.key === "unknown"
        ? "unknown"
        : chatType === '"group"' ||
            chatType === '"channel"' ||
            row.key.includes(":group:") ||
            row.key.includes(":channel:")
          ? "group"
          : "direct";
  const usage = v[RAW.usageTotals];
  // In ROW_FIELDS order, as JSON text (undefined = omitted); one array reused for every row.
  const values = RAW_VALUES;
  values[0] = row.keyJson;
  values[1] = updatedAt === null ? "null" : updatedAtRaw;
  values[2] = updatedAt === null ? "null" : String(Math.max(0, now - updatedAt));
  values[3] = v[RAW.sessionId];
  values[4] = v[RAW.systemSent];
  values[5] = v[RAW.abortedLastRun];
  values[6] = v[RAW.thinkingLevel];
  values[7] = v[RAW.verboseLevel];
  values[8] = v[RAW.reasoningLevel];
  values[9] = v[RAW.elevatedLevel];
  values[10] = v[RAW.responseUsage];
  values[11] = v[RAW.groupActivation];
  values[12] = v[RAW.inputTokens];
  values[13] = v[RAW.outputTokens];
  values[14] = fresh ? v[RAW.totalTokens] : "null";
  values[15] = fresh ? "true" : "false";
  values[16] = model;
  values[17] = v[RAW.modelProvider];
  values[18] = v[RAW.providerOverride];
  values[19] = v[RAW.modelOverride];
  values[20] = ctx !== undefined && ctx !== "null" ? ctx : JSON.stringify(defaults.contextTokens);
  values[21] = agentIdJson(row.key, storeAgentId);
  values[22] = KIND_JSON[kind];
  values[23] = isRawObject(usage) ? usage : undefined;
  let prefixes = prefixesByIndent.get(indent);
  if (!prefixes) prefixesByIndent.set(indent, (prefixes = fieldPrefixes(indent)));
  const inner = `\n${indent}  `;
  pieces.push("{");
  let first = true;
  for (let i = 0; i < values.length; i++) {
    const text = values[i];
    if (text === undefined) continue;
    if (!first) pieces.push(",");
    pieces.push(prefixes[i]!);
    first = false;
    // Multi-line values were written nested four spaces deep; here they sit one level inside the row.
    pieces.push(text.includes("\n") ? text.replaceAll("\n    ", inner) : text);
  }
  pieces.push(closersByIndent.get(indent) ?? `\n${indent}}`);
}
const closersByIndent = new Map([["    ", "\n    }"]]);
