/**
 * Real model providers through the Vercel AI SDK: Anthropic's Messages API, OpenAI's Chat
 * Completions, and any OpenAI-compatible server (Ollama, vLLM, llama.cpp) by base URL. Tools are
 * passed without `execute`: the SDK reports tool calls and Pincer's runner executes them.
 */
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { APICallError, jsonSchema, streamText, tool, type LanguageModel, type ToolSet } from "ai";
import type { AssistantMessage } from "../transcript/entries.ts";
import { mapFinishReason, mapUsage, toModelMessages } from "./convert.ts";
import {
  ContextOverflowError,
  ProviderError,
  type ModelEvent,
  type ModelProvider,
  type ModelRequest,
  type ToolSpec,
} from "./types.ts";

export type ProviderKind = "anthropic" | "openai" | "openai-compatible";

export interface AiSdkProviderOptions {
  name: string;
  kind: ProviderKind;
  baseURL?: string;
  apiKey?: string;
  headers?: Record<string, string>;
  models?: Array<{ id: string; contextWindow?: number }>;
}

const API_OF: Record<ProviderKind, string> = {
  anthropic: "anthropic-messages",
  openai: "openai-completions",
  "openai-compatible": "openai-completions",
};
const OVERFLOW =
  /context[ _-]?length|prompt is too long|maximum context|too many tokens|context[ _-]?window|context_length_exceeded/i;

function toolSet(specs: readonly ToolSpec[] | undefined): ToolSet | undefined {
  if (!specs || specs.length === 0) return undefined;
  const set: ToolSet = {};
  for (const s of specs) set[s.name] = tool({ description: s.description, inputSchema: jsonSchema(s.parameters) });
  return set;
}

/** Provider errors in Pincer's terms: an overflow the runner can recover from, or a plain failure. */
export function classifyError(err: unknown): Error {
  if (err instanceof ContextOverflowError || err instanceof ProviderError) return err;
  const call = APICallError.isInstance(err) ? err : null;
  const status = call?.statusCode;
  const text = `${err instanceof Error ? err.message : String(err)} ${call?.responseBody ?? ""}`;
  if ((status === 400 || status === 413 || status === undefined) && OVERFLOW.test(text))
    return new ContextOverflowError(err instanceof Error ? err.message : String(err), { cause: err });
  return new ProviderError(err instanceof Error ? err.message : String(err), status, { cause: err });
}

export function createAiSdkProvider(options: AiSdkProviderOptions): ModelProvider {
  let modelFor: (id: string) => LanguageModel;
  if (options.kind === "anthropic") {
    const p = createAnthropic({ baseURL: options.baseURL, apiKey: options.apiKey, headers: options.headers });
    modelFor = (id) => p(id);
  } else if (options.kind === "openai") {
    const p = createOpenAI({ baseURL: options.baseURL, apiKey: options.apiKey, headers: options.headers });
    // Chat Completions, the API OpenAI-compatible servers share.
    modelFor = (id) => p.chat(id);
  } else {
    if (!options.baseURL)
      throw new Error(`models.providers.${options.name}.baseUrl: required for an OpenAI-compatible provider`);
    const p = createOpenAICompatible({
      name: options.name,
      baseURL: options.baseURL,
      apiKey: options.apiKey,
      headers: options.headers,
      includeUsage: true,
    });
    modelFor = (id) => p.chatModel(id);
  }
  const windows = new Map((options.models ?? []).filter((m) => m.contextWindow).map((m) => [m.id, m.contextWindow!]));
  const api = API_OF[options.kind];

  return {
    name: options.name,
    api,
    offline: false,
    contextWindow: (model) => windows.get(model),
    async *stream(req: ModelRequest): AsyncIterable<ModelEvent> {
      let failure: unknown = null;
      const result = streamText({
        model: modelFor(req.model),
        messages: toModelMessages(req.messages, req.system),
        tools: toolSet(req.tools),
        maxRetries: 0,
        abortSignal: req.abortSignal,
        ...(req.maxOutputTokens ? { maxOutputTokens: req.maxOutputTokens } : {}),
        onError: ({ error }) => {
          failure ??= error;
        },
      });
      let text = "";
      const calls: Array<{ type: "toolCall"; id: string; name: string; arguments: unknown }> = [];
      let finishReason: string | undefined;
      let usage: Parameters<typeof mapUsage>[0];
      try {
        for await (const part of result.fullStream) {
          if (part.type === "text-delta") {
            text += part.text;
            yield { type: "text-delta", text: part.text };
          } else if (part.type === "tool-call") {
            calls.push({ type: "toolCall", id: part.toolCallId, name: part.toolName, arguments: part.input });
            yield { type: "tool-call", id: part.toolCallId, name: part.toolName, arguments: part.input };
          } else if (part.type === "finish-step") {
            usage = part.usage;
          } else if (part.type === "finish") {
            finishReason = part.finishReason;
            usage = part.totalUsage ?? usage;
          } else if (part.type === "error") {
            failure ??= part.error;
          }
        }
      } catch (err) {
        failure ??= err;
      }
      if (req.abortSignal?.aborted) throw new ProviderError("aborted");
      if (failure) throw classifyError(failure);
      const message: AssistantMessage = {
        role: "assistant",
        content: [...(text !== "" ? [{ type: "text" as const, text }] : []), ...calls],
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
