/** `pincer sessions`: list sessions (OpenClaw's JSON shape and text table). */
import type { SessionEntry } from "../../store/entry.ts";
import { openDiskIndex, type DiskIndex } from "../../store/fs/disk-index.ts";
import { listHeadFromDisk } from "../../store/fs/disk-list.ts";
import { RowScanner } from "../../store/fs/sessions-json-reader.ts";
import { compareRows, matchesFilter } from "../../store/list-order.ts";
import type { ListFilter, SessionRow } from "../../store/types.ts";
import { selectStores, withTargetStore, type CliContext, type StoreSelection, type StoreTarget } from "../context.ts";
import { parsePositiveInt, ChunkedOut, CliError } from "../io.ts";
import {
  agentIdOf,
  displayModel,
  formatAge,
  formatFlags,
  formatTokens,
  kindOf,
  appendRawRowJson,
  projectRowJson,
  RAW_ROW_FIELDS,
  rawUpdatedAt,
  rawUsageTotals,
  tableLine,
  truncateKey,
  type DisplayDefaults,
} from "../session-rows.ts";
import { displayDefaults } from "./display-defaults.ts";
import { UsageSummary } from "../../runtime/usage.ts";

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
  if (opts.json && !aggregate && limit === undefined && activeMinutes === null && targets[0]!.kind === "fs") {
    const target = targets[0]!;
    const index = openDiskIndex(target.path, (i) => ctx.io.err(`warning: ${i.file}: ${i.reason}`));
    if (index) {
      await streamJson(ctx, target, index, defaults, now);
      return 0;
    }
  }
  const listed: Array<{ agentId: string; row: SessionRow }> = [];
  for (const t of targets)
    for (const row of await readRows(t, filter, limit, ctx)) listed.push({ agentId: t.agentId, row });
  listed.sort((a, b) => compareRows(a.row, b.row));
  const shown = limit !== undefined ? listed.slice(0, limit) : listed;

  if (opts.json) {
    await writeJson(ctx, targets, aggregate, opts, activeMinutes, shown, defaults, now);
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

/** The document's head, as `JSON.stringify(out, null, 2)` prints it, up to `"sessions": [`. */
function jsonHead(
  targets: StoreTarget[],
  aggregate: boolean,
  opts: ListOptions,
  activeMinutes: number | null,
  count: number,
): string {
  const out: Record<string, unknown> = { path: aggregate ? null : targets[0]!.path };
  if (aggregate) out.stores = targets.map((t) => ({ agentId: t.agentId, path: t.path }));
  if (opts.allAgents) out.allAgents = true;
  out.count = count;
  out.activeMinutes = activeMinutes;
  return `${JSON.stringify(out, null, 2).slice(0, -2)},\n  "sessions": [`;
}

/**
 * The document's end after the rows; Pincer's `usageTotals` (per agent and per model over the listed
 * rows) follows `sessions` when any row has totals, as JSON.stringify(document, null, 2) prints it.
 */
function jsonTail(anyRows: boolean, usage: UsageSummary): string {
  const totals = usage.toJSON();
  const close = anyRows ? "\n  ]" : "]";
  if (!totals) return `${close}\n}\n`;
  return `${close},\n  "usageTotals": ${JSON.stringify(totals, null, 2).replaceAll("\n", "\n  ")}\n}\n`;
}

/** Same bytes as JSON.stringify(document, null, 2), written row by row. */
async function writeJson(
  ctx: CliContext,
  targets: StoreTarget[],
  aggregate: boolean,
  opts: ListOptions,
  activeMinutes: number | null,
  shown: Array<{ agentId: string; row: SessionRow }>,
  defaults: DisplayDefaults,
  now: number,
): Promise<void> {
  const out = new ChunkedOut(ctx.io);
  const usage = new UsageSummary();
  await out.add(jsonHead(targets, aggregate, opts, activeMinutes, shown.length));
  for (let i = 0; i < shown.length; i++) {
    const { agentId, row } = shown[i]!;
    usage.add(agentIdOf(row.key, agentId), row.entry.usageTotals);
    await out.add(`${i ? "," : ""}\n    ${projectRowJson(row.key, row.entry, now, agentId, defaults, "    ")}`);
  }
  await out.add(jsonTail(shown.length > 0, usage));
  await out.flush();
}

/**
 * The whole listing of one fs store straight from disk: the snapshot's rows (already newest first)
 * merged with the journals' changes, each row printed as it is read. Holds the journal's rows and
 * one output chunk, not the store.
 */
async function streamJson(
  ctx: CliContext,
  target: StoreTarget,
  index: DiskIndex,
  defaults: DisplayDefaults,
  now: number,
): Promise<void> {
  // The journals' last word per key: a row (put) or null (deleted).
  const changed = new Map<string, SessionEntry | null>();
  for (const [key, entry] of index.ops) changed.set(key, entry);
  const puts: SessionRow[] = [];
  for (const [key, entry] of changed) if (entry) puts.push({ key, entry });
  puts.sort(compareRows);
  const shadowed = index.snapshotKeysAmong(new Set(changed.keys()));
  const count = index.snapshotCount - shadowed.size + puts.length;

  const out = new ChunkedOut(ctx.io);
  const usage = new UsageSummary();
  await out.add(jsonHead([target], false, {}, null, count));
  let written = 0;
  let next = 0;
  const emit = (row: SessionRow): string => {
    usage.add(agentIdOf(row.key, target.agentId), row.entry.usageTotals);
    return `${written++ ? "," : ""}\n    ${projectRowJson(row.key, row.entry, now, target.agentId, defaults, "    ")}`;
  };
  // Snapshot rows are printed from their fields' JSON text (session-rows.ts: same bytes), never
  // parsed, as pieces joined once per few hundred rows.
  const pieces: string[] = [];
  const drain = async (): Promise<void> => {
    if (pieces.length === 0) return;
    await out.add(pieces.join(""));
    pieces.length = 0;
  };
  for (const raw of index.snapshotRawRows(new RowScanner(RAW_ROW_FIELDS))) {
    if (changed.has(raw.key)) continue;
    if (next < puts.length) {
      const at: SessionRow = { key: raw.key, entry: { sessionId: "", updatedAt: rawUpdatedAt(raw) } };
      while (next < puts.length && compareRows(puts[next]!, at) < 0) {
        await drain();
        await out.add(emit(puts[next++]!));
      }
    }
    const totals = rawUsageTotals(raw);
    if (totals !== undefined) usage.add(agentIdOf(raw.key, target.agentId), totals);
    pieces.push(written++ ? ",\n    " : "\n    ");
    appendRawRowJson(pieces, raw, now, target.agentId, defaults, "    ");
    if (pieces.length >= 8192) await drain();
  }
  await drain();
  while (next < puts.length) await out.add(emit(puts[next++]!));
  await out.add(jsonTail(written > 0, usage));
  await out.flush();
  if (written !== count)
    ctx.io.err(`warning: ${target.path}: listed ${written} sessions, but the index announced ${count}`);
}
