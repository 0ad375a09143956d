/**
 * Pincer's own client for the OpenAI Chat Completions wire format (OpenAI's `openai-completions`
 * API and every OpenAI-compatible server): one node:http request per call over a keep-alive agent,
 * the body written from cached per-message JSON (request.ts), the server-sent events read off
 * the socket's Buffers (sse.ts) and each chunk checked by hand (chunks.ts), straight into Pincer's
 * ModelEvents. It replaces the AI SDK's response path for these APIs (a zod parse per chunk, four
 * web TransformStreams, undici-style Response objects: most of a model turn's gateway CPU) and
 * behaves as the AI SDK adapter does: same request, same events and transcript message, same error
 * classes and messages (ai-sdk.ts stays selectable: `PINCER_MODEL_CLIENT=ai-sdk`).
 */
import * as http from "node:http";
import * as https from "node:https";
import { PINCER_VERSION } from "../../version.ts";
import type { AiSdkProviderOptions } from "../ai-sdk.ts";
import { mapFinishReason, parseToolInput } from "../convert.ts";
import { providerFailure } from "../failure.ts";
import { reasoningEffort } from "../reasoning.ts";
import type { AssistantMessage } from "../../transcript/entries.ts";
import { ProviderError, type ModelEvent, type ModelProvider, type ModelRequest } from "../types.ts";
import { ChatStream, type StreamFailure, type WireKind } from "./chunks.ts";
import { requestBody } from "./request.ts";
import { SseReader } from "./sse.ts";

/** A silent server does not hold a call forever (undici's default body and headers timeouts). */
const IDLE_TIMEOUT_MS = 300_000;
/** An error body is read up to this size (enough for any provider's error JSON). */
const MAX_ERROR_BODY = 1 << 20;

export interface ChatCompletionsOptions extends Omit<AiSdkProviderOptions, "kind"> {
  kind: WireKind;
}

/** The AI SDK's message for an error response: the body's `error.message`, else the status text. */
function errorMessage(body: string, statusText: string): string {
  if (body.trim() === "") return statusText;
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown; code?: unknown; type?: unknown } };
    const e = parsed?.error;
    const codeOk = e?.code === undefined || e.code === null || ["string", "number"].includes(typeof e.code);
    const typeOk = e?.type === undefined || e.type === null || typeof e.type === "string";
    if (typeof e?.message === "string" && codeOk && typeOk) return e.message;
  } catch {
    // not JSON: the status text
  }
  return statusText;
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    res.on("data", (c: Buffer) => {
      if (size < MAX_ERROR_BODY) parts.push(c);
      size += c.length;
    });
    res.once("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    res.once("error", () => resolve(Buffer.concat(parts).toString("utf8")));
  });
}

function headersOf(options: ChatCompletionsOptions, apiKey: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  for (const [k, v] of Object.entries(options.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
  headers["user-agent"] = [headers["user-agent"], `pincer/${PINCER_VERSION}`].filter(Boolean).join(" ");
  return headers;
}

export function createChatCompletionsProvider(options: ChatCompletionsOptions): ModelProvider {
  const compat = options.kind === "openai-compatible";
  if (compat && !options.baseURL)
    throw new Error(`models.providers.${options.name}.baseUrl: required for an OpenAI-compatible provider`);
  // As the AI SDK's OpenAI provider: OPENAI_BASE_URL and OPENAI_API_KEY when the config sets none.
  const base = (options.baseURL ?? process.env.OPENAI_BASE_URL ?? "https://api.openai.com/v1").replace(/\/$/, "");
  const url = new URL(`${base}/chat/completions`);
  const apiKey = compat ? options.apiKey : (options.apiKey ?? process.env.OPENAI_API_KEY);
  const headers = headersOf(options, apiKey);
  const transport = url.protocol === "https:" ? https : http;
  const agent = url.protocol === "https:" ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const windows = new Map((options.models ?? []).filter((m) => m.contextWindow).map((m) => [m.id, m.contextWindow!]));
  const noReasoning = new Set((options.models ?? []).filter((m) => m.reasoning === false).map((m) => m.id));
  const api = "openai-completions";

  /** Resolves with the response once its headers are in; rejects (Pincer's errors) before that. */
  function send(body: Buffer, signal: AbortSignal | undefined): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new ProviderError("aborted"));
      const req = transport.request(
        url,
        {
          method: "POST",
          headers: { ...headers, "content-length": String(body.length) },
          agent,
          ...(signal ? { signal } : {}),
        },
        resolve,
      );
      req.setTimeout(IDLE_TIMEOUT_MS, () =>
        req.destroy(new Error(`no data from ${url.origin} for ${IDLE_TIMEOUT_MS} ms`)),
      );
      req.on("error", (err) => {
        if (signal?.aborted) reject(new ProviderError("aborted"));
        else reject(new ProviderError(`Cannot connect to API: ${err.message}`, undefined, { cause: err }));
      });
      req.end(body);
    });
  }

  const fromStream = (f: StreamFailure) => providerFailure(f.message, f.status, f.detail);

  return {
    name: options.name,
    api,
    offline: false,
    contextWindow: (model) => windows.get(model),
    async *stream(req: ModelRequest): AsyncIterable<ModelEvent> {
      if (!compat && !apiKey)
        throw new ProviderError(
          "OpenAI API key is missing. Pass it using the 'apiKey' parameter or the OPENAI_API_KEY environment variable.",
        );
      let body: Buffer;
      try {
        const effort =
          req.thinking === undefined || noReasoning.has(req.model)
            ? undefined
            : reasoningEffort(req.thinking, req.model);
        body = requestBody(options.kind, {
          model: req.model,
          ...(req.system !== undefined ? { system: req.system } : {}),
          messages: req.messages,
          ...(req.tools ? { tools: req.tools } : {}),
          ...(req.maxOutputTokens ? { maxOutputTokens: req.maxOutputTokens } : {}),
          ...(effort !== undefined ? { reasoningEffort: effort } : {}),
        });
      } catch (err) {
        throw new ProviderError(err instanceof Error ? err.message : String(err), undefined, { cause: err });
      }
      const res = await send(body, req.abortSignal);
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        const text = await readAll(res);
        if (req.abortSignal?.aborted) throw new ProviderError("aborted");
        throw providerFailure(errorMessage(text, res.statusMessage ?? ""), status, text);
      }
      const chat = new ChatStream(options.name, options.kind);
      let deltas: string[] = [];
      const sse = new SseReader((data) => chat.data(data, (t) => deltas.push(t)));
      let readError: unknown;
      let done = false;
      try {
        for await (const chunk of res as AsyncIterable<Buffer>) {
          sse.push(chunk);
          if (deltas.length > 0) {
            const out = deltas;
            deltas = [];
            for (const text of out) yield { type: "text-delta", text };
          }
          if (chat.fatal) break;
        }
        done = true;
      } catch (err) {
        readError = err;
      } finally {
        // A consumer that stops early, a failure mid-stream, or a fatal chunk: close the response.
        if (!done || chat.fatal) res.destroy();
      }
      if (req.abortSignal?.aborted) throw new ProviderError("aborted");
      if (readError !== undefined) {
        const cause = readError instanceof Error ? readError.message : String(readError);
        throw new ProviderError(`Failed to process successful response (${cause})`, status, { cause: readError });
      }
      const { calls, finishRaw } = chat.end();
      const toolCalls: Array<{ type: "toolCall"; id: string; name: string; arguments: unknown }> = [];
      for (const c of calls) {
        const input = parseToolInput(c.arguments);
        toolCalls.push({ type: "toolCall", id: c.id, name: c.name, arguments: input });
        yield { type: "tool-call", id: c.id, name: c.name, arguments: input };
      }
      if (chat.failure) throw fromStream(chat.failure);
      const unified =
        finishRaw === "tool_calls" || finishRaw === "function_call"
          ? "tool-calls"
          : finishRaw === "length"
            ? "length"
            : "stop";
      const message: AssistantMessage = {
        role: "assistant",
        content: [
          ...(chat.reasoning !== "" ? [{ type: "thinking" as const, thinking: chat.reasoning }] : []),
          ...(chat.text !== "" ? [{ type: "text" as const, text: chat.text }] : []),
          ...toolCalls,
        ],
        api,
        provider: options.name,
        model: req.model,
        usage: chat.piUsage(),
        stopReason: mapFinishReason(unified, toolCalls.length > 0),
        timestamp: Date.now(),
      };
      yield { type: "finish", message };
    },
  };
}
