/**
 * `/usage cost`, OpenClaw's cost summary: the session's cost and tokens, then the agent's cost today
 * and over the last 30 days. OpenClaw adds these up from every transcript file; Pincer from the
 * rows' running totals (`usageTotals`, with `byDay` per UTC day), a page of rows at a time and only
 * over rows touched in the window. "(partial)" marks a sum that includes calls of a model the config
 * gives no price, so its cost is a floor.
 */
import type { PincerConfig } from "../config/schema.ts";
import type { SessionManager } from "../session/manager.ts";
import type { SessionEntry } from "../store/entry.ts";
import { formatTokenCount, formatUsd, modelCostOf, utcDayOf, validDays, validTotals } from "./usage.ts";

const WINDOW_DAYS = 30;
const DAY_MS = 86_400_000;
const PAGE_ROWS = 2000;

export interface UsageCostInput {
  manager: Pick<SessionManager, "list">;
  config: PincerConfig;
  agentId: string;
  entry: SessionEntry | undefined;
  now: number;
}

export async function usageCostText(input: UsageCostInput): Promise<string> {
  const { config, entry } = input;
  const session = validTotals(entry?.usageTotals);
  const sessionLine =
    session && session.calls > 0
      ? `Session ${formatUsd(session.cost)}${partial(hasUnpricedCalls(config, entry?.usageTotals))}` +
        (session.totalTokens > 0 ? ` · ${formatTokenCount(session.totalTokens)} tokens` : "")
      : "Session n/a";

  const today = utcDayOf(input.now);
  const firstDay = utcDayOf(input.now - (WINDOW_DAYS - 1) * DAY_MS);
  const sums = { today: 0, todayCalls: 0, todayPartial: false, window: 0, windowPartial: false };
  let cursor: string | null = null;
  do {
    const page = await input.manager.list(
      input.agentId,
      { activeSince: input.now - WINDOW_DAYS * DAY_MS },
      { cursor, limit: PAGE_ROWS },
    );
    for (const row of page.rows) {
      const raw = row.entry.usageTotals as { byDay?: unknown } | undefined;
      const days = Object.entries(validDays(raw?.byDay)).filter(([day]) => day >= firstDay && day <= today);
      if (days.length === 0) continue;
      const unpriced = hasUnpricedCalls(config, raw);
      for (const [day, d] of days) {
        sums.window += d.cost;
        sums.windowPartial ||= unpriced && d.calls > 0;
        if (day !== today) continue;
        sums.today += d.cost;
        sums.todayCalls += d.calls;
        sums.todayPartial ||= unpriced && d.calls > 0;
      }
    }
    cursor = page.nextCursor;
  } while (cursor);

  const todayLine = sums.todayCalls > 0 ? `Today ${formatUsd(sums.today)}${partial(sums.todayPartial)}` : "Today n/a";
  const windowLine = `Last 30d ${formatUsd(sums.window)}${partial(sums.windowPartial)}`;
  return `💸 Usage cost\n${sessionLine}\n${todayLine}\n${windowLine}`;
}

const partial = (yes: boolean): string => (yes ? " (partial)" : "");

/** Whether stored totals count calls of a `provider/model` the config has no price for. */
function hasUnpricedCalls(config: PincerConfig, raw: unknown): boolean {
  const byModel = (raw as { byModel?: unknown } | null | undefined)?.byModel;
  if (byModel === null || typeof byModel !== "object") return false;
  for (const [ref, totals] of Object.entries(byModel as Record<string, unknown>)) {
    if ((validTotals(totals)?.calls ?? 0) <= 0) continue;
    const slash = ref.indexOf("/");
    if (slash <= 0 || !modelCostOf(config, ref.slice(0, slash), ref.slice(slash + 1))) return true;
  }
  return false;
}
