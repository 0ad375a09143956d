/**
 * One signal-cli `receive` payload → `ChannelInbound`, or why it is skipped. Pure. Senders are
 * E.164 (`sourceNumber`) or, when the number is hidden, `uuid:<sourceUuid>` — OpenClaw's peer ids;
 * a message is a group message iff `dataMessage.groupInfo.groupId` is set, and the group id is
 * kept exactly as Signal gives it (base64, case matters). Our own messages (`syncMessage`, or our
 * number/uuid as the source) are never ingested; receipts, typing, reactions, edits, remote
 * deletes, stories, calls and attachment-only messages are skipped.
 */
import type { ChannelInbound } from "../types.ts";

export interface SignalSelf {
  /** E.164. */
  number: string;
  /** Learnt from our own sync messages (their source is us). */
  uuid?: string;
}

export type SignalMapResult =
  | { kind: "message"; inbound: ChannelInbound }
  | { kind: "skip"; reason: string; detail?: Record<string, unknown>; selfUuid?: string };

const OBJECT_REPLACEMENT = "\uFFFC";

const str = (v: unknown): string | undefined => (typeof v === "string" && v.trim() !== "" ? v.trim() : undefined);
const obj = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

export function normalizeE164(value: string): string {
  const digits = value.replace(/[\s().-]/g, "");
  return digits.startsWith("+") ? digits : `+${digits}`;
}

interface Mention {
  start: number;
  length: number;
  number?: string;
  uuid?: string;
}

function mentions(v: unknown): Mention[] {
  if (!Array.isArray(v)) return [];
  const out: Mention[] = [];
  for (const m of v) {
    const o = obj(m);
    if (!o || typeof o.start !== "number" || typeof o.length !== "number" || o.length <= 0) continue;
    const number = str(o.number);
    const uuid = str(o.uuid);
    if (!number && !uuid) continue;
    out.push({ start: o.start, length: o.length, ...(number ? { number } : {}), ...(uuid ? { uuid } : {}) });
  }
  return out;
}

/** Signal puts U+FFFC where a mention sits; it becomes `@<number|uuid>` so text patterns can see it. */
function renderMentions(text: string, list: Mention[]): string {
  let out = text;
  for (const m of [...list].sort((a, b) => b.start - a.start)) {
    const start = Math.max(0, Math.trunc(m.start));
    const end = Math.min(out.length, start + Math.trunc(m.length));
    if (start >= end || !out.slice(start, end).includes(OBJECT_REPLACEMENT)) continue;
    out = `${out.slice(0, start)}@${m.uuid ?? m.number}${out.slice(end)}`;
  }
  return out;
}

const isSelf = (self: SignalSelf, number?: string, uuid?: string): boolean =>
  (number !== undefined && normalizeE164(number) === self.number) || (uuid !== undefined && uuid === self.uuid);

export function mapSignalReceive(payload: unknown, ctx: { accountId: string; self: SignalSelf }): SignalMapResult {
  const p = obj(payload);
  if (!p) return { kind: "skip", reason: "malformed", detail: { reason: "payload is not an object" } };
  const exception = obj(p.exception);
  if (exception) return { kind: "skip", reason: "receive-exception", detail: { message: exception.message } };
  const env = obj(p.envelope);
  if (!env) return { kind: "skip", reason: "malformed", detail: { reason: "no envelope" } };
  const number = str(env.sourceNumber);
  const uuid = str(env.sourceUuid);
  if (env.syncMessage !== undefined) {
    // Our own device's copy of what we sent: its source is us, which also tells us our uuid.
    const learnt = number && normalizeE164(number) === ctx.self.number && uuid ? { selfUuid: uuid } : {};
    return { kind: "skip", reason: "self", detail: { sync: true }, ...learnt };
  }
  if (!number && !uuid) return { kind: "skip", reason: "malformed", detail: { reason: "no source" } };
  if (isSelf(ctx.self, number, uuid)) return { kind: "skip", reason: "self" };
  if (env.receiptMessage !== undefined) return { kind: "skip", reason: "receipt" };
  if (env.typingMessage !== undefined) return { kind: "skip", reason: "typing" };
  if (env.editMessage !== undefined) return { kind: "skip", reason: "edited" };
  if (env.callMessage !== undefined) return { kind: "skip", reason: "call" };
  if (env.storyMessage !== undefined) return { kind: "skip", reason: "story" };
  if (env.reactionMessage !== undefined) return { kind: "skip", reason: "reaction" };
  const data = obj(env.dataMessage);
  if (!data) return { kind: "skip", reason: "no-data-message" };
  if (obj(data.reaction)) return { kind: "skip", reason: "reaction" };
  if (obj(data.remoteDelete)) return { kind: "skip", reason: "deleted" };
  const timestamp =
    typeof env.timestamp === "number" ? env.timestamp : typeof data.timestamp === "number" ? data.timestamp : undefined;
  if (timestamp === undefined || !Number.isSafeInteger(timestamp) || timestamp <= 0) {
    return { kind: "skip", reason: "malformed", detail: { reason: "no timestamp" } };
  }
  const rawText = typeof data.message === "string" ? data.message : "";
  const list = mentions(data.mentions);
  const text = renderMentions(rawText, list).trim();
  if (text === "") {
    const attachments = Array.isArray(data.attachments) && data.attachments.length > 0;
    const reason = obj(data.sticker)
      ? "sticker-only"
      : attachments
        ? "media-only"
        : obj(data.groupInfo)
          ? "group-update"
          : "empty";
    return { kind: "skip", reason };
  }

  const senderId = number ? normalizeE164(number) : `uuid:${uuid}`;
  const group = obj(data.groupInfo);
  const groupId = group ? str(group.groupId) : undefined;
  if (group && !groupId) return { kind: "skip", reason: "malformed", detail: { reason: "groupInfo without groupId" } };
  const explicit = list.some((m) => isSelf(ctx.self, m.number, m.uuid));
  const quote = obj(data.quote);
  const replyToBot =
    quote !== undefined && isSelf(ctx.self, str(quote.authorNumber) ?? str(quote.author), str(quote.authorUuid));
  const groupName = group ? str(group.groupName) : undefined;
  const senderName = str(env.sourceName);

  const inbound: ChannelInbound = {
    envelope: {
      channel: "signal",
      accountId: ctx.accountId,
      chatType: groupId ? "group" : "direct",
      peerId: groupId ?? senderId,
      ...(groupId ? { groupId } : {}),
      senderId,
      ...(senderName ? { senderName } : {}),
      text,
      // Signal identifies a message by its author and timestamp (quotes and reactions target both).
      messageId: `${senderId}:${timestamp}`,
      timestamp,
      ...(groupId ? { wasMentioned: explicit || replyToBot } : {}),
    },
    reply: { channel: "signal", accountId: ctx.accountId, to: groupId ? `group:${groupId}` : senderId },
    mention: { explicit, replyToBot },
    ...(groupName ? { groupName } : {}),
  };
  return { kind: "message", inbound };
}
