/**
 * Between Pincer's transcript messages (pi format) and the AI SDK's provider-level prompt
 * (LanguageModelV3), and back from a model's stream to a pi assistant message. The prompt is built
 * here, once, in the shape the provider adapters take: `streamText` would re-validate the whole
 * history against its zod schemas and convert it again on every call. A message object converts
 * once: a turn that hands the next turn the same message objects reuses their converted form.
 */
import { emptyUsage, type AgentMessage, type AssistantMessage, type ToolResultMessage } from "../transcript/entries.ts";
import type { FunctionTool, ModelUsage, Prompt, PromptMessage, ToolResultPart } from "./sdk-types.ts";
import type { ToolSpec } from "./types.ts";

/** Converted forms by message object: transcript messages are not changed once written. */
const converted = new WeakMap<AgentMessage, PromptMessage | ToolResultPart | null>();
const convertedTools = new WeakMap<ToolSpec, FunctionTool>();

function convertMessage(m: AgentMessage): PromptMessage | ToolResultPart | null {
  if (m.role === "user") {
    if (typeof m.content === "string") return { role: "user", content: [{ type: "text", text: m.content }] };
    return {
      role: "user",
      content: m.content
        .filter((b) => b.type !== "text" || b.text !== "")
        .map((b) =>
          b.type === "text"
            ? { type: "text" as const, text: b.text }
            : { type: "file" as const, data: b.data, mediaType: b.mimeType },
        ),
    };
  }
  if (m.role === "assistant") {
    // Only signed (Anthropic) thinking is replayed: with thinking on, Anthropic refuses a tool-use
    // turn whose thinking block is missing. Other providers never see it (toPrompt drops it).
    const parts: AssistantPart[] = [];
    for (const b of m.content) {
      if (b.type === "thinking" && b.thinkingSignature !== undefined)
        parts.push({
          type: "reasoning",
          text: b.redacted ? "" : b.thinking,
          providerOptions: {
            anthropic: b.redacted ? { redactedData: b.thinkingSignature } : { signature: b.thinkingSignature },
          },
        });
      else if (b.type === "text" && b.text !== "") parts.push({ type: "text", text: b.text });
      else if (b.type === "toolCall")
        parts.push({ type: "tool-call", toolCallId: b.id, toolName: b.name, input: b.arguments ?? {} });
    }
    return parts.some((p) => p.type !== "reasoning") ? { role: "assistant", content: parts } : null;
  }
  return toolResultPart(m);
}

function toolResultPart(m: ToolResultMessage): ToolResultPart {
  const text = m.content.map((b) => (b.type === "text" ? b.text : "[image]")).join("\n");
  return {
    type: "tool-result",
    toolCallId: m.toolCallId,
    toolName: m.toolName,
    output: m.isError ? { type: "error-text", value: text } : { type: "text", value: text },
  };
}

function convertedOf(m: AgentMessage): PromptMessage | ToolResultPart | null {
  let c = converted.get(m);
  if (c === undefined) {
    c = convertMessage(m);
    converted.set(m, c);
  }
  return c;
}

/**
 * The prompt for one call. Results of one assistant turn's several tool calls travel in one tool
 * message. A tool call left without its result before the next user message is refused here, as
 * `streamText` did, rather than sent to a provider that would reject it.
 */
export function toPrompt(
  messages: readonly AgentMessage[],
  system?: string,
  options: { replayThinking?: boolean } = {},
): Prompt {
  const out: Prompt = [];
  if (system) out.push({ role: "system", content: system });
  let open: Set<string> | null = null;
  let toolMessage: { role: "tool"; content: ToolResultPart[] } | null = null;
  for (const m of messages) {
    const c = convertedOf(m);
    if (c === null) continue;
    if (!("role" in c)) {
      if (!toolMessage) {
        toolMessage = { role: "tool", content: [] };
        out.push(toolMessage);
      }
      toolMessage.content.push(c);
      open?.delete(c.toolCallId);
      continue;
    }
    toolMessage = null;
    if (c.role === "user" && open !== null && open.size > 0) throw missingResults(open);
    if (c.role === "assistant")
      for (const part of c.content) if (part.type === "tool-call") (open ??= new Set()).add(part.toolCallId);
    out.push(c.role === "assistant" && !options.replayThinking ? withoutReasoning(c) : c);
  }
  if (open !== null && open.size > 0) throw missingResults(open);
  return out;
}

type AssistantPart = Extract<PromptMessage, { role: "assistant" }>["content"][number];

/** The message itself when it has no reasoning part (the common case: no copy). */
function withoutReasoning(m: Extract<PromptMessage, { role: "assistant" }>): PromptMessage {
  return m.content.some((p) => p.type === "reasoning")
    ? { ...m, content: m.content.filter((p) => p.type !== "reasoning") }
    : m;
}

function missingResults(ids: Set<string>): Error {
  return new Error(
    `Tool result${ids.size > 1 ? "s are" : " is"} missing for tool call${ids.size > 1 ? "s" : ""} ${[...ids].join(", ")}.`,
  );
}

/** Tool specs are long-lived registry objects: each converts once. */
export function toFunctionTools(specs: readonly ToolSpec[] | undefined): FunctionTool[] | undefined {
  if (!specs || specs.length === 0) return undefined;
  return specs.map((s) => {
    let t = convertedTools.get(s);
    if (!t) {
      t = { type: "function", name: s.name, description: s.description, inputSchema: s.parameters };
      convertedTools.set(s, t);
    }
    return t;
  });
}

/**
 * A tool call's arguments as the model sent them (JSON text): `{}` for none; the raw text when it
 * is not JSON, or when it names `__proto__` / `constructor.prototype` (as the SDK's secure parse
 * refuses them), so the tool sees the failure and the model can correct itself.
 */
export function parseToolInput(text: string): unknown {
  if (text.trim() === "") return {};
  let unsafe = false;
  try {
    const value: unknown = JSON.parse(text, (key, v: unknown) => {
      if (key === "__proto__" || (key === "constructor" && v !== null && typeof v === "object" && "prototype" in v))
        unsafe = true;
      return v;
    });
    return unsafe ? text : value;
  } catch {
    return text;
  }
}

export function mapFinishReason(reason: string | undefined, hasToolCalls: boolean): AssistantMessage["stopReason"] {
  if (reason === "tool-calls" || (hasToolCalls && reason !== "length")) return "toolUse";
  if (reason === "length") return "length";
  if (reason === "error") return "error";
  return "stop";
}

/** pi's usage: `input` excludes cached tokens, `totalTokens` is the prompt plus the output. */
export function mapUsage(u: ModelUsage | undefined): AssistantMessage["usage"] {
  const usage = emptyUsage();
  if (!u) return usage;
  const cacheRead = u.inputTokens.cacheRead ?? 0;
  const cacheWrite = u.inputTokens.cacheWrite ?? 0;
  const input = u.inputTokens.noCache ?? Math.max(0, (u.inputTokens.total ?? 0) - cacheRead - cacheWrite);
  usage.input = input;
  usage.output = u.outputTokens.total ?? 0;
  usage.cacheRead = cacheRead;
  usage.cacheWrite = cacheWrite;
  usage.totalTokens = input + cacheRead + cacheWrite + usage.output;
  return usage;
}
