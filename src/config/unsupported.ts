/**
 * The keys of a config that OpenClaw has and Pincer accepts without implementing, by path: the
 * gateway reports each once at start as "not supported by Pincer (ignored)", and `pincer config
 * validate` / `pincer doctor` list them. Found by walking the value beside the schema: a key whose
 * schema came from `openclawOnly` (values.ts) is one of them. A few values that mean what Pincer
 * does anyway (`gateway.bind: "loopback"`, `gateway.auth.mode: "token"`, ...) are not reported.
 */
import { z } from "zod";
import { OPENCLAW_ONLY } from "./values.ts";

type PathKey = string | number;

/** `a.b[0]["x/y"]`: dots for plain names, brackets for indexes and names with other characters. */
export function formatPath(p: readonly PathKey[]): string {
  let out = "";
  for (const k of p) {
    if (typeof k === "number") out += `[${k}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(k)) out += out ? `.${k}` : k;
    else out += `[${JSON.stringify(k)}]`;
  }
  return out;
}

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** Values OpenClaw's wizard writes that describe what Pincer does anyway. */
const SAME_AS_PINCER: Record<string, (v: unknown) => boolean> = {
  "gateway.mode": (v) => v === "local",
  "gateway.bind": (v) => v === "loopback",
  "gateway.auth.mode": (v) => v === "token",
  "gateway.tailscale": (v) => obj(v)?.mode === "off" || v === undefined,
};

/** Loose sections that are OpenClaw's bookkeeping (its wizard's and writer's stamps): nothing to report. */
const QUIET = new Set(["meta", "wizard"]);

function walk(schema: z.core.$ZodType, value: unknown, at: PathKey[], out: Set<string>): void {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodDefault)
    return walk(schema.unwrap() as z.core.$ZodType, value, at, out);
  if (schema instanceof z.ZodPipe) return walk(schema.in, value, at, out);
  if (schema instanceof z.ZodUnion) {
    for (const o of schema.options) walk(o, value, at, out);
    return;
  }
  if (schema instanceof z.ZodObject) {
    const v = obj(value);
    if (!v) return;
    for (const [key, child] of Object.entries(v)) {
      const s = schema.shape[key] as z.core.$ZodType | undefined;
      const p = [...at, key];
      const shown = formatPath(p);
      if (!s) {
        // A loose section (`hooks`, `cron`, `logging`) passes OpenClaw's other keys through unread;
        // any other catchall (`env.<NAME>`) is read, and a strict object's extra key is an error.
        if (schema._zod.def.catchall instanceof z.ZodUnknown && !QUIET.has(formatPath(at)) && child !== undefined)
          out.add(shown);
        continue;
      }
      if (OPENCLAW_ONLY.has(s)) {
        if (child !== undefined && !SAME_AS_PINCER[shown]?.(child)) out.add(shown);
      } else walk(s, child, p, out);
    }
    return;
  }
  if (schema instanceof z.ZodRecord) {
    const v = obj(value);
    for (const [key, child] of Object.entries(v ?? {}))
      walk(schema.valueType as z.core.$ZodType, child, [...at, key], out);
    return;
  }
  if (schema instanceof z.ZodArray && Array.isArray(value))
    value.forEach((item, i) => walk(schema.element as z.core.$ZodType, item, [...at, i], out));
}

/** Every OpenClaw-only key set in `value`, as display paths, in file order. */
export function unsupportedKeys(schema: z.core.$ZodType, value: unknown): string[] {
  const out = new Set<string>();
  walk(schema, value, [], out);
  return [...out];
}

export function unsupportedNotice(p: string): string {
  return `${p}: not supported by Pincer (ignored)`;
}
