/**
 * An AI SDK provider whose modules (`ai`, `@ai-sdk/*`, and the OpenTelemetry API `ai` pulls in)
 * load on its first model call, not when the registry is built: every CLI listing and `pincer
 * status` builds the registry to show the default model, and loading the SDK cost them ~70 ms of
 * CPU and 11–20 MB. Name, API and context windows are known from the options alone.
 */
import type { AiSdkProviderOptions } from "./ai-sdk.ts";
import type { ModelEvent, ModelProvider, ModelRequest } from "./types.ts";

/** The wire API written into transcript messages (as ai-sdk.ts writes it). */
export function aiSdkApiOf(options: Pick<AiSdkProviderOptions, "kind" | "responses">): string {
  if (options.kind === "anthropic") return "anthropic-messages";
  return options.responses ? "openai-responses" : "openai-completions";
}

export function createLazyAiSdkProvider(options: AiSdkProviderOptions): ModelProvider {
  // What creating the provider checks, checked now: a config error still fails at load.
  if (options.kind === "openai-compatible" && !options.baseURL)
    throw new Error(`models.providers.${options.name}.baseUrl: required for an OpenAI-compatible provider`);
  const windows = new Map((options.models ?? []).filter((m) => m.contextWindow).map((m) => [m.id, m.contextWindow!]));
  let real: Promise<ModelProvider> | undefined;
  return {
    name: options.name,
    api: aiSdkApiOf(options),
    offline: false,
    contextWindow: (model) => windows.get(model),
    async *stream(req: ModelRequest): AsyncIterable<ModelEvent> {
      real ??= import("./ai-sdk.ts").then((m) => m.createAiSdkProvider(options));
      yield* (await real).stream(req);
    },
  };
}
