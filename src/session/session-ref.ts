/**
 * A session is named by its agent and its key. Maps of per-session state (lanes, leases, queues,
 * cached rows) key by both; `refKey` is the one spelling of that map key, so no two modules can
 * disagree on it and a key can be split back into its parts (a session key may contain anything
 * but NUL, an agent id never does).
 */
export interface SessionRef {
  readonly agentId: string;
  readonly sessionKey: string;
}

const SEPARATOR = "\u0000";

/** The map key of a session: agent id and session key joined by NUL. */
export function refKey(ref: SessionRef): string {
  return `${ref.agentId}${SEPARATOR}${ref.sessionKey}`;
}

/** The session a `refKey` names. */
export function refOfKey(key: string): SessionRef {
  const at = key.indexOf(SEPARATOR);
  if (at < 0)
    throw new Error(`not a session ref key: ${JSON.stringify(key)} (expected "<agentId>\\u0000<sessionKey>")`);
  return { agentId: key.slice(0, at), sessionKey: key.slice(at + 1) };
}
