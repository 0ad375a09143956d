/**
 * `pincer store ...`: copy whole stores between backends.
 *
 *   store migrate --from <loc> --to <loc> [--dry-run] [--agent <id>...] [--json]
 *   store import-openclaw <dir> [--json]          an OpenClaw/Pincer state dir → the configured store
 *   store export --format openclaw <dir> [--json] the configured store → an OpenClaw state dir
 *
 * Progress goes to stderr, the result to stdout; any failure exits non-zero with one line.
 */
import * as path from "node:path";
import { migrateStore, type MigrateProgress, type MigrateSummary } from "../../store/migrate.ts";
import { configuredLocation, parseStoreLocation, scrubSecrets, type StoreLocation } from "../../store/store-locator.ts";
import type { CliContext } from "../context.ts";
import { CliError, type CliIO } from "../io.ts";

export interface MigrateCliOptions {
  from?: string;
  to?: string;
  dryRun?: boolean;
  agent?: string[];
  json?: boolean;
}

export async function storeMigrate(io: CliIO, opts: MigrateCliOptions): Promise<number> {
  if (!opts.from) throw new CliError("--from <location> is required");
  if (!opts.to) throw new CliError("--to <location> is required");
  const from = locate(opts.from);
  const to = locate(opts.to);
  return run(io, from, to, { dryRun: opts.dryRun, agents: opts.agent, json: opts.json });
}

export async function storeImportOpenclaw(
  ctx: CliContext,
  dir: string,
  opts: { json?: boolean; dryRun?: boolean },
): Promise<number> {
  const from = locate(`fs:${path.resolve(dir)}`);
  const to = configured(ctx);
  return run(ctx.io, from, to, { json: opts.json, dryRun: opts.dryRun, requireScopes: true });
}

export async function storeExport(
  ctx: CliContext,
  dir: string,
  opts: { format?: string; json?: boolean; dryRun?: boolean },
): Promise<number> {
  const format = opts.format ?? "openclaw";
  if (format !== "openclaw")
    throw new CliError(
      `unknown export format ${JSON.stringify(format)}; the only format is "openclaw" (an OpenClaw state dir: agents/<id>/sessions/sessions.json + <sessionId>.jsonl)`,
    );
  const from = configured(ctx);
  const to = locate(`fs:${path.resolve(dir)}`);
  return run(ctx.io, from, to, { json: opts.json, dryRun: opts.dryRun });
}

function locate(value: string): StoreLocation {
  try {
    return parseStoreLocation(value);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

function configured(ctx: CliContext): StoreLocation {
  try {
    return configuredLocation(ctx.config, ctx.home, ctx.agentIds);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

async function run(
  io: CliIO,
  from: StoreLocation,
  to: StoreLocation,
  opts: { dryRun?: boolean; agents?: string[]; json?: boolean; requireScopes?: boolean },
): Promise<number> {
  let summary: MigrateSummary;
  try {
    if (opts.requireScopes && (await from.listScopes()).length === 0) {
      throw new CliError(`no agent session stores found at ${from.display} (expected agents/<id>/sessions/)`);
    }
    io.err(`${opts.dryRun ? "dry run: would copy" : "copying"} ${from.display} -> ${to.display}`);
    summary = await migrateStore(from, to, {
      dryRun: opts.dryRun,
      agents: opts.agents,
      onProgress: progressPrinter(io),
    });
  } catch (err) {
    const message = scrubSecrets(err instanceof Error ? err.message : String(err), [from, to]);
    throw new CliError(`store migration failed: ${message}`);
  }
  if (opts.json) io.out(JSON.stringify(summary, null, 2));
  else io.out(summaryText(summary));
  return 0;
}

/** One stderr line per phase end and every 10% of a long phase (no flood, works on pipes). */
function progressPrinter(io: CliIO): (p: MigrateProgress) => void {
  let lastKey = "";
  let lastTenth = -1;
  return (p) => {
    const key = `${p.scope}/${p.phase}`;
    if (key !== lastKey) {
      lastKey = key;
      lastTenth = -1;
    }
    const tenth = p.total > 0 ? Math.floor((10 * p.done) / p.total) : 10;
    if (p.phase === "verify") {
      io.err(`agent ${p.scope}: verified ${p.total} rows`);
      return;
    }
    if (tenth === lastTenth || (tenth < 10 && p.total < 1000)) return;
    lastTenth = tenth;
    io.err(`agent ${p.scope}: ${p.phase} ${p.done}/${p.total}`);
  };
}

function summaryText(s: MigrateSummary): string {
  const lines = [`${s.dryRun ? "Would copy" : "Copied"} ${s.from} -> ${s.to}`];
  if (s.scopes.length === 0) lines.push("No agent stores found.");
  for (const sc of s.scopes) {
    lines.push(
      s.dryRun
        ? `  ${sc.scope}: ${sc.rows} rows, ${sc.transcripts} transcripts, ${sc.bytes} bytes`
        : `  ${sc.scope}: ${sc.rows} rows (${sc.skippedRows} already there), ${sc.transcripts} transcripts (${sc.skippedTranscripts} already there), ${sc.bytes} bytes`,
    );
  }
  if (!s.dryRun) lines.push(`Checksums verified: ${s.checksumsVerified}`);
  return lines.join("\n");
}
