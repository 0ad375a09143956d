/**
 * Turns a transcript into the messages sent to the model: the newest compaction's summary, then
 * the active branch from its `firstKeptEntryId` on. Messages still waiting in the session's queue
 * are left out, so each run sees exactly the messages it answers.
 */
import type { TranscriptLine } from "../store/types.ts";
import type { AgentMessage } from "../transcript/entries.ts";

export const COMPACTION_SUMMARY_PREFIX =
  "The conversation history before this point was compacted into the following summary:\n\n";

export interface BuiltContext {
  messages: AgentMessage[];
  /** Entry id of each message (the summary message has none). */
  entryIds: Array<string | null>;
  /** The summary in effect, if the session was compacted. */
  summary: string | null;
  compactionEntryId: string | null;
}

function isMessageLine(line: TranscriptLine): line is TranscriptLine & { id: string; message: AgentMessage } {
  if (line.type !== "message" || typeof line.id !== "string") return false;
  const m = line.message as { role?: unknown } | undefined;
  return !!m && (m.role === "user" || m.role === "assistant" || m.role === "toolResult");
}

export function buildContext(
  lines: readonly TranscriptLine[],
  exclude: ReadonlySet<string> = new Set(),
  /** How a line's message appears in the prompt (group sessions add the sender's name). */
  messageOf: (line: TranscriptLine & { message: AgentMessage }) => AgentMessage = (line) => line.message,
): BuiltContext {
  let start = 0;
  let summary: string | null = null;
  let compactionEntryId: string | null = null;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (line.type === "compaction" && typeof line.summary === "string" && typeof line.firstKeptEntryId === "string") {
      summary = line.summary;
      compactionEntryId = typeof line.id === "string" ? line.id : null;
      const kept = lines.findIndex((l) => l.id === line.firstKeptEntryId);
      start = kept >= 0 ? kept : i + 1;
      break;
    }
  }
  const messages: AgentMessage[] = [];
  const entryIds: Array<string | null> = [];
  if (summary !== null) {
    messages.push({ role: "user", content: COMPACTION_SUMMARY_PREFIX + summary, timestamp: 0 });
    entryIds.push(null);
  }
  // Runs of a session are sequential, so only the newest anchor is ever extended: remember where it ends.
  let anchorId: string | null = null;
  let anchorEnd = -1;
  for (let i = start; i < lines.length; i++) {
    const line = lines[i]!;
    if (!isMessageLine(line) || exclude.has(line.id)) continue;
    const after = (line.pincer as { after?: unknown } | undefined)?.after;
    if (typeof after === "string" && isHeartbeatAckLine(line)) {
      // The heartbeat was acknowledged: its prompt and everything the run wrote leave the context.
      const p = entryIds.lastIndexOf(after);
      if (p >= 0) {
        const n = after === anchorId ? anchorEnd - p : 1;
        messages.splice(p, n);
        entryIds.splice(p, n);
      }
      if (after === anchorId) anchorId = null;
      else if (p >= 0 && anchorEnd > p) anchorEnd -= 1;
      continue;
    }
    let at = messages.length;
    if (typeof after === "string") {
      if (after === anchorId) at = anchorEnd;
      else {
        const found = entryIds.lastIndexOf(after);
        if (found >= 0) at = found + 1;
      }
      anchorId = after;
      anchorEnd = at + 1;
    }
    if (at === messages.length) {
      messages.push(messageOf(line));
      entryIds.push(line.id);
    } else {
      messages.splice(at, 0, messageOf(line));
      entryIds.splice(at, 0, line.id);
    }
  }
  return { messages, entryIds, summary, compactionEntryId };
}

/** A heartbeat run's acknowledgement (HEARTBEAT_OK): the runner tags it, context building drops the exchange. */
export function isHeartbeatAckLine(line: TranscriptLine): boolean {
  return (line.pincer as { heartbeat?: unknown } | undefined)?.heartbeat === "ack";
}

/**
 * A thread forked from its parent (session/thread-fork.ts) starts with a copy of the parent's
 * messages: the header names their owner and the last copied entry. Those lines — up to that
 * entry's index, and only that owner's — are the session's own history.
 */
export function forkAllowance(lines: readonly TranscriptLine[]): { owner: string; end: number } | null {
  const header = lines[0];
  if (header?.type !== "session") return null;
  const fork = header.pincer as { forkedFrom?: unknown; forkLeaf?: unknown } | undefined;
  if (typeof fork?.forkedFrom !== "string" || typeof fork.forkLeaf !== "string") return null;
  const end = lines.findIndex((l, i) => i > 0 && l.id === fork.forkLeaf);
  return end > 0 ? { owner: fork.forkedFrom, end } : null;
}

/**
 * The isolation guard (issue 6): entries of a context that do not belong to the session being
 * answered. A received message must carry this session's key (or be a provenance-marked
 * inter-session message, or a forked thread's copy of its parent's: `forkAllowance`), and a header
 * naming another session id taints the whole file.
 */
export function foreignEntries(
  lines: readonly TranscriptLine[],
  ctx: BuiltContext,
  sessionKey: string,
  sessionId: string,
): string[] {
  const foreign: string[] = [];
  const header = lines[0];
  if (header?.type === "session" && typeof header.id === "string" && header.id !== sessionId)
    foreign.push(`header:${header.id}`);
  const included = new Set(ctx.entryIds.filter((x): x is string => x !== null));
  const fork = forkAllowance(lines);
  for (const [i, line] of lines.entries()) {
    if (line.type !== "message" || typeof line.id !== "string" || !included.has(line.id)) continue;
    const msg = line.message as { role?: unknown; provenance?: { kind?: unknown } } | undefined;
    const owner = (line.pincer as { sessionKey?: unknown } | undefined)?.sessionKey;
    if (msg?.role !== "user" || owner === undefined || owner === sessionKey) continue;
    if (fork && i <= fork.end && owner === fork.owner) continue;
    if (msg.provenance?.kind === "inter_session" || msg.provenance?.kind === "internal_system") continue;
    foreign.push(line.id);
  }
  return foreign;
}

/** The last transcript entry in a context: a run's output is anchored to it (see MessageOrigin.after). */
export function contextAnchor(ctx: BuiltContext): string | undefined {
  for (let i = ctx.entryIds.length - 1; i >= 0; i--) if (ctx.entryIds[i]) return ctx.entryIds[i]!;
  return undefined;
}

/** Rough token estimate (4 characters per token), the same rule as OpenClaw's estimators. */
export function estimateTokens(messages: readonly AgentMessage[]): number {
  let chars = 0;
  for (const m of messages) chars += messageChars(m);
  return Math.ceil(chars / 4);
}

export function messageChars(m: AgentMessage): number {
  if (m.role === "user")
    return typeof m.content === "string"
      ? m.content.length
      : m.content.reduce((n, b) => n + (b.type === "text" ? b.text.length : 8000), 0);
  if (m.role === "assistant") {
    let n = 0;
    for (const b of m.content) {
      if (b.type === "text") n += b.text.length;
      else if (b.type === "thinking") n += b.thinking.length;
      else n += safeJsonLength(b.arguments);
    }
    return n;
  }
  return m.content.reduce((n, b) => n + (b.type === "text" ? b.text.length : 8000), 0);
}

function safeJsonLength(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    return 128;
  }
}

/** The plain text of a message (text blocks joined). */
export function messageText(m: AgentMessage): string {
  if (m.role === "user" && typeof m.content === "string") return m.content;
  const parts: string[] = [];
  for (const b of m.content as Array<{ type: string; text?: string }>)
    if (b.type === "text" && typeof b.text === "string") parts.push(b.text);
  return parts.join("\n");
}
