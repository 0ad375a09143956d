/**
 * `models.providers.<name>`: the model providers the gateway may call. Provider and model entries
 * pass OpenClaw's other keys through (catalogue metadata, costs, compat flags) as they are; the
 * keys Pincer reads are typed. `api` is a free string here: the provider registry names the
 * kinds it can drive when it is built.
 */
import { z } from "zod";
import { openclawOnly } from "./values.ts";

const modelEntrySchema = z.looseObject({
  id: z.string().min(1),
  contextWindow: z.number().int().positive().optional(),
});

export const providerSchema = z.looseObject({
  api: z.string().optional(),
  baseUrl: z
    .string()
    .regex(/^https?:\/\//, "an http(s) URL")
    .optional(),
  /** A key, or `${ENV_VAR}`. */
  apiKey: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  models: z.array(modelEntrySchema).optional(),
});

export const modelsSchema = z.strictObject({
  providers: z.record(z.string(), providerSchema).optional(),
  ...openclawOnly("mode", "bedrockDiscovery"),
});

export type ModelsConfig = z.infer<typeof modelsSchema>;
export type ProviderConfig = z.infer<typeof providerSchema>;
