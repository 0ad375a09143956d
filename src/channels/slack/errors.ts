/**
 * Slack Web API failures → the layer's send-failure kinds, from the structured `error` code Slack
 * answers with (never from message text). A platform error means Slack processed the call and
 * refused it — nothing was posted — so an unknown one is permanent, not retried.
 */
import { webApi } from "@slack/bolt";
import { ChannelSendError, type SendFailureKind } from "../types.ts";

/** The token (or the app token) no longer works: stop for good, an operator must act. */
export const SLACK_AUTH_ERRORS: ReadonlySet<string> = new Set([
  "invalid_auth",
  "not_authed",
  "account_inactive",
  "token_revoked",
  "token_expired",
  "no_permission",
  "not_allowed_token_type",
  "team_access_not_granted",
  "app_uninstalled",
]);

const TRANSIENT: ReadonlySet<string> = new Set([
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
  "team_added_to_org",
]);

/** `code` of the first error in a cause chain that has one (ECONNREFUSED, UND_ERR_…). */
function causeCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur && typeof cur === "object"; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && !code.startsWith("slack_")) return code;
    cur = (cur as { cause?: unknown; original?: unknown }).original ?? (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Slack's error code (`invalid_auth`, `channel_not_found`, …) when the failure carries one. */
export function slackErrorCode(err: unknown): string | undefined {
  if (err instanceof webApi.WebAPIPlatformError) return err.data.error;
  if (err instanceof webApi.WebAPIHTTPError) {
    const body = err.body as { error?: unknown } | undefined;
    return typeof body?.error === "string" ? body.error : undefined;
  }
  return undefined;
}

export function isSlackAuthError(err: unknown): boolean {
  const code = slackErrorCode(err);
  if (code !== undefined && SLACK_AUTH_ERRORS.has(code)) return true;
  return err instanceof webApi.WebAPIHTTPError && (err.statusCode === 401 || err.statusCode === 403);
}

function retryAfterMs(headers: Record<string, string> | undefined): number | undefined {
  const raw = headers?.["retry-after"] ?? headers?.["Retry-After"];
  const sec = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(sec) && sec >= 0 ? Math.ceil(sec * 1000) : undefined;
}

export function classifySlackError(err: unknown): { kind: SendFailureKind; retryAfterMs?: number; code?: string } {
  if (err instanceof webApi.WebAPIRateLimitedError)
    return { kind: "rate-limited", retryAfterMs: err.retryAfter * 1000 };
  const code = slackErrorCode(err);
  if (err instanceof webApi.WebAPIPlatformError) {
    if (code === "ratelimited") return { kind: "rate-limited", retryAfterMs: 1000, code };
    if (code !== undefined && SLACK_AUTH_ERRORS.has(code)) return { kind: "auth", code };
    if (code !== undefined && TRANSIENT.has(code)) return { kind: "transient", code };
    return { kind: "permanent", ...(code ? { code } : {}) };
  }
  if (err instanceof webApi.WebAPIHTTPError) {
    const status = err.statusCode;
    if (status === 429) return { kind: "rate-limited", retryAfterMs: retryAfterMs(err.headers) ?? 1000 };
    if (status === 401 || status === 403 || (code && SLACK_AUTH_ERRORS.has(code))) return { kind: "auth" };
    if (status >= 500) return { kind: "transient" };
    return { kind: "permanent" };
  }
  // Network: refused/unresolvable before anything was written is safe to resend; a reset or a
  // timeout after the request went out may have posted the message.
  const net = causeCode(err);
  if (net === "ECONNREFUSED" || net === "ENOTFOUND" || net === "EAI_AGAIN" || net === "UND_ERR_CONNECT_TIMEOUT") {
    return { kind: "transient" };
  }
  return { kind: "unknown" };
}

export function toSendError(err: unknown, what: string): ChannelSendError {
  const c = classifySlackError(err);
  const detail = c.code ?? (err instanceof Error ? err.message : String(err));
  return new ChannelSendError(`slack ${what} failed (${c.kind}): ${detail}`, c.kind, c.retryAfterMs, { cause: err });
}
