/**
 * For an unknown key, the keys the schema does accept at that place, and the closest of them: a
 * typo is reported as "did you mean contextPruning?" rather than only as unknown.
 */
import { z } from "zod";

type PathKey = string | number | symbol;

/** The object schemas a value at `path` may be checked against (several under a union). */
function objectsAt(schema: z.core.$ZodType, path: readonly PathKey[]): z.ZodObject[] {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodDefault)
    return objectsAt(schema.unwrap() as z.core.$ZodType, path);
  if (schema instanceof z.ZodPipe) return [...objectsAt(schema.in, path), ...objectsAt(schema.out, path)];
  if (schema instanceof z.ZodUnion) return schema.options.flatMap((o) => objectsAt(o, path));
  if (path.length === 0) return schema instanceof z.ZodObject ? [schema] : [];
  const [head, ...rest] = path;
  if (schema instanceof z.ZodObject && typeof head === "string") {
    const child = schema.shape[head];
    return child ? objectsAt(child, rest) : [];
  }
  if (schema instanceof z.ZodArray && typeof head === "number") return objectsAt(schema.element, rest);
  if (schema instanceof z.ZodRecord) return objectsAt(schema.valueType, rest);
  return [];
}

export function knownKeysAt(schema: z.core.$ZodType, path: readonly PathKey[]): string[] {
  return [...new Set(objectsAt(schema, path).flatMap((o) => Object.keys(o.shape)))];
}

/** Edit distance with adjacent transpositions (`prot` → `port` is one edit), case-insensitive. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d = Array.from({ length: x.length + 1 }, (_, i) =>
    Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[x.length]![y.length]!;
}

/** The known key closest to `key`, when it is close enough to be a typo of it. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const limit = key.length <= 3 ? 1 : 2;
  let best: { key: string; d: number } | undefined;
  for (const k of known) {
    const d = distance(key, k);
    if (d <= limit && (!best || d < best.d)) best = { key: k, d };
  }
  return best?.key;
}
