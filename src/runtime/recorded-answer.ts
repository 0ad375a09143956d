/**
 * What a session's transcript says about how one recorded message was answered, so a retried
 * delivery gets the original outcome instead of a second turn. A run's output entries carry
 * `pincer.after` = the last message the run answered (collect mode answers several at once), so
 * the answer to message M is the first run whose anchor is M or a message after it.
 */
import type { TranscriptLine } from "../store/types.ts";
import type { AgentMessage } from "../transcript/entries.ts";
import { messageText } from "./context-build.ts";
import { SILENT_REPLY } from "./turn-runner.ts";

export type RecordedAnswer =
  /** A run answered it; `reply` is null when that run stayed silent (`NO_REPLY`, tool-only). */
  | { state: "answered"; reply: string | null }
  /** It is the session's last message and nothing answered it yet. */
  | { state: "unanswered" }
  /** Later messages exist but no run answered this one (it failed, was aborted or dropped). */
  | { state: "unknown" };

export function recordedAnswer(lines: readonly TranscriptLine[], entryId: string): RecordedAnswer {
  const position = new Map<string, number>();
  lines.forEach((l, i) => {
    if (typeof l.id === "string") position.set(l.id, i);
  });
  const at = position.get(entryId);
  if (at === undefined) return { state: "unknown" };
  let anchor: string | null | undefined;
  let reply: AgentMessage | null = null;
  let laterUserMessage = false;
  for (let i = at + 1; i < lines.length; i++) {
    const line = lines[i]!;
    const message = line.message as AgentMessage | undefined;
    if (line.type !== "message" || !message) continue;
    if (message.role === "user") {
      laterUserMessage = true;
      // Output without anchors (written before anchors existed) ends at the next message.
      if (anchor === null) break;
      continue;
    }
    if (message.role !== "assistant") continue;
    const after = (line.pincer as { after?: unknown } | undefined)?.after;
    if (anchor === undefined) {
      if (typeof after === "string") {
        const p = position.get(after);
        // This run answered an earlier message (it was still running when ours arrived).
        if (p === undefined || p < at) continue;
        anchor = after;
      } else {
        if (laterUserMessage) break;
        anchor = null;
      }
      reply = message;
    } else if ((anchor === null && after === undefined) || after === anchor) {
      reply = message;
    }
  }
  if (!reply) return laterUserMessage ? { state: "unknown" } : { state: "unanswered" };
  const text = messageText(reply);
  const silent = text.trim() === "" || text.trimStart().startsWith(SILENT_REPLY) || reply.stopReason === "toolUse";
  return { state: "answered", reply: silent ? null : text };
}
