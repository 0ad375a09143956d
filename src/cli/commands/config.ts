/**
 * `pincer config validate|get|set|unset|file`, as OpenClaw's `openclaw config` has them.
 * `validate` loads the config the other commands would load and prints every problem in it (file,
 * key path, value, what was expected) and the OpenClaw keys Pincer ignores; exit 1 on a problem.
 * `set`/`unset` edit the JSON5 file in place (comments, order and quoting kept: config/json5-edit),
 * check the result as `validate` would before anything is written, and replace the file atomically
 * with its mode kept (0600 for a new file). Values are JSON5 literals, else plain strings, so
 * OpenClaw's own remediation lines (`config set session.dmScope "per-channel-peer"`) work as written.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import JSON5 from "json5";
import { resolveIncludes } from "../../config/includes.ts";
import { CONFIG_FILE_NAMES, ConfigError, loadConfig, resolveHome, validateConfig } from "../../config/load.ts";
import {
  ConfigEditError,
  getAt,
  parseCliValue,
  parseConfigPath,
  setInText,
  unsetInText,
} from "../../config/json5-edit.ts";
import { writeConfigFileAtomic } from "../../config/write-config-file.ts";
import { CliError, type CliIO } from "../io.ts";

export function configValidate(io: CliIO, configPath: string | undefined): number {
  try {
    const loaded = loadConfig({ configPath, env: { ...io.env } });
    for (const w of loaded.warnings) io.err(`warning: ${loaded.path ?? "config"}: ${w}`);
    for (const n of loaded.notices) io.err(`${loaded.path ?? "config"}: ${n}`);
    io.out(`config ok${loaded.path ? ` (${loaded.path})` : " (no config file: built-in defaults)"}`);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const file = err.file ?? "config";
    for (const issue of err.issues) io.err(`${file}: ${issue}`);
    io.err(`${err.issues.length} problem${err.issues.length === 1 ? "" : "s"} in ${file}`);
    return 1;
  }
}

/** The file `set` writes: the one the other commands read, else `$PINCER_HOME/pincer.json`. */
export function configFileFor(io: CliIO, configPath: string | undefined): string {
  const explicit = configPath?.trim() || io.env.PINCER_CONFIG?.trim();
  if (explicit) return path.resolve(explicit);
  const home = resolveHome(io.env);
  for (const name of CONFIG_FILE_NAMES) {
    const f = path.join(home, name);
    if (fs.existsSync(f)) return f;
  }
  return path.join(home, "pincer.json");
}

const SECRET_KEY = /token|password|secret|apikey|api_key/i;

/** Secrets are not printed (OpenClaw redacts them the same way). */
function redact(value: unknown, key = ""): unknown {
  if (typeof value === "string" && SECRET_KEY.test(key) && !/^\$\{[A-Z0-9_]+\}$/i.test(value))
    return "__PINCER_REDACTED__";
  if (Array.isArray(value)) return value.map((v) => redact(v, key));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  return value;
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new CliError(`${file}: cannot read: ${(err as Error).message}`);
  }
}

export function configGet(io: CliIO, configPath: string | undefined, key: string, opts: { json?: boolean }): number {
  const file = configFileFor(io, configPath);
  const text = readText(file);
  let root: unknown = {};
  try {
    root = text === null || text.trim() === "" ? {} : JSON5.parse(text);
  } catch (err) {
    throw new CliError(`${file}: not valid JSON5: ${(err as Error).message}`);
  }
  try {
    // What the config says, `$include`d files too (set/unset edit this file only).
    root = resolveIncludes(root, file);
  } catch (err) {
    throw new CliError(`${file}: ${(err as Error).message}`);
  }
  const p = parseConfigPath(key);
  const value = getAt(root, p);
  if (value === undefined) {
    io.err(`Config path not found: ${key}`);
    return 1;
  }
  const shown = redact(value, String(p.at(-1)));
  io.out(typeof shown === "string" && !opts.json ? shown : JSON.stringify(shown, null, 2));
  return 0;
}

/** Validates the edited text as a config; refuses (nothing written) with every problem. */
function checkAndWrite(io: CliIO, file: string, next: string): number {
  let raw: unknown;
  try {
    raw = JSON5.parse(next);
  } catch (err) {
    throw new CliError(`${file}: the edit would not be valid JSON5 (${(err as Error).message}); nothing written`);
  }
  try {
    validateConfig(resolveIncludes(raw, file), file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw new CliError(`${file}: ${(err as Error).message}; nothing written`);
    for (const issue of err.issues) io.err(`${file}: ${issue}`);
    io.err(
      `not written: the config would be invalid (${err.issues.length} problem${err.issues.length === 1 ? "" : "s"})`,
    );
    return 1;
  }
  writeConfigFileAtomic(file, next);
  return 0;
}

export function configSet(
  io: CliIO,
  configPath: string | undefined,
  key: string,
  rawValue: string,
  opts: { strictJson?: boolean; json?: boolean },
): number {
  const file = configFileFor(io, configPath);
  const text = readText(file) ?? "";
  let next: string;
  try {
    next = setInText(text, parseConfigPath(key), parseCliValue(rawValue, opts.strictJson || opts.json));
  } catch (err) {
    if (err instanceof ConfigEditError) throw new CliError(`${file}: ${err.message}`);
    throw err;
  }
  const rc = checkAndWrite(io, file, next);
  if (rc === 0) io.out(`Updated ${key} in ${file}. Restart the gateway to apply.`);
  return rc;
}

export function configUnset(io: CliIO, configPath: string | undefined, key: string): number {
  const file = configFileFor(io, configPath);
  const text = readText(file);
  let next: string | null = null;
  try {
    next = text === null ? null : unsetInText(text, parseConfigPath(key));
  } catch (err) {
    if (err instanceof ConfigEditError) throw new CliError(`${file}: ${err.message}`);
    throw err;
  }
  if (next === null) {
    io.err(`Config path not found: ${key}`);
    return 1;
  }
  const rc = checkAndWrite(io, file, next);
  if (rc === 0) io.out(`Removed ${key} from ${file}. Restart the gateway to apply.`);
  return rc;
}

export function configFile(io: CliIO, configPath: string | undefined): number {
  io.out(configFileFor(io, configPath));
  return 0;
}
