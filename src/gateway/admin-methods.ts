/**
 * The Control UI's WS methods beyond chat: the paged sessions table, usage totals, cron, the log
 * tail, config and the security audit. One row per method, merged into ws-methods.ts's table.
 * Everything but `sessions.query` is the operator's; `sessions.query` shows a caller only the
 * sessions it may address (as `sessions.list`). Each reads rows a page at a time: O(rows), never
 * a transcript per row.
 */
import { validTotals, sumTotals, emptyTotals, utcDayOf, validDays, type UsageTotals } from "../runtime/usage.ts";
import type { SessionEntry } from "../store/entry.ts";
import { contextText } from "../runtime/command-handlers.ts";
import { existingKey, publicRow, RpcError, type MethodSpec, type RpcContext } from "./ws-methods.ts";
import { WS_METHODS, type ControlSessionRow } from "./protocol.ts";
import type { AdminSurface } from "./admin.ts";
import { matches as matchesFilter } from "./log-ring.ts";
import { visibleRowsOf } from "./visible-rows.ts";

type AdminMethodName =
  | "sessions.query"
  | "usage.summary"
  | "cron.list"
  | "cron.run"
  | "cron.update"
  | "logs.tail"
  | "config.get"
  | "config.validate"
  | "security.audit"
  | "sessions.context";

const PAGE = 2000;

function adminOf(ctx: RpcContext): AdminSurface {
  if (ctx.principal.kind !== "operator") throw new RpcError("FORBIDDEN", "only the operator may use the admin pages");
  if (!ctx.admin) throw new RpcError("UNAVAILABLE", "this gateway has no admin surface");
  return ctx.admin;
}

/** Every visible row of the agents asked for, one store page at a time (cron run rows left out). */
async function* visibleRows(
  ctx: RpcContext,
  agentFilter: string | undefined,
  activeSince: number | undefined,
): AsyncGenerator<{ agentId: string; key: string; entry: SessionEntry }> {
  if (agentFilter !== undefined && !ctx.agentIds().includes(agentFilter))
    throw new RpcError("NOT_FOUND", `unknown agent ${JSON.stringify(agentFilter)}`);
  for (const agentId of ctx.agentIds()) {
    if (agentFilter && agentFilter !== agentId) continue;
    yield* visibleRowsOf(ctx, agentId, activeSince, PAGE);
  }
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

function addTo(map: Record<string, UsageTotals>, key: string, t: UsageTotals): void {
  map[key] = sumTotals(map[key], t);
}

export const ADMIN_METHODS: { [M in AdminMethodName]: MethodSpec<M> } = {
  "sessions.query": {
    ...WS_METHODS["sessions.query"],
    async run(ctx, p) {
      const search = p.search?.toLowerCase();
      const label = p.label?.toLowerCase();
      const channel = p.channel?.toLowerCase();
      const activeSince = p.activeMinutes ? ctx.rt.now() - p.activeMinutes * 60_000 : undefined;
      const rows: ControlSessionRow[] = [];
      const channels = new Set<string>();
      for await (const { agentId, key, entry } of visibleRows(ctx, p.agentId?.toLowerCase(), activeSince)) {
        const row = publicRow(key, entry);
        if (row.channel) channels.add(row.channel);
        if (channel && row.channel?.toLowerCase() !== channel) continue;
        if (p.kind && row.kind !== p.kind) continue;
        if (label && !row.label?.toLowerCase().includes(label)) continue;
        if (
          search &&
          ![key, entry.sessionId, entry.label, entry.displayName].some(
            (s) => typeof s === "string" && s.toLowerCase().includes(search),
          )
        )
          continue;
        const usage = validTotals(entry.usageTotals);
        const provider = str(entry.providerOverride);
        const model = str(entry.modelOverride);
        rows.push({
          ...row,
          agentId,
          ...(entry.pinned === true ? { pinned: true } : {}),
          ...(model ? { modelOverride: provider ? `${provider}/${model}` : model } : {}),
          ...(usage ? { usageTokens: usage.totalTokens, usageCost: usage.cost } : {}),
        });
      }
      const tokensOf = (r: ControlSessionRow) => r.usageTokens ?? (r.inputTokens ?? 0) + (r.outputTokens ?? 0);
      const sign = p.order === "asc" ? 1 : -1;
      if (p.sort === "tokens") rows.sort((a, b) => sign * (tokensOf(a) - tokensOf(b)) || (a.key < b.key ? -1 : 1));
      else rows.sort((a, b) => sign * (a.updatedAt - b.updatedAt) || (a.key < b.key ? -1 : 1));
      const offset = p.offset ?? 0;
      const { provider, model } = ctx.rt.modelFor("main", undefined);
      return {
        ts: ctx.rt.now(),
        total: rows.length,
        offset,
        channels: [...channels].sort(),
        defaults: { modelProvider: provider.name, model },
        sessions: rows.slice(offset, offset + (p.limit ?? 50)),
      };
    },
  },
  "usage.summary": {
    ...WS_METHODS["usage.summary"],
    async run(ctx, p) {
      adminOf(ctx);
      const now = ctx.rt.now();
      const since = now - (p.days ?? 30) * 86_400_000;
      // The chart's first day: "7 days" is today and the 6 before it (UTC).
      const firstDay = utcDayOf(now - ((p.days ?? 30) - 1) * 86_400_000);
      let count = 0;
      let undated = 0;
      let totals = emptyTotals();
      const byModel: Record<string, UsageTotals> = {};
      const byChannel: Record<string, UsageTotals> = {};
      const byAgent: Record<string, UsageTotals> = {};
      const byDay = new Map<string, { totalTokens: number; cost: number; sessions: number }>();
      const top: Array<{
        key: string;
        agentId: string;
        label?: string;
        channel?: string;
        totalTokens: number;
        cost: number;
      }> = [];
      for await (const { agentId, key, entry } of visibleRows(ctx, p.agentId?.toLowerCase(), since)) {
        count++;
        const t = validTotals(entry.usageTotals);
        if (!t || t.calls === 0) continue;
        totals = sumTotals(totals, t);
        addTo(byAgent, agentId, t);
        addTo(byChannel, str(entry.channel) ?? str(entry.lastChannel) ?? "unknown", t);
        const models = (entry.usageTotals as { byModel?: unknown }).byModel;
        if (models !== null && typeof models === "object")
          for (const [ref, m] of Object.entries(models)) {
            const valid = validTotals(m);
            if (valid) addTo(byModel, ref, valid);
          }
        const ledger = validDays((entry.usageTotals as { byDay?: unknown }).byDay);
        const days = Object.entries(ledger);
        if (days.length === 0) {
          // A row from before the per-day ledger (or OpenClaw's): its totals on its last active day.
          undated++;
          days.push([utcDayOf(entry.lastInteractionAt ?? entry.updatedAt), { ...t }]);
        }
        for (const [day, u] of days) {
          if (day < firstDay || u.calls === 0) continue;
          const d = byDay.get(day) ?? { totalTokens: 0, cost: 0, sessions: 0 };
          d.totalTokens += u.totalTokens;
          d.cost += u.cost;
          d.sessions += 1;
          byDay.set(day, d);
        }
        top.push({
          key,
          agentId,
          ...(str(entry.label) ? { label: str(entry.label) } : {}),
          ...(str(entry.channel) ? { channel: str(entry.channel) } : {}),
          totalTokens: t.totalTokens,
          cost: t.cost,
        });
        // Bounded: keep the 10 largest as we go.
        if (top.length > 50) top.sort((a, b) => b.totalTokens - a.totalTokens).splice(10);
      }
      top.sort((a, b) => b.totalTokens - a.totalTokens);
      return {
        ts: now,
        rows: count,
        undatedRows: undated,
        totals,
        byDay: [...byDay].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, d]) => ({ day, ...d })),
        byModel,
        byChannel,
        byAgent,
        topSessions: top.slice(0, 10),
      };
    },
  },
  "cron.list": {
    ...WS_METHODS["cron.list"],
    async run(ctx) {
      return { jobs: adminOf(ctx).cron?.list() ?? [] };
    },
  },
  "cron.run": {
    ...WS_METHODS["cron.run"],
    async run(ctx, p) {
      const r = adminOf(ctx).cron?.runNow(p.id) ?? { found: false, started: false };
      if (!r.found) throw new RpcError("NOT_FOUND", `no cron job ${JSON.stringify(p.id)} (cron.jobs[].id)`);
      return { ok: true, started: r.started };
    },
  },
  "cron.update": {
    ...WS_METHODS["cron.update"],
    async run(ctx, p) {
      const admin = adminOf(ctx);
      const saved = admin.setCronEnabled(p.id, p.enabled);
      if (!saved || !admin.cron)
        throw new RpcError("NOT_FOUND", `no cron job ${JSON.stringify(p.id)} (cron.jobs[].id)`);
      return { ok: true, job: admin.cron.list().find((j) => j.id === p.id)!, ...saved };
    },
  },
  "logs.tail": {
    ...WS_METHODS["logs.tail"],
    async run(ctx, p, emit) {
      const logs = adminOf(ctx).logs;
      const search = p.search ?? undefined;
      ctx.follow?.stop();
      if (p.follow && ctx.follow) {
        const stop = logs.subscribe((r) => {
          if (matchesFilter(r, p.level, search)) emit({ type: "event", event: "log", payload: r });
        });
        ctx.follow.start(stop);
      }
      return {
        records: logs.tail({ limit: p.limit ?? 200, level: p.level, search }),
        following: !!(p.follow && ctx.follow),
      };
    },
  },
  "config.get": {
    ...WS_METHODS["config.get"],
    async run(ctx) {
      return adminOf(ctx).configView();
    },
  },
  "config.validate": {
    ...WS_METHODS["config.validate"],
    async run(ctx, p) {
      return adminOf(ctx).validate(p.text);
    },
  },
  "sessions.context": {
    ...WS_METHODS["sessions.context"],
    async run(ctx, p) {
      const { key, agentId } = await existingKey(ctx, p.key);
      return { key, text: await contextText(ctx.rt, agentId, key, "detail") };
    },
  },
  "security.audit": {
    ...WS_METHODS["security.audit"],
    async run(ctx) {
      const r = await adminOf(ctx).audit();
      return { ts: r.ts, summary: r.summary, findings: r.findings };
    },
  },
};
