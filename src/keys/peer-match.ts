/**
 * How a configured id entry (`session.identityLinks`, `commands.allowFrom`) names a peer. One rule
 * for every list, so no peer can pick an id that a list reads as someone else:
 * - `telegram:111` (a plausible channel id, then `:`) names peer `111` on Telegram only;
 * - any other entry (`555`, `@alice:example.org`) names a peer with exactly that id on any channel.
 * A raw id is never compared with a qualified entry as a whole: a Discord peer whose id is
 * `telegram:111` is not Telegram's 111 (OpenClaw compares `<channel>:<id>` and the raw id with
 * every entry, so it was). A raw id that itself looks qualified (`user:123`) must be written with
 * its channel (`matrix:user:123`).
 * Ids compare by the peer's channel's case rule (segment.ts): ASCII case folded on
 * case-insensitive channels, exact on Matrix and Signal; never Unicode `toLowerCase()`, which
 * folds KELVIN SIGN onto `k`.
 */
import { normalizeChannel } from "./ids.ts";
import { foldIdCase, isCaseSensitiveChannel } from "./segment.ts";

export interface PeerEntry {
  /** Set for a channel-qualified entry: the only channel it matches on. */
  channel?: string;
  /** The peer id it names, trimmed, unfolded; empty for `telegram:` (names no peer). */
  id: string;
}

const QUALIFIED = /^([a-z0-9][a-z0-9_-]*):(.*)$/i;

export function parsePeerEntry(raw: string): PeerEntry {
  const entry = raw.trim();
  const m = QUALIFIED.exec(entry);
  return m ? { channel: normalizeChannel(m[1]), id: (m[2] ?? "").trim() } : { id: entry };
}

/** Whether `entry` names peer `peerId` on `channel` (normalised here). */
export function peerEntryMatches(entry: PeerEntry, channel: string, peerId: string): boolean {
  const ch = normalizeChannel(channel);
  if (entry.id === "" || (entry.channel !== undefined && entry.channel !== ch)) return false;
  const cs = isCaseSensitiveChannel(ch);
  return foldIdCase(entry.id, cs) === foldIdCase(peerId.trim(), cs);
}
