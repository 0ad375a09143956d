/**
 * The manager was asked to act on a session that is not there: a caller's stale key, or a row
 * removed (reset, deleted, cleaned up) between the caller's check and the change. A caller's
 * problem (404), never a store failure.
 */
import { PincerError } from "../errors.ts";

export class SessionNotFoundError extends PincerError {
  override readonly code = "session_not_found";
  override readonly httpStatus = 404;
  /** The session as the caller named it (the key normalised). */
  readonly session: { readonly agentId: string; readonly sessionKey: string };
  constructor(agentId: string, sessionKey: string) {
    super(`no session ${JSON.stringify(sessionKey)} for agent ${agentId}`);
    this.session = { agentId, sessionKey };
  }
}
