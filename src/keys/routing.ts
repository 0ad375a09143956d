/**
 * Routing: which agent handles an inbound message and which session key it lands in
 * (OpenClaw's DM key construction and `bindings` rules).
 */
import { selectAgent } from "./bindings.ts";
import type { BindingPeer } from "./bindings.ts";
import type { ChatType, InboundEnvelope } from "./envelope.ts";
import { UnroutableMessageError } from "./errors.ts";
import { resolveLinkedPeer } from "./identity-links.ts";
import { openclawKeyOf } from "./openclaw-key.ts";
import { DEFAULT_ACCOUNT_ID, DEFAULT_MAIN_KEY, normalizeAccountId, normalizeChannel } from "./ids.ts";
import type { MatchedBy, RoutingConfig } from "./routing-config.ts";
import { asciiLower, foldIdCase, isCaseSensitiveChannel } from "./segment.ts";
import { buildSessionKey } from "./session-key-codec.ts";
import type { ResetType } from "./session-key-helpers.ts";
import type { DmScope, ThreadableKeyParts } from "./session-key-parts.ts";

export { validateIdentityLinks } from "./identity-links.ts";
export { RoutingConfigError } from "./routing-config.ts";
export type { BindingMatch, MatchedBy, RouteBinding, RoutingConfig } from "./routing-config.ts";

export interface ResolvedRoute {
  agentId: string;
  channel: string;
  accountId: string;
  chatType: ChatType;
  sessionKey: string;
  mainSessionKey: string;
  matchedBy: MatchedBy;
  resetType: ResetType;
  /** `main` when the message lands in the agent's main session (OpenClaw's lastRoutePolicy). */
  lastRoutePolicy: "main" | "session";
  /** The topic or thread inside the conversation that replies go back to (row `deliveryContext.threadId`). */
  threadId?: string;
  /** The conversation id the key is built on when it is not the envelope's peer (a Discord thread). */
  conversationId?: string;
  /** DMs only: the peer identity used for the key (identity-linked name, or the case-folded id). */
  peerKey?: string;
  /** OpenClaw's form of the same key (lower-cased, unencoded), when it differs: a row there may be adopted. */
  legacyKey?: string;
  /** A Discord thread: its parent channel's session, which a new thread session is forked from. */
  parentSessionKey?: string;
  /** DMs of a linked identity: the ids configured for it (evidence a legacy row is this identity's). */
  peerLinkIds?: readonly string[];
  /** DMs only: set when peerKey is an identityLinks canonical name (a namespace of its own in the key). */
  peerLinked?: true;
}

const blankToUndefined = (v: string | undefined): string | undefined => v?.trim() || undefined;

/** Telegram chat ids are integers; only such a chat can carry a DM topic key (`:thread:<chat>:<topic>`). */
const TELEGRAM_CHAT_ID = /^-?\d{1,20}$/;

/** How the message's thread or topic shapes its key, its binding peers and its reply route. */
interface ThreadPlan {
  peer: BindingPeer;
  parentPeer?: BindingPeer;
  /** `:thread:<id>` on the key. */
  keyThread?: string;
  /** Telegram DM topics: `:thread:<chat>:<id>`. */
  threadChatId?: string;
  /** A group's forum topic (`:group:<chat>:topic:<id>`). */
  topicId?: string;
  /** The channel/room id the key is built on, when it is not the envelope's peer (a Discord thread). */
  keyPeerId?: string;
  /** Where replies go back to inside the conversation (topic or thread id). */
  deliveryThread?: string;
  /** The channel whose session a new thread session starts as a branch of (OpenClaw's ParentSessionKey). */
  forkFromChannel?: string;
}

/**
 * OpenClaw's per-channel thread rules: Telegram forum topics are part of the group (a forum
 * message without one is in the General topic `1`), reply threads in other Telegram groups and
 * WhatsApp group thread ids are not sessions of their own, Telegram DM topics are keyed with their
 * chat, a Discord thread is its own channel session (its parent channel kept for bindings), and a
 * DM's surrounding room (Matrix) is its parent peer for bindings. Elsewhere a thread suffixes the key.
 */
function planThread(env: InboundEnvelope, channel: string): ThreadPlan {
  const id = env.peerId.trim();
  const threadId = blankToUndefined(env.threadId);
  const topicId = blankToUndefined(env.topicId);
  const parentId = blankToUndefined(env.parentPeerId);
  if (env.chatType === "direct") {
    const peer: BindingPeer = { kind: "direct", id };
    const parentPeer: BindingPeer | undefined = parentId ? { kind: "channel", id: parentId } : undefined;
    const base = { peer, ...(parentPeer ? { parentPeer } : {}) };
    const thread = threadId ?? topicId;
    if (thread === undefined) return base;
    const chat = parentId ?? id;
    if (channel === "telegram" && TELEGRAM_CHAT_ID.test(chat)) {
      return { ...base, keyThread: thread, threadChatId: chat, deliveryThread: thread };
    }
    return { ...base, keyThread: thread, deliveryThread: thread };
  }
  const group: BindingPeer = { kind: env.chatType, id };
  if (channel === "telegram" && env.chatType === "group") {
    const topic = topicId ?? (env.isForum === true ? (threadId ?? "1") : undefined);
    if (topic === undefined) return { peer: group };
    return {
      peer: { kind: "group", id: `${id}:topic:${topic}` },
      parentPeer: group,
      topicId: topic,
      deliveryThread: topic,
    };
  }
  if (channel === "whatsapp" && env.chatType === "group") return { peer: group };
  if (channel === "discord" && env.chatType === "channel" && (parentId !== undefined || threadId !== undefined)) {
    // A Discord thread is a channel: named by the envelope as the peer (with its parent) or as a thread id.
    if (parentId !== undefined)
      return { peer: group, parentPeer: { kind: "channel", id: parentId }, forkFromChannel: parentId };
    return { peer: { kind: "channel", id: threadId! }, parentPeer: group, keyPeerId: threadId!, forkFromChannel: id };
  }
  if (env.chatType === "group" && topicId !== undefined) {
    return {
      peer: { kind: "group", id: `${id}:topic:${topicId}` },
      parentPeer: group,
      topicId,
      ...(threadId ? { keyThread: threadId } : {}),
      deliveryThread: threadId ?? topicId,
    };
  }
  const thread = threadId ?? topicId;
  if (thread === undefined)
    return { peer: group, ...(parentId ? { parentPeer: { kind: "channel", id: parentId } } : {}) };
  return { peer: { kind: env.chatType, id: thread }, parentPeer: group, keyThread: thread, deliveryThread: thread };
}

interface DmKey {
  parts: ThreadableKeyParts;
  peerKey: string;
  linked: boolean;
  linkIds?: readonly string[];
}

/**
 * OpenClaw's buildPeerKey for DMs, with Pincer's per-channel ASCII case rule instead of
 * lower(), and canonical names marked `linked` so they never share a key with a raw peer id
 * (peer-segment.ts).
 */
function dmParts(
  env: InboundEnvelope,
  cfg: RoutingConfig,
  agentId: string,
  channel: string,
  accountId: string,
  mainKey: string,
  scope: DmScope,
): DmKey {
  const raw = env.peerId.trim();
  const name = scope === "main" ? undefined : resolveLinkedPeer(cfg.session?.identityLinks, channel, raw);
  const peerId = name !== undefined ? asciiLower(name) : foldIdCase(raw, isCaseSensitiveChannel(channel));
  const peer = name !== undefined ? { peerId, linked: true as const } : { peerId };
  const linked = name !== undefined;
  const links = cfg.session?.identityLinks;
  const linkIds =
    name !== undefined && links
      ? Object.entries(links)
          .filter(([canonical]) => canonical.trim() === name)
          .flatMap(([, ids]) => (Array.isArray(ids) ? ids : []))
      : undefined;
  const info = { peerKey: peerId, linked, ...(linkIds ? { linkIds } : {}) };
  const main: ThreadableKeyParts = { kind: "main", agentId, mainKey };
  if (peerId === "") return { parts: main, ...info };
  switch (scope) {
    case "per-account-channel-peer":
      return { parts: { kind: "direct", scope, agentId, channel, accountId, ...peer }, ...info };
    case "per-channel-peer":
      return { parts: { kind: "direct", scope, agentId, channel, ...peer }, ...info };
    case "per-peer":
      return { parts: { kind: "direct", scope, agentId, ...peer }, ...info };
    default:
      return { parts: main, ...info };
  }
}

/** Groups, channels and topics are always isolated per id (OpenClaw 2026.3.13 has no `session.groupScope`). */
function groupParts(env: InboundEnvelope, agentId: string, channel: string, plan: ThreadPlan): ThreadableKeyParts {
  const id = plan.keyPeerId ?? (env.peerId.trim() || "unknown");
  const topicId = plan.topicId;
  if (env.chatType === "channel") return { kind: "channel", agentId, channel, channelId: id };
  if (topicId !== undefined) return { kind: "topic", agentId, channel, chatId: id, topicId };
  return { kind: "group", agentId, channel, groupId: id };
}

/**
 * Resolves agent and session key for a validated envelope. Throws RoutingConfigError when
 * identityLinks are ambiguous for this peer, SessionKeyError when the key would exceed 512 chars.
 */
export function resolveRoute(envelope: InboundEnvelope, cfg: RoutingConfig): ResolvedRoute {
  const channel = normalizeChannel(envelope.channel);
  const accountId = normalizeAccountId(envelope.accountId);
  const mainKey = cfg.session?.mainKey?.trim() || DEFAULT_MAIN_KEY;
  const plan = planThread(envelope, channel);
  const { agentId, matchedBy } = selectAgent(cfg, {
    channel,
    accountId,
    peer: plan.peer,
    ...(plan.parentPeer ? { parentPeer: plan.parentPeer } : {}),
    ...(envelope.guildId !== undefined ? { guildId: envelope.guildId } : {}),
    ...(envelope.teamId !== undefined ? { teamId: envelope.teamId } : {}),
    ...(envelope.roles !== undefined ? { roles: envelope.roles } : {}),
  });
  // OpenClaw's named-account rule (Telegram): a non-default account no binding routes keeps its
  // DMs per account (one bot's users never share a session with another's), and its groups need
  // an explicit binding.
  const namedAccountFallback = channel === "telegram" && matchedBy === "default" && accountId !== DEFAULT_ACCOUNT_ID;
  if (namedAccountFallback && envelope.chatType !== "direct") {
    throw new UnroutableMessageError(
      `telegram account ${JSON.stringify(accountId)}: a group message on a non-default account needs a binding (bindings[].match.accountId); dropped`,
    );
  }
  const configured: DmScope = cfg.session?.dmScope ?? "main";
  const scope: DmScope = namedAccountFallback ? "per-account-channel-peer" : configured;
  const dm =
    envelope.chatType === "direct" ? dmParts(envelope, cfg, agentId, channel, accountId, mainKey, scope) : undefined;
  // A Matrix DM bound through its room is the room's session (OpenClaw's resolveMatrixBaseRouteSession).
  const roomDm = channel === "matrix" && dm !== undefined && matchedBy === "binding.peer.parent" && plan.parentPeer;
  const base: ThreadableKeyParts = roomDm
    ? { kind: "channel", agentId, channel, channelId: plan.parentPeer!.id }
    : (dm?.parts ?? groupParts(envelope, agentId, channel, plan));
  // Channel-less keys (main, per-peer) keep thread case in the codec, so fold by channel here.
  const thread =
    plan.keyThread === undefined
      ? {}
      : {
          threadId: foldIdCase(plan.keyThread, isCaseSensitiveChannel(channel)),
          ...(plan.threadChatId !== undefined && (base.kind === "main" || base.kind === "direct")
            ? { threadChatId: plan.threadChatId }
            : {}),
        };
  const codec = { mainKey };
  const sessionKey = buildSessionKey({ ...base, ...thread }, codec);
  const legacyKey = openclawKeyOf({ ...base, ...thread } as ThreadableKeyParts);
  const mainSessionKey = buildSessionKey({ kind: "main", agentId, mainKey }, codec);
  const parentSessionKey =
    plan.forkFromChannel !== undefined
      ? buildSessionKey({ kind: "channel", agentId, channel, channelId: plan.forkFromChannel }, codec)
      : undefined;
  const resetType: ResetType =
    plan.keyThread !== undefined || plan.topicId !== undefined
      ? "thread"
      : envelope.chatType === "direct"
        ? "direct"
        : "group";
  return {
    agentId,
    channel,
    accountId,
    chatType: envelope.chatType,
    sessionKey,
    mainSessionKey,
    matchedBy,
    resetType,
    lastRoutePolicy: sessionKey === mainSessionKey ? "main" : "session",
    ...(plan.deliveryThread !== undefined ? { threadId: plan.deliveryThread } : {}),
    ...(plan.keyPeerId !== undefined ? { conversationId: plan.keyPeerId } : {}),
    ...(dm ? { peerKey: dm.peerKey } : {}),
    ...(dm?.linked ? { peerLinked: true as const } : {}),
    ...(legacyKey !== sessionKey ? { legacyKey } : {}),
    ...(dm?.linkIds ? { peerLinkIds: dm.linkIds } : {}),
    ...(parentSessionKey !== undefined && parentSessionKey !== sessionKey ? { parentSessionKey } : {}),
  };
}
