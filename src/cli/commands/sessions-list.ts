/** `pincer sessions`: list sessions (OpenClaw's JSON shape and text table). */
import { listHeadFromDisk } from "../../store/fs/disk-list.ts";
import { compareRows, matchesFilter } from "../../store/list-order.ts";
import type { ListFilter, SessionRow } from "../../store/types.ts";
import { selectStores, withTargetStore, type CliContext, type StoreSelection, type StoreTarget } from "../context.ts";
import { parsePositiveInt, CliError } from "../io.ts";
import {
  displayModel,
  formatAge,
  formatFlags,
  formatTokens,
  kindOf,
  projectRow,
  tableLine,
  truncateKey,
  type DisplayDefaults,
} from "../session-rows.ts";
import { displayDefaults } from "./display-defaults.ts";

export interface ListOptions extends StoreSelection {
  json?: boolean;
  active?: string;
  limit?: string;
}

/**
 * Reads the rows of one store, newest first, bounded when a limit or window allows it: an fs store
 * from the head of its files, a database with `list(filter, { limit })`.
 */
export async function readRows(
  target: StoreTarget,
  filter: ListFilter,
  limit: number | undefined,
  ctx: CliContext,
): Promise<SessionRow[]> {
  if (target.kind === "fs" && (limit !== undefined || filter.activeSince !== undefined)) {
    const head = listHeadFromDisk(target.path, filter, limit ?? Number.MAX_SAFE_INTEGER);
    if (head) return head;
  }
  return withTargetStore(ctx, target, { readOnly: true }, async (store) => {
    if (target.kind !== "fs") return (await store.list(filter, limit !== undefined ? { limit } : {})).rows;
    const rows = (await store.all()).filter((r) => matchesFilter(r, filter)).sort(compareRows);
    return limit !== undefined ? rows.slice(0, limit) : rows;
  });
}

export async function sessionsList(ctx: CliContext, opts: ListOptions): Promise<number> {
  let activeMinutes: number | null = null;
  if (opts.active !== undefined) {
    try {
      activeMinutes = parsePositiveInt(opts.active, "--active");
    } catch {
      throw new CliError("--active must be a positive integer (minutes)");
    }
  }
  const limit = opts.limit !== undefined ? parsePositiveInt(opts.limit, "--limit") : undefined;
  const { targets, aggregate } = await selectStores(ctx, opts);
  const now = ctx.io.now();
  const filter: ListFilter = activeMinutes !== null ? { activeSince: now - activeMinutes * 60_000 } : {};
  const defaults: DisplayDefaults = displayDefaults(ctx);
  const listed: Array<{ agentId: string; row: SessionRow }> = [];
  for (const t of targets)
    for (const row of await readRows(t, filter, limit, ctx)) listed.push({ agentId: t.agentId, row });
  listed.sort((a, b) => compareRows(a.row, b.row));
  const shown = limit !== undefined ? listed.slice(0, limit) : listed;

  if (opts.json) {
    const out: Record<string, unknown> = { path: aggregate ? null : targets[0]!.path };
    if (aggregate) out.stores = targets.map((t) => ({ agentId: t.agentId, path: t.path }));
    if (opts.allAgents) out.allAgents = true;
    out.count = shown.length;
    out.activeMinutes = activeMinutes;
    // Same bytes as JSON.stringify(out, null, 2), written row by row: a 100k-session listing never
    // builds one giant string.
    const head = JSON.stringify(out, null, 2).slice(0, -2);
    const chunks: string[] = [`${head},\n  "sessions": [`];
    shown.forEach(({ agentId, row }, i) => {
      const json = JSON.stringify(projectRow(row.key, row.entry, now, agentId, defaults), null, 2).replaceAll(
        "\n",
        "\n    ",
      );
      chunks.push(`${i ? "," : ""}\n    ${json}`);
      if (chunks.length >= 2000) ctx.io.out(chunks.splice(0).join(""), false);
    });
    chunks.push(shown.length ? "\n  ]\n}" : "]\n}");
    ctx.io.out(chunks.join(""));
    return 0;
  }
  const lines: string[] = [];
  lines.push(
    aggregate
      ? `Session stores: ${targets.length} (${targets.map((t) => t.agentId).join(", ")})`
      : `Session store: ${targets[0]!.path}`,
  );
  lines.push(`Sessions listed: ${shown.length}`);
  if (activeMinutes !== null) lines.push(`Filtered to last ${activeMinutes} minute(s)`);
  if (shown.length === 0) lines.push("No sessions found.");
  else {
    const head: Array<[string, number]> = [
      ["Kind", 6],
      ["Key", 26],
      ["Age", 9],
      ["Model", 14],
      ["Tokens (ctx %)", 20],
      ["Flags", 0],
    ];
    lines.push(tableLine(aggregate ? [["Agent", 10], ...head] : head));
    for (const { agentId, row } of shown) {
      const e = row.entry;
      const ctxTokens = e.contextTokens ?? defaults.contextTokens;
      const cells: Array<[string, number]> = [
        [kindOf(row.key, e), 6],
        [truncateKey(row.key), 26],
        [formatAge(e.updatedAt > 0 ? now - e.updatedAt : null), 9],
        [displayModel(e, defaults), 14],
        [formatTokens(e, ctxTokens), 20],
        [formatFlags(e), 0],
      ];
      lines.push(tableLine(aggregate ? [[agentId, 10], ...cells] : cells));
    }
  }
  ctx.io.out(lines.join("\n"));
  return 0;
}
