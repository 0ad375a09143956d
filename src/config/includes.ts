/**
 * OpenClaw's `$include` (a config split into files): `"$include": "./base.json5"` or a list of
 * files, merged in order; keys beside `$include` are merged over what it brings (objects merge
 * recursively, arrays concatenate, other values: the later wins). An included file may include
 * others, up to 10 deep, never in a circle. Paths are resolved against the including file and must
 * stay inside the main config file's directory, after symlinks too; an included file is a regular
 * file of at most 2 MiB. Resolved before env substitution and validation, as OpenClaw does.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import JSON5 from "json5";

export const INCLUDE_KEY = "$include";
const MAX_DEPTH = 10;
const MAX_BYTES = 2 * 1024 * 1024;
const BLOCKED = new Set(["__proto__", "constructor", "prototype"]);

const isPlain = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function deepMerge(target: unknown, source: unknown): unknown {
  if (Array.isArray(target) && Array.isArray(source)) return [...target, ...source];
  if (isPlain(target) && isPlain(source)) {
    const out: Record<string, unknown> = { ...target };
    for (const [k, v] of Object.entries(source)) {
      if (BLOCKED.has(k)) continue;
      out[k] = k in out ? deepMerge(out[k], v) : v;
    }
    return out;
  }
  return source;
}

function inside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** Resolves every `$include` in `value` (read from `file`); throws an Error naming the include on a problem. */
export function resolveIncludes(value: unknown, file: string): unknown {
  const rootDir = path.dirname(path.resolve(file));
  let rootReal = rootDir;
  try {
    rootReal = fs.realpathSync(rootDir);
  } catch {
    // The directory itself is missing: the lexical check below still applies.
  }
  const load = (includePath: string, from: string, chain: string[]): unknown => {
    const resolved = path.normalize(path.resolve(path.dirname(from), includePath));
    if (!inside(rootDir, resolved))
      throw new Error(`${INCLUDE_KEY} ${includePath}: outside the config directory ${rootDir}`);
    let real: string;
    try {
      real = fs.realpathSync(resolved);
    } catch {
      throw new Error(`${INCLUDE_KEY} ${includePath}: cannot read ${resolved}`);
    }
    if (!inside(rootReal, real))
      throw new Error(`${INCLUDE_KEY} ${includePath}: resolves outside the config directory (symlink)`);
    if (chain.includes(real)) throw new Error(`${INCLUDE_KEY}: circular include ${[...chain, real].join(" -> ")}`);
    if (chain.length > MAX_DEPTH) throw new Error(`${INCLUDE_KEY} ${includePath}: more than ${MAX_DEPTH} levels deep`);
    const stat = fs.statSync(real);
    if (!stat.isFile() || stat.size > MAX_BYTES)
      throw new Error(`${INCLUDE_KEY} ${includePath}: not a regular file of at most ${MAX_BYTES} bytes`);
    let parsed: unknown;
    try {
      parsed = JSON5.parse(fs.readFileSync(real, "utf8"));
    } catch (err) {
      throw new Error(
        `${INCLUDE_KEY} ${includePath}: not valid JSON5 (${(err as Error).message.replace(/^JSON5: /, "")})`,
      );
    }
    return walk(parsed, real, [...chain, real]);
  };
  const walk = (v: unknown, from: string, chain: string[]): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, from, chain));
    if (!isPlain(v)) return v;
    const rest: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== INCLUDE_KEY && !BLOCKED.has(k)) rest[k] = walk(x, from, chain);
    if (!(INCLUDE_KEY in v)) return rest;
    const inc = v[INCLUDE_KEY];
    const list = typeof inc === "string" ? [inc] : Array.isArray(inc) ? inc : null;
    if (!list || list.some((x) => typeof x !== "string"))
      throw new Error(`${INCLUDE_KEY}: expected a file name or a list of file names`);
    const included = (list as string[]).reduce<unknown>((acc, p) => deepMerge(acc, load(p, from, chain)), {});
    if (Object.keys(rest).length === 0) return included;
    if (!isPlain(included)) throw new Error(`${INCLUDE_KEY}: keys beside it need the included content to be an object`);
    return deepMerge(included, rest);
  };
  let rootRealFile = path.resolve(file);
  try {
    rootRealFile = fs.realpathSync(file);
  } catch {
    // not on disk (validated text about to be written)
  }
  return walk(value, path.resolve(file), [rootRealFile]);
}
