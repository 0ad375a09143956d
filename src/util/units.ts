/** Durations (`30d`, `1d12h`) and sizes (`10mb`) as OpenClaw's config accepts them. */
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
};

export type DurationUnit = "ms" | "s" | "m" | "h" | "d";

/** A number is in `defaultUnit`; a string may be compound (`1d12h`). Throws on anything else. */
export function parseDurationMs(value: string | number, defaultUnit: DurationUnit): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error("invalid duration (use ms, s, m, h, d)");
    return value * DURATION_UNITS[defaultUnit]!;
  }
  const text = value.trim().toLowerCase();
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text) * DURATION_UNITS[defaultUnit]!;
  const re = /(-?\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    matched += m[0].length;
  }
  if (matched === 0 || matched !== text.length) throw new Error("invalid duration (use ms, s, m, h, d)");
  return total;
}

export function parseSizeBytes(value: string | number): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error("invalid size (use b, kb, mb, gb, tb)");
    return Math.floor(value);
  }
  const m = /^(-?\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(value.trim().toLowerCase());
  const unit = m?.[2] || "b";
  if (!m || !(unit in SIZE_UNITS)) throw new Error("invalid size (use b, kb, mb, gb, tb)");
  return Math.floor(Number(m[1]) * SIZE_UNITS[unit]!);
}
