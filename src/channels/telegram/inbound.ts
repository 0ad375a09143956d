/**
 * One Bot API update → a `ChannelInbound`, or the reason it is skipped. Pure: the update is read
 * as untrusted JSON (every field checked before use), so a malformed update is a skip, never a
 * throw. Mapping as OpenClaw does it (spec channels.md §5.2): a DM's peer is the sender; a group's
 * peer is the chat; a forum message belongs to topic `message_thread_id ?? 1`; a DM topic becomes
 * the thread `<chatId>:<threadId>`; a reply thread in a non-forum group is no thread at all.
 */
import type { ChannelInbound } from "../types.ts";
import { mentionFacts, type BotIdentity } from "./mentions.ts";

export type MappedUpdate =
  { kind: "message"; msg: ChannelInbound } | { kind: "skip"; reason: string; detail?: Record<string, unknown> };

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);

/** The update's id when it has a usable one (the offset can only move past updates it can count). */
export function updateIdOf(update: unknown): number | undefined {
  return isObj(update) && isId(update.update_id) && update.update_id >= 0 ? update.update_id : undefined;
}

const MEDIA_FIELDS = [
  "photo",
  "video",
  "video_note",
  "animation",
  "audio",
  "voice",
  "document",
  "sticker",
  "paid_media",
  "story",
  "contact",
  "location",
  "venue",
  "poll",
  "dice",
];

/** Service messages: membership, titles, pins, topics, … — nothing a person said to the agent. */
const SERVICE_FIELDS = [
  "new_chat_members",
  "new_chat_title",
  "new_chat_photo",
  "delete_chat_photo",
  "group_chat_created",
  "supergroup_chat_created",
  "channel_chat_created",
  "migrate_to_chat_id",
  "migrate_from_chat_id",
  "pinned_message",
  "forum_topic_created",
  "forum_topic_edited",
  "forum_topic_closed",
  "forum_topic_reopened",
  "general_forum_topic_hidden",
  "general_forum_topic_unhidden",
  "message_auto_delete_timer_changed",
  "video_chat_started",
  "video_chat_ended",
  "video_chat_scheduled",
  "video_chat_participants_invited",
  "write_access_allowed",
  "users_shared",
  "chat_shared",
];

export function mapUpdate(update: unknown, bot: BotIdentity, accountId: string): MappedUpdate {
  if (!isObj(update) || updateIdOf(update) === undefined) return { kind: "skip", reason: "malformed" };
  if (update.my_chat_member !== undefined) return memberUpdate(update.my_chat_member, bot);
  if (update.edited_message !== undefined || update.edited_channel_post !== undefined) {
    return { kind: "skip", reason: "edited" };
  }
  if (update.channel_post !== undefined) return { kind: "skip", reason: "channel_post" };
  if (update.message === undefined) {
    const type = Object.keys(update).find((k) => k !== "update_id") ?? "empty";
    return { kind: "skip", reason: "unsupported_update", detail: { type } };
  }
  return mapMessage(update.message, bot, accountId);
}

/** The bot's own membership changed: removed or left → counted; added → nothing to answer yet. */
function memberUpdate(raw: unknown, bot: BotIdentity): MappedUpdate {
  if (!isObj(raw) || !isObj(raw.chat) || !isObj(raw.new_chat_member)) return { kind: "skip", reason: "malformed" };
  const status = raw.new_chat_member.status;
  const chatId = isId(raw.chat.id) ? String(raw.chat.id) : undefined;
  if (status === "left" || status === "kicked") {
    return { kind: "skip", reason: "bot_removed", detail: { chatId, status, botId: bot.id } };
  }
  return { kind: "skip", reason: "membership", detail: { chatId, status } };
}

function mapMessage(raw: unknown, bot: BotIdentity, accountId: string): MappedUpdate {
  if (!isObj(raw) || !isId(raw.message_id) || !isObj(raw.chat) || !isId(raw.chat.id)) {
    return { kind: "skip", reason: "malformed" };
  }
  const chat = raw.chat;
  const chatId = String(chat.id);
  const type = chat.type;
  if (type === "channel") return { kind: "skip", reason: "channel_post" };
  if (type !== "private" && type !== "group" && type !== "supergroup") return { kind: "skip", reason: "malformed" };
  const from = raw.from;
  if (!isObj(from) || !isId(from.id)) return { kind: "skip", reason: "malformed" };
  if (String(from.id) === bot.id) return { kind: "skip", reason: "self" };
  if (from.is_bot === true) return { kind: "skip", reason: "from_bot", detail: { senderId: String(from.id) } };

  if (isObj(raw.left_chat_member) && String(raw.left_chat_member.id) === bot.id) {
    return { kind: "skip", reason: "bot_removed", detail: { chatId } };
  }
  const service = SERVICE_FIELDS.find((f) => raw[f] !== undefined) ?? (raw.left_chat_member ? "left_chat_member" : "");
  if (service) return { kind: "skip", reason: "service", detail: { type: service } };

  const text = typeof raw.text === "string" ? raw.text : typeof raw.caption === "string" ? raw.caption : undefined;
  if (text === undefined || text.trim() === "") {
    const media = MEDIA_FIELDS.find((f) => raw[f] !== undefined);
    return media ? { kind: "skip", reason: "media_only", detail: { type: media } } : { kind: "skip", reason: "empty" };
  }

  const threadRaw = isId(raw.message_thread_id) && raw.message_thread_id > 0 ? raw.message_thread_id : undefined;
  const senderId = String(from.id);
  const senderName = nameOf(from);
  const messageId = String(raw.message_id);
  const timestamp = isId(raw.date) ? raw.date * 1000 : undefined;
  const mention = mentionFacts(raw, text, bot, threadRaw);
  const body = ownCommand(text, bot.username);

  if (type === "private") {
    // DM topics (bots with topics enabled): routing keys them `…:direct:<peer>:thread:<chatId>:<threadId>`,
    // the chat taken from parentPeerId when it is not the sender's id.
    const threadId = threadRaw === undefined ? undefined : String(threadRaw);
    return {
      kind: "message",
      msg: {
        envelope: {
          channel: "telegram",
          accountId,
          chatType: "direct",
          peerId: senderId,
          senderId,
          ...(senderName ? { senderName } : {}),
          text: body,
          messageId,
          ...(timestamp !== undefined ? { timestamp } : {}),
          ...(threadId ? { threadId } : {}),
          ...(chatId !== senderId ? { parentPeerId: chatId } : {}),
        },
        reply: {
          channel: "telegram",
          accountId,
          to: chatId,
          ...(threadRaw !== undefined ? { threadId: String(threadRaw) } : {}),
          replyToMessageId: messageId,
        },
        mention,
      },
    };
  }

  // Groups: a forum's topic is part of the peer (General = 1); elsewhere message_thread_id is a reply thread, ignored.
  const forum = chat.is_forum === true;
  const topicId = forum ? String(threadRaw ?? 1) : undefined;
  const title = typeof chat.title === "string" && chat.title.trim() ? chat.title : undefined;
  return {
    kind: "message",
    msg: {
      envelope: {
        channel: "telegram",
        accountId,
        chatType: "group",
        peerId: chatId,
        groupId: chatId,
        isForum: forum,
        ...(topicId ? { topicId } : {}),
        ...(title ? { groupSubject: title } : {}),
        senderId,
        ...(senderName ? { senderName } : {}),
        text: body,
        messageId,
        ...(timestamp !== undefined ? { timestamp } : {}),
        wasMentioned: mention.explicit || mention.replyToBot,
      },
      // The General topic's id is kept: typing needs it, and send() leaves it out of sendMessage.
      reply: {
        channel: "telegram",
        accountId,
        to: chatId,
        ...(topicId ? { threadId: topicId } : {}),
        replyToMessageId: messageId,
      },
      mention,
      ...(title ? { groupName: title } : {}),
    },
  };
}

function nameOf(from: Json): string | undefined {
  const parts = [from.first_name, from.last_name].filter((p): p is string => typeof p === "string" && p.trim() !== "");
  const name = parts.join(" ").trim();
  if (name) return name;
  return typeof from.username === "string" && from.username ? from.username : undefined;
}

/**
 * `/cmd@ourbot args` → `/cmd args` (Telegram's command menu adds the bot's name in groups), so the
 * runtime sees its command. A command for another bot keeps its `@name` and is no command here.
 */
function ownCommand(text: string, username: string): string {
  const m = /^\/([^\s@]+)@([A-Za-z0-9_]+)(?=\s|$)/.exec(text);
  return m && username && m[2]!.toLowerCase() === username.toLowerCase() ? `/${m[1]}${text.slice(m[0].length)}` : text;
}
