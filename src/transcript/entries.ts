/**
 * The pi v3 transcript format OpenClaw writes: a `session` header line, then entries
 * `{ type, id, parentId, timestamp, ... }` forming a tree whose active branch ends at the leaf.
 */
import { randomUUID } from "node:crypto";

export interface TranscriptHeader {
  type: "session";
  version: 3;
  id: string;
  timestamp: string;
  cwd: string;
  parentSession?: string;
}

export interface UserMessage {
  role: "user";
  content: string | Array<{ type: "text"; text: string } | { type: "image"; data: string; mimeType: string }>;
  timestamp: number;
  provenance?: {
    kind: "external_user" | "inter_session" | "internal_system";
    sourceSessionKey?: string;
    sourceChannel?: string;
    sourceTool?: string;
  };
}

export interface Usage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  totalTokens: number;
  cost: { input: number; output: number; cacheRead: number; cacheWrite: number; total: number };
}

export interface AssistantMessage {
  role: "assistant";
  content: Array<
    | { type: "text"; text: string }
    /** pi: an Anthropic thinking block keeps its signature (or, redacted, its opaque data) for replay. */
    | { type: "thinking"; thinking: string; thinkingSignature?: string; redacted?: boolean }
    | { type: "toolCall"; id: string; name: string; arguments: unknown }
  >;
  api: string;
  provider: string;
  model: string;
  usage: Usage;
  stopReason: "stop" | "length" | "toolUse" | "error" | "aborted";
  errorMessage?: string;
  timestamp: number;
}

export interface ToolResultMessage {
  role: "toolResult";
  toolCallId: string;
  toolName: string;
  content: Array<{ type: "text"; text: string } | { type: "image"; data: string; mimeType: string }>;
  isError: boolean;
  timestamp: number;
}

export type AgentMessage = UserMessage | AssistantMessage | ToolResultMessage;

/** Where a message came from, kept beside the message (ignored by pi, used for dedupe and audits). */
export interface MessageOrigin {
  /**
   * On a run's output (assistant and tool results): the last entry the run answered. Messages
   * recorded while the run was working sit before its output in the file; context building puts
   * the output right after this entry, so the model sees question → answer → the later messages.
   */
  after?: string;
  /** The session a received message was routed to; the isolation guard checks it before every model call. */
  sessionKey?: string;
  messageId?: string;
  channel?: string;
  senderId?: string;
  senderName?: string;
}

export interface EntryBase {
  type: string;
  id: string;
  parentId: string | null;
  timestamp: string;
}

export interface MessageEntry extends EntryBase {
  type: "message";
  message: AgentMessage;
  pincer?: MessageOrigin;
}

export interface CompactionEntry extends EntryBase {
  type: "compaction";
  summary: string;
  firstKeptEntryId: string;
  tokensBefore: number;
}

export type TranscriptEntry = MessageEntry | CompactionEntry | (EntryBase & Record<string, unknown>);

/** An entry before the writer gives it its place in the tree. */
export type NewEntry =
  | Omit<MessageEntry, "id" | "parentId" | "timestamp">
  | (Omit<EntryBase, "id" | "parentId" | "timestamp"> & Record<string, unknown>);

/** 8 hex characters, like pi's ids; the writer retries on a collision with a known id. */
export function newEntryId(): string {
  return randomUUID().replaceAll("-", "").slice(0, 8);
}

export function makeHeader(sessionId: string, now: number, cwd: string): TranscriptHeader {
  return { type: "session", version: 3, id: sessionId, timestamp: new Date(now).toISOString(), cwd };
}

export function emptyUsage(): Usage {
  return {
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    totalTokens: 0,
    cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
  };
}
