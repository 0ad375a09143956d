/**
 * Model providers from the config (`models.providers.<name>`, OpenClaw's shape), the ones the
 * standard environment keys imply (`ANTHROPIC_API_KEY` → `anthropic`, `OPENAI_API_KEY` →
 * `openai`, unless `models.mode` is `replace`), the built-in offline `echo`, model aliases
 * (`agents.defaults.models.<ref>.alias`) and the default model with its fallbacks
 * (`agents.defaults.model`, else `echo/echo`). A ref is `provider/model`, split at the first `/`
 * (model ids may contain more); a bare name is an alias, a provider (`echo`), or an Anthropic
 * model, as in OpenClaw.
 */
import type { AiSdkProviderOptions, ProviderKind } from "./ai-sdk.ts";
import { createChatCompletionsProvider } from "./chat-completions/provider.ts";
import { createEchoProvider } from "./echo.ts";
import { withFallbacks, type ChainLink } from "./fallback.ts";
import { createLazyAiSdkProvider } from "./lazy-ai-sdk.ts";
import { ProviderError, type ModelProvider } from "./types.ts";
import type { AgentDefaultsConfig, AgentEntryConfig } from "../config/agents-schema.ts";
import type { ModelApi, ModelEntryConfig, ModelsConfig, ProviderConfig, SecretInput } from "../config/models-schema.ts";
import { expandEnvRefs } from "../util/env-refs.ts";

/**
 * The config's `models` section and default model (checked at load: config/models-schema.ts). A
 * provider's `api` is a plain string here so a config built in code is checked too.
 */
export interface ProviderRegistryConfig {
  models?: Omit<ModelsConfig, "providers"> & {
    providers?: Record<string, Omit<ProviderConfig, "api"> & { api?: string }>;
  };
  agents?: {
    defaults?: Pick<AgentDefaultsConfig, "model" | "models">;
    list?: ReadonlyArray<Pick<AgentEntryConfig, "id" | "model">>;
  };
}

export interface ProviderRegistry {
  /**
   * The provider for a ref; with the configured fallbacks behind it when the ref has any. With an
   * agent id, that agent's own `model.fallbacks` (when it sets the key) are the chain for any ref it runs.
   */
  resolve(ref: string, agentId?: string): { provider: ModelProvider; model: string };
  defaultRef(): string;
  has(name: string): boolean;
  /** Providers or keys configured in a way Pincer cannot use (logged at gateway start). */
  readonly warnings: readonly string[];
  /** Called when a turn moves to the next model of its chain (the gateway logs it). */
  onFallback?: (from: string, to: string, err: unknown) => void;
}

export const ECHO_REF = "echo/echo";
/** OpenClaw's provider for a bare model name. */
const DEFAULT_PROVIDER = "anthropic";
const MAX_CHAINS = 64;

/**
 * What Pincer drives each API with (null: it cannot). Typed by the schema's API names, so an API
 * added there must be placed here.
 */
const DRIVERS: Record<ModelApi, (name: string, baseUrl: string | undefined) => ProviderKind | null> = {
  anthropic: () => "anthropic",
  "anthropic-messages": () => "anthropic",
  openai: () => "openai",
  "openai-compatible": () => "openai-compatible",
  "openai-completions": (name, baseUrl) => (baseUrl && name !== "openai" ? "openai-compatible" : "openai"),
  // The AI SDK's Responses model (`POST <baseUrl>/responses`), as OpenClaw sends it.
  "openai-responses": () => "openai",
  // Ollama serves the OpenAI wire under /v1 beside its native API.
  ollama: () => "openai-compatible",
  "openai-codex-responses": () => null,
  "google-generative-ai": () => null,
  "github-copilot": () => null,
  "bedrock-converse-stream": () => null,
};

function kindOf(name: string, api: ModelApi | undefined, baseUrl: string | undefined): ProviderKind | { no: string } {
  if (api === undefined)
    return name === "anthropic" ? "anthropic" : name === "openai" || !baseUrl ? "openai" : "openai-compatible";
  return DRIVERS[api](name, baseUrl) ?? { no: `api "${api}" is not supported by Pincer` };
}

function ollamaBase(baseUrl: string | undefined): string {
  const base = (baseUrl ?? "http://127.0.0.1:11434").replace(/\/+$/, "");
  return base.endsWith("/v1") ? base : `${base}/v1`;
}

/** `"${VAR}"` or OpenClaw's `{ source: "env", id }` read the environment, so keys stay out of the file. */
function secret(value: SecretInput | undefined, env: NodeJS.ProcessEnv, key: string, warn: (w: string) => void) {
  if (value === undefined) return undefined;
  if (typeof value === "string") return expandEnvRefs(value.trim(), env, key);
  if (value.source === "env") {
    const v = env[value.id]?.trim();
    if (!v) throw new Error(`${key}: environment variable ${value.id} is not set`);
    return v;
  }
  warn(`${key}: a "${value.source}" secret reference is not supported by Pincer (use a "\${VAR}" or an env reference)`);
  return undefined;
}

/**
 * Chat Completions (OpenAI and OpenAI-compatible) through Pincer's own client; Anthropic and OpenAI's
 * Responses API through the AI SDK (loaded on the first call); `PINCER_MODEL_CLIENT=ai-sdk` sends
 * Chat Completions through the AI SDK too (to compare, or to turn the fast path off).
 */
function createDriver(options: AiSdkProviderOptions, env: NodeJS.ProcessEnv): ModelProvider {
  if (options.kind === "anthropic" || options.responses || env.PINCER_MODEL_CLIENT?.trim() === "ai-sdk")
    return createLazyAiSdkProvider(options);
  return createChatCompletionsProvider({ ...options, kind: options.kind });
}

/** A provider Pincer cannot call: each call fails at once, so a fallback takes over. */
function unavailable(name: string, reason: string): ModelProvider {
  return {
    name,
    api: "unsupported",
    offline: false,
    contextWindow: () => undefined,
    // eslint-disable-next-line require-yield
    async *stream() {
      throw new ProviderError(`model provider "${name}": ${reason}`);
    },
  };
}

/** Sends a model's configured `maxTokens` when the caller set no limit of its own. */
function withMaxTokens(provider: ModelProvider, models: readonly ModelEntryConfig[]): ModelProvider {
  const limits = new Map(models.filter((m) => m.maxTokens).map((m) => [m.id, m.maxTokens!]));
  if (limits.size === 0) return provider;
  return {
    ...provider,
    contextWindow: (m) => provider.contextWindow(m),
    stream: (req) =>
      provider.stream(
        req.maxOutputTokens || !limits.has(req.model) ? req : { ...req, maxOutputTokens: limits.get(req.model) },
      ),
  };
}

/** One configured provider; models with their own `api` get their own adapter. */
function buildProvider(
  name: string,
  c: Omit<ProviderConfig, "api"> & { api?: string },
  env: NodeJS.ProcessEnv,
  warn: (w: string) => void,
): ModelProvider {
  const key = `models.providers.${name}`;
  const models = c.models ?? [];
  if (c.api !== undefined && !Object.hasOwn(DRIVERS, c.api))
    throw new Error(
      `${key}.api: got ${JSON.stringify(c.api)}, expected one of ${Object.keys(DRIVERS)
        .map((a) => JSON.stringify(a))
        .join(", ")}`,
    );
  const api = c.api as ModelApi | undefined;
  if (c.auth === "oauth" || c.auth === "aws-sdk") {
    warn(`${key}.auth: "${c.auth}" is not supported by Pincer (its models fail over to the next fallback)`);
    return unavailable(name, `auth "${c.auth}" is not supported by Pincer`);
  }
  const apiKey = secret(c.apiKey, env, `${key}.apiKey`, warn);
  const drivers = new Map<string, ModelProvider>();
  const driverFor = (api: ModelApi | undefined, where: string): ModelProvider => {
    const id = api ?? "";
    let d = drivers.get(id);
    if (d) return d;
    const kind = kindOf(name, api, c.baseUrl);
    if (typeof kind === "object") {
      warn(`${where}.api: ${kind.no} (its models fail over to the next fallback)`);
      d = unavailable(name, kind.no);
    } else {
      const baseURL = api === "ollama" ? ollamaBase(c.baseUrl) : c.baseUrl;
      const implied = kind === "anthropic" ? env.ANTHROPIC_API_KEY : kind === "openai" ? env.OPENAI_API_KEY : undefined;
      d = createDriver(
        {
          name,
          kind,
          baseURL,
          apiKey: apiKey ?? implied,
          headers: c.headers,
          ...(api === "openai-responses" ? { responses: true } : {}),
          models: models.map((m) => ({
            id: m.id,
            ...(m.contextWindow ? { contextWindow: m.contextWindow } : {}),
            ...(m.reasoning !== undefined ? { reasoning: m.reasoning } : {}),
          })),
        },
        env,
      );
    }
    drivers.set(id, d);
    return d;
  };
  const base = driverFor(api, key);
  const byModel = new Map<string, ModelProvider>();
  models.forEach((m, i) => {
    if (m.api && m.api !== api) byModel.set(m.id, driverFor(m.api, `${key}.models[${i}]`));
  });
  const provider: ModelProvider =
    byModel.size === 0
      ? base
      : {
          ...base,
          contextWindow: (m) => (byModel.get(m) ?? base).contextWindow(m),
          stream: (req) => (byModel.get(req.model) ?? base).stream(req),
        };
  return withMaxTokens(provider, models);
}

function primaryOf(value: AgentDefaultsConfig["model"]): string | undefined {
  const ref = typeof value === "string" ? value : value?.primary;
  return ref !== undefined && ref.trim() !== "" ? ref.trim() : undefined;
}

export function createProviderRegistry(config: ProviderRegistryConfig, env: NodeJS.ProcessEnv): ProviderRegistry {
  const warnings: string[] = [];
  const warn = (w: string) => warnings.push(w);
  const providers = new Map<string, ModelProvider>([["echo", createEchoProvider()]]);
  for (const [name, c] of Object.entries(config.models?.providers ?? {}))
    providers.set(name, buildProvider(name, c, env, warn));
  // Providers the standard keys imply, as OpenClaw's built-in catalogue has them.
  if (config.models?.mode !== "replace") {
    const implied: Array<[string, ProviderKind, string | undefined, string | undefined]> = [
      ["anthropic", "anthropic", env.ANTHROPIC_API_KEY, env.ANTHROPIC_BASE_URL],
      ["openai", "openai", env.OPENAI_API_KEY, env.OPENAI_BASE_URL],
    ];
    for (const [name, kind, apiKey, baseURL] of implied)
      if (!providers.has(name) && apiKey?.trim())
        providers.set(
          name,
          createDriver(
            {
              name,
              kind,
              apiKey: apiKey.trim(),
              ...(baseURL?.trim() ? { baseURL: baseURL.trim() } : {}),
            },
            env,
          ),
        );
  }

  const aliases = new Map<string, string>();
  for (const [ref, entry] of Object.entries(config.agents?.defaults?.models ?? {}))
    if (entry.alias) aliases.set(entry.alias.trim().toLowerCase(), ref.trim());

  /** `provider/model` for a ref or an alias (no provider looked up yet). */
  const normalise = (raw: string): { name: string; model: string; ref: string } => {
    const trimmed = raw.trim();
    const ref = aliases.get(trimmed.toLowerCase()) ?? trimmed;
    const slash = ref.indexOf("/");
    if (slash >= 0) return { name: ref.slice(0, slash), model: ref.slice(slash + 1), ref };
    if (providers.has(ref)) return { name: ref, model: ref === "echo" ? "echo" : "", ref };
    return { name: DEFAULT_PROVIDER, model: ref, ref: `${DEFAULT_PROVIDER}/${ref}` };
  };
  const link = (raw: string): ChainLink & { ref: string } => {
    const { name, model, ref } = normalise(raw);
    const provider = providers.get(name);
    if (!provider) {
      const hint =
        name === "anthropic"
          ? " (set ANTHROPIC_API_KEY, or configure models.providers.anthropic)"
          : name === "openai"
            ? " (set OPENAI_API_KEY, or configure models.providers.openai)"
            : "";
      throw new Error(
        `unknown model provider "${name}" in "${raw}"${hint} (configured: ${[...providers.keys()].join(", ")})`,
      );
    }
    if (model === "") throw new Error(`model ref "${raw}": expected provider/model`);
    return { provider, model, ref };
  };

  const modelCfg = config.agents?.defaults?.model;
  const primaryRaw = primaryOf(modelCfg);
  let primary: (ChainLink & { ref: string }) | undefined;
  // The configured default must resolve: a gateway that cannot name its model does not start.
  try {
    primary = primaryRaw ? link(primaryRaw) : undefined;
  } catch (err) {
    throw new Error(`agents.defaults.model: ${err instanceof Error ? err.message : String(err)}`);
  }
  const fallbacks = (typeof modelCfg === "object" ? (modelCfg.fallbacks ?? []) : [])
    .map((f) => f.trim())
    .filter(Boolean);
  const fallbackLinks: Array<ChainLink & { ref: string }> = [];
  fallbacks.forEach((f, i) => {
    try {
      fallbackLinks.push(link(f));
    } catch (err) {
      warn(`agents.defaults.model.fallbacks[${i}]: ${err instanceof Error ? err.message : String(err)} (skipped)`);
    }
  });

  // An agent's own `model.fallbacks` (OpenClaw's fallbacksOverride, set whenever the key is, with or
  // without a primary): its fallbacks replace the defaults' for every ref that agent runs, and the
  // defaults' primary is not appended. A call that names no agent finds them by the agent's explicit
  // primary (the first agent naming it wins).
  const overrides = new Map<string, Array<ChainLink & { ref: string }>>();
  const agentOverrides = new Map<string, Array<ChainLink & { ref: string }>>();
  for (const [i, agent] of (config.agents?.list ?? []).entries()) {
    const m = agent.model;
    if (typeof m !== "object" || m.fallbacks === undefined) continue;
    const links: Array<ChainLink & { ref: string }> = [];
    m.fallbacks.forEach((f, j) => {
      try {
        if (f.trim()) links.push(link(f));
      } catch (err) {
        warn(`agents.list[${i}].model.fallbacks[${j}]: ${err instanceof Error ? err.message : String(err)} (skipped)`);
      }
    });
    const id = agent.id.toLowerCase();
    if (!agentOverrides.has(id)) agentOverrides.set(id, links);
    if (!m.primary?.trim()) continue;
    try {
      const ref = normalise(m.primary).ref;
      if (!overrides.has(ref)) overrides.set(ref, links);
    } catch {
      // The agent's primary itself is checked where the agent's model is resolved.
    }
  }

  /** OpenClaw's candidates: the ref, the fallbacks (when the ref is the default's provider or one of them), the default. */
  const chainOf = (first: ChainLink & { ref: string }, agentId: string | undefined): ChainLink[] => {
    const out: Array<ChainLink & { ref: string }> = [first];
    const add = (l: ChainLink & { ref: string }) => {
      if (!out.some((o) => o.ref === l.ref)) out.push(l);
    };
    const own = agentId !== undefined ? agentOverrides.get(agentId.toLowerCase()) : overrides.get(first.ref);
    if (own) {
      own.forEach(add);
      return out;
    }
    const related =
      !primary || first.provider.name === primary.provider.name || fallbackLinks.some((f) => f.ref === first.ref);
    if (related) fallbackLinks.forEach(add);
    if (primary) add(primary);
    return out;
  };

  const chains = new Map<string, { provider: ModelProvider; model: string }>();
  const registry: ProviderRegistry = {
    warnings,
    resolve(ref: string, agentId?: string) {
      const key = agentId === undefined ? ref : `${agentId.toLowerCase()}\0${ref}`;
      const cached = chains.get(key);
      if (cached) return cached;
      const first = link(ref);
      const chain = chainOf(first, agentId);
      const resolved = {
        provider:
          chain.length === 1 ? first.provider : withFallbacks(chain, (a, b, e) => registry.onFallback?.(a, b, e)),
        model: first.model,
      };
      if (chains.size >= MAX_CHAINS) chains.delete(chains.keys().next().value!);
      chains.set(key, resolved);
      return resolved;
    },
    defaultRef: () => primary?.ref ?? ECHO_REF,
    has: (name) => providers.has(name),
  };
  return registry;
}
