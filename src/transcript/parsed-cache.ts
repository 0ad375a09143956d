/**
 * Whole transcripts kept parsed in memory between turns, bounded in bytes (not lines: a few huge
 * messages must not be able to grow the process without limit). One budget is shared by every
 * agent's writer, least recently used first out. A transcript larger than a quarter of the budget
 * is never kept: reading it costs a file read per turn, but memory stays bounded.
 *
 * Beside each transcript the cache keeps one piece of state derived from it (the runtime's built
 * context, so a turn extends it instead of rebuilding it): it is dropped whenever its lines are,
 * and its bytes count against the same budget.
 */
import type { TranscriptLine } from "../store/types.ts";

/** Default budget: keeps a gateway under attack by 1 MB messages well below 512 MB RSS. */
export const DEFAULT_TRANSCRIPT_CACHE_BYTES = 64 * 1024 * 1024;

interface Cached {
  lines: TranscriptLine[];
  bytes: number;
  derived: TranscriptDerived | undefined;
  /** `derived.bytes` when it was last kept (what `total` counts for it). */
  derivedBytes: number;
}

/** State computed from a cached transcript's lines; it reports its own memory. */
export interface TranscriptDerived {
  readonly bytes: number;
}

/**
 * A session's cached transcript without a copy. `lines` is the cache's own array: appends extend
 * it, nothing else changes it, so `lines[0..length)` is a stable snapshot; read it, never write it.
 */
export interface TranscriptView {
  readonly lines: readonly TranscriptLine[];
  /** The number of lines when the view was taken (later appends are not part of it). */
  readonly length: number;
  readonly issues: number;
  /** What an earlier reader derived from these same lines, if it is still kept. */
  readonly derived: TranscriptDerived | undefined;
  /** Keeps `derived` with these lines (a no-op once they are no longer the cached ones). */
  keep(derived: TranscriptDerived): void;
}

export class ParsedTranscriptCache {
  private readonly entries = new Map<string, Cached>();
  private total = 0;
  readonly maxBytes: number;

  constructor(maxBytes = DEFAULT_TRANSCRIPT_CACHE_BYTES) {
    this.maxBytes = maxBytes;
  }

  /** Bytes held now (an estimate of the JSON size of the cached lines). */
  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached lines (the cache's own array: callers copy before keeping it). */
  get(key: string): TranscriptLine[] | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit.lines;
  }

  /** Keeps a transcript if it fits; returns whether it was kept. */
  set(key: string, lines: readonly TranscriptLine[]): boolean {
    this.drop(key);
    const bytes = linesBytes(lines);
    if (bytes > this.maxBytes / 4) return false;
    this.entries.set(key, { lines: lines.slice(), bytes, derived: undefined, derivedBytes: 0 });
    this.total += bytes;
    this.evict();
    return this.entries.has(key);
  }

  /** Extends a cached transcript (no-op when it is not cached); drops it once it outgrows its share. */
  append(key: string, lines: readonly TranscriptLine[]): void {
    const hit = this.entries.get(key);
    if (!hit) return;
    const bytes = linesBytes(lines);
    hit.lines.push(...lines);
    hit.bytes += bytes;
    this.total += bytes;
    if (hit.bytes + hit.derivedBytes > this.maxBytes / 4) this.drop(key);
    else this.evict();
  }

  /** A view of the cached transcript (see TranscriptView), or undefined when it is not cached. */
  view(key: string): TranscriptView | undefined {
    const lines = this.get(key);
    const hit = this.entries.get(key);
    if (!lines || !hit) return undefined;
    return {
      lines,
      length: lines.length,
      issues: 0,
      derived: hit.derived,
      keep: (derived) => this.keepDerived(key, hit, derived),
    };
  }

  drop(key: string): void {
    const hit = this.entries.get(key);
    if (!hit) return;
    this.total -= hit.bytes + hit.derivedBytes;
    this.entries.delete(key);
  }

  private keepDerived(key: string, hit: Cached, derived: TranscriptDerived): void {
    // Derived from lines that were since dropped or replaced: it must not outlive them.
    if (this.entries.get(key) !== hit) return;
    this.total -= hit.derivedBytes;
    const fits = hit.bytes + derived.bytes <= this.maxBytes / 4;
    hit.derived = fits ? derived : undefined;
    hit.derivedBytes = fits ? derived.bytes : 0;
    this.total += hit.derivedBytes;
    this.evict();
  }

  /** Drops every key starting with `prefix` (one writer's sessions). */
  dropPrefix(prefix: string): void {
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.drop(key);
  }

  private evict(): void {
    while (this.total > this.maxBytes && this.entries.size > 0) this.drop(this.entries.keys().next().value as string);
  }
}

function linesBytes(lines: readonly TranscriptLine[]): number {
  let n = 0;
  for (const line of lines) n += approxJsonBytes(line) + 1;
  return n;
}

/**
 * The size of a value as JSON, approximately (strings by length, no escaping), walked without
 * recursion so a deeply nested tool argument cannot overflow the stack.
 */
export function approxJsonBytes(value: unknown): number {
  let n = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    switch (typeof v) {
      case "string":
        n += v.length + 2;
        break;
      case "number":
      case "bigint":
        n += 8;
        break;
      case "boolean":
        n += 5;
        break;
      case "object":
        if (v === null) {
          n += 4;
        } else if (Array.isArray(v)) {
          n += 2 + v.length;
          for (const x of v) stack.push(x);
        } else {
          n += 2;
          for (const [k, x] of Object.entries(v)) {
            n += k.length + 4;
            stack.push(x);
          }
        }
        break;
      default:
        break;
    }
  }
  return n;
}
