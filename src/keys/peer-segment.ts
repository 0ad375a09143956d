/**
 * The peer segment of DM keys, where two namespaces meet: platform peer ids and the canonical
 * names of `session.identityLinks`.
 *
 * OpenClaw writes both bare (`…:direct:alice` is either the linked Alice or a peer whose raw id
 * is `alice`), so a peer can pick its id to land in a linked person's session. Pincer gives
 * canonical names their own namespace: `~` + the encoded name (`agent:main:telegram:direct:~alice`).
 * A raw id's segment never starts with `~` (a leading `~` is escaped as `%7e`), so no peer id can
 * spell a canonical name and no config change can hand a raw peer's history to a linked identity
 * or back. Chosen over escaping only raw ids that equal a configured name, which keeps OpenClaw's
 * linked keys but makes a raw peer's key depend on the config: adding a link named `bob` would
 * hand peer `bob`'s existing session to the linked Bob. Cost: keys OpenClaw wrote for linked
 * identities (`…:direct:alice`) now read as raw peer `alice`; a raw OpenClaw peer id starting
 * with `~` now reads as a canonical name.
 *
 * Canonical names are folded by ASCII case whatever the channel: they are config names, and under
 * `per-peer` the key has no channel to take a case rule from.
 */
import { SessionKeyError } from "./errors.ts";
import { decodeSegment, encodeSegment, foldIdCase } from "./segment.ts";

export const LINKED_IDENTITY_MARKER = "~";

export interface PeerValue {
  peerId: string;
  /** Set when peerId is a canonical name from `session.identityLinks`, not a platform id. */
  linked?: true;
}

export function encodePeerSegment(peer: PeerValue, caseSensitive: boolean): string {
  if (peer.linked) return LINKED_IDENTITY_MARKER + encodeSegment(peer.peerId, { caseSensitive: false });
  const seg = encodeSegment(peer.peerId, { caseSensitive });
  return seg.startsWith(LINKED_IDENTITY_MARKER) ? `%7e${seg.slice(1)}` : seg;
}

/** Decodes and case-folds a peer segment; `~name` is a canonical name (folded by ASCII case). */
export function decodePeerSegment(segment: string, caseSensitive: boolean): PeerValue {
  if (!segment.startsWith(LINKED_IDENTITY_MARKER)) return { peerId: foldIdCase(decodeSegment(segment), caseSensitive) };
  const name = segment.slice(LINKED_IDENTITY_MARKER.length);
  if (name === "") throw new SessionKeyError(`peer segment "${segment}" names no canonical identity after "~"`);
  return { peerId: foldIdCase(decodeSegment(name), false), linked: true };
}
