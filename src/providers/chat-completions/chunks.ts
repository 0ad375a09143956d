/**
 * One Chat Completions stream, chunk by chunk: text and reasoning deltas, tool-call deltas, the
 * finish reason and usage, checked by hand (only the fields read here, each for its JSON type) in
 * place of the AI SDK's per-chunk zod schema. What it decides matches the AI SDK adapters: the
 * first failure (a malformed chunk, an error frame) is kept and the stream read on, so the turn
 * fails after the same events; an `openai` stream's error frame before any output carries the
 * HTTP status the frame implies; an OpenAI-compatible stream needs a finish reason.
 */
import { emptyUsage, type AssistantMessage } from "../../transcript/entries.ts";
import { ToolCallAssembler, type AssembledCall, type ToolCallDelta } from "./tool-calls.ts";

export type WireKind = "openai" | "openai-compatible";

/** A failure the provider reported, or found in its stream: turned into Pincer's errors by the client. */
export interface StreamFailure {
  message: string;
  status?: number;
  /** Text searched for a context-overflow hint besides the message (the frame, as the SDK keeps it). */
  detail?: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const nullish = (v: unknown): v is null | undefined => v === null || v === undefined;
const optString = (v: unknown) => nullish(v) || typeof v === "string";
const optNumber = (v: unknown) => nullish(v) || typeof v === "number";

function snippet(data: string): string {
  return data.length > 200 ? `${data.slice(0, 200)}…` : data;
}

/** The OpenAI SDK adapter's status for an error frame (its code or type), for a stream failing before output. */
function frameStatus(error: Json): number {
  const code = error.code;
  if (typeof code === "number" && Number.isInteger(code) && code >= 400 && code <= 599) return code;
  if (typeof code === "string" && /^\d{3}$/.test(code) && Number(code) >= 400 && Number(code) <= 599)
    return Number(code);
  const d = [code, error.type]
    .filter((v) => typeof v === "string" || typeof v === "number")
    .join(" ")
    .toLowerCase();
  if (d.includes("insufficient_quota") || d.includes("rate_limit")) return 429;
  if (d.includes("authentication")) return 401;
  if (d.includes("permission")) return 403;
  if (d.includes("not_found")) return 404;
  if (d.includes("invalid") || d.includes("bad_request") || d.includes("context_length")) return 400;
  if (d.includes("overload")) return 503;
  if (d.includes("timeout")) return 504;
  return 500;
}

/** Why a tool-call delta does not have the wire shape, or null. */
function badToolCall(t: unknown): string | null {
  if (!isObject(t)) return "a tool call is not an object";
  if (!optNumber(t.index)) return "tool_calls[].index is not a number";
  if (!optString(t.id)) return "tool_calls[].id is not a string";
  if (!optString(t.type)) return "tool_calls[].type is not a string";
  const f = t.function;
  if (!isObject(f)) return "tool_calls[].function is missing";
  if (!optString(f.name)) return "tool_calls[].function.name is not a string";
  if (!optString(f.arguments)) return "tool_calls[].function.arguments is not a string";
  return null;
}

function badUsage(u: unknown): string | null {
  if (nullish(u)) return null;
  if (!isObject(u)) return "usage is not an object";
  if (!optNumber(u.prompt_tokens) || !optNumber(u.completion_tokens)) return "usage token counts are not numbers";
  const p = u.prompt_tokens_details;
  if (!nullish(p) && (!isObject(p) || !optNumber(p.cached_tokens) || !optNumber(p.cache_write_tokens)))
    return "usage.prompt_tokens_details is malformed";
  return null;
}

/** Text (and, OpenAI-compatible, reasoning) in a delta's `content`: a string, or parts as some servers send. */
function contentParts(content: unknown, out: { text: string[]; reasoning: string[] }): string | null {
  if (nullish(content)) return null;
  if (typeof content === "string") {
    if (content !== "") out.text.push(content);
    return null;
  }
  if (!Array.isArray(content)) return "delta.content is neither a string nor an array";
  for (const part of content) {
    if (!isObject(part) || typeof part.type !== "string") return "a delta.content part has no type";
    if (part.type === "text" && typeof part.text === "string") {
      if (part.text !== "") out.text.push(part.text);
    } else if (part.type === "thinking" && Array.isArray(part.thinking)) {
      const r = (part.thinking as unknown[])
        .filter((c): c is { text: string } => isObject(c) && c.type === "text" && typeof c.text === "string")
        .map((c) => c.text)
        .join("");
      if (r !== "") out.reasoning.push(r);
    }
  }
  return null;
}

export class ChatStream {
  text = "";
  reasoning = "";
  failure: StreamFailure | undefined;
  private finishRaw: string | undefined;
  private usage: Json | undefined;
  private output = false;
  private readonly compat: boolean;
  private readonly calls: ToolCallAssembler;
  /** A failure that ends reading at once (the SDK's stream errors there): no tool calls come out. */
  fatal = false;

  private readonly provider: string;

  constructor(provider: string, kind: WireKind) {
    this.provider = provider;
    this.compat = kind === "openai-compatible";
    this.calls = new ToolCallAssembler({ bufferUntilNamed: this.compat, checkType: !this.compat });
  }

  private fail(f: StreamFailure): void {
    this.failure ??= f;
  }

  /** One event's data; `emit` hears the text deltas it carried, in order. */
  data(data: string, emit: (text: string) => void): void {
    if (this.fatal || data === "[DONE]") return;
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return this.fail({ message: `${this.provider}: malformed stream chunk (not JSON): ${snippet(data)}` });
    }
    if (!isObject(value))
      return this.fail({ message: `${this.provider}: malformed stream chunk (not an object): ${snippet(data)}` });
    // An error frame: `{ error: { message } }`, or any chunk that names an error beside its choices.
    if (
      "error" in value &&
      (Array.isArray(value.choices) || (isObject(value.error) && typeof value.error.message === "string"))
    ) {
      const e = value.error;
      const message =
        isObject(e) && typeof e.message === "string"
          ? e.message
          : this.compat
            ? `${this.provider}: the stream reported an error: ${snippet(data)}`
            : "OpenAI stream failed before any output was generated";
      // OpenAI's adapter throws a frame that comes before any output as an API error with a status.
      const status = !this.compat && !this.output && isObject(e) ? frameStatus(e) : undefined;
      this.fail({ message, ...(status !== undefined ? { status } : {}), detail: snippet(data) });
      this.finishRaw = undefined;
      // Before any output OpenAI's adapter stops reading there; later, and OpenAI-compatible, reading goes on.
      if (status !== undefined) this.fatal = true;
      return;
    }
    const bad = this.check(value);
    if (bad !== null)
      return this.fail({ message: `${this.provider}: malformed stream chunk (${bad}): ${snippet(data)}` });
    if (!nullish(value.usage)) this.usage = value.usage as Json;
    const choice = (value.choices as unknown[])[0] as Json | undefined;
    if (choice === undefined) return;
    if (typeof choice.finish_reason === "string") this.finishRaw = choice.finish_reason;
    const delta = choice.delta as Json | null | undefined;
    if (nullish(delta)) return;
    const parts = { text: [] as string[], reasoning: [] as string[] };
    if (this.compat) {
      const r = delta.reasoning_content ?? delta.reasoning;
      if (typeof r === "string" && r !== "") this.reasoning += r;
    }
    contentParts(delta.content, parts);
    if (this.compat) for (const r of parts.reasoning) this.reasoning += r;
    if (typeof delta.refusal === "string" && delta.refusal !== "") parts.text.push(delta.refusal);
    for (const t of parts.text) {
      this.output = true;
      this.text += t;
      emit(t);
    }
    const tools = delta.tool_calls as ToolCallDelta[] | null | undefined;
    if (tools && tools.length > 0) {
      this.output = true;
      for (const t of tools) {
        try {
          this.calls.push(t);
        } catch (err) {
          this.fail({ message: (err as Error).message });
          this.fatal = true;
          return;
        }
      }
    }
  }

  /** Why a chunk does not have the wire shape (only what is read), or null. */
  private check(value: Json): string | null {
    if (!Array.isArray(value.choices)) return "no choices array";
    const u = badUsage(value.usage);
    if (u) return u;
    const choice: unknown = value.choices[0];
    if (choice === undefined) return null;
    if (!isObject(choice)) return "a choice is not an object";
    if (!optString(choice.finish_reason)) return "finish_reason is not a string";
    const delta = choice.delta;
    if (nullish(delta)) return null;
    if (!isObject(delta)) return "delta is not an object";
    if (this.compat && (!optString(delta.reasoning_content) || !optString(delta.reasoning)))
      return "delta.reasoning_content is not a string";
    const c = delta.content;
    if (!nullish(c) && typeof c !== "string") {
      if (!Array.isArray(c)) return "delta.content is neither a string nor an array";
      for (const p of c) if (!isObject(p) || typeof p.type !== "string") return "a delta.content part has no type";
    }
    const t = delta.tool_calls;
    if (!nullish(t)) {
      if (!Array.isArray(t)) return "delta.tool_calls is not an array";
      for (const one of t) {
        const b = badToolCall(one);
        if (b) return b;
      }
    }
    return null;
  }

  /** The stream ended: its tool calls (unless reading stopped on a failure) and the reply. */
  end(): { calls: AssembledCall[]; finishRaw: string | undefined } {
    let calls: AssembledCall[] = [];
    if (!this.fatal)
      try {
        calls = this.calls.finish();
      } catch (err) {
        this.fail({ message: (err as Error).message });
        this.fatal = true;
      }
    if (this.compat && this.finishRaw === undefined)
      this.fail({ message: "Response stream ended without a finish reason." });
    return { calls, finishRaw: this.finishRaw };
  }

  /** pi usage from the last usage the stream reported (cached tokens are not input). */
  piUsage(): AssistantMessage["usage"] {
    const usage = emptyUsage();
    const u = this.usage;
    if (!u) return usage;
    const prompt = (u.prompt_tokens as number | null | undefined) ?? 0;
    const details = u.prompt_tokens_details as Json | null | undefined;
    const cacheRead = (details?.cached_tokens as number | null | undefined) ?? 0;
    const cacheWrite = this.compat ? 0 : ((details?.cache_write_tokens as number | null | undefined) ?? 0);
    usage.input = prompt - cacheRead - cacheWrite;
    usage.output = (u.completion_tokens as number | null | undefined) ?? 0;
    usage.cacheRead = cacheRead;
    usage.cacheWrite = cacheWrite;
    usage.totalTokens = usage.input + cacheRead + cacheWrite + usage.output;
    return usage;
  }
}
