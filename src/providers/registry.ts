/**
 * Model providers from the config (`models.providers.<name>`) plus the built-in offline `echo`,
 * and the default model ref (`agents.defaults.model`, else `echo/echo`). A ref is
 * `provider/model`, split at the first `/` (model ids may contain more).
 */
import { createAiSdkProvider, type ProviderKind } from "./ai-sdk.ts";
import { createEchoProvider } from "./echo.ts";
import type { ModelProvider } from "./types.ts";
import { expandEnvRefs } from "../util/env-refs.ts";

export interface ProviderRegistryConfig {
  models?: { providers?: Record<string, unknown> };
  agents?: { defaults?: { model?: unknown } };
}

export interface ProviderRegistry {
  resolve(ref: string): { provider: ModelProvider; model: string };
  defaultRef(): string;
  has(name: string): boolean;
}

export const ECHO_REF = "echo/echo";

/** `"${VAR}"` reads VAR from the environment, so keys stay out of the config file. */
function secret(value: unknown, env: NodeJS.ProcessEnv, key: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new Error(`${key}: got ${JSON.stringify(value)}, expected a string or "\${ENV_VAR}"`);
  return expandEnvRefs(value.trim(), env, key);
}

function kindOf(name: string, api: unknown, key: string): ProviderKind {
  if (api === undefined) return name === "anthropic" ? "anthropic" : name === "openai" ? "openai" : "openai-compatible";
  if (api === "anthropic" || api === "openai" || api === "openai-compatible") return api;
  throw new Error(`${key}.api: got ${JSON.stringify(api)}, expected one of "anthropic", "openai", "openai-compatible"`);
}

function defaultRefOf(value: unknown): string | undefined {
  if (typeof value === "string" && value.trim() !== "") return value.trim();
  const primary = (value as { primary?: unknown } | undefined)?.primary;
  return typeof primary === "string" && primary.trim() !== "" ? primary.trim() : undefined;
}

export function createProviderRegistry(config: ProviderRegistryConfig, env: NodeJS.ProcessEnv): ProviderRegistry {
  const providers = new Map<string, ModelProvider>([["echo", createEchoProvider()]]);
  for (const [name, raw] of Object.entries(config.models?.providers ?? {})) {
    const key = `models.providers.${name}`;
    if (!raw || typeof raw !== "object") throw new Error(`${key}: got ${JSON.stringify(raw)}, expected an object`);
    const c = raw as { api?: unknown; baseUrl?: unknown; apiKey?: unknown; headers?: unknown; models?: unknown };
    const kind = kindOf(name, c.api, key);
    if (c.baseUrl !== undefined && (typeof c.baseUrl !== "string" || !/^https?:\/\//.test(c.baseUrl))) throw new Error(`${key}.baseUrl: got ${JSON.stringify(c.baseUrl)}, expected an http(s) URL`);
    const apiKey = secret(c.apiKey, env, `${key}.apiKey`) ?? (kind === "anthropic" ? env.ANTHROPIC_API_KEY : kind === "openai" ? env.OPENAI_API_KEY : undefined);
    const models = Array.isArray(c.models) ? (c.models as Array<{ id: string; contextWindow?: number }>) : undefined;
    providers.set(name, createAiSdkProvider({ name, kind, baseURL: c.baseUrl as string | undefined, apiKey, headers: c.headers as Record<string, string> | undefined, models }));
  }
  const configuredDefault = defaultRefOf(config.agents?.defaults?.model);
  const registry: ProviderRegistry = {
    resolve(ref: string) {
      const slash = ref.indexOf("/");
      const name = slash < 0 ? ref : ref.slice(0, slash);
      const model = slash < 0 ? (name === "echo" ? "echo" : "") : ref.slice(slash + 1);
      const provider = providers.get(name);
      if (!provider) throw new Error(`unknown model provider "${name}" in "${ref}" (configured: ${[...providers.keys()].join(", ")})`);
      if (model === "") throw new Error(`model ref "${ref}": expected provider/model`);
      return { provider, model };
    },
    defaultRef: () => configuredDefault ?? ECHO_REF,
    has: (name) => providers.has(name),
  };
  if (configuredDefault) {
    try {
      registry.resolve(configuredDefault);
    } catch (err) {
      throw new Error(`agents.defaults.model: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return registry;
}
