/**
 * Model providers from the config (`models.providers.<name>`) plus the built-in offline `echo`,
 * and the default model ref (`agents.defaults.model`, else `echo/echo`). A ref is
 * `provider/model`, split at the first `/` (model ids may contain more).
 */
import { createAiSdkProvider, type ProviderKind } from "./ai-sdk.ts";
import { createEchoProvider } from "./echo.ts";
import type { ModelProvider } from "./types.ts";
import type { AgentDefaultsConfig } from "../config/agents-schema.ts";
import type { ModelsConfig } from "../config/models-schema.ts";
import { expandEnvRefs } from "../util/env-refs.ts";

/** The config's `models` section and default model (checked at load: config/models-schema.ts). */
export interface ProviderRegistryConfig {
  models?: ModelsConfig;
  agents?: { defaults?: Pick<AgentDefaultsConfig, "model"> };
}

export interface ProviderRegistry {
  resolve(ref: string): { provider: ModelProvider; model: string };
  defaultRef(): string;
  has(name: string): boolean;
}

export const ECHO_REF = "echo/echo";

/** `"${VAR}"` reads VAR from the environment, so keys stay out of the config file. */
function secret(value: string | undefined, env: NodeJS.ProcessEnv, key: string): string | undefined {
  return value === undefined ? undefined : expandEnvRefs(value.trim(), env, key);
}

/** The config accepts OpenClaw's `api` names too; only these three can be driven here. */
function kindOf(name: string, api: string | undefined, key: string): ProviderKind {
  if (api === undefined) return name === "anthropic" ? "anthropic" : name === "openai" ? "openai" : "openai-compatible";
  if (api === "anthropic" || api === "openai" || api === "openai-compatible") return api;
  throw new Error(`${key}.api: got ${JSON.stringify(api)}, expected one of "anthropic", "openai", "openai-compatible"`);
}

function defaultRefOf(value: AgentDefaultsConfig["model"]): string | undefined {
  const ref = typeof value === "string" ? value : value?.primary;
  return ref !== undefined && ref.trim() !== "" ? ref.trim() : undefined;
}

export function createProviderRegistry(config: ProviderRegistryConfig, env: NodeJS.ProcessEnv): ProviderRegistry {
  const providers = new Map<string, ModelProvider>([["echo", createEchoProvider()]]);
  for (const [name, c] of Object.entries(config.models?.providers ?? {})) {
    const key = `models.providers.${name}`;
    const kind = kindOf(name, c.api, key);
    const apiKey =
      secret(c.apiKey, env, `${key}.apiKey`) ??
      (kind === "anthropic" ? env.ANTHROPIC_API_KEY : kind === "openai" ? env.OPENAI_API_KEY : undefined);
    providers.set(
      name,
      createAiSdkProvider({ name, kind, baseURL: c.baseUrl, apiKey, headers: c.headers, models: c.models }),
    );
  }
  const configuredDefault = defaultRefOf(config.agents?.defaults?.model);
  const registry: ProviderRegistry = {
    resolve(ref: string) {
      const slash = ref.indexOf("/");
      const name = slash < 0 ? ref : ref.slice(0, slash);
      const model = slash < 0 ? (name === "echo" ? "echo" : "") : ref.slice(slash + 1);
      const provider = providers.get(name);
      if (!provider)
        throw new Error(
          `unknown model provider "${name}" in "${ref}" (configured: ${[...providers.keys()].join(", ")})`,
        );
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
