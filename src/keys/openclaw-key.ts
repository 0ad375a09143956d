/**
 * The key OpenClaw 2026.3.13 writes for the same conversation: every value lower-cased with
 * `toLowerCase()` (all of Unicode, on every channel), nothing percent-encoded, and an identity
 * link's canonical name in place of the peer id with no namespace of its own. Pincer looks a row
 * up under this form when its own key misses (keys/legacy-adoption decides whether it may adopt).
 */
import type { ThreadableKeyParts } from "./session-key-parts.ts";

const lower = (v: string): string => v.trim().toLowerCase();

export function openclawKeyOf(parts: ThreadableKeyParts): string {
  const head = `agent:${lower(parts.agentId)}`;
  let rest: string;
  switch (parts.kind) {
    case "main":
      // OpenClaw 2026.3.13 ignores session.mainKey: its main session is always `main`.
      rest = "main";
      break;
    case "direct": {
      const peer = `direct:${lower(parts.peerId)}`;
      if (parts.scope === "per-peer") rest = peer;
      else if (parts.scope === "per-channel-peer") rest = `${lower(parts.channel)}:${peer}`;
      else rest = `${lower(parts.channel)}:${lower(parts.accountId)}:${peer}`;
      break;
    }
    case "group":
      rest = `${lower(parts.channel)}:group:${lower(parts.groupId)}`;
      break;
    case "channel":
      rest = `${lower(parts.channel)}:channel:${lower(parts.channelId)}`;
      break;
    case "topic":
      rest = `${lower(parts.channel)}:group:${lower(parts.chatId)}:topic:${lower(parts.topicId)}`;
      break;
  }
  if (parts.threadId === undefined) return `${head}:${rest}`;
  const chat = (parts.kind === "main" || parts.kind === "direct") && parts.threadChatId;
  return `${head}:${rest}:thread:${chat ? `${chat}:` : ""}${lower(parts.threadId)}`;
}
