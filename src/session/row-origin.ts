/**
 * The "where is this conversation" fields of a row, as OpenClaw 2026.3.13 writes them
 * (`deriveSessionOrigin`, `deriveGroupSessionPatch`, `buildGroupDisplayName`): `origin`, the last
 * route (`deliveryContext` + its `last*` mirrors, including the forum topic or DM topic a reply
 * must go back to), and for groups `subject` and `displayName`. Pure.
 */
import type { InboundEnvelope } from "../keys/envelope.ts";
import type { SessionEntry } from "../store/entry.ts";

export interface RouteFacts {
  channel: string;
  accountId: string;
  /** The topic or thread replies go to (a forum topic id, a DM topic id, a Slack thread), if any. */
  threadId?: string;
  /** The conversation id when it is not the envelope's peer (a Discord thread keyed as its own channel). */
  conversationId?: string;
}

/** OpenClaw's normalizeHyphenSlug: lower-case, runs of other characters become one `-`. */
function slug(raw: string): string {
  const trimmed = raw.trim().toLowerCase();
  if (!trimmed) return "";
  return trimmed
    .replace(/\s+/g, "-")
    .replace(/[^a-z0-9#@._+-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "");
}

function shortenGroupId(value: string): string {
  const trimmed = value.trim();
  return trimmed.length <= 14 ? trimmed : `${trimmed.slice(0, 6)}...${trimmed.slice(-4)}`;
}

/** OpenClaw's buildGroupDisplayName for a group without `groupChannel`/`space`: `telegram:g-<slug>`. */
export function groupDisplayName(channel: string, subject: string | undefined, id: string): string {
  const provider = channel.trim().toLowerCase() || "group";
  const raw = subject?.trim() || id.trim();
  let token = slug(raw);
  if (!token) token = slug(shortenGroupId(raw));
  token = token.replace(/^#+/, "");
  if (token && !/^[@#]/.test(token) && !token.startsWith("g-") && !token.includes("#")) token = `g-${token}`;
  return token ? `${provider}:${token}` : provider;
}

/**
 * Applies the message's origin and last route to `next` (a copy of the row): OpenClaw's field
 * values — a group's `origin.from` is the group (`telegram:group:<chat>[:topic:<n>]`), its label
 * the group's title with its id; a DM's `from` is the sender. The topic/thread id is kept in
 * `origin.threadId`, `deliveryContext.threadId` and `lastThreadId`, so a reply or an announce
 * lands in the topic it came from, not the General topic.
 */
export function applyRouteFields(next: SessionEntry, envelope: InboundEnvelope, route: RouteFacts): void {
  const { channel, accountId, threadId } = route;
  const direct = envelope.chatType === "direct";
  const peer = route.conversationId ?? envelope.peerId.trim();
  next.chatType = envelope.chatType;
  const topic = envelope.chatType === "group" && threadId !== undefined ? threadId : undefined;
  let label: string | undefined;
  let from: string;
  if (direct) {
    // Telegram's buildSenderLabel: `<name> id:<sender>`; elsewhere the sender's name.
    label =
      channel === "telegram"
        ? `${envelope.senderName ? `${envelope.senderName} ` : ""}id:${envelope.senderId}`
        : envelope.senderName;
    from = `${channel}:${envelope.senderId}`;
  } else {
    const subject = envelope.groupSubject?.trim() || undefined;
    const topicSuffix = topic !== undefined ? ` topic:${topic}` : "";
    label = subject ? `${subject} id:${peer}${topicSuffix}` : `group:${peer}${topicSuffix}`;
    from = `${channel}:${envelope.chatType}:${peer}${topic !== undefined ? `:topic:${topic}` : ""}`;
    next.channel = channel;
    // A topic's group id includes the topic, as OpenClaw derives it from `From` (`<chat>:topic:<n>`).
    next.groupId = envelope.groupId ?? (topic !== undefined ? `${peer}:topic:${topic}` : peer);
    if (subject) next.subject = subject;
    next.displayName = groupDisplayName(channel, next.subject, next.groupId);
  }
  const to = `${channel}:${direct ? envelope.senderId : peer}`;
  next.origin = {
    ...next.origin,
    ...(label ? { label } : {}),
    provider: channel,
    surface: channel,
    chatType: envelope.chatType,
    from,
    to,
    accountId,
    ...(threadId !== undefined ? { threadId } : {}),
  };
  if (threadId === undefined) delete next.origin.threadId;
  next.deliveryContext = { channel, to, accountId, ...(threadId !== undefined ? { threadId } : {}) };
  next.lastChannel = channel;
  next.lastTo = to;
  next.lastAccountId = accountId;
  if (threadId !== undefined) next.lastThreadId = threadId;
  else delete next.lastThreadId;
}
