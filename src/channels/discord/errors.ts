/**
 * Discord failures → the channel layer's classes, from structured fields only (HTTP status,
 * Discord's JSON error code, discord.js error codes), never from message text.
 */
import { DiscordAPIError, HTTPError, RateLimitError } from "discord.js";
import { ChannelFatalError, ChannelSendError } from "../types.ts";

/** Discord JSON error codes that no retry can fix (https://discord.com/developers/docs/topics/opcodes-and-status-codes). */
const PERMANENT_CODES = new Set([
  10003, // Unknown Channel
  10008, // Unknown Message
  50001, // Missing Access (removed from the guild/channel)
  50007, // Cannot send messages to this user
  50013, // Missing Permissions
  50035, // Invalid Form Body (e.g. content over 2000)
  160002, // Cannot reply without permission to read message history
]);

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
]);

export function classifySendError(err: unknown): ChannelSendError {
  if (err instanceof ChannelSendError) return err;
  if (err instanceof RateLimitError) {
    return new ChannelSendError(`discord: rate limited on ${err.route}`, "rate-limited", Math.max(err.retryAfter, 1), {
      cause: err,
      scope: err.global ? "account" : "chat",
    });
  }
  if (err instanceof DiscordAPIError) {
    if (err.status === 401 || err.status === 403) {
      if (err.status === 403 && typeof err.code === "number" && PERMANENT_CODES.has(err.code)) {
        return new ChannelSendError(`discord: ${err.message}`, "permanent", undefined, { cause: err });
      }
      return new ChannelSendError(`discord: ${err.message}`, "auth", undefined, { cause: err });
    }
    if (err.status === 429)
      return new ChannelSendError(`discord: ${err.message}`, "rate-limited", 1000, { cause: err });
    if (err.status >= 500)
      return new ChannelSendError(`discord: ${err.message}`, "transient", undefined, { cause: err });
    return new ChannelSendError(`discord: ${err.message}`, "permanent", undefined, { cause: err });
  }
  if (err instanceof HTTPError) {
    const kind = err.status >= 500 ? "transient" : err.status === 401 || err.status === 403 ? "auth" : "permanent";
    return new ChannelSendError(`discord: HTTP ${err.status}`, kind, undefined, { cause: err });
  }
  // Every post carries an enforced nonce (index.ts `nonceOf`): Discord drops a repeat within minutes,
  // so a send whose answer was lost (reset, timeout) is safe to repeat.
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && NETWORK_CODES.has(code)) {
    return new ChannelSendError(`discord: ${code}`, "transient", undefined, { cause: err });
  }
  if ((err as { name?: unknown } | null)?.name === "AbortError") {
    return new ChannelSendError("discord: request timed out", "transient", undefined, { cause: err });
  }
  return new ChannelSendError(`discord: ${String((err as Error)?.message ?? err)}`, "unknown", undefined, {
    cause: err,
  });
}

/** discord.js login/close failures an operator must fix: invalid token, disallowed or invalid intents. */
export function fatalStartError(err: unknown): ChannelFatalError | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "TokenInvalid" || code === "DisallowedIntents" || code === "InvalidIntents") {
    return new ChannelFatalError(`discord: ${String((err as Error).message)}`, { cause: err });
  }
  if (err instanceof DiscordAPIError && (err.status === 401 || err.status === 403)) {
    return new ChannelFatalError(`discord: ${err.message}`, { cause: err });
  }
  return null;
}

/** Gateway close codes after which discord.js stops reconnecting (4004 auth failed, 4010–4014). */
export function fatalCloseCode(code: number): boolean {
  return code === 4004 || (code >= 4010 && code <= 4014);
}
