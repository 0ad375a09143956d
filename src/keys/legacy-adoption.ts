/**
 * Whether a row OpenClaw wrote under its form of a key (openclaw-key.ts) may be adopted by the
 * Pincer key of the same conversation. Pincer keeps ids apart that OpenClaw merged (case on
 * Signal/Matrix, `:` and spaces encoded, linked names in their own namespace), so a legacy key can
 * be the very key Pincer gives *another* peer; adopting it then could hand one person's history to
 * someone else — the collision the encoding exists to prevent. Such rows are refused unless the
 * row itself shows it is this peer's.
 */
import { decodeSegment, isCaseSensitiveChannel } from "./segment.ts";
import { parseSessionKey, buildSessionKey } from "./session-key-codec.ts";

/** The parts of a stored row the decision reads (structural: keys/ imports nothing of Pincer). */
export interface LegacyRow {
  sessionStartedAt?: number;
  origin?: { from?: string };
  lastTo?: string;
  deliveryContext?: { to?: string };
}

export interface LegacyContext {
  channel: string;
  senderId: string;
  /** Groups and channels: the conversation's id (OpenClaw records the group as the origin). */
  groupPeerId?: string;
  /** For a linked identity: every id configured for it (`telegram:111`, `987`). */
  linkedIds?: readonly string[];
}

export type AdoptionVerdict = { adopt: true; why: string } | { adopt: false; why: string };

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** True when `key` is exactly what Pincer builds for some conversation (so Pincer may route a peer there). */
function isPincerKey(key: string): boolean {
  try {
    const parts = parseSessionKey(key);
    return parts.kind !== "other" && buildSessionKey(parts) === key;
  } catch {
    return false;
  }
}

/** The key with its segments decoded and every UUID in lower case (`%43` is Pincer's encoded `C`). */
function uuidFolded(key: string): string | undefined {
  try {
    return key
      .split(":")
      .map((seg) => decodeSegment(seg).replace(UUID, (u) => u.toLowerCase()))
      .join(":");
  } catch {
    return undefined;
  }
}

function rowNamesAnySender(row: LegacyRow): boolean {
  return [row.origin?.from, row.lastTo, row.deliveryContext?.to].some((v) => typeof v === "string" && v.trim() !== "");
}

/**
 * Whether the row records this conversation: its sender (or, for a linked identity, one of its
 * ids), or for a group the group itself. On channels whose ids are case-sensitive the spelling must
 * be exact — a case variant is precisely the other peer the legacy key could belong to.
 */
function rowNamesSender(row: LegacyRow, ctx: LegacyContext): boolean {
  const fold = isCaseSensitiveChannel(ctx.channel) ? (v: string) => v.trim() : (v: string) => v.trim().toLowerCase();
  const recorded = [row.origin?.from, row.lastTo, row.deliveryContext?.to]
    .filter((v): v is string => typeof v === "string")
    .map(fold);
  const ids =
    ctx.groupPeerId !== undefined
      ? [
          `${ctx.channel}:group:${ctx.groupPeerId}`,
          `${ctx.channel}:channel:${ctx.groupPeerId}`,
          `${ctx.channel}:${ctx.groupPeerId}`,
        ]
      : [`${ctx.channel}:${ctx.senderId}`];
  for (const id of ctx.linkedIds ?? []) ids.push(id.includes(":") ? id : `${ctx.channel}:${id}`);
  return ids.some((id) => recorded.includes(fold(id)));
}

export function legacyAdoption(
  legacyKey: string,
  pincerKey: string,
  row: LegacyRow,
  ctx: LegacyContext,
): AdoptionVerdict {
  if (!isPincerKey(legacyKey)) return { adopt: true, why: "no Pincer peer has this key" };
  // From here the legacy key is also Pincer's key of another conversation.
  if (row.sessionStartedAt !== undefined) {
    return { adopt: false, why: "the row was written by Pincer for the conversation that key names" };
  }
  // Case variants of a UUID are the same UUID (Signal service ids): no other peer can own it.
  if (uuidFolded(pincerKey) === legacyKey) return { adopt: true, why: "the ids differ only in a UUID's case" };
  if (rowNamesSender(row, ctx)) return { adopt: true, why: "the row's origin is this sender" };
  // OpenClaw keyed the linked name and a raw peer of that name alike, so their conversations were
  // already one there: with no sender on record, the linked identity continues it.
  if (ctx.linkedIds !== undefined && !rowNamesAnySender(row)) {
    return { adopt: true, why: "a linked identity's row with no sender recorded" };
  }
  return {
    adopt: false,
    why: "Pincer gives that key to another peer, and the row does not show it is this sender's",
  };
}
