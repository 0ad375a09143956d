/**
 * Copies of session rows kept in memory (the file store's rows, the held-row cache of shared
 * stores). A row is plain JSON, and every get/patch hands out a copy the caller may change. Since `systemPromptReport` is written on every run a
 * row is ~3 KB, most of it that report: a JSON round trip of the whole row on every get and patch
 * was a tenth of an echo turn's CPU. So the big sub-objects that are only ever replaced whole (the
 * turn runner, compaction and usage.ts build new ones; nothing changes them in place) are frozen at
 * their top level when the row is stored and shared by reference; the rest is copied by a walk that
 * gives exactly what `JSON.parse(JSON.stringify(row))` gives.
 */
import type { SessionEntry } from "./entry.ts";

/** Row fields that are replaced whole, never changed in place (frozen once stored, then shared). */
const SHARED_FIELDS = ["systemPromptReport", "usageTotals"] as const;
/** Objects frozen here: only these are shared (an object frozen elsewhere is copied, as JSON would). */
const shared = new WeakSet<object>();

/** Freezes the shared fields of a row about to be kept in memory (their copies then cost nothing). */
export function freezeShared(entry: SessionEntry): void {
  for (const field of SHARED_FIELDS) {
    const v = (entry as Record<string, unknown>)[field];
    if (v !== null && typeof v === "object" && !shared.has(v) && isPlainJson(v)) {
      // Only the top level is frozen: freezing every nested object cost more than the copy it saves.
      Object.freeze(v);
      shared.add(v);
    }
  }
}

/** A copy of a stored row, as a JSON round trip would make it, sharing frozen sub-objects. */
export function copyRow(entry: SessionEntry): SessionEntry {
  return copyObject(entry as unknown as Record<string, unknown>) as unknown as SessionEntry;
}

function copyValue(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (shared.has(v)) return v;
  if (Array.isArray(v)) return copyArray(v);
  return copyObject(v as Record<string, unknown>);
}

function copyArray(a: readonly unknown[]): unknown[] {
  const out = new Array<unknown>(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    // JSON writes undefined, functions and symbols in an array as null.
    out[i] = skipped(v) ? null : copyJsonValue(v);
  }
  return out;
}

function copyObject(o: Record<string, unknown>): Record<string, unknown> {
  if (typeof (o as { toJSON?: unknown }).toJSON === "function") return JSON.parse(JSON.stringify(o)) as never;
  const out: Record<string, unknown> = {};
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue;
    const v = o[k];
    // JSON leaves out undefined, functions and symbols in an object.
    if (skipped(v)) continue;
    // JSON.parse makes an own "__proto__" key; an assignment would set the prototype instead.
    if (k === "__proto__")
      Object.defineProperty(out, k, { value: copyJsonValue(v), enumerable: true, writable: true, configurable: true });
    else out[k] = copyJsonValue(v);
  }
  return out;
}

function copyJsonValue(v: unknown): unknown {
  if (typeof v === "number") return jsonNumber(v);
  return typeof v === "object" && v !== null ? copyValue(v) : v;
}

/** JSON writes non-finite numbers as null and -0 as 0. */
function jsonNumber(n: number): number | null {
  if (!Number.isFinite(n)) return null;
  return n === 0 ? 0 : n;
}

function skipped(v: unknown): boolean {
  return v === undefined || typeof v === "function" || typeof v === "symbol";
}

/** Only plain objects and arrays of JSON values are frozen and shared (a Date or a class instance is copied). */
function isPlainJson(v: unknown): boolean {
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v) && !Object.is(v, -0);
  if (typeof v !== "object") return false;
  if (shared.has(v)) return true;
  if (Object.isFrozen(v)) return false;
  if (Array.isArray(v)) return v.every(isPlainJsonItem);
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    const x = (v as Record<string, unknown>)[k];
    if (x === undefined || !isPlainJson(x)) return false;
  }
  return true;
}

function isPlainJsonItem(v: unknown): boolean {
  return v !== undefined && isPlainJson(v);
}
