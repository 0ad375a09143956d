/**
 * Native mention facts for the shared gate: a `mention` entity or a standalone `@username` in the
 * text (OpenClaw's hasBotMention), a `text_mention` of the bot's user id, a `/command@bot`, and a
 * reply to one of the bot's messages (the implicit mention). The bot's identity comes from getMe.
 */

export interface BotIdentity {
  id: string;
  /** Without the `@`. */
  username: string;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

const wordChar = (c: string | undefined): boolean => c !== undefined && /[a-z0-9_]/i.test(c);

function standaloneMention(lower: string, mention: string): boolean {
  for (let at = lower.indexOf(mention); at !== -1; at = lower.indexOf(mention, at + 1)) {
    if (!wordChar(lower[at - 1]) && !wordChar(lower[at + mention.length])) return true;
  }
  return false;
}

export function mentionFacts(
  msg: Json,
  text: string,
  bot: BotIdentity,
  threadId: number | undefined,
): { explicit: boolean; replyToBot: boolean } {
  const handle = `@${bot.username}`.toLowerCase();
  const lower = text.toLowerCase();
  let explicit = bot.username !== "" && standaloneMention(lower, handle);
  const entities = Array.isArray(msg.entities)
    ? msg.entities
    : Array.isArray(msg.caption_entities)
      ? msg.caption_entities
      : [];
  for (const e of entities) {
    if (explicit) break;
    if (!isObj(e) || typeof e.offset !== "number" || typeof e.length !== "number") continue;
    const slice = lower.slice(e.offset, e.offset + e.length);
    if (e.type === "mention" && slice === handle) explicit = true;
    else if (e.type === "text_mention" && isObj(e.user) && String(e.user.id) === bot.id) explicit = true;
    else if (e.type === "bot_command" && slice.endsWith(handle)) explicit = true;
  }
  const r = msg.reply_to_message;
  // In a forum every message "replies" to its topic's creation message: that is no reply to the bot.
  const topicRoot =
    isObj(r) && (r.forum_topic_created !== undefined || (threadId !== undefined && r.message_id === threadId));
  const replyToBot = isObj(r) && !topicRoot && isObj(r.from) && String(r.from.id) === bot.id;
  return { explicit, replyToBot };
}
