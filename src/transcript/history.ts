/**
 * Reading transcripts for people and UIs (as OpenClaw's `chat.history` does): messages in order, with a synthetic
 * system line where a compaction happened; other entry types are skipped, and so are acknowledged heartbeats.
 */
import type { TranscriptLine } from "../store/types.ts";

export interface HistoryItem {
  id: string | null;
  role: string;
  text: string;
  timestamp: string | null;
  kind: "message" | "compaction";
  senderName?: string;
  senderId?: string;
  channel?: string;
  toolCalls?: Array<{ id: string; name: string; args: string }>;
  toolCallId?: string;
  toolName?: string;
  isError?: boolean;
  stopReason?: string;
  /** Images and files carried in the message (the UI shows them by name and size). */
  attachments?: Array<{ name: string; mimeType: string; bytes: number }>;
}

const MAX_ARGS_CHARS = 4000;
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** What a UI shows beside the text: sender and channel, tool calls and results, a cut-short reply. */
function detailsOf(line: TranscriptLine, message: Record<string, unknown>): Partial<HistoryItem> {
  const out: Partial<HistoryItem> = {};
  if (Array.isArray(message.content)) {
    const files = (message.content as Array<Record<string, unknown>>).filter(
      (b) => b?.type === "image" && typeof b.data === "string",
    );
    if (files.length > 0)
      out.attachments = files.map((b, i) => {
        const mimeType = typeof b.mimeType === "string" ? b.mimeType : "application/octet-stream";
        const data = b.data as string;
        const ext = mimeType.split("/")[1]?.replace(/[^a-z0-9]/gi, "") || "bin";
        return {
          name: typeof b.name === "string" ? b.name : `image-${i + 1}.${ext}`,
          mimeType,
          // Base64 → bytes, without decoding.
          bytes: Math.floor((data.length * 3) / 4) - (data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0),
        };
      });
  }
  if (message.role === "user") {
    const meta = (line.pincer ?? {}) as Record<string, unknown>;
    if (str(meta.senderName)) out.senderName = str(meta.senderName);
    if (str(meta.senderId)) out.senderId = str(meta.senderId);
    if (str(meta.channel)) out.channel = str(meta.channel);
  } else if (message.role === "assistant") {
    const calls = Array.isArray(message.content)
      ? (message.content as Array<Record<string, unknown>>).filter((b) => b?.type === "toolCall")
      : [];
    if (calls.length > 0)
      out.toolCalls = calls.map((c) => {
        const args = JSON.stringify(c.arguments ?? {}) ?? "{}";
        return {
          id: String(c.id ?? ""),
          name: String(c.name ?? "tool"),
          args: args.length > MAX_ARGS_CHARS ? `${args.slice(0, MAX_ARGS_CHARS)}…` : args,
        };
      });
    if (str(message.stopReason) && message.stopReason !== "stop" && message.stopReason !== "toolUse")
      out.stopReason = str(message.stopReason);
  } else if (message.role === "toolResult") {
    if (str(message.toolCallId)) out.toolCallId = str(message.toolCallId);
    if (str(message.toolName)) out.toolName = str(message.toolName);
    if (message.isError === true) out.isError = true;
  }
  return out;
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

/**
 * The lines without acknowledged heartbeats. OpenClaw truncates a HEARTBEAT_OK run back out of the
 * transcript; Pincer keeps it on disk (the reply tagged `pincer.heartbeat: "ack"`, every line of the
 * run `pincer.after` its prompt) and leaves the prompt and the run out of what people and agents read.
 */
export function withoutAckedHeartbeats(lines: readonly TranscriptLine[]): readonly TranscriptLine[] {
  const acked = new Set<string>();
  for (const line of lines) {
    const meta = line.pincer as { after?: unknown; heartbeat?: unknown } | undefined;
    if (meta?.heartbeat === "ack" && typeof meta.after === "string") acked.add(meta.after);
  }
  if (acked.size === 0) return lines;
  return lines.filter((line) => {
    if (typeof line.id === "string" && acked.has(line.id)) return false;
    const after = (line.pincer as { after?: unknown } | undefined)?.after;
    return !(typeof after === "string" && acked.has(after));
  });
}

/** `details`: also who sent each user line and the tool calls/results (the Control UI's chat). */
export function historyFromLines(lines: readonly TranscriptLine[], options: { details?: boolean } = {}): HistoryItem[] {
  const out: HistoryItem[] = [];
  for (const line of withoutAckedHeartbeats(lines)) {
    const id = typeof line.id === "string" ? line.id : null;
    const timestamp = typeof line.timestamp === "string" ? line.timestamp : null;
    if (line.type === "compaction") {
      out.push({ id, role: "system", text: "Compaction", timestamp, kind: "compaction" });
      continue;
    }
    const message = line.message as { role?: unknown; content?: unknown } | undefined;
    if (!message || typeof message.role !== "string") continue;
    out.push({
      id,
      role: message.role,
      text: textOf(message.content),
      timestamp,
      kind: "message",
      ...(options.details ? detailsOf(line, message as Record<string, unknown>) : {}),
    });
  }
  return out;
}
