/**
 * `session.identityLinks` (reference §2.5): maps a DM peer to a canonical name. An id claimed by
 * two names is a config error (spec §2), never settled by object order.
 */
import { quoteForError } from "./ids.ts";
import { RoutingConfigError } from "./routing-config.ts";

interface LinkEntry {
  /** Canonical name as configured (trimmed). */
  name: string;
  /** Listed id as configured (trimmed) and its match form (lower-case). */
  raw: string;
  id: string;
}

function linkEntries(links: unknown): LinkEntry[] {
  if (links === null || typeof links !== "object") return [];
  const out: LinkEntry[] = [];
  for (const [canonical, ids] of Object.entries(links)) {
    const name = canonical.trim();
    if (name === "" || !Array.isArray(ids)) continue;
    for (const raw of ids as unknown[]) {
      if (typeof raw !== "string" || raw.trim() === "") continue;
      out.push({ name, raw: raw.trim(), id: raw.trim().toLowerCase() });
    }
  }
  return out;
}

const CHANNEL_PREFIX = /^[a-z0-9][a-z0-9_-]*$/;

/** Names compare case-insensitively: the name becomes a lower-cased peer id. */
const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

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
    }
  }
  const entries = linkEntries(links);
  const byId = new Map<string, LinkEntry>();
  for (const e of entries) {
    const prior = byId.get(e.id);
    if (prior && !sameName(prior.name, e.name)) {
      errors.push(
        `session.identityLinks: ${quoteForError(e.raw)} is listed under both ${quoteForError(prior.name)} and ${quoteForError(e.name)}`,
      );
    }
    if (!prior) byId.set(e.id, e);
  }
  for (const e of entries) {
    for (let i = e.id.indexOf(":"); i > 0; i = e.id.indexOf(":", i + 1)) {
      // Only a plausible channel id can prefix: `@alice:example.org` is a Matrix id, not `<channel>:id`.
      if (!CHANNEL_PREFIX.test(e.id.slice(0, i))) continue;
      const bare = byId.get(e.id.slice(i + 1));
      if (bare && !sameName(bare.name, e.name)) {
        errors.push(
          `session.identityLinks: ${quoteForError(bare.raw)} (under ${quoteForError(bare.name)}) and ${quoteForError(e.raw)} (under ${quoteForError(e.name)}) both match peer ${quoteForError(bare.raw)} on channel ${quoteForError(e.id.slice(0, i))}`,
        );
      }
    }
  }
  return errors;
}

/**
 * The canonical name for a DM peer, or undefined. Matches `id` and `channel:id`
 * case-insensitively. Throws RoutingConfigError when two names claim the peer.
 */
export function resolveLinkedPeer(links: unknown, channel: string, peerId: string): string | undefined {
  const candidates = new Set([peerId.toLowerCase(), `${channel}:${peerId}`.toLowerCase()]);
  let found: LinkEntry | undefined;
  for (const e of linkEntries(links)) {
    if (!candidates.has(e.id)) continue;
    if (found && !sameName(found.name, e.name)) {
      throw new RoutingConfigError(
        `session.identityLinks: peer ${quoteForError(peerId)} on ${quoteForError(channel)} is claimed by both ${quoteForError(found.name)} (${quoteForError(found.raw)}) and ${quoteForError(e.name)} (${quoteForError(e.raw)})`,
      );
    }
    found ??= e;
  }
  return found?.name;
}
