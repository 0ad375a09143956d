/**
 * Token and cost accounting, as OpenClaw reports it: the `/usage tokens|full` footer appended to a
 * delivered reply (`Usage: 1.2k in / 80 out · est $0.0042[ · session \`<key>\`]`), cost from
 * `models.providers.<p>.models[].cost` (USD per million tokens for input, output, cacheRead and
 * cacheWrite), the running totals on a session row (`usageTotals`, a Pincer field; OpenClaw's
 * `inputTokens`/`outputTokens` stay the last run's), and this process's totals per agent and model.
 */
import type { PincerConfig } from "../config/schema.ts";
import type { Usage } from "../transcript/entries.ts";

export type UsageMode = "off" | "tokens" | "full";

/** USD per million tokens; a missing price counts as 0 (OpenClaw's `estimateUsageCost`). */
export interface ModelCost {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface UsageTotals {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /** Prompt (input + cache) plus output, summed over model calls. */
  totalTokens: number;
  /** USD; only calls of models with a configured cost add to it. */
  cost: number;
  /** Model calls counted (a turn with tool rounds makes several). */
  calls: number;
}

/** A row's `responseUsage` as a mode (`on` is OpenClaw's legacy spelling of `tokens`). */
export function usageModeOf(raw: unknown): UsageMode {
  if (raw === "tokens" || raw === "on") return "tokens";
  if (raw === "full") return "full";
  return "off";
}

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** The configured price of `provider/model`, or undefined when none is set. */
export function modelCostOf(config: PincerConfig, provider: string, model: string): ModelCost | undefined {
  const entry = config.models?.providers?.[provider]?.models?.find((m) => m.id === model);
  const cost = (entry as { cost?: unknown } | undefined)?.cost;
  if (cost === null || typeof cost !== "object") return undefined;
  const c = cost as Record<string, unknown>;
  return { input: num(c.input), output: num(c.output), cacheRead: num(c.cacheRead), cacheWrite: num(c.cacheWrite) };
}

/** USD for one call's usage at these prices. */
export function costOf(usage: Pick<Usage, "input" | "output" | "cacheRead" | "cacheWrite">, cost: ModelCost): number {
  return (
    (usage.input * cost.input +
      usage.output * cost.output +
      usage.cacheRead * cost.cacheRead +
      usage.cacheWrite * cost.cacheWrite) /
    1e6
  );
}

/** pi's `usage.cost` block for a transcript message (zeros when the model has no price). */
export function costBlock(usage: Usage, cost: ModelCost | undefined): Usage["cost"] {
  if (!cost) return usage.cost;
  const input = (usage.input * cost.input) / 1e6;
  const output = (usage.output * cost.output) / 1e6;
  const cacheRead = (usage.cacheRead * cost.cacheRead) / 1e6;
  const cacheWrite = (usage.cacheWrite * cost.cacheWrite) / 1e6;
  return { input, output, cacheRead, cacheWrite, total: input + output + cacheRead + cacheWrite };
}

/** OpenClaw's `formatTokenCount`: 950, 1.2k, 12k, 1.5m. */
export function formatTokenCount(value: number): string {
  const safe = Math.max(0, Number.isFinite(value) ? value : 0);
  if (safe >= 1e6) return `${(safe / 1e6).toFixed(1)}m`;
  if (safe >= 1e3) {
    const k = (safe / 1e3).toFixed(safe >= 1e4 ? 0 : 1);
    return Number(k) >= 1e3 ? `${(safe / 1e6).toFixed(1)}m` : `${k}k`;
  }
  return String(Math.round(safe));
}

/** OpenClaw's `formatUsd`: two decimals from a cent up, four below. */
export function formatUsd(value: number): string {
  return value >= 0.01 ? `$${value.toFixed(2)}` : `$${value.toFixed(4)}`;
}

/**
 * The footer line for a delivered reply, or null (mode off, or a call that reported no tokens).
 * `in` is the uncached input, as OpenClaw's footer prints pi's `usage.input` (cache reads and
 * writes count in the cost, not in the line).
 */
export function usageFooter(
  mode: UsageMode,
  usage: UsageTotals | undefined,
  cost: number | undefined,
  sessionKey: string,
): string | null {
  if (mode === "off" || !usage) return null;
  if (usage.input + usage.cacheRead + usage.cacheWrite === 0 && usage.output === 0) return null;
  const line = `Usage: ${formatTokenCount(usage.input)} in / ${formatTokenCount(usage.output)} out${cost !== undefined ? ` · est ${formatUsd(cost)}` : ""}`;
  return mode === "full" ? `${line} · session \`${sessionKey}\`` : line;
}

export function emptyTotals(): UsageTotals {
  return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, totalTokens: 0, cost: 0, calls: 0 };
}

/** `totals` plus one call (a new object; the row's value is never mutated in place). */
export function addUsage(totals: UsageTotals | undefined, usage: Usage, cost: number | undefined): UsageTotals {
  const t = { ...emptyTotals(), ...validTotals(totals) };
  t.input += usage.input;
  t.output += usage.output;
  t.cacheRead += usage.cacheRead;
  t.cacheWrite += usage.cacheWrite;
  t.totalTokens += usage.input + usage.cacheRead + usage.cacheWrite + usage.output;
  t.cost += cost ?? 0;
  t.calls += 1;
  return t;
}

/** Model calls that are not a turn's own: the silent memory flush and the compaction summary. */
export type UsageKind = "memoryFlush" | "compaction";
export const USAGE_KINDS: readonly UsageKind[] = ["memoryFlush", "compaction"];

/**
 * A row's `usageTotals`: the session's totals over every model call, the same per `provider/model`
 * it used, and the part of them spent on memory flushes and compaction summaries (`byKind`; the
 * rest is the turns').
 */
export type SessionUsageTotals = UsageTotals & {
  byModel?: Record<string, UsageTotals>;
  byKind?: Partial<Record<UsageKind, UsageTotals>>;
  /** Per UTC day (`YYYY-MM-DD`) of the calls, the last `USAGE_DAYS_KEPT` days (the Control UI's chart). */
  byDay?: Record<string, DayUsage>;
};

/** One day of a row's ledger: just what the per-day chart shows (rows stay small). */
export interface DayUsage {
  totalTokens: number;
  cost: number;
  calls: number;
}

/** Days a row's `byDay` keeps: older days are dropped as new ones are written. */
export const USAGE_DAYS_KEPT = 90;

/** The last UTC day asked for (epoch day number and its name): every call of a turn asks for today. */
let lastDay = { n: NaN, name: "" };

/** `YYYY-MM-DD` of `ms` in UTC (a UTC day is exactly 86 400 000 ms of epoch time). */
export const utcDayOf = (ms: number): string => {
  const n = Math.floor(ms / 86_400_000);
  if (n === lastDay.n) return lastDay.name;
  const name = new Date(ms).toISOString().slice(0, 10);
  lastDay = { n, name };
  return name;
};

const DAY_KEY = /^\d{4}-\d{2}-\d{2}$/;

/** A stored `byDay` with only well-formed days and numbers (rows are user-editable files). */
export function validDays(raw: unknown): Record<string, DayUsage> {
  const out: Record<string, DayUsage> = {};
  if (raw === null || typeof raw !== "object") return out;
  for (const [day, d] of Object.entries(raw as Record<string, unknown>)) {
    if (!DAY_KEY.test(day) || d === null || typeof d !== "object") continue;
    const r = d as Record<string, unknown>;
    out[day] = { totalTokens: num(r.totalTokens), cost: num(r.cost), calls: num(r.calls) };
  }
  return out;
}

/** `days` plus one call on the day of `at`, keeping the `USAGE_DAYS_KEPT` days up to it. */
function addDay(days: Record<string, DayUsage>, usage: Usage, cost: number | undefined, at: number) {
  const day = utcDayOf(at);
  const d = days[day] ?? { totalTokens: 0, cost: 0, calls: 0 };
  days[day] = {
    totalTokens: d.totalTokens + usage.input + usage.cacheRead + usage.cacheWrite + usage.output,
    cost: d.cost + (cost ?? 0),
    calls: d.calls + 1,
  };
  const oldest = utcDayOf(at - (USAGE_DAYS_KEPT - 1) * 86_400_000);
  const keys = Object.keys(days).sort();
  // Bounded by age and by count (a clock set back must not grow the row either).
  for (const [i, k] of keys.entries()) if (k < oldest || i < keys.length - USAGE_DAYS_KEPT) delete days[k];
  return Object.fromEntries(
    Object.keys(days)
      .sort()
      .map((k) => [k, days[k]!]),
  );
}

/** Valid totals per key of a stored map (rows are user-editable files). */
function validMap(raw: unknown, keys?: readonly string[]): Record<string, UsageTotals> {
  const out: Record<string, UsageTotals> = {};
  if (raw === null || typeof raw !== "object") return out;
  for (const [k, t] of Object.entries(raw)) {
    const valid = keys && !keys.includes(k) ? undefined : validTotals(t);
    if (valid) out[k] = valid;
  }
  return out;
}

/**
 * The row's totals plus one call of `modelRef` (a new object); `kind` for a flush or summary call;
 * `at` (epoch ms, the runtime's clock) is the day the call counts on in `byDay`.
 */
export function addSessionUsage(
  raw: unknown,
  usage: Usage,
  cost: number | undefined,
  modelRef: string,
  kind?: UsageKind,
  at: number = Date.now(),
): SessionUsageTotals {
  const stored = raw as { byModel?: unknown; byKind?: unknown; byDay?: unknown } | null | undefined;
  const byModel = validMap(stored?.byModel);
  byModel[modelRef] = addUsage(byModel[modelRef], usage, cost);
  const byKind = validMap(stored?.byKind, USAGE_KINDS);
  if (kind) byKind[kind] = addUsage(byKind[kind], usage, cost);
  return {
    ...addUsage(validTotals(raw), usage, cost),
    byModel,
    ...(Object.keys(byKind).length > 0 ? { byKind } : {}),
    byDay: addDay(validDays(stored?.byDay), usage, cost, at),
  };
}

/**
 * Totals over listed rows, per agent and per model (`sessions --json`'s `usageTotals`); undefined
 * when no row has any (an OpenClaw store lists exactly as OpenClaw does).
 */
export class UsageSummary {
  private readonly byAgent = new Map<string, UsageTotals>();
  private readonly byModel = new Map<string, UsageTotals>();

  add(agentId: string, raw: unknown): void {
    const t = validTotals(raw);
    if (!t) return;
    this.byAgent.set(agentId, sumTotals(this.byAgent.get(agentId), t));
    const models = (raw as { byModel?: unknown }).byModel;
    if (models !== null && typeof models === "object")
      for (const [ref, m] of Object.entries(models)) {
        const valid = validTotals(m);
        if (valid) this.byModel.set(ref, sumTotals(this.byModel.get(ref), valid));
      }
  }

  toJSON(): { byAgent: Record<string, UsageTotals>; byModel: Record<string, UsageTotals> } | undefined {
    if (this.byAgent.size === 0) return undefined;
    const sorted = (m: Map<string, UsageTotals>) =>
      Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return { byAgent: sorted(this.byAgent), byModel: sorted(this.byModel) };
  }
}

/** Two totals added (a turn's calls onto the row's running totals). */
export function sumTotals(a: UsageTotals | undefined, b: UsageTotals): UsageTotals {
  const t = { ...emptyTotals(), ...validTotals(a) };
  for (const k of Object.keys(t) as Array<keyof UsageTotals>) t[k] += b[k];
  return t;
}

/** A row's stored totals when they have the expected shape (rows are user-editable files). */
export function validTotals(raw: unknown): UsageTotals | undefined {
  if (raw === null || typeof raw !== "object") return undefined;
  const r = raw as Record<string, unknown>;
  const t = emptyTotals();
  for (const k of Object.keys(t) as Array<keyof UsageTotals>) t[k] = num(r[k]);
  return t;
}

/** Totals since this process started, per agent and per `provider/model` (`/status`, `/metrics`). */
export class UsageLedger {
  private readonly agents = new Map<string, UsageTotals>();
  private readonly models = new Map<string, UsageTotals>();

  add(agentId: string, modelRef: string, turn: UsageTotals): void {
    this.agents.set(agentId, sumTotals(this.agents.get(agentId), turn));
    this.models.set(modelRef, sumTotals(this.models.get(modelRef), turn));
  }

  forAgent(agentId: string): UsageTotals | undefined {
    return this.agents.get(agentId);
  }

  forModel(modelRef: string): UsageTotals | undefined {
    return this.models.get(modelRef);
  }
}

/** `12k in / 800 out · $0.04` for the status card (uncached input, as the footer counts it). */
export function formatTotals(t: UsageTotals, withCost: boolean): string {
  return `${formatTokenCount(t.input)} in / ${formatTokenCount(t.output)} out${withCost ? ` · ${formatUsd(t.cost)}` : ""}`;
}
