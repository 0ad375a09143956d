/**
 * Between Pincer's transcript messages (pi format) and the Vercel AI SDK's `ModelMessage`s, and
 * back from an SDK result to a pi assistant message ready for the transcript.
 */
import type { ModelMessage, ToolResultPart } from "ai";
import { emptyUsage, type AgentMessage, type AssistantMessage } from "../transcript/entries.ts";

export function toModelMessages(messages: readonly AgentMessage[], system?: string): ModelMessage[] {
  const out: ModelMessage[] = [];
  if (system) out.push({ role: "system", content: system });
  for (const m of messages) {
    if (m.role === "user") {
      if (typeof m.content === "string") out.push({ role: "user", content: m.content });
      else {
        out.push({
          role: "user",
          content: m.content.map((b) =>
            b.type === "text"
              ? { type: "text" as const, text: b.text }
              : { type: "image" as const, image: b.data, mediaType: b.mimeType },
          ),
        });
      }
    } else if (m.role === "assistant") {
      // Thinking blocks are the model's own scratchpad: not replayed.
      const parts: Array<
        { type: "text"; text: string } | { type: "tool-call"; toolCallId: string; toolName: string; input: unknown }
      > = [];
      for (const b of m.content) {
        if (b.type === "text" && b.text !== "") parts.push({ type: "text", text: b.text });
        else if (b.type === "toolCall")
          parts.push({ type: "tool-call", toolCallId: b.id, toolName: b.name, input: b.arguments ?? {} });
      }
      if (parts.length > 0) out.push({ role: "assistant", content: parts });
    } else {
      const text = m.content.map((b) => (b.type === "text" ? b.text : "[image]")).join("\n");
      const part: ToolResultPart = {
        type: "tool-result",
        toolCallId: m.toolCallId,
        toolName: m.toolName,
        output: m.isError ? { type: "error-text", value: text } : { type: "text", value: text },
      };
      const prev = out[out.length - 1];
      // Results of one assistant turn's several tool calls travel in one tool message.
      if (prev && prev.role === "tool") prev.content.push(part);
      else out.push({ role: "tool", content: [part] });
    }
  }
  return out;
}

export function mapFinishReason(reason: string | undefined, hasToolCalls: boolean): AssistantMessage["stopReason"] {
  if (reason === "tool-calls" || (hasToolCalls && reason !== "length")) return "toolUse";
  if (reason === "length") return "length";
  if (reason === "error") return "error";
  return "stop";
}

export interface SdkUsage {
  inputTokens?: number | undefined;
  outputTokens?: number | undefined;
  inputTokenDetails?: {
    noCacheTokens?: number | undefined;
    cacheReadTokens?: number | undefined;
    cacheWriteTokens?: number | undefined;
  };
}

/** pi's usage: `input` excludes cached tokens, `totalTokens` is the prompt plus the output. */
export function mapUsage(u: SdkUsage | undefined): AssistantMessage["usage"] {
  const usage = emptyUsage();
  if (!u) return usage;
  const cacheRead = u.inputTokenDetails?.cacheReadTokens ?? 0;
  const cacheWrite = u.inputTokenDetails?.cacheWriteTokens ?? 0;
  const input = u.inputTokenDetails?.noCacheTokens ?? Math.max(0, (u.inputTokens ?? 0) - cacheRead - cacheWrite);
  usage.input = input;
  usage.output = u.outputTokens ?? 0;
  usage.cacheRead = cacheRead;
  usage.cacheWrite = cacheWrite;
  usage.totalTokens = input + cacheRead + cacheWrite + usage.output;
  return usage;
}
