/**
 * `pincer sessions cleanup --dry-run` of one fs store at 100 000 rows: the rows read straight from
 * disk into columns (only the fields the plan and the preview use, from their JSON text), planned
 * by `planCompact`, and the preview written as it is produced. Prints exactly what the general path
 * (`planMaintenance` over `store.all()`) prints; stores it cannot serve that way (a snapshot not in
 * Pincer's sorted form, a journal row without a numeric `updatedAt`) go through the general path.
 */
import * as path from "node:path";
import type { MaintenanceSettings } from "../config/maintenance-settings.ts";
import { ACTION_NAMES, KEEP, planCompact, RowColumns, type CompactPlan } from "../maintenance/plan-compact.ts";
import type { SessionEntry } from "../store/entry.ts";
import { classify } from "../store/fs/disk-files.ts";
import { openDiskIndex } from "../store/fs/disk-index.ts";
import { isValidSessionId } from "../keys/ids.ts";
import { isRawNumber, rawString, rawValue, RowScanner, type RawRow } from "../store/fs/sessions-json-reader.ts";
import type { CliContext, StoreTarget } from "./context.ts";
import { ChunkedOut } from "./io.ts";
import {
  displayModel,
  formatAge,
  formatFlags,
  plannedActionsHead,
  truncateKey,
  type DisplayDefaults,
} from "./session-rows.ts";

/** What the plan reads of a row, then what the preview's table shows. */
const PLAN_FIELDS = ["sessionId", "updatedAt", "pinned", "sessionFile"] as const;
const TABLE_FIELDS = [
  "model",
  "modelOverride",
  "thinkingLevel",
  "verboseLevel",
  "reasoningLevel",
  "elevatedLevel",
  "responseUsage",
  "groupActivation",
  "systemSent",
  "abortedLastRun",
] as const;

interface Read {
  rows: RowColumns;
  names: readonly string[];
  /** With the table: the Model and Flags cells, each row's an index into a table of distinct texts (few). */
  cells: Cells;
}

/** Distinct cell texts and, per row, which one: a 100 000-row table holds a handful of strings. */
class Cells {
  readonly texts: string[] = [];
  private readonly seen = new Map<string, number>();
  model = new Uint32Array(1024);
  /** The Flags cell without the session id that ends it (`formatFlags` of the row with an empty id). */
  flags = new Uint32Array(1024);

  private readonly bySource = new Map<string, number>();

  /** Gives row `i` the cells of an earlier row whose display fields read `source`; false if none. */
  reuse(i: number, source: string): boolean {
    const from = this.bySource.get(source);
    if (from === undefined) return false;
    this.grow(i);
    this.model[i] = this.model[from]!;
    this.flags[i] = this.flags[from]!;
    return true;
  }

  add(i: number, e: SessionEntry, defaults: DisplayDefaults, source?: string): void {
    this.grow(i);
    this.model[i] = this.intern(displayModel(e, defaults));
    this.flags[i] = this.intern(formatFlags({ ...e, sessionId: "" }));
    if (source !== undefined) this.bySource.set(source, i);
  }

  private grow(i: number): void {
    if (i === this.model.length) {
      const m = new Uint32Array(i * 2);
      m.set(this.model);
      this.model = m;
      const f = new Uint32Array(i * 2);
      f.set(this.flags);
      this.flags = f;
    }
  }

  private intern(text: string): number {
    let at = this.seen.get(text);
    if (at === undefined) {
      at = this.texts.length;
      this.texts.push(text);
      this.seen.set(text, at);
    }
    return at;
  }
}

/** The rows as `store.all()` lists them (snapshot order, the journals applied as to a Map), in columns; null: use the store. */
function readColumns(
  ctx: CliContext,
  storePath: string,
  protectedKeys: ReadonlySet<string>,
  table: DisplayDefaults | null,
): Read | null {
  const index = openDiskIndex(storePath, (i) => ctx.io.err(`warning: ${i.file}: ${i.reason}`));
  if (!index) return null;
  for (const [, e] of index.ops)
    if (e && (typeof e.updatedAt !== "number" || !isValidSessionId(e.sessionId))) return null;
  const rows = new RowColumns(path.dirname(storePath), protectedKeys);
  const cells = new Cells();
  const addEntry = (key: string, e: SessionEntry): void => {
    const i = rows.add(key, e.sessionId, e.updatedAt, e.pinned, e.sessionFile);
    if (table) cells.add(i, e, table);
  };
  const scanner = new RowScanner(table ? [...PLAN_FIELDS, ...TABLE_FIELDS] : PLAN_FIELDS);
  const addRaw = (raw: RawRow): void => {
    const v = raw.values;
    // Nothing of the row is kept as a string (RowColumns copies key and id into its buffers).
    const sessionId = rawString(v[0])!;
    const i = rows.add(
      raw.key,
      sessionId,
      isRawNumber(v[1]) ? Number(v[1]) : 0,
      v[2] === "true",
      rawString(v[3]),
      raw.keyJson,
    );
    if (table) {
      // Rows with the same display fields (JSON text never holds a raw NUL) share their cells.
      const same = v.slice(PLAN_FIELDS.length).join("\u0000");
      if (cells.reuse(i, same)) return;
      const e: Record<string, unknown> = { sessionId };
      for (let f = 0; f < TABLE_FIELDS.length; f++) e[TABLE_FIELDS[f]!] = rawValue(v[PLAN_FIELDS.length + f]);
      cells.add(i, e as unknown as SessionEntry, table, same);
    }
  };
  // A Map of the snapshot's rows with the journals applied in order: a put of a row still in place
  // replaces it there, a delete drops it, any other put goes after the snapshot's rows.
  const touched = new Set(index.ops.map(([k]) => k));
  const inPlace = new Map<string, SessionEntry | null>(); // null: the snapshot's own row
  for (const k of index.snapshotKeysAmong(touched)) inPlace.set(k, null);
  const after = new Map<string, SessionEntry>();
  for (const [k, e] of index.ops) {
    if (inPlace.has(k)) {
      if (e) inPlace.set(k, e);
      else inPlace.delete(k);
    } else if (e) after.set(k, e);
    else after.delete(k);
  }
  for (const raw of index.snapshotRawRows(scanner)) {
    if (!touched.has(raw.key)) addRaw(raw);
    else {
      const e = inPlace.get(raw.key);
      if (e === null) addRaw(raw);
      else if (e) addEntry(raw.key, e);
    }
  }
  for (const [k, e] of after) addEntry(k, e);
  return { rows, names: index.files, cells };
}

export interface DryRunOptions {
  json: boolean;
  /** The mode `--enforce` would override (shown in the text preview). */
  configuredMode: string;
  mode: string;
  settings: MaintenanceSettings;
  protectedKeys: ReadonlySet<string>;
  now: number;
  /** With the text preview: what a row without a model shows. */
  defaults: DisplayDefaults | null;
}

/** Prints the preview of one fs store; false when it must go through the store instead. */
export async function compactDryRun(ctx: CliContext, target: StoreTarget, o: DryRunOptions): Promise<boolean> {
  const read = readColumns(ctx, target.path, o.protectedKeys, o.json ? null : o.defaults);
  if (!read) return false;
  const plan = planCompact(read.rows, { names: read.names, classOf: classify }, o.settings, o.now);
  const out = new ChunkedOut(ctx.io);
  if (o.json) await writeJson(out, target, o, read, plan);
  else await writeText(out, target, o, read, plan);
  await out.flush();
  return true;
}

function jsonArray(items: readonly string[], indent: string): string {
  if (items.length === 0) return "[]";
  return `[${items.map((s) => `\n${indent}  ${JSON.stringify(s)}`).join(",")}\n${indent}]`;
}

/** The summary as `JSON.stringify(summary, null, 2)` prints it, the `remove` list row by row. */
async function writeJson(out: ChunkedOut, target: StoreTarget, o: DryRunOptions, read: Read, plan: CompactPlan) {
  const head = {
    agentId: target.agentId,
    storePath: target.path,
    mode: o.mode,
    dryRun: true,
    beforeCount: plan.beforeCount,
    afterCount: plan.afterCount,
    missing: 0,
    pruned: plan.pruned,
    capped: plan.capped,
    diskBudget: null,
    wouldMutate: plan.wouldMutate,
    archivesPurged: plan.deleteFiles.length,
  };
  await out.add(`${JSON.stringify(head, null, 2).slice(0, -2)},\n  "remove": [`);
  const { rows } = read;
  let any = false;
  for (let i = 0; i < plan.action.length; i++) {
    const a = plan.action[i]!;
    if (a === KEEP) continue;
    await out.add(
      `${any ? "," : ""}\n    {\n      "key": ${rows.keyJsonAt(i)},\n      "action": "${ACTION_NAMES[a]}"\n    }`,
    );
    any = true;
  }
  await out.add(any ? "\n  ]" : "]");
  await out.add(`,\n  "files": {\n    "archive": ${jsonArray(plan.archive, "    ")},\n`);
  await out.add(`    "delete": ${jsonArray(plan.deleteFiles, "    ")}\n  }\n}\n`);
}

/** The text preview (sessions-cleanup.ts `dryRunText`), the table written row by row, newest first. */
async function writeText(out: ChunkedOut, target: StoreTarget, o: DryRunOptions, read: Read, plan: CompactPlan) {
  const lines = [
    `Session store: ${target.path}`,
    `Maintenance mode: ${o.configuredMode}`,
    `Entries: ${plan.beforeCount} -> ${plan.afterCount} (remove ${plan.beforeCount - plan.afterCount})`,
    `Would prune missing transcripts: 0`,
    `Would prune stale: ${plan.pruned}`,
    `Would cap overflow: ${plan.capped}`,
  ];
  if (plan.deleteFiles.length) lines.push(`Would purge archives: ${plan.deleteFiles.length}`);
  if (plan.archive.length) lines.push(`Would archive transcripts: ${plan.archive.length}`);
  if (plan.deleteFiles.length) lines.push(`Would delete files: ${plan.deleteFiles.length}`);
  lines.push(...plannedActionsHead());
  await out.add(lines.join("\n"));
  const { rows } = read;
  const { updatedAt } = rows;
  const { texts, model, flags } = read.cells;
  const order = Array.from({ length: read.rows.count }, (_, i) => i);
  order.sort((a, b) => (updatedAt[b]! || 0) - (updatedAt[a]! || 0));
  // Each line as tableLine prints it (cells padded, joined by a space, trailing space trimmed).
  const lines2: string[] = [];
  for (const i of order) {
    const u = updatedAt[i]!;
    const line =
      ACTION_NAMES[plan.action[i]!]!.padEnd(12) +
      " " +
      truncateKey(rows.keyAt(i)).padEnd(26) +
      " " +
      formatAge(u > 0 ? o.now - u : null).padEnd(9) +
      " " +
      texts[model[i]!]!.padEnd(14) +
      " " +
      texts[flags[i]!]! +
      rows.idAt(i);
    lines2.push(line.trimEnd());
    if (lines2.length === 512) {
      await out.add(`\n${lines2.join("\n")}`);
      lines2.length = 0;
    }
  }
  await out.add(lines2.length ? `\n${lines2.join("\n")}\n` : "\n");
}
