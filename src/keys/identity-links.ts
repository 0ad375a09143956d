/**
 * `session.identityLinks` (as in OpenClaw): maps a DM peer to a canonical name. An id claimed by
 * two names is a config error naming both, never settled by object order. Entries match peers by
 * peer-match.ts: `telegram:111` only Telegram's peer 111, an unqualified `555` peer 555 on any
 * channel (as in OpenClaw), case folded by the peer's channel's ASCII rule. Canonical names
 * compare by ASCII case.
 */
import { quoteForError } from "./ids.ts";
import { parsePeerEntry, peerEntryMatches } from "./peer-match.ts";
import { RoutingConfigError } from "./routing-config.ts";
import { asciiLower } from "./segment.ts";

interface LinkEntry {
  /** Canonical name as configured (trimmed). */
  name: string;
  /** The entry as configured (trimmed), for messages. */
  raw: string;
  /** Set for a channel-qualified entry: the only channel it matches on. */
  channel?: string;
  /** The peer id it matches, unfolded. */
  id: string;
}

function parseEntry(name: string, raw: string): LinkEntry {
  return { name, raw, ...parsePeerEntry(raw) };
}

function linkEntries(links: unknown): LinkEntry[] {
  if (links === null || typeof links !== "object") return [];
  const out: LinkEntry[] = [];
  for (const [canonical, ids] of Object.entries(links)) {
    const name = canonical.trim();
    if (name === "" || !Array.isArray(ids)) continue;
    for (const raw of ids as unknown[]) {
      if (typeof raw !== "string" || raw.trim() === "") continue;
      const entry = parseEntry(name, raw.trim());
      if (entry.id !== "") out.push(entry);
    }
  }
  return out;
}

const sameName = (a: string, b: string): boolean => asciiLower(a) === asciiLower(b);

/** Why two entries can match the same peer, or undefined when no peer matches both. */
function overlap(a: LinkEntry, b: LinkEntry): string | undefined {
  if (a.channel === undefined && b.channel === undefined) {
    // Unqualified entries meet on any case-insensitive channel when their ASCII-folded ids agree.
    return asciiLower(a.id) === asciiLower(b.id) ? "listed" : undefined;
  }
  const channel = (a.channel ?? b.channel) as string;
  if (a.channel !== undefined && b.channel !== undefined && a.channel !== b.channel) return undefined;
  if (!peerEntryMatches(a, channel, b.id)) return undefined;
  return a.channel === b.channel ? "listed" : channel;
}

function conflictMessage(a: LinkEntry, b: LinkEntry, how: string): string {
  if (how === "listed") {
    return `session.identityLinks: ${quoteForError(b.raw)} is listed under both ${quoteForError(a.name)} and ${quoteForError(b.name)}`;
  }
  const [bare, qualified] = a.channel === undefined ? [a, b] : [b, a];
  return `session.identityLinks: ${quoteForError(bare.raw)} (under ${quoteForError(bare.name)}) and ${quoteForError(qualified.raw)} (under ${quoteForError(qualified.name)}) both match peer ${quoteForError(bare.raw)} on channel ${quoteForError(how)}`;
}

/**
 * Every way the links are malformed or ambiguous, one message per problem. Ambiguous means one
 * peer matches two names: the same id twice, or `123` under one name and `<channel>:123` under
 * another (both match peer 123 on that channel).
 */
export function validateIdentityLinks(links: unknown): string[] {
  if (links === undefined) return [];
  if (links === null || typeof links !== "object" || Array.isArray(links)) {
    return ["session.identityLinks: must be an object of name → list of ids"];
  }
  const errors: string[] = [];
  for (const [canonical, ids] of Object.entries(links)) {
    const where = `session.identityLinks[${quoteForError(canonical)}]`;
    if (canonical.trim() === "") errors.push(`${where}: the canonical name must not be blank`);
    if (!Array.isArray(ids)) errors.push(`${where}: must be an array of ids`);
    else if ((ids as unknown[]).some((x) => typeof x !== "string" || x.trim() === "")) {
      errors.push(`${where}: every id must be a non-blank string`);
    } else {
      for (const x of ids as string[]) {
        if (parseEntry(canonical.trim(), x.trim()).id === "") {
          errors.push(
            `${where}: ${quoteForError(x.trim())} names channel ${quoteForError(parsePeerEntry(x).channel)} but no peer id after ':'`,
          );
        }
      }
    }
  }
  const entries = linkEntries(links);
  for (let i = 0; i < entries.length; i++) {
    for (let j = i + 1; j < entries.length; j++) {
      const a = entries[i] as LinkEntry;
      const b = entries[j] as LinkEntry;
      const how = sameName(a.name, b.name) ? undefined : overlap(a, b);
      if (how !== undefined) errors.push(conflictMessage(a, b, how));
    }
  }
  return errors;
}

/**
 * The canonical name (trimmed, as configured) for DM peer `peerId` on `channel`, or undefined.
 * Throws RoutingConfigError when two names claim the peer.
 */
export function resolveLinkedPeer(links: unknown, channel: string, peerId: string): string | undefined {
  let found: LinkEntry | undefined;
  for (const e of linkEntries(links)) {
    if (!peerEntryMatches(e, channel, peerId)) continue;
    if (found && !sameName(found.name, e.name)) {
      throw new RoutingConfigError(
        `session.identityLinks: peer ${quoteForError(peerId)} on ${quoteForError(channel)} is claimed by both ${quoteForError(found.name)} (${quoteForError(found.raw)}) and ${quoteForError(e.name)} (${quoteForError(e.raw)})`,
      );
    }
    found ??= e;
  }
  return found?.name;
}
