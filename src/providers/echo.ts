/**
 * The built-in offline model: answers `echo: <last user message>`, `NO_REPLY` to a memory flush,
 * and an extractive summary when asked to summarise, so the whole gateway (including compaction)
 * works on a machine with no network. Deterministic and cheap: it is the benchmark's model.
 */
import { emptyUsage, type AgentMessage, type AssistantMessage } from "../transcript/entries.ts";
import type { ModelEvent, ModelProvider, ModelRequest } from "./types.ts";

const SUMMARY_LIMIT = 4000;

function textOf(m: AgentMessage): string {
  if (m.role === "user" && typeof m.content === "string") return m.content;
  const parts: string[] = [];
  for (const b of m.content as Array<{ type: string; text?: string }>)
    if (b.type === "text" && typeof b.text === "string") parts.push(b.text);
  return parts.join(" ");
}

function summarise(messages: readonly AgentMessage[]): string {
  // The last message is the summariser's instruction, not conversation.
  const convo = messages.slice(0, -1).filter((m) => m.role === "user" || m.role === "assistant");
  const lines = [`Summary of ${convo.length} earlier messages:`];
  let size = lines[0]!.length;
  for (const m of convo) {
    const flat = textOf(m).replace(/\s+/g, " ").trim();
    if (flat === "") continue;
    const line = `- ${m.role}: ${flat.length > 200 ? `${flat.slice(0, 197)}...` : flat}`;
    if (size + line.length + 1 > SUMMARY_LIMIT) {
      lines.push("- ...");
      break;
    }
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join("\n");
}

export function createEchoProvider(): ModelProvider {
  return {
    name: "echo",
    api: "echo",
    offline: true,
    contextWindow: () => 200_000,
    async *stream(req: ModelRequest): AsyncIterable<ModelEvent> {
      let text: string;
      if (req.purpose === "memory-flush") text = "NO_REPLY";
      else if (req.purpose === "summary") text = summarise(req.messages);
      else {
        let last: AgentMessage | undefined;
        for (let i = req.messages.length - 1; i >= 0 && !last; i--)
          if (req.messages[i]!.role === "user") last = req.messages[i];
        text = `echo: ${last ? textOf(last) : ""}`;
      }
      let inputChars = 0;
      for (const m of req.messages) inputChars += textOf(m).length;
      const input = Math.ceil(inputChars / 4);
      const output = Math.ceil(text.length / 4);
      // Two deltas, so streaming paths are exercised even offline.
      const cut = Math.min(6, text.length);
      yield { type: "text-delta", text: text.slice(0, cut) };
      if (cut < text.length) yield { type: "text-delta", text: text.slice(cut) };
      const message: AssistantMessage = {
        role: "assistant",
        content: [{ type: "text", text }],
        api: "echo",
        provider: "echo",
        model: req.model,
        usage: { ...emptyUsage(), input, output, totalTokens: input + output },
        stopReason: "stop",
        timestamp: Date.now(),
      };
      yield { type: "finish", message };
    },
  };
}
