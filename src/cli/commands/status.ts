/** `pincer status`: where state lives and what the stores hold (the session parts of OpenClaw's `status`). */
import { compareRows } from "../../store/list-order.ts";
import { selectStores, withTargetStore, type CliContext, type StoreTarget } from "../context.ts";
import { formatAge, formatTokens, kindOf, displayModel, tableLine, truncateKey, agentIdOf } from "../session-rows.ts";
import { displayDefaults } from "./display-defaults.ts";
import { readRows } from "./sessions-list.ts";
import type { SessionEntry } from "../../store/entry.ts";
import type { SessionRow } from "../../store/types.ts";

function statusRow(
  key: string,
  e: SessionEntry,
  now: number,
  agentId: string,
  model: string,
  contextTokens: number,
): Record<string, unknown> {
  const fresh = typeof e.totalTokens === "number" && e.totalTokensFresh !== false;
  const ctxTokens = e.contextTokens ?? contextTokens;
  const flags: string[] = [];
  if (e.thinkingLevel) flags.push(`think:${e.thinkingLevel}`);
  if (e.verboseLevel) flags.push(`verbose:${e.verboseLevel}`);
  if (typeof e.fastMode === "boolean") flags.push(e.fastMode ? "fast" : "fast:off");
  if (e.reasoningLevel) flags.push(`reasoning:${e.reasoningLevel}`);
  if (e.elevatedLevel) flags.push(`elevated:${e.elevatedLevel}`);
  if (e.systemSent) flags.push("system");
  if (e.abortedLastRun) flags.push("aborted");
  flags.push(`id:${e.sessionId}`);
  const row: Record<string, unknown> = {
    agentId: agentIdOf(key, agentId),
    key,
    kind: kindOf(key, e),
    sessionId: e.sessionId,
    updatedAt: e.updatedAt,
    age: Math.max(0, now - e.updatedAt),
    thinkingLevel: e.thinkingLevel,
    fastMode: e.fastMode,
    reasoningLevel: e.reasoningLevel,
    elevatedLevel: e.elevatedLevel,
    systemSent: e.systemSent,
    abortedLastRun: e.abortedLastRun,
    inputTokens: e.inputTokens,
    outputTokens: e.outputTokens,
    cacheRead: e.cacheRead,
    cacheWrite: e.cacheWrite,
    totalTokens: fresh ? e.totalTokens : null,
    totalTokensFresh: fresh,
    remainingTokens: fresh ? Math.max(0, ctxTokens - e.totalTokens!) : null,
    percentUsed: fresh ? Math.min(999, Math.round((100 * e.totalTokens!) / ctxTokens)) : null,
    model: e.model || e.modelOverride || model,
    contextTokens: ctxTokens,
    flags,
  };
  for (const k of Object.keys(row)) if (row[k] === undefined) delete row[k];
  return row;
}

const isListed = (r: SessionRow): boolean => r.key !== "global" && r.key !== "unknown";

/** A store's session count and its 10 newest sessions (`global` and `unknown` rows not counted). */
async function storeSummary(ctx: CliContext, t: StoreTarget): Promise<{ count: number; recent: SessionRow[] }> {
  if (t.kind === "fs") {
    const rows = (await readRows(t, {}, undefined, ctx)).filter(isListed);
    rows.sort(compareRows);
    return { count: rows.length, recent: rows.slice(0, 10) };
  }
  // A database answers both without reading every row.
  return withTargetStore(ctx, t, { readOnly: true }, async (store) => {
    const [total, head, global, unknown] = await Promise.all([
      store.count(),
      store.list({}, { limit: 12 }),
      store.get("global"),
      store.get("unknown"),
    ]);
    return { count: total - (global ? 1 : 0) - (unknown ? 1 : 0), recent: head.rows.filter(isListed).slice(0, 10) };
  });
}

export async function status(ctx: CliContext, opts: { json?: boolean }): Promise<number> {
  const now = ctx.io.now();
  const defaults = displayDefaults(ctx);
  const { targets } = await selectStores(ctx, { allAgents: true });
  const byAgent: Array<{ agentId: string; path: string; count: number; recent: Record<string, unknown>[] }> = [];
  const recentAll: Array<{ agentId: string; key: string; entry: SessionEntry }> = [];
  for (const t of targets) {
    const { count, recent } = await storeSummary(ctx, t);
    byAgent.push({
      agentId: t.agentId,
      path: t.path,
      count,
      recent: recent.map((r) => statusRow(r.key, r.entry, now, t.agentId, defaults.model, defaults.contextTokens)),
    });
    for (const r of recent) recentAll.push({ agentId: t.agentId, key: r.key, entry: r.entry });
  }
  recentAll.sort((a, b) => compareRows(a, b));
  const count = byAgent.reduce((s, a) => s + a.count, 0);
  const summary = {
    runtimeVersion: process.version,
    home: ctx.home,
    configPath: ctx.configPath,
    sessions: {
      paths: byAgent.map((a) => a.path),
      count,
      defaults: { model: defaults.model, contextTokens: defaults.contextTokens },
      recent: recentAll
        .slice(0, 10)
        .map((r) => statusRow(r.key, r.entry, now, r.agentId, defaults.model, defaults.contextTokens)),
      byAgent,
    },
    agents: {
      defaultId: ctx.defaultAgentId,
      totalSessions: count,
      agents: byAgent.map((a) => {
        const last = a.recent[0]?.updatedAt as number | undefined;
        return {
          id: a.agentId,
          sessionsPath: a.path,
          sessionsCount: a.count,
          lastUpdatedAt: last ?? null,
          lastActiveAgeMs: last ? now - last : null,
        };
      }),
    },
  };
  if (opts.json) {
    ctx.io.out(JSON.stringify(summary, null, 2));
    return 0;
  }
  const lines = [
    "Pincer status",
    `Home: ${ctx.home}`,
    `Config: ${ctx.configPath ?? "(none; built-in defaults)"}`,
    `Agents: ${byAgent.length} · sessions ${count} · default ${ctx.defaultAgentId}`,
    `Sessions: ${count} · default ${defaults.model} (${Math.round(defaults.contextTokens / 1000)}k ctx) · ${byAgent.map((a) => a.path).join(", ")}`,
  ];
  if (recentAll.length) {
    lines.push(
      "",
      tableLine([
        ["Key", 26],
        ["Kind", 6],
        ["Age", 9],
        ["Model", 14],
        ["Tokens", 0],
      ]),
    );
    for (const r of recentAll.slice(0, 10)) {
      lines.push(
        tableLine([
          [truncateKey(r.key), 26],
          [kindOf(r.key, r.entry), 6],
          [formatAge(now - r.entry.updatedAt), 9],
          [displayModel(r.entry, defaults), 14],
          [formatTokens(r.entry, r.entry.contextTokens ?? defaults.contextTokens), 0],
        ]),
      );
    }
  }
  ctx.io.out(lines.join("\n"));
  return 0;
}
