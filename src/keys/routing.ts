/**
 * Routing: which agent handles an inbound message and which session key it lands in
 * (OpenClaw's DM key construction and `bindings` rules).
 *
 * Not implemented: OpenClaw's Telegram special case (a named account routed to the
 * default agent forcing per-account DM keys and dropping groups). Pincer routes such messages
 * like any other channel's.
 */
import { selectAgent } from "./bindings.ts";
import type { BindingPeer } from "./bindings.ts";
import type { ChatType, InboundEnvelope } from "./envelope.ts";
import { resolveLinkedPeer } from "./identity-links.ts";
import { DEFAULT_MAIN_KEY, normalizeAccountId, normalizeChannel } from "./ids.ts";
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
  /** DMs only: the peer identity used for the key (identity-linked name, or the case-folded id). */
  peerKey?: string;
  /** DMs only: set when peerKey is an identityLinks canonical name (a namespace of its own in the key). */
  peerLinked?: true;
}

const blankToUndefined = (v: string | undefined): string | undefined => v?.trim() || undefined;

/** Thread and topic of a message. A topic only structures group keys; elsewhere it acts as a thread. */
function threadAndTopic(env: InboundEnvelope): { threadId?: string; topicId?: string } {
  const threadId = blankToUndefined(env.threadId);
  const topicId = blankToUndefined(env.topicId);
  if (env.chatType === "group" && topicId !== undefined) return { topicId, ...(threadId ? { threadId } : {}) };
  const thread = threadId ?? topicId;
  return thread === undefined ? {} : { threadId: thread };
}

/** Binding peers: a thread/topic message is its own peer, and its group is the parent peer. */
function bindingPeers(
  env: InboundEnvelope,
  threadId?: string,
  topicId?: string,
): { peer: BindingPeer; parentPeer?: BindingPeer } {
  const id = env.peerId.trim();
  if (env.chatType === "direct") return { peer: { kind: "direct", id } };
  const parentPeer: BindingPeer = { kind: env.chatType, id };
  if (topicId !== undefined) return { peer: { kind: env.chatType, id: `${id}:topic:${topicId}` }, parentPeer };
  if (threadId !== undefined) return { peer: { kind: env.chatType, id: threadId }, parentPeer };
  return { peer: parentPeer };
}

interface DmKey {
  parts: ThreadableKeyParts;
  peerKey: string;
  linked: boolean;
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
): DmKey {
  const scope: DmScope = cfg.session?.dmScope ?? "main";
  const raw = env.peerId.trim();
  const name = scope === "main" ? undefined : resolveLinkedPeer(cfg.session?.identityLinks, channel, raw);
  const peerId = name !== undefined ? asciiLower(name) : foldIdCase(raw, isCaseSensitiveChannel(channel));
  const peer = name !== undefined ? { peerId, linked: true as const } : { peerId };
  const linked = name !== undefined;
  const main: ThreadableKeyParts = { kind: "main", agentId, mainKey };
  if (peerId === "") return { parts: main, peerKey: peerId, linked };
  switch (scope) {
    case "per-account-channel-peer":
      return { parts: { kind: "direct", scope, agentId, channel, accountId, ...peer }, peerKey: peerId, linked };
    case "per-channel-peer":
      return { parts: { kind: "direct", scope, agentId, channel, ...peer }, peerKey: peerId, linked };
    case "per-peer":
      return { parts: { kind: "direct", scope, agentId, ...peer }, peerKey: peerId, linked };
    default:
      return { parts: main, peerKey: peerId, linked };
  }
}

/** Groups, channels and topics are always isolated per id (OpenClaw 2026.3.13 has no `session.groupScope`). */
function groupParts(env: InboundEnvelope, agentId: string, channel: string, topicId?: string): ThreadableKeyParts {
  const id = env.peerId.trim() || "unknown";
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
  const { threadId, topicId } = threadAndTopic(envelope);
  const { agentId, matchedBy } = selectAgent(cfg, {
    channel,
    accountId,
    ...bindingPeers(envelope, threadId, topicId),
    ...(envelope.guildId !== undefined ? { guildId: envelope.guildId } : {}),
    ...(envelope.teamId !== undefined ? { teamId: envelope.teamId } : {}),
    ...(envelope.roles !== undefined ? { roles: envelope.roles } : {}),
  });
  const dm = envelope.chatType === "direct" ? dmParts(envelope, cfg, agentId, channel, accountId, mainKey) : undefined;
  const base = dm?.parts ?? groupParts(envelope, agentId, channel, topicId);
  // Channel-less keys (main, per-peer) keep thread case in the codec, so fold by channel here.
  const thread = threadId === undefined ? {} : { threadId: foldIdCase(threadId, isCaseSensitiveChannel(channel)) };
  const codec = { mainKey };
  const sessionKey = buildSessionKey({ ...base, ...thread }, codec);
  const mainSessionKey = buildSessionKey({ kind: "main", agentId, mainKey }, codec);
  const resetType: ResetType =
    threadId !== undefined || topicId !== undefined ? "thread" : envelope.chatType === "direct" ? "direct" : "group";
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
    ...(dm ? { peerKey: dm.peerKey } : {}),
    ...(dm?.linked ? { peerLinked: true as const } : {}),
  };
}
