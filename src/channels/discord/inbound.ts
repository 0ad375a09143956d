/**
 * One discord.js `Message` → a `ChannelInbound`, or the reason it is skipped. Keys follow
 * OpenClaw: a DM is `direct` with the author as peer, a guild text channel is `channel` with the
 * channel as peer, and a thread is its own `channel` session (peer = the thread id, no `:thread:`
 * suffix) whose parent channel is kept for bindings.
 */
import { ChannelType, MessageType, type Message } from "discord.js";
import type { ChannelInbound } from "../types.ts";

export type InboundOrSkip = { inbound: ChannelInbound } | { skip: string };

/** Message types a person writes; everything else (joins, pins, boosts, thread starters) is a service event. */
const USER_MESSAGE_TYPES = new Set<MessageType>([MessageType.Default, MessageType.Reply]);

export function toInbound(message: Message, accountId: string, botUserId: string): InboundOrSkip {
  if (message.author.id === botUserId) return { skip: "own-message" };
  if (message.author.bot || message.webhookId) return { skip: "from-bot" };
  if (message.system || !USER_MESSAGE_TYPES.has(message.type)) return { skip: "service-message" };
  const text = message.content;
  if (!text.trim()) {
    // Attachments, stickers or embeds alone: nothing a text model can answer.
    return { skip: message.attachments.size || message.stickers.size ? "media-only" : "empty" };
  }
  const channel = message.channel;
  const replyToBot = message.mentions.repliedUser?.id === botUserId;
  const explicit = message.mentions.users.has(botUserId);
  const base = {
    channel: "discord" as const,
    accountId,
    senderId: message.author.id,
    senderName: message.member?.displayName ?? message.author.globalName ?? message.author.username,
    text,
    messageId: message.id,
    timestamp: message.createdTimestamp,
  };
  const reply = { channel: "discord" as const, accountId, to: message.channelId, replyToMessageId: message.id };
  if (channel.type === ChannelType.DM) {
    return { inbound: { envelope: { ...base, chatType: "direct", peerId: message.author.id }, reply } };
  }
  if (channel.type === ChannelType.GroupDM) {
    return {
      inbound: {
        envelope: { ...base, chatType: "group", peerId: message.channelId, wasMentioned: explicit || replyToBot },
        reply,
        mention: { explicit, replyToBot },
      },
    };
  }
  if (!message.guildId) return { skip: "unknown-channel" };
  const roles = message.member ? [...message.member.roles.cache.keys()].filter((id) => id !== message.guildId) : [];
  const thread = channel.isThread() ? channel : null;
  const groupName = thread ? thread.name : "name" in channel ? channel.name : undefined;
  return {
    inbound: {
      envelope: {
        ...base,
        chatType: "channel",
        peerId: message.channelId,
        guildId: message.guildId,
        ...(roles.length ? { roles } : {}),
        ...(thread?.parentId ? { parentPeerId: thread.parentId } : {}),
        wasMentioned: explicit || replyToBot,
      },
      reply,
      mention: { explicit, replyToBot },
      ...(groupName ? { groupName } : {}),
    },
  };
}
