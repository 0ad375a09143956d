/**
 * Reading transcripts for people and UIs (as OpenClaw's `chat.history` does): messages in order, with a synthetic
 * system line where a compaction happened; other entry types are skipped.
 */
import type { TranscriptLine } from "../store/types.ts";

export interface HistoryItem {
  id: string | null;
  role: string;
  text: string;
  timestamp: string | null;
  kind: "message" | "compaction";
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part: unknown) => {
      const p = part as { type?: unknown; text?: unknown; name?: unknown };
      if (p?.type === "text" && typeof p.text === "string") return p.text;
      if (p?.type === "toolCall" && typeof p.name === "string") return `[tool call: ${p.name}]`;
      if (p?.type === "image") return "[image]";
      return "";
    })
    .filter(Boolean)
    .join("\n");
}

export function historyFromLines(lines: readonly TranscriptLine[]): HistoryItem[] {
  const out: HistoryItem[] = [];
  for (const line of lines) {
    const id = typeof line.id === "string" ? line.id : null;
    const timestamp = typeof line.timestamp === "string" ? line.timestamp : null;
    if (line.type === "compaction") {
      out.push({ id, role: "system", text: "Compaction", timestamp, kind: "compaction" });
      continue;
    }
    const message = line.message as { role?: unknown; content?: unknown } | undefined;
    if (!message || typeof message.role !== "string") continue;
    out.push({ id, role: message.role, text: textOf(message.content), timestamp, kind: "message" });
  }
  return out;
}
