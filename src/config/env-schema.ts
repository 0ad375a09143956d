/**
 * `env`: variables the config supplies to the process (`env.vars.<NAME>` or `env.<NAME>`), as
 * OpenClaw applies them: never over a variable the environment already has, never one that could
 * change how programs run (`NODE_OPTIONS`, `LD_*`, `HOME`, ...), never a value that is itself a
 * `${VAR}` reference. Applied once at load (load.ts), before anything reads a key from the env.
 */
import { z } from "zod";
import { openclawOnly } from "./values.ts";

export const envSchema = z
  .object({
    vars: z.record(z.string(), z.string()).optional(),
    ...openclawOnly("shellEnv"),
  })
  .catchall(z.string());

export type EnvConfig = z.infer<typeof envSchema>;

const PORTABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
// OpenClaw's host-env-security-policy.json (blockedKeys + blockedOverrideKeys, and their prefixes).
const BLOCKED = new Set([
  "NODE_OPTIONS",
  "NODE_PATH",
  "PYTHONHOME",
  "PYTHONPATH",
  "PERL5LIB",
  "PERL5OPT",
  "RUBYLIB",
  "RUBYOPT",
  "BASH_ENV",
  "ENV",
  "GIT_EXTERNAL_DIFF",
  "GIT_EXEC_PATH",
  "SHELL",
  "SHELLOPTS",
  "PS4",
  "GCONV_PATH",
  "IFS",
  "SSLKEYLOGFILE",
  "HOME",
  "ZDOTDIR",
  "GIT_SSH_COMMAND",
  "GIT_SSH",
  "GIT_PROXY_COMMAND",
  "GIT_ASKPASS",
  "SSH_ASKPASS",
  "LESSOPEN",
  "LESSCLOSE",
  "PAGER",
  "MANPAGER",
  "GIT_PAGER",
  "EDITOR",
  "VISUAL",
  "FCEDIT",
  "SUDO_EDITOR",
  "PROMPT_COMMAND",
  "HISTFILE",
  "PERL5DB",
  "PERL5DBCMD",
  "OPENSSL_CONF",
  "OPENSSL_ENGINES",
  "PYTHONSTARTUP",
  "WGETRC",
  "CURL_HOME",
]);
const BLOCKED_PREFIXES = ["DYLD_", "LD_", "BASH_FUNC_", "GIT_CONFIG_", "NPM_CONFIG_"];

function blocked(key: string): boolean {
  const upper = key.toUpperCase();
  return BLOCKED.has(upper) || BLOCKED_PREFIXES.some((p) => upper.startsWith(p));
}

/** The variables `env` would set (vars first, then the top-level strings), already filtered. */
export function configEnvEntries(env: EnvConfig | undefined): Array<[string, string]> {
  if (!env) return [];
  const out = new Map<string, string>();
  const take = (rawKey: string, value: unknown) => {
    const key = rawKey.trim();
    if (typeof value !== "string" || !value.trim() || !PORTABLE.test(key) || blocked(key)) return;
    out.set(key, value);
  };
  for (const [k, v] of Object.entries(env.vars ?? {})) take(k, v);
  for (const [k, v] of Object.entries(env)) if (k !== "vars" && k !== "shellEnv") take(k, v);
  return [...out];
}

/** Sets each config variable the environment lacks; returns the names set. */
export function applyConfigEnv(env: EnvConfig | undefined, target: NodeJS.ProcessEnv): string[] {
  const set: string[] = [];
  for (const [key, value] of configEnvEntries(env)) {
    if (target[key]?.trim() || /\$\{[^}]*\}/.test(value)) continue;
    target[key] = value;
    set.push(key);
  }
  return set;
}
