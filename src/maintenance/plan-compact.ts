/**
 * The cleanup preview's plan at 100 000 rows, held in columns instead of an object per row, per
 * removal and per file: exactly what `planMaintenance` decides for an explicit, enforcing plan
 * without a disk budget and without `--fix-missing` — stale rows pruned, the count capped, old
 * archives purged, and each transcript archived with the removal of the last row that referenced
 * it. Keys and session ids are kept as bytes in buffers (off the JS heap), not as strings: a heap
 * that keeps 200 000 strings alive across collections grows its young generation to the maximum,
 * which was most of the preview's memory. The equivalence is tested against `planMaintenance` on
 * random stores (test/maintenance-plan-compact.test.ts).
 */
import * as path from "node:path";
import type { MaintenanceSettings } from "../config/maintenance-settings.ts";
import type { FileClass } from "../store/fs/disk-files.ts";

export const KEEP = 0;
export const PRUNE_STALE = 1;
export const CAP_OVERFLOW = 2;
export const ACTION_NAMES = ["keep", "prune-stale", "cap-overflow"] as const;

function grown<T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** Texts as UTF-8 bytes in one buffer, by index. */
class TextColumn {
  private bytes = Buffer.allocUnsafe(1 << 16);
  private used = 0;
  private start = new Uint32Array(1025);
  count = 0;

  add(text: string): number {
    const max = text.length * 3;
    if (this.used + max > this.bytes.length) {
      const b = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + max));
      this.bytes.copy(b, 0, 0, this.used);
      this.bytes = b;
    }
    this.used += this.bytes.write(text, this.used, "utf8");
    this.start = grown(this.start, this.count + 2);
    this.start[++this.count] = this.used;
    return this.count - 1;
  }

  at(i: number): string {
    return this.bytes.toString("utf8", this.start[i], this.start[i + 1]);
  }

  /** Whether text `i` is `s[from, to)` (ASCII texts only: the session ids). */
  equals(i: number, s: string, from: number, to: number): boolean {
    const a = this.start[i]!;
    if (this.start[i + 1]! - a !== to - from) return false;
    for (let k = 0; k < to - from; k++) if (this.bytes[a + k] !== s.charCodeAt(from + k)) return false;
    return true;
  }
}

/** Distinct session ids (ASCII, as valid ids are), found by content without building a string. */
class IdTable {
  readonly texts = new TextColumn();
  private slots = new Int32Array(1 << 12).fill(-1);
  private hashes = new Uint32Array(1024);

  get count(): number {
    return this.texts.count;
  }

  /** The id's index, added when new. */
  intern(id: string): number {
    const found = this.find(id, 0, id.length);
    if (found >= 0) return found;
    if ((this.count + 1) * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    const i = this.texts.add(id);
    const h = hashOf(id, 0, id.length);
    this.hashes = grown(this.hashes, i + 1);
    this.hashes[i] = h;
    this.place(i, h);
    return i;
  }

  /** The index of the id `s[from, to)`, or -1. */
  find(s: string, from: number, to: number): number {
    const mask = this.slots.length - 1;
    const h = hashOf(s, from, to);
    for (let at = h & mask; ; at = (at + 1) & mask) {
      const i = this.slots[at]!;
      if (i < 0) return -1;
      if (this.hashes[i] === h && this.texts.equals(i, s, from, to)) return i;
    }
  }

  private place(i: number, h: number): void {
    const mask = this.slots.length - 1;
    let at = h & mask;
    while (this.slots[at]! >= 0) at = (at + 1) & mask;
    this.slots[at] = i;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size).fill(-1);
    for (let i = 0; i < this.count; i++) this.place(i, this.hashes[i]!);
  }
}

/**
 * `rows` in planMaintenance's capping order: a stable sort by `updatedAt || -Infinity`, oldest
 * first. Rows read from a snapshot come newest first, so that is usually the sequence's runs of
 * equal times in reverse order, each run as it was: found in one pass, else sorted.
 */
function oldestFirstOf(rows: number[], updatedAt: Float64Array): number[] {
  const t = (i: number): number => updatedAt[i]! || -Infinity;
  for (let k = 1; k < rows.length; k++) if (t(rows[k]!) > t(rows[k - 1]!)) return rows.sort((a, b) => t(a) - t(b));
  const out = new Array<number>(rows.length);
  let end = rows.length;
  let at = 0;
  while (end > 0) {
    let start = end - 1;
    while (start > 0 && t(rows[start - 1]!) === t(rows[end - 1]!)) start--;
    for (let k = start; k < end; k++) out[at++] = rows[k]!;
    end = start;
  }
  return out;
}

/** FNV-1a over UTF-16 code units. */
function hashOf(s: string, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let k = from; k < to; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
  return h >>> 0;
}

/** The rows the plan reads, in store order (what `store.all()` returns), one column per field. */
export class RowColumns {
  count = 0;
  readonly ids = new IdTable();
  private readonly keyJson = new TextColumn();
  idOf = new Uint32Array(1024);
  updatedAt = new Float64Array(1024);
  /** Never removed: pinned, or one of the protected keys. */
  fixed = new Uint8Array(1024);
  /** Row index → the name its `sessionFile` claims in the sessions directory, when not `<sessionId>.jsonl`. */
  readonly extraClaims = new Map<number, string>();
  private readonly dir: string;
  private readonly dirResolved: string;
  private readonly protectedKeys: ReadonlySet<string>;

  constructor(diskDir: string, protectedKeys: ReadonlySet<string>) {
    this.dir = diskDir;
    this.dirResolved = path.resolve(diskDir);
    this.protectedKeys = protectedKeys;
  }

  /**
   * `sessionId` must be a valid id (ASCII); `updatedAt` as the store normalises it (a number, 0
   * when absent); `pinned` as written; `keyJson` is `JSON.stringify(key)` when the caller has it.
   */
  add(
    key: string,
    sessionId: string,
    updatedAt: number,
    pinned: unknown,
    sessionFile: unknown,
    keyJson?: string,
  ): number {
    const i = this.count++;
    if (i === this.updatedAt.length) {
      this.idOf = grown(this.idOf, i + 1);
      this.updatedAt = grown(this.updatedAt, i + 1);
      this.fixed = grown(this.fixed, i + 1);
    }
    this.keyJson.add(keyJson ?? JSON.stringify(key));
    this.idOf[i] = this.ids.intern(sessionId);
    this.updatedAt[i] = updatedAt;
    this.fixed[i] = pinned === true || this.protectedKeys.has(key) ? 1 : 0;
    const extra = this.claimOf(sessionFile, sessionId);
    if (extra !== undefined) this.extraClaims.set(i, extra);
    return i;
  }

  keyJsonAt(i: number): string {
    return this.keyJson.at(i);
  }

  keyAt(i: number): string {
    return JSON.parse(this.keyJson.at(i)) as string;
  }

  idAt(i: number): string {
    return this.ids.texts.at(this.idOf[i]!);
  }

  /** What `planMaintenance`'s file claims make of a row's `sessionFile` beyond `<id>.jsonl`. */
  private claimOf(file: unknown, id: string): string | undefined {
    if (typeof file !== "string" || file === "") return undefined;
    const d = this.dirResolved;
    // `<dir>/<id>.jsonl` (what the store writes): the claim every row makes anyway. A valid id is one
    // plain segment (it starts with a letter or digit), so the path is already resolved.
    if (
      file.length === d.length + id.length + 7 &&
      file.startsWith(d) &&
      file.charCodeAt(d.length) === 0x2f &&
      file.startsWith(id, d.length + 1) &&
      file.endsWith(".jsonl")
    )
      return undefined;
    const resolved = path.resolve(this.dir, file);
    if (path.dirname(resolved) !== d) return undefined;
    const name = path.basename(resolved);
    return name === `${id}.jsonl` ? undefined : name;
  }
}

export interface CompactPlan {
  /** Per row (RowColumns index): KEEP, PRUNE_STALE or CAP_OVERFLOW. */
  action: Uint8Array;
  beforeCount: number;
  afterCount: number;
  pruned: number;
  capped: number;
  /** Transcripts archived, in the order `planMaintenance`'s removal units list them. */
  archive: string[];
  /** Archives past their retention, in directory order. */
  deleteFiles: string[];
  wouldMutate: boolean;
}

/** The sessions directory's file names with their classes (as `classify` gives them), in listing order. */
export interface CompactDisk {
  names: readonly string[];
  classOf: (name: string) => FileClass;
}

export function planCompact(
  rows: RowColumns,
  disk: CompactDisk,
  settings: MaintenanceSettings,
  now: number,
): CompactPlan {
  if (settings.maxDiskBytes !== null) throw new Error("planCompact: a disk budget needs planMaintenance");
  const n = rows.count;
  const { idOf, updatedAt, fixed } = rows;
  const action = new Uint8Array(n);
  let pruned = 0;
  let capped = 0;
  if (settings.pruneAfterMs !== null) {
    const cutoff = now - settings.pruneAfterMs;
    for (let i = 0; i < n; i++) {
      const u = updatedAt[i]!;
      if (!fixed[i] && u > 0 && u < cutoff) {
        action[i] = PRUNE_STALE;
        pruned++;
      }
    }
  }
  if (settings.maxEntries !== null) {
    const kept: number[] = [];
    for (let i = 0; i < n; i++) if (action[i] === KEEP) kept.push(i);
    if (kept.length > settings.maxEntries) {
      let excess = kept.length - settings.maxEntries;
      const oldestFirst = oldestFirstOf(kept, updatedAt);
      for (const i of oldestFirst) {
        if (excess <= 0) break;
        if (fixed[i]) continue;
        action[i] = CAP_OVERFLOW;
        capped++;
        excess--;
      }
    }
  }

  // Per session id: kept rows, and its removal unit (one per id with a removed row, in row order).
  const ids = rows.ids;
  const keptRefs = new Uint32Array(ids.count);
  const unitOf = new Int32Array(ids.count).fill(-1);
  let units = 0;
  for (let i = 0; i < n; i++) {
    const id = idOf[i]!;
    if (action[i] === KEEP) keptRefs[id]!++;
    else if (unitOf[id]! < 0) unitOf[id] = units++;
  }

  // Who claims a transcript-shaped file (planMaintenance's fileClaims): every row `<id>.jsonl`, a
  // row's `sessionFile` naming another file of the directory, and — for a file nobody claims that
  // way — the session id its name starts with (`<id>-topic-<thread>.jsonl`), if some row has it.
  const byFile = new Map<string, number[]>();
  for (const [i, name] of rows.extraClaims) {
    const list = byFile.get(name);
    if (!list) byFile.set(name, [idOf[i]!]);
    else if (!list.includes(idOf[i]!)) list.push(idOf[i]!);
  }
  // A released file (no claimant keeps a row) goes with the first removal unit among its claimants.
  const unitFiles = new Array<string | string[] | undefined>(units);
  const deleteFiles: string[] = [];
  const release = (name: string, claimants: readonly number[]): void => {
    let owner = Infinity;
    for (const id of claimants) {
      if (keptRefs[id]) return;
      owner = Math.min(owner, unitOf[id]!);
    }
    const had = unitFiles[owner];
    unitFiles[owner] = had === undefined ? name : typeof had === "string" ? [had, name] : [...had, name];
  };
  const one: number[] = [0];
  for (const name of disk.names) {
    const c = disk.classOf(name);
    if (c.kind === "archive" && c.at !== null) {
      // Archives past their retention, by the time in their name.
      const retention =
        c.reason === "reset" ? settings.resetArchiveRetentionMs : c.reason === "deleted" ? settings.pruneAfterMs : null;
      if (retention !== null && c.at < now - retention) deleteFiles.push(name);
      continue;
    }
    if (c.kind !== "transcript") continue;
    const own = name.endsWith(".jsonl") ? ids.find(name, 0, name.length - 6) : -1;
    const extra = byFile.get(name);
    if (extra) release(name, own < 0 || extra.includes(own) ? extra : [own, ...extra]);
    else if (own >= 0) {
      one[0] = own;
      release(name, one);
    } else {
      const topic = ids.find(c.sessionId, 0, c.sessionId.length);
      if (topic >= 0) {
        one[0] = topic;
        release(name, one);
      }
    }
  }
  const archive: string[] = [];
  for (const f of unitFiles) {
    if (f === undefined) continue;
    if (typeof f === "string") archive.push(f);
    else archive.push(...f.sort((a, b) => (a < b ? -1 : 1)));
  }
  const afterCount = n - pruned - capped;
  return {
    action,
    beforeCount: n,
    afterCount,
    pruned,
    capped,
    archive,
    deleteFiles,
    wouldMutate: afterCount !== n || deleteFiles.length > 0,
  };
}
