/**
 * Classifications and convenience builders over session keys (OpenClaw's derived classifications). Classifiers are
 * total: a key that does not parse falls back to OpenClaw's plain string rules instead of throwing.
 */
import { randomUUID } from "node:crypto";
import type { ChatType } from "./envelope.ts";
import { DEFAULT_MAIN_KEY } from "./ids.ts";
import { asciiLower } from "./segment.ts";
import { buildSessionKey, parseSessionKey } from "./session-key-codec.ts";
import { isThreadable } from "./session-key-parts.ts";
import type { KeyCodecOptions, SessionKeyParts } from "./session-key-parts.ts";

export type ResetType = "direct" | "group" | "thread";

function tryParse(key: string, opts?: KeyCodecOptions): SessionKeyParts | undefined {
  try {
    return parseSessionKey(key, opts);
  } catch {
    return undefined;
  }
}

/** The agent-stripped, lower-cased remainder of a key (the whole key when it has no agent prefix). */
function restOf(key: string): string {
  const lower = asciiLower(key.trim());
  const m = /^agent:[^:]+:(.*)$/.exec(lower);
  return m?.[1] ?? lower;
}

const LEGACY_DISCORD = /^discord:(?:[^:]+:)?guild-[^:]+:channel-[^:]+$/;

function chatTypeFromTokens(rest: string): ChatType | "unknown" {
  const tokens = rest.split(":");
  if (tokens.includes("group")) return "group";
  if (tokens.includes("channel")) return "channel";
  if (tokens.includes("direct") || tokens.includes("dm")) return "direct";
  return LEGACY_DISCORD.test(rest) ? "channel" : "unknown";
}

/** Chat type a key implies; `unknown` for main, cron, hook and sub-agent keys (as in OpenClaw). */
export function deriveChatTypeFromKey(key: string): ChatType | "unknown" {
  const p = tryParse(key);
  if (!p) return chatTypeFromTokens(restOf(key));
  switch (p.kind) {
    case "direct":
      return "direct";
    case "group":
    case "topic":
      return "group";
    case "channel":
      return "channel";
    case "other":
      return chatTypeFromTokens(p.rest);
    default:
      return "unknown";
  }
}

function resetTypeFromString(key: string): ResetType {
  const lower = asciiLower(key);
  if (lower.includes(":thread:") || lower.includes(":topic:")) return "thread";
  if (lower.includes(":group:") || lower.includes(":channel:")) return "group";
  return "direct";
}

/** `thread` for thread and topic keys, `group` for group/channel keys, else `direct`. */
export function resetTypeForKey(key: string, opts?: KeyCodecOptions): ResetType {
  const p = tryParse(key, opts);
  if (!p || p.kind === "other") return resetTypeFromString(key);
  if (p.kind === "topic" || (isThreadable(p) && p.threadId !== undefined)) return "thread";
  return p.kind === "group" || p.kind === "channel" ? "group" : "direct";
}

/** The key a thread/topic key hangs off (a topic's parent is its group), or undefined. */
export function threadParentKey(key: string, opts?: KeyCodecOptions): string | undefined {
  const p = tryParse(key, opts);
  if (p && isThreadable(p) && p.threadId !== undefined) {
    const { threadId: _drop, ...parent } = p;
    if ("threadChatId" in parent) delete parent.threadChatId;
    return buildSessionKey(parent, opts);
  }
  if (p?.kind === "topic") {
    return buildSessionKey({ kind: "group", agentId: p.agentId, channel: p.channel, groupId: p.chatId }, opts);
  }
  if (p && p.kind !== "other") return undefined;
  // Unmodelled shapes: strip from the last marker, like OpenClaw.
  const lower = asciiLower(key.trim());
  const cut = Math.max(lower.lastIndexOf(":thread:"), lower.lastIndexOf(":topic:"));
  return cut > 0 ? lower.slice(0, cut) : undefined;
}

export function isCronRunKey(key: string): boolean {
  const p = tryParse(key);
  if (p) return p.kind === "cron-run";
  return /^cron:[^:]+:run:[^:]+$/.test(restOf(key));
}

export function isSubagentKey(key: string): boolean {
  const p = tryParse(key);
  if (p) return p.kind === "subagent" || (p.kind === "other" && p.rest.startsWith("subagent:"));
  return restOf(key).startsWith("subagent:");
}

/** The agent id of an agent-scoped key; undefined for `global`, `unknown` and unparseable keys. */
export function agentIdFromKey(key: string): string | undefined {
  const p = tryParse(key);
  return p && p.kind !== "global" && p.kind !== "unknown" ? p.agentId : undefined;
}

export function mainSessionKey(agentId: string, mainKey: string = DEFAULT_MAIN_KEY): string {
  return buildSessionKey({ kind: "main", agentId, mainKey }, { mainKey });
}

export function cronSessionKey(agentId: string, jobId: string): string {
  return buildSessionKey({ kind: "cron", agentId, jobId });
}

export function cronRunSessionKey(agentId: string, jobId: string, sessionId: string): string {
  return buildSessionKey({ kind: "cron-run", agentId, jobId, sessionId });
}

export function hookSessionKey(agentId: string, hookId: string): string {
  return buildSessionKey({ kind: "hook", agentId, hookId });
}

/** Mints a fresh `agent:<agentId>:subagent:<uuid>` key. */
export function subagentSessionKey(agentId: string): string {
  return buildSessionKey({ kind: "subagent", agentId, subagentId: randomUUID() });
}
