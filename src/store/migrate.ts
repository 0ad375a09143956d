/**
 * Copies a whole store (every agent's index rows and live transcripts) from one location to another,
 * any backend to any backend, verifying what it wrote.
 *
 * - Rows: `all()` on the source, `putMany` on the destination in batches; rows the destination
 *   already holds, deep-equal, are skipped.
 * - Transcripts: `exportTranscript` → sha256 → `importTranscript` → re-export and compare; a
 *   transcript whose destination text already has the same checksum is skipped.
 * - Resumable and idempotent: an interrupted run leaves whole rows and whole transcripts (each
 *   import is atomic), and a rerun only copies what is still missing or different.
 * - A dry run opens the source read-only and never opens the destination: it writes nothing.
 * - The source is always opened read-only.
 */
import { createHash } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { normalizeAgentId } from "../keys/ids.ts";
import type { StoreLocation } from "./store-locator.ts";
import { StoreError, type SessionRow, type SessionStore } from "./types.ts";

export interface MigrateProgress {
  scope: string;
  phase: "rows" | "transcripts" | "verify";
  done: number;
  total: number;
}

export interface MigrateOptions {
  dryRun?: boolean;
  /** Only these agent ids (default: every scope of the source). */
  agents?: readonly string[];
  /** Rows per `putMany` (default 500). */
  batchSize?: number;
  /** Transcripts copied concurrently (default 8): network backends are latency-bound. */
  concurrency?: number;
  /** Called as work completes; throwing aborts the migration (what is done stays done). */
  onProgress?: (p: MigrateProgress) => void;
}

export interface ScopeSummary {
  scope: string;
  /** Rows in the source. */
  rows: number;
  /** Live transcripts in the source. */
  transcripts: number;
  /** Bytes of those transcripts (UTF-8). */
  bytes: number;
  /** Rows and transcripts the destination already held identically (not rewritten). */
  skipped: number;
  skippedRows: number;
  skippedTranscripts: number;
  /** What this run wrote. */
  copiedRows: number;
  copiedTranscripts: number;
}

export interface MigrateSummary {
  from: string;
  to: string;
  dryRun: boolean;
  scopes: ScopeSummary[];
  /** Transcripts whose destination checksum was verified equal to the source (0 in a dry run). */
  checksumsVerified: number;
}

export class MigrationError extends StoreError {
  override readonly code = "migration_failed";
}

const sha256 = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex");

/**
 * The form every backend stores exactly: JSONL ends with a newline. A source transcript whose last
 * line lacks it (a torn write) gets one; every other byte is kept.
 */
export function canonicalTranscript(text: string): string {
  return text === "" || text.endsWith("\n") ? text : `${text}\n`;
}

/** Rows are plain JSON where they are stored; compare them as such (no `undefined` members). */
const asJson = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

export async function migrateStore(
  from: StoreLocation,
  to: StoreLocation,
  options: MigrateOptions = {},
): Promise<MigrateSummary> {
  const batchSize = Math.max(1, options.batchSize ?? 500);
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const progress = options.onProgress ?? (() => {});
  if (!options.dryRun && from.kind === to.kind && from.display === to.display) {
    throw new MigrationError(`source and destination are the same store (${from.display})`);
  }

  const available = await from.listScopes();
  let scopes = available;
  if (options.agents && options.agents.length > 0) {
    const wanted = [...new Set(options.agents.map((a) => normalizeAgentId(a)))];
    const missing = wanted.filter((a) => !available.includes(a));
    if (missing.length) {
      throw new MigrationError(
        `no store for agent ${missing.map((m) => JSON.stringify(m)).join(", ")} at ${from.display} (found: ${available.join(", ") || "none"})`,
      );
    }
    scopes = wanted;
  }

  const summary: MigrateSummary = {
    from: from.display,
    to: to.display,
    dryRun: !!options.dryRun,
    scopes: [],
    checksumsVerified: 0,
  };
  for (const scope of scopes) {
    const src = await from.open(scope, { readOnly: true });
    try {
      if (options.dryRun) {
        summary.scopes.push(await countScope(scope, src));
        continue;
      }
      const dst = await to.open(scope);
      try {
        const s = await copyScope(scope, src, dst, batchSize, concurrency, progress);
        summary.checksumsVerified += s.verified;
        summary.scopes.push(s.summary);
      } finally {
        await dst.close();
      }
    } finally {
      await src.close();
    }
  }
  return summary;
}

async function countScope(scope: string, src: SessionStore): Promise<ScopeSummary> {
  const rows = await src.count();
  let transcripts = 0;
  let bytes = 0;
  for (const id of await src.listTranscripts()) {
    const text = await src.exportTranscript(id);
    if (text === null) continue;
    transcripts++;
    bytes += Buffer.byteLength(canonicalTranscript(text), "utf8");
  }
  return {
    scope,
    rows,
    transcripts,
    bytes,
    skipped: 0,
    skippedRows: 0,
    skippedTranscripts: 0,
    copiedRows: 0,
    copiedTranscripts: 0,
  };
}

async function copyScope(
  scope: string,
  src: SessionStore,
  dst: SessionStore,
  batchSize: number,
  concurrency: number,
  progress: (p: MigrateProgress) => void,
): Promise<{ summary: ScopeSummary; verified: number }> {
  // ---- rows
  const rows = await src.all();
  const existing = new Map((await dst.all()).map((r) => [r.key, r.entry]));
  const changes: SessionRow[] = rows.filter((r) => !isDeepStrictEqual(asJson(existing.get(r.key)), asJson(r.entry)));
  existing.clear();
  const skippedRows = rows.length - changes.length;
  progress({ scope, phase: "rows", done: skippedRows, total: rows.length });
  const batches: SessionRow[][] = [];
  for (let i = 0; i < changes.length; i += batchSize) batches.push(changes.slice(i, i + batchSize));
  let rowsDone = skippedRows;
  // Batches touch disjoint keys, so a few may be in flight at once (network backends wait on I/O).
  await runPool(batches, Math.min(4, concurrency), async (batch) => {
    await dst.putMany(batch.map((r) => ({ key: r.key, entry: r.entry })));
    rowsDone += batch.length;
    progress({ scope, phase: "rows", done: rowsDone, total: rows.length });
  });

  // ---- transcripts
  const ids = await src.listTranscripts();
  const present = new Set(await dst.listTranscripts());
  let transcripts = 0;
  let bytes = 0;
  let skippedTranscripts = 0;
  let copiedTranscripts = 0;
  let verified = 0;
  let done = 0;
  await runPool(ids, concurrency, async (id) => {
    const raw = await src.exportTranscript(id);
    if (raw !== null) {
      const text = canonicalTranscript(raw);
      const sum = sha256(text);
      transcripts++;
      bytes += Buffer.byteLength(text, "utf8");
      const current = present.has(id) ? await dst.exportTranscript(id) : null;
      if (current !== null && sha256(current) === sum) {
        skippedTranscripts++;
      } else {
        await dst.importTranscript(id, text);
        const back = (await dst.exportTranscript(id)) ?? "";
        if (sha256(back) !== sum) {
          throw new MigrationError(
            `transcript ${id} of agent ${scope}: checksum mismatch after copy to ${dst.backend} (source ${sum.slice(0, 12)}, destination ${sha256(back).slice(0, 12)})`,
          );
        }
        copiedTranscripts++;
      }
      verified++;
    }
    done++;
    progress({ scope, phase: "transcripts", done, total: ids.length });
  });

  // ---- verify the index
  const after = new Map((await dst.all()).map((r) => [r.key, r.entry]));
  if (after.size < rows.length) {
    throw new MigrationError(`agent ${scope}: destination holds ${after.size} rows, source ${rows.length}`);
  }
  for (const r of rows) {
    if (!isDeepStrictEqual(asJson(after.get(r.key)), asJson(r.entry))) {
      throw new MigrationError(
        `agent ${scope}: row ${JSON.stringify(r.key)} differs in the destination after the copy`,
      );
    }
  }
  progress({ scope, phase: "verify", done: rows.length, total: rows.length });

  return {
    summary: {
      scope,
      rows: rows.length,
      transcripts,
      bytes,
      skipped: skippedRows + skippedTranscripts,
      skippedRows,
      skippedTranscripts,
      copiedRows: changes.length,
      copiedTranscripts,
    },
    verified,
  };
}

/** Runs `work` over `items` with at most `limit` in flight; the first failure stops new work and is thrown. */
async function runPool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
}
