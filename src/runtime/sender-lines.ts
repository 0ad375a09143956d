/**
 * In group sessions each user message reaches the model as "<sender name>: <text>", so the agent
 * knows who is talking. The name comes from the transcript line (`pincer.senderName`, else the
 * sender id), so the decorated text of a line never changes: the prompt's history stays
 * byte-identical between turns. One decorated object per line (kept in a WeakMap): the provider
 * adapter's per-message conversion cache keeps hitting.
 */
import type { TranscriptLine } from "../store/types.ts";
import type { AgentMessage } from "../transcript/entries.ts";
import { deriveChatTypeFromKey } from "../keys/session-key-helpers.ts";

const decorated = new WeakMap<TranscriptLine, AgentMessage>();

/** True for group and channel session keys (their user lines carry sender names). */
export function isGroupSessionKey(sessionKey: string): boolean {
  const t = deriveChatTypeFromKey(sessionKey);
  return t === "group" || t === "channel";
}

/** The message of a transcript line as a group session's prompt holds it. */
export function withSenderName(line: TranscriptLine & { message: AgentMessage }): AgentMessage {
  const msg = line.message;
  if (msg.role !== "user") return msg;
  const provenance = (msg as { provenance?: { kind?: unknown } }).provenance?.kind;
  if (provenance !== undefined && provenance !== "external_user") return msg;
  const meta = line.pincer as { senderName?: unknown; senderId?: unknown } | undefined;
  const name =
    typeof meta?.senderName === "string" && meta.senderName.trim() !== ""
      ? meta.senderName.trim()
      : typeof meta?.senderId === "string"
        ? meta.senderId
        : null;
  if (name === null) return msg;
  const hit = decorated.get(line);
  if (hit) return hit;
  const prefix = `${name.replace(/\s+/g, " ")}: `;
  let content: AgentMessage["content"];
  if (typeof msg.content === "string") content = prefix + msg.content;
  else {
    const blocks = msg.content as Array<{ type: string; text?: string }>;
    const first = blocks.findIndex((b) => b.type === "text");
    content = (
      first >= 0
        ? blocks.map((b, i) => (i === first ? { ...b, text: prefix + (b.text ?? "") } : b))
        : [{ type: "text", text: prefix.trimEnd() }, ...blocks]
    ) as AgentMessage["content"];
  }
  const out = { ...msg, content } as AgentMessage;
  decorated.set(line, out);
  return out;
}
