/**
 * One Slack `message` / `app_mention` event → `ChannelInbound`, or the reason it is skipped.
 * Pure: the adapter resolves the conversation type (event field, `conversations.info`, id prefix)
 * and thread participation before calling it. Mapping as OpenClaw does it: `im` → direct (peer =
 * user), `mpim` → group, public/private channel → channel (peer = channel id); a thread reply
 * carries `threadId = thread_ts` (the `:thread:<ts>` key suffix), DMs included.
 */
import type { ChannelInbound } from "../types.ts";

export type SlackConversationType = "im" | "mpim" | "channel" | "group";

export interface SlackIdentity {
  botUserId: string;
  botId?: string;
  teamId?: string;
  name?: string;
}

/** The fields of a Slack message event this adapter reads (everything else is ignored). */
export interface SlackMessageEvent {
  type?: unknown;
  subtype?: unknown;
  channel?: unknown;
  channel_type?: unknown;
  user?: unknown;
  bot_id?: unknown;
  text?: unknown;
  ts?: unknown;
  thread_ts?: unknown;
  parent_user_id?: unknown;
  files?: unknown;
  team?: unknown;
  user_profile?: unknown;
}

export type SlackMapResult =
  { kind: "message"; inbound: ChannelInbound } | { kind: "skip"; reason: string; detail?: Record<string, unknown> };

/** Subtypes that are ordinary user messages; every other subtype (edits, deletes, joins, bots) is skipped. */
const USER_SUBTYPES = new Set(["file_share", "thread_broadcast", "me_message"]);

const str = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : undefined);

/** The type an id prefix implies, as Slack assigns them (D = DM, C = channel, G = private/MPIM). */
export function conversationTypeFromId(channelId: string): SlackConversationType {
  if (channelId.startsWith("D")) return "im";
  if (channelId.startsWith("G")) return "group";
  return "channel";
}

export function normalizeConversationType(value: unknown, channelId: string): SlackConversationType | undefined {
  const t = typeof value === "string" ? value.trim().toLowerCase() : "";
  if (t !== "im" && t !== "mpim" && t !== "channel" && t !== "group") return undefined;
  // A D… id is always a DM, whatever a stale field says (OpenClaw does the same).
  return channelId.startsWith("D") ? "im" : t;
}

export function slackMessageKey(channel: string, ts: string): string {
  return `${channel}:${ts}`;
}

function senderName(profile: unknown): string | undefined {
  if (!profile || typeof profile !== "object") return undefined;
  const p = profile as Record<string, unknown>;
  return str(p.display_name) ?? str(p.real_name) ?? str(p.name);
}

export interface SlackMapContext {
  accountId: string;
  identity: SlackIdentity;
  /** Resolved by the adapter (event field, conversations.info, id prefix). */
  conversationType: SlackConversationType;
  /** `team_id` of the event callback. */
  teamId?: string;
  /** Whether the bot already posted in this thread (a reply there counts as a mention). */
  participated(channel: string, threadTs: string): boolean;
  /** The event came as `app_mention`: a native mention by definition. */
  appMention?: boolean;
  groupName?: string;
}

export function mapSlackMessage(event: SlackMessageEvent, ctx: SlackMapContext): SlackMapResult {
  const subtype = str(event.subtype);
  if (subtype === "message_changed") return { kind: "skip", reason: "edited" };
  if (subtype === "message_deleted") return { kind: "skip", reason: "deleted" };
  if (subtype === "bot_message" || str(event.bot_id)) return { kind: "skip", reason: "from-bot" };
  if (subtype !== undefined && !USER_SUBTYPES.has(subtype))
    return { kind: "skip", reason: "subtype", detail: { subtype } };
  const channel = str(event.channel);
  const ts = str(event.ts);
  const user = str(event.user);
  if (!channel || !ts || !user || !/^\d+\.\d+$/.test(ts)) {
    return { kind: "skip", reason: "malformed", detail: { channel, ts, hasUser: user !== undefined } };
  }
  if (user === ctx.identity.botUserId) return { kind: "skip", reason: "self" };
  const text = typeof event.text === "string" ? event.text : "";
  if (text.trim() === "") {
    const hasFiles = Array.isArray(event.files) && event.files.length > 0;
    return { kind: "skip", reason: hasFiles ? "media-only" : "empty" };
  }

  const type = ctx.conversationType;
  if (ctx.appMention && (type === "im" || type === "mpim")) {
    // Slack also sends the plain `message` event there; that one is ingested.
    return { kind: "skip", reason: "app-mention-in-dm" };
  }
  const threadTs = str(event.thread_ts);
  const parentUser = str(event.parent_user_id);
  const isThreadReply = threadTs !== undefined && (threadTs !== ts || parentUser !== undefined);
  const threadId = isThreadReply ? threadTs : undefined;
  const direct = type === "im";
  const chatType = direct ? "direct" : type === "mpim" ? "group" : "channel";
  const explicit = ctx.appMention === true || text.includes(`<@${ctx.identity.botUserId}>`);
  const replyToBot =
    !direct && threadId !== undefined && (parentUser === ctx.identity.botUserId || ctx.participated(channel, threadId));
  const teamId = ctx.teamId ?? str(event.team) ?? ctx.identity.teamId;
  const name = senderName(event.user_profile);

  const inbound: ChannelInbound = {
    envelope: {
      channel: "slack",
      accountId: ctx.accountId,
      chatType,
      peerId: direct ? user : channel,
      ...(direct ? {} : { groupId: channel }),
      ...(threadId ? { threadId } : {}),
      senderId: user,
      ...(name ? { senderName: name } : {}),
      text,
      messageId: slackMessageKey(channel, ts),
      timestamp: Math.round(Number(ts) * 1000),
      ...(teamId ? { teamId } : {}),
      wasMentioned: explicit || replyToBot,
    },
    reply: { channel: "slack", accountId: ctx.accountId, to: channel, ...(threadId ? { threadId } : {}) },
    mention: { explicit, replyToBot },
    ...(ctx.groupName && !direct ? { groupName: ctx.groupName } : {}),
  };
  return { kind: "message", inbound };
}
