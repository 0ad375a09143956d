/**
 * The one interface the agent runner talks to for model calls. Adapters (the offline `echo`
 * provider, and Anthropic / OpenAI / OpenAI-compatible servers through the Vercel AI SDK) turn a
 * pi-format context into a stream of events and one final assistant message in pi format, so the
 * runner can write it to the transcript unchanged.
 */
import { PincerError } from "../errors.ts";
import type { AgentMessage, AssistantMessage } from "../transcript/entries.ts";
import type { ThinkLevel } from "./reasoning.ts";

/** A tool the model may call; `parameters` is a JSON Schema object. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ModelRequest {
  /** Model id inside the provider, e.g. "claude-sonnet-4-5" or "llama3.1:8b". */
  model: string;
  system?: string;
  /** The context in pi transcript format: user, assistant and toolResult messages. */
  messages: AgentMessage[];
  tools?: ToolSpec[];
  maxOutputTokens?: number;
  /** The session's thinking level (reasoning.ts maps it to the provider's parameters); unset or `off` = none. */
  thinking?: ThinkLevel;
  /** Why the call is made; the echo provider answers summaries and memory flushes differently. */
  purpose?: "turn" | "summary" | "memory-flush";
  abortSignal?: AbortSignal;
}

export type ModelEvent =
  | { type: "text-delta"; text: string }
  | { type: "tool-call"; id: string; name: string; arguments: unknown }
  /** Always the last event of a successful stream: the whole reply, ready for the transcript. */
  | { type: "finish"; message: AssistantMessage };

export interface ModelProvider {
  /** The configured provider name ("echo", "anthropic", "ollama", ...). */
  readonly name: string;
  /** The wire API written into transcript messages ("anthropic-messages", "openai-completions", ...). */
  readonly api: string;
  /** True for the built-in offline provider, so /status can label it. */
  readonly offline: boolean;
  /** The context window of a model when the config or catalog knows it. */
  contextWindow(model: string): number | undefined;
  stream(request: ModelRequest): AsyncIterable<ModelEvent>;
}

/** The provider said the prompt does not fit the model's context; the runner compacts and retries. */
export class ContextOverflowError extends PincerError {
  override readonly code = "context_overflow";
  override readonly httpStatus = 502;
}

/**
 * Any other provider failure, with the provider's HTTP status when there was one (`status`; ours is
 * 502). Retryable as the AI SDK judges an API call: a timeout, a conflict, a rate limit, a 5xx.
 */
export class ProviderError extends PincerError {
  override readonly code = "model_error";
  override readonly httpStatus = 502;
  override readonly retryable: boolean;
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
    this.retryable = status !== undefined && (status === 408 || status === 409 || status === 429 || status >= 500);
  }
}
