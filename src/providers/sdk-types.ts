/**
 * The AI SDK's provider-level types (LanguageModelV3 and its prompt, tools and stream parts),
 * derived from the `ai` package's own `LanguageModel` so Pincer depends on no further package:
 * the adapters call a model's `doStream` directly, below `streamText`.
 */
import type { LanguageModel } from "ai";

export type ChatModel = Extract<LanguageModel, { specificationVersion: "v3" }>;
export type CallOptions = Parameters<ChatModel["doStream"]>[0];
export type Prompt = CallOptions["prompt"];
export type PromptMessage = Prompt[number];
export type FunctionTool = Extract<NonNullable<CallOptions["tools"]>[number], { type: "function" }>;
export type StreamPart =
  Awaited<ReturnType<ChatModel["doStream"]>>["stream"] extends ReadableStream<infer P> ? P : never;
export type ToolResultPart = Extract<
  Extract<PromptMessage, { role: "tool" }>["content"][number],
  { type: "tool-result" }
>;
export type ModelUsage = Extract<StreamPart, { type: "finish" }>["usage"];
