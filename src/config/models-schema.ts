/**
 * `models.providers.<name>`: the model providers the gateway may call, in OpenClaw's shape (the
 * `openclaw.json` its own `onboard` writes loads unchanged). `api` takes OpenClaw's API names as
 * well as Pincer's three kinds; which of them Pincer can drive is the provider registry's
 * business (an API it cannot drive is reported at start, and its models fail over to the next
 * fallback). Catalogue metadata Pincer does not use (`cost`, `reasoning`, `input`, `compat`, ...)
 * is typed here so a typo is still an unknown key.
 */
import { z } from "zod";
import { openclawOnly } from "./values.ts";

/** OpenClaw 2026.3.13's model API names (`MODEL_APIS`). */
export const OPENCLAW_MODEL_APIS = [
  "openai-completions",
  "openai-responses",
  "openai-codex-responses",
  "anthropic-messages",
  "google-generative-ai",
  "github-copilot",
  "bedrock-converse-stream",
  "ollama",
] as const;
/** Pincer's own names, kept for configs written for Pincer. */
export const PINCER_MODEL_APIS = ["anthropic", "openai", "openai-compatible"] as const;
export const MODEL_APIS = [...PINCER_MODEL_APIS, ...OPENCLAW_MODEL_APIS] as const;
export type ModelApi = (typeof MODEL_APIS)[number];

/** A key, `${ENV_VAR}`, or OpenClaw's secret reference (`{ source: "env", provider, id }`). */
const secretInputSchema = z.union([
  z.string(),
  z.strictObject({
    source: z.enum(["env", "file", "exec"]),
    provider: z.string().min(1),
    id: z.string().min(1),
  }),
]);
export type SecretInput = z.infer<typeof secretInputSchema>;

const modelEntrySchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().optional(),
  api: z.enum(MODEL_APIS).optional(),
  contextWindow: z.number().positive().optional(),
  /** The most output tokens one call asks for (sent as the request's max tokens). */
  maxTokens: z.number().int().positive().optional(),
  reasoning: z.boolean().optional(),
  input: z.array(z.enum(["text", "image"])).optional(),
  cost: z
    .strictObject({
      input: z.number().optional(),
      output: z.number().optional(),
      cacheRead: z.number().optional(),
      cacheWrite: z.number().optional(),
    })
    .optional(),
  headers: z.record(z.string(), z.string()).optional(),
  ...openclawOnly("compat"),
});

export const providerSchema = z.strictObject({
  api: z.enum(MODEL_APIS).optional(),
  baseUrl: z
    .string()
    .regex(/^https?:\/\//, "an http(s) URL")
    .optional(),
  apiKey: secretInputSchema.optional(),
  headers: z.record(z.string(), z.string()).optional(),
  models: z.array(modelEntrySchema).optional(),
  /** `api-key` and `token` both send the key; `oauth` / `aws-sdk` need OpenClaw's auth profiles. */
  auth: z.enum(["api-key", "aws-sdk", "oauth", "token"]).optional(),
  ...openclawOnly("injectNumCtxForOpenAICompat", "authHeader"),
});

export const modelsSchema = z.strictObject({
  providers: z.record(z.string(), providerSchema).optional(),
  /** `merge` (default): providers implied by ANTHROPIC_API_KEY / OPENAI_API_KEY are added; `replace`: only these. */
  mode: z.enum(["merge", "replace"]).optional(),
  ...openclawOnly("bedrockDiscovery"),
});

export type ModelsConfig = z.infer<typeof modelsSchema>;
export type ProviderConfig = z.infer<typeof providerSchema>;
export type ModelEntryConfig = z.infer<typeof modelEntrySchema>;
