/**
 * Value schemas every config section uses: durations, sizes, time zones, and the marker for keys
 * OpenClaw has that Pincer accepts without interpreting (so a real openclaw.json still loads while
 * a key neither knows is reported as a typo).
 */
import { z } from "zod";
import { parseDurationMs, parseSizeBytes, type DurationUnit } from "../util/units.ts";

/** A duration as a string (`24h`, `1d12h`) or a number in `defaultUnit`; `nonNegative` refuses `-5m`. */
export function durationSchema(defaultUnit: DurationUnit, message: string, options: { nonNegative?: boolean } = {}) {
  return z.union([z.string(), z.number()]).refine(
    (v) => {
      try {
        const ms = parseDurationMs(v, defaultUnit);
        return !options.nonNegative || ms >= 0;
      } catch {
        return false;
      }
    },
    { message },
  );
}

export const sizeSchema = z.union([z.string(), z.number()]).refine(
  (v) => {
    try {
      parseSizeBytes(v);
      return true;
    } catch {
      return false;
    }
  },
  { message: "invalid size (use b, kb, mb, gb, tb)" },
);

export const timeZoneSchema = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'an IANA time zone such as "Europe/Berlin"' },
);

/** `provider/model`, or OpenClaw's `{ primary, fallbacks }` form. */
export const modelRefSchema = z.union([
  z.string(),
  z.strictObject({ primary: z.string().min(1).optional(), fallbacks: z.array(z.string()).optional() }),
]);

/** A glob list (`*` only, case-insensitive; see util/glob.ts). */
export const globListSchema = z.array(z.string());

/** The schemas `openclawOnly` made: config/unsupported.ts reports every key set to one of them. */
export const OPENCLAW_ONLY = new WeakSet<z.core.$ZodType>();

/**
 * Keys OpenClaw's schema has at this place that Pincer does not interpret: accepted as they are
 * (issue 14 reports them), never read. Spread into a strictObject's shape.
 */
export function openclawOnly<const K extends string>(...keys: K[]): Record<K, z.ZodOptional<z.ZodUnknown>> {
  return Object.fromEntries(
    keys.map((k) => {
      const s = z.unknown().optional();
      OPENCLAW_ONLY.add(s);
      return [k, s];
    }),
  ) as Record<K, z.ZodOptional<z.ZodUnknown>>;
}
