/** Session keys: one import point for the parts type, codec, normaliser and helpers. */
export { SessionKeyError } from "./errors.ts";
export type * from "./session-key-parts.ts";
export { isThreadable } from "./session-key-parts.ts";
export { buildSessionKey, parseSessionKey } from "./session-key-codec.ts";
export { normalizeSessionKey } from "./session-key-normalize.ts";
export type { NormalizeKeyOptions } from "./session-key-normalize.ts";
export {
  agentIdFromKey,
  cronRunSessionKey,
  cronSessionKey,
  deriveChatTypeFromKey,
  hookSessionKey,
  isCronRunKey,
  isSubagentKey,
  mainSessionKey,
  resetTypeForKey,
  subagentSessionKey,
  threadParentKey,
} from "./session-key-helpers.ts";
export type { ResetType } from "./session-key-helpers.ts";
