/**
 * OpenClaw keeps the API keys its `onboard` was given in the agent's auth store
 * (`agents/<agentId>/agent/auth-profiles.json`: `{ version, profiles: { "anthropic:default":
 * { type: "api_key", provider: "anthropic", key } } }`), not in `openclaw.json`. Pincer reads the
 * `api_key` profiles of Anthropic and OpenAI from there as it reads `ANTHROPIC_API_KEY` /
 * `OPENAI_API_KEY`: the environment wins, then the default agent's store, then `main`'s. OAuth and
 * setup-token profiles are not usable here (`pincer doctor` says so).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { normalizeAgentId } from "../keys/ids.ts";

const ENV_OF: Record<string, string> = { anthropic: "ANTHROPIC_API_KEY", openai: "OPENAI_API_KEY" };

export interface AuthProfileKeys {
  /** Env-variable name → key, for the providers Pincer can drive. */
  keys: Record<string, string>;
  /** Profiles found that Pincer cannot use (`anthropic:claude-cli`: oauth), for doctor. */
  unusable: string[];
  file: string | null;
}

export function readAuthProfileKeys(home: string, agentId: string): AuthProfileKeys {
  const out: AuthProfileKeys = { keys: {}, unusable: [], file: null };
  for (const id of [...new Set([normalizeAgentId(agentId), "main"])]) {
    const file = path.join(home, "agents", id, "agent", "auth-profiles.json");
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
      continue;
    }
    const profiles = (parsed as { profiles?: unknown })?.profiles;
    if (!profiles || typeof profiles !== "object") continue;
    out.file ??= file;
    for (const [name, p] of Object.entries(profiles as Record<string, unknown>)) {
      const prof = (p ?? {}) as { type?: unknown; provider?: unknown; key?: unknown };
      const provider = typeof prof.provider === "string" ? prof.provider.toLowerCase() : "";
      const envName = ENV_OF[provider];
      if (prof.type === "api_key" && envName && typeof prof.key === "string" && prof.key.trim()) {
        out.keys[envName] ??= prof.key.trim();
      } else out.unusable.push(name);
    }
  }
  return out;
}

/** `env` with the auth store's keys filled in where the environment has none (for the provider registry only). */
export function envWithAuthProfiles(env: NodeJS.ProcessEnv, home: string, agentId: string): NodeJS.ProcessEnv {
  const { keys } = readAuthProfileKeys(home, agentId);
  const missing = Object.entries(keys).filter(([k]) => !env[k]?.trim());
  return missing.length === 0 ? env : { ...env, ...Object.fromEntries(missing) };
}
