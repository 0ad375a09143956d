/**
 * Real model providers through the Vercel AI SDK's provider packages: Anthropic's Messages API,
 * OpenAI's Chat Completions or Responses API (`responses`), and any OpenAI-compatible server
 * (Ollama, vLLM, llama.cpp) by base URL. Loaded on a provider's first call (lazy-ai-sdk.ts). Pincer calls a model's `doStream` (LanguageModelV3) itself instead of `streamText`: the
 * prompt is built once in the provider-level shape (convert.ts) and not re-validated per call,
 * no step machinery or stream tees run, and Pincer's runner executes the tool calls. One model
 * instance per model id lives as long as the provider, so its response schemas are built (and
 * compiled by zod on first use) once, not every turn.
 */
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { APICallError } from "ai";
import type { AssistantMessage } from "../transcript/entries.ts";
import { mapFinishReason, mapUsage, parseToolInput, toFunctionTools, toPrompt } from "./convert.ts";
import { createHttpFetch } from "./http-fetch.ts";
import { aiSdkApiOf } from "./lazy-ai-sdk.ts";
import { providerFailure } from "./failure.ts";
import { reasoningOptions } from "./reasoning.ts";
import type { CallOptions, ChatModel, ModelUsage, StreamPart } from "./sdk-types.ts";
import {
  ContextOverflowError,
  ProviderError,
  type ModelEvent,
  type ModelProvider,
  type ModelRequest,
} from "./types.ts";

export type ProviderKind = "anthropic" | "openai" | "openai-compatible";

export interface AiSdkProviderOptions {
  name: string;
  kind: ProviderKind;
  baseURL?: string;
  apiKey?: string;
  headers?: Record<string, string>;
  /** OpenAI's Responses API (`POST /responses`, OpenClaw's `openai-responses`) instead of Chat Completions. */
  responses?: boolean;
  /**
   * `reasoning: false` (OpenClaw's catalogue flag) keeps `/think` parameters off that model's requests;
   * `true` marks a Responses model as a reasoning one whatever its id (the SDK guesses from the id).
   */
  models?: Array<{ id: string; contextWindow?: number; reasoning?: boolean }>;
}

/** Model ids may come from a session's `/model`: the instances kept per provider are bounded. */
const MAX_CACHED_MODELS = 32;

/** Provider errors in Pincer's terms: an overflow the runner can recover from, or a plain failure. */
export function classifyError(err: unknown): Error {
  if (err instanceof ContextOverflowError || err instanceof ProviderError) return err;
  const call = APICallError.isInstance(err) ? err : null;
  return providerFailure(err instanceof Error ? err.message : String(err), call?.statusCode, call?.responseBody, err);
}

function modelFactory(options: AiSdkProviderOptions): (id: string) => ChatModel {
  const { fetch } = createHttpFetch();
  if (options.kind === "anthropic") {
    const p = createAnthropic({ baseURL: options.baseURL, apiKey: options.apiKey, headers: options.headers, fetch });
    return (id) => p(id);
  }
  if (options.kind === "openai") {
    const p = createOpenAI({ baseURL: options.baseURL, apiKey: options.apiKey, headers: options.headers, fetch });
    if (options.responses) return (id) => p.responses(id);
    // Chat Completions, the API OpenAI-compatible servers share.
    return (id) => p.chat(id);
  }
  if (!options.baseURL)
    throw new Error(`models.providers.${options.name}.baseUrl: required for an OpenAI-compatible provider`);
  const p = createOpenAICompatible({
    name: options.name,
    baseURL: options.baseURL,
    apiKey: options.apiKey,
    headers: options.headers,
    includeUsage: true,
    fetch,
  });
  return (id) => p.chatModel(id);
}

/** One instance per model id, least recently used dropped past the bound. */
function modelCache(create: (id: string) => ChatModel): (id: string) => ChatModel {
  const models = new Map<string, ChatModel>();
  return (id) => {
    let model = models.get(id);
    if (model) models.delete(id);
    else {
      model = create(id);
      if (models.size >= MAX_CACHED_MODELS) models.delete(models.keys().next().value!);
    }
    models.set(id, model);
    return model;
  };
}

type SharedProviderOptions = NonNullable<CallOptions["providerOptions"]>;

function anthropicMeta(meta: unknown): Record<string, unknown> | undefined {
  const a = (meta as { anthropic?: unknown } | undefined)?.anthropic;
  return a !== null && typeof a === "object" ? (a as Record<string, unknown>) : undefined;
}

export function createAiSdkProvider(options: AiSdkProviderOptions): ModelProvider {
  const modelFor = modelCache(modelFactory(options));
  const windows = new Map((options.models ?? []).filter((m) => m.contextWindow).map((m) => [m.id, m.contextWindow!]));
  const noReasoning = new Set((options.models ?? []).filter((m) => m.reasoning === false).map((m) => m.id));
  const reasoningModels = new Set((options.models ?? []).filter((m) => m.reasoning === true).map((m) => m.id));
  const api = aiSdkApiOf(options);
  // The OpenAI-compatible adapter reads its options under its name up to the first dot.
  const optionsKey = options.name.split(".")[0]!.trim();

  return {
    name: options.name,
    api,
    offline: false,
    contextWindow: (model) => windows.get(model),
    async *stream(req: ModelRequest): AsyncIterable<ModelEvent> {
      let failure: unknown = null;
      let text = "";
      const calls: Array<{ type: "toolCall"; id: string; name: string; arguments: unknown }> = [];
      // Reasoning blocks by stream id, in arrival order; Anthropic's signature comes as metadata.
      const thinking = new Map<string, Extract<AssistantMessage["content"][number], { type: "thinking" }>>();
      let finishReason: string | undefined;
      let usage: ModelUsage | undefined;
      let reader: ReadableStreamDefaultReader<StreamPart> | undefined;
      let finished = false;
      try {
        const tools = toFunctionTools(req.tools);
        const reasoning = noReasoning.has(req.model)
          ? undefined
          : reasoningOptions(options.kind, optionsKey, req.thinking, req.model);
        // As OpenClaw (pi-ai) sends Responses calls: nothing stored server-side (the whole context each
        // time), and with an effort a reasoning summary, which streams back as the thinking block.
        const effort = reasoning?.openai?.reasoningEffort;
        const providerOptions = options.responses
          ? {
              ...reasoning,
              openai: {
                ...reasoning?.openai,
                store: false,
                ...(effort !== undefined ? { reasoningSummary: "auto" } : {}),
                ...(effort !== undefined && reasoningModels.has(req.model) ? { forceReasoning: true } : {}),
              },
            }
          : reasoning;
        const { stream } = await modelFor(req.model).doStream({
          prompt: toPrompt(req.messages, req.system, { replayThinking: options.kind === "anthropic" }),
          ...(tools ? { tools, toolChoice: { type: "auto" as const } } : {}),
          ...(req.maxOutputTokens ? { maxOutputTokens: req.maxOutputTokens } : {}),
          ...(providerOptions ? { providerOptions: providerOptions as SharedProviderOptions } : {}),
          abortSignal: req.abortSignal,
        });
        reader = stream.getReader();
        for (;;) {
          const next = await reader.read();
          if (next.done) break;
          const part = next.value;
          if (part.type === "text-delta") {
            if (part.delta === "") continue;
            text += part.delta;
            yield { type: "text-delta", text: part.delta };
          } else if (
            part.type === "reasoning-start" ||
            part.type === "reasoning-delta" ||
            part.type === "reasoning-end"
          ) {
            let block = thinking.get(part.id);
            if (!block) {
              block = { type: "thinking", thinking: "" };
              thinking.set(part.id, block);
            }
            if (part.type === "reasoning-delta") block.thinking += part.delta;
            const meta = anthropicMeta(part.providerMetadata);
            if (typeof meta?.signature === "string") block.thinkingSignature = meta.signature;
            if (typeof meta?.redactedData === "string") {
              block.thinkingSignature = meta.redactedData;
              block.redacted = true;
            }
          } else if (part.type === "tool-call") {
            const input = parseToolInput(part.input);
            calls.push({ type: "toolCall", id: part.toolCallId, name: part.toolName, arguments: input });
            yield { type: "tool-call", id: part.toolCallId, name: part.toolName, arguments: input };
          } else if (part.type === "finish") {
            finishReason = part.finishReason.unified;
            usage = part.usage;
          } else if (part.type === "error") {
            failure ??= part.error;
          }
        }
        finished = true;
      } catch (err) {
        failure ??= err;
      } finally {
        // A consumer that stops early, or a failure mid-stream: close the response, free the socket.
        if (reader && !finished) reader.cancel().catch(() => {});
      }
      if (req.abortSignal?.aborted) throw new ProviderError("aborted");
      if (failure) throw classifyError(failure);
      const message: AssistantMessage = {
        role: "assistant",
        content: [
          ...[...thinking.values()].filter((b) => b.thinking !== "" || b.thinkingSignature !== undefined),
          ...(text !== "" ? [{ type: "text" as const, text }] : []),
          ...calls,
        ],
        api,
        provider: options.name,
        model: req.model,
        usage: mapUsage(usage),
        stopReason: mapFinishReason(finishReason, calls.length > 0),
        timestamp: Date.now(),
      };
      yield { type: "finish", message };
    },
  };
}
