/**
 * Finding, reading and validating the config. A bad value fails with one line per problem:
 * `<key path>: got <value>, expected <what>`. A key neither Pincer nor OpenClaw knows is one of
 * those problems too (with the closest known key, when it looks like a typo of one); every problem
 * in the file is reported at once.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import JSON5 from "json5";
import type { z } from "zod";
import { PincerError } from "../errors.ts";
import { validateIdentityLinks } from "../keys/routing.ts";
import { applyConfigEnv, envSchema } from "./env-schema.ts";
import { substituteEnvRefs } from "./env-subst.ts";
import { resolveIncludes } from "./includes.ts";
import { closestKey, knownKeysAt } from "./known-keys.ts";
import { migrateLegacyKeys } from "./legacy.ts";
import { configSchema, type PincerConfig } from "./schema.ts";
import { unsupportedKeys, unsupportedNotice } from "./unsupported.ts";

export class ConfigError extends PincerError {
  override readonly code = "config_invalid";
  readonly issues: string[];
  readonly file: string | null;
  constructor(file: string | null, issues: string[]) {
    super(`${file ?? "config"}: invalid config\n${issues.map((i) => `  ${i}`).join("\n")}`);
    this.file = file;
    this.issues = issues;
  }
}

export interface LoadedConfig {
  config: PincerConfig;
  /** The file read, or null when running on built-in defaults. */
  path: string | null;
  home: string;
  /** Deprecated keys read under their new name, and the like: shown by every command. */
  warnings: string[];
  /** OpenClaw keys Pincer ignores, one line each: logged at gateway start, listed by validate/doctor. */
  notices: string[];
}

const notesOf = new WeakMap<object, { warnings: string[]; notices: string[] }>();

/** What loading said about a config object (for a gateway started on it): nothing for one built in code. */
export function configNotes(config: PincerConfig): { warnings: string[]; notices: string[] } {
  return notesOf.get(config) ?? { warnings: [], notices: [] };
}

const fileOf = new WeakMap<object, string>();

/** The file `loadConfig` read this config from; null for built-in defaults or a config built in code. */
export function configFileOf(config: PincerConfig): string | null {
  return fileOf.get(config) ?? null;
}

/** Where a home's config is looked for, in order: Pincer's, OpenClaw's, OpenClaw's older names. */
export const CONFIG_FILE_NAMES = ["pincer.json", "openclaw.json", "clawdbot.json", "moldbot.json", "moltbot.json"];

export function resolveHome(env: NodeJS.ProcessEnv = process.env): string {
  const raw = env.PINCER_HOME?.trim();
  if (!raw) return path.join(os.homedir(), ".pincer");
  return path.resolve(raw.startsWith("~") ? path.join(os.homedir(), raw.slice(1)) : raw);
}

function pickConfigFile(
  configPath: string | undefined,
  env: NodeJS.ProcessEnv,
  home: string,
): { file: string | null; explicit: boolean } {
  const explicit = configPath?.trim() || env.PINCER_CONFIG?.trim();
  if (explicit) return { file: path.resolve(explicit), explicit: true };
  for (const name of CONFIG_FILE_NAMES) {
    const candidate = path.join(home, name);
    if (fs.existsSync(candidate)) return { file: candidate, explicit: false };
  }
  return { file: null, explicit: false };
}

type PathKey = string | number | symbol;

function keyPath(p: readonly PathKey[]): string {
  let out = "";
  for (const k of p) out += typeof k === "number" ? `[${k}]` : out ? `.${String(k)}` : String(k);
  return out || "(root)";
}

function valueAt(root: unknown, p: readonly PathKey[]): unknown {
  let cur = root;
  for (const k of p) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PathKey, unknown>)[k as string];
  }
  return cur;
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function expectation(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_value":
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_type":
      return issue.expected === "int"
        ? "an integer"
        : /^[aeiou]/.test(issue.expected)
          ? `an ${issue.expected}`
          : `a ${issue.expected}`;
    case "too_small":
      return `${issue.origin === "array" || issue.origin === "string" ? "length " : ""}${issue.inclusive ? ">=" : ">"} ${String(issue.minimum)}`;
    case "too_big":
      return `${issue.origin === "array" || issue.origin === "string" ? "length " : ""}${issue.inclusive ? "<=" : "<"} ${String(issue.maximum)}`;
    case "invalid_union":
      return "a value of one of the accepted forms (see the docs for this key)";
    case "invalid_format":
      return issue.message.replace(/^Invalid string: must match pattern /, "a string matching ");
    default:
      return issue.message;
  }
}

function deleteAt(root: unknown, p: readonly PathKey[], key: string): void {
  const parent = valueAt(root, p);
  if (parent && typeof parent === "object") delete (parent as Record<string, unknown>)[key];
}

function unknownKeyProblem(input: unknown, parent: readonly PathKey[], key: string): string {
  const where = parent.length > 0 ? keyPath(parent) : "the top level";
  const near = closestKey(key, knownKeysAt(configSchema, parent));
  const expected = near
    ? `a key ${where} knows: did you mean ${JSON.stringify(near)}?`
    : `a key ${where} knows (neither Pincer nor OpenClaw has this one)`;
  return `${keyPath([...parent, key])}: got ${show(valueAt(input, [...parent, key]))}, expected ${expected}`;
}

/** Validates a parsed config object; returns the config and warnings, or throws ConfigError naming every problem. */
export function validateConfig(
  raw: unknown,
  file: string | null,
): { config: PincerConfig; warnings: string[]; notices: string[] } {
  const warnings: string[] = [];
  const problems: string[] = [];
  const input = structuredClone(raw ?? {});
  migrateLegacyKeys(input, warnings);
  const notices = unsupportedKeys(configSchema, input).map(unsupportedNotice);
  for (let round = 0; round < 50; round++) {
    const result = configSchema.safeParse(input);
    const unknownKeys = result.success ? [] : result.error.issues.filter((i) => i.code === "unrecognized_keys");
    if (unknownKeys.length === 0) {
      if (!result.success)
        problems.push(
          ...result.error.issues.map(
            (i) => `${keyPath(i.path)}: got ${show(valueAt(input, i.path))}, expected ${expectation(i)}`,
          ),
        );
      if (problems.length > 0 || !result.success) throw new ConfigError(file, problems);
      const config = finish(result.data, file, warnings);
      notesOf.set(config, { warnings, notices });
      return { config, warnings, notices };
    }
    // Unknown keys are reported and left out, so the rest can still be checked.
    for (const issue of unknownKeys) {
      for (const key of issue.code === "unrecognized_keys" ? issue.keys : []) {
        problems.push(unknownKeyProblem(input, issue.path, key));
        deleteAt(input, issue.path, key);
      }
    }
  }
  throw new ConfigError(file, [...problems, "(root): too many unknown keys"]);
}

function finish(config: PincerConfig, file: string | null, warnings: string[]): PincerConfig {
  const problems: string[] = [];
  const session = config.session;
  if (session?.identityLinks)
    for (const p of validateIdentityLinks(session.identityLinks)) problems.push(`session.identityLinks: ${p}`);
  const seen = new Map<string, number>();
  (config.agents?.list ?? []).forEach((a, i) => {
    const id = a.id.toLowerCase();
    if (seen.has(id))
      problems.push(
        `agents.list[${i}].id: got ${JSON.stringify(a.id)}, expected an id not already used by agents.list[${seen.get(id)}]`,
      );
    else seen.set(id, i);
  });
  if ((config.agents?.list ?? []).filter((a) => a.default).length > 1)
    warnings.push("agents.list: more than one agent has default: true; the first one is used");
  for (const [i, rule] of (session?.sendPolicy?.rules ?? []).entries()) {
    if (rule.match?.provider !== undefined) {
      warnings.push(`session.sendPolicy.rules[${i}].match.provider is deprecated; read as match.channel`);
      rule.match.channel ??= rule.match.provider;
      delete rule.match.provider;
    }
  }
  if (problems.length) throw new ConfigError(file, problems);
  return config;
}

export function loadConfig(options: { configPath?: string; env?: NodeJS.ProcessEnv } = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const home = resolveHome(env);
  const { file, explicit } = pickConfigFile(options.configPath, env, home);
  if (!file) return { config: {}, path: null, home, warnings: [], notices: [] };
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !explicit) return { config: {}, path: null, home, warnings: [], notices: [] };
    throw new ConfigError(file, [
      code === "ENOENT" ? "the config file does not exist" : `cannot read the config file: ${(err as Error).message}`,
    ]);
  }
  let raw: unknown;
  try {
    raw = text.trim() === "" ? {} : JSON5.parse(text);
  } catch (err) {
    const e = err as { lineNumber?: number; columnNumber?: number; message: string };
    throw new ConfigError(file, [
      `not valid JSON5 at line ${e.lineNumber ?? "?"}, column ${e.columnNumber ?? "?"}: ${e.message.replace(/^JSON5: /, "")}`,
    ]);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    throw new ConfigError(file, [`(root): got ${show(raw)}, expected an object`]);
  // As OpenClaw does: `$include`s first, then the config's `env` fills in what the environment lacks, then `${VAR}` is
  // resolved in every string, before the values are checked and anything reads a key.
  try {
    raw = resolveIncludes(raw, file);
  } catch (err) {
    throw new ConfigError(file, [(err as Error).message]);
  }
  const envBlock = envSchema.safeParse((raw as Record<string, unknown>).env);
  if (envBlock.success) applyConfigEnv(envBlock.data, env);
  const missing: string[] = [];
  const resolved = substituteEnvRefs(raw, env, (name, at, dropped) =>
    missing.push(
      dropped
        ? `${at}: environment variable ${name} is not set (left unset: a secret cannot be the reference itself)`
        : `${at}: environment variable ${name} is not set (kept as "\${${name}}")`,
    ),
  );
  const { config, warnings, notices } = validateConfig(resolved, file);
  warnings.push(...missing);
  // The gateway writes the Control UI's cron enable/disable back here and audits this file.
  fileOf.set(config, file);
  return { config, path: file, home, warnings, notices };
}
