/**
 * Telegram failures → the channel layer's classes, from the Bot API's structured answer
 * (`error_code`, `parameters.retry_after`), never from message substrings alone (a "retry after"
 * text inside a 401 must stay a 401). Descriptions only refine a 400/403 into "this chat" cases.
 */
import { GrammyError, HttpError } from "grammy";
import { ChannelFatalError, ChannelSendError, type SendFailureKind } from "../types.ts";

/** 403s that concern one chat, not the token: the bot was blocked, kicked, or may not write there. */
const CHAT_FORBIDDEN = /blocked|kicked|not a member|deactivated|have no rights|can't initiate|not enough rights/i;

/** Telegram refused the HTML markup itself; the same text as plain text may still go through. */
export function isEntityParseError(err: unknown): boolean {
  return err instanceof GrammyError && err.error_code === 400 && /can't parse entities/i.test(err.description);
}

/** Node/undici/node-fetch codes meaning the request never reached the server: safe to send again. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ENONETWORK"]);

function networkCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let i = 0; i < 4 && cur && typeof cur === "object"; i++) {
    const code = (cur as { code?: unknown }).code ?? (cur as { errno?: unknown }).errno;
    if (typeof code === "string") return code;
    cur = (cur as { cause?: unknown; error?: unknown }).cause ?? (cur as { error?: unknown }).error;
  }
  return undefined;
}

export function classifySendError(err: unknown, method: string): ChannelSendError {
  if (err instanceof ChannelSendError) return err;
  if (err instanceof GrammyError) {
    const code = err.error_code;
    const desc = `telegram ${method}: ${code} ${err.description}`;
    let kind: SendFailureKind;
    let retryAfterMs: number | undefined;
    if (code === 429) {
      kind = "rate-limited";
      const after = Number(err.parameters.retry_after);
      retryAfterMs = Number.isFinite(after) && after >= 0 ? after * 1000 : 1000;
    } else if (code === 401 || code === 404)
      kind = "auth"; // 404 on a bot path: the token is unknown
    else if (code === 403) kind = CHAT_FORBIDDEN.test(err.description) ? "permanent" : "auth";
    else if (code >= 500) kind = "transient";
    else kind = "permanent"; // 400 chat not found / message is too long / thread not found, 409, …
    return new ChannelSendError(desc, kind, retryAfterMs, { cause: err });
  }
  const code = networkCode(err);
  const text = err instanceof Error ? err.message : String(err);
  if (code !== undefined && NOT_SENT.has(code)) {
    return new ChannelSendError(`telegram ${method}: ${code}`, "transient", undefined, { cause: err });
  }
  // Reset, timeout, a non-JSON answer: the request may have been written and accepted.
  const detail = err instanceof HttpError ? `${text} (${code ?? String(err.error)})` : text;
  return new ChannelSendError(`telegram ${method}: ${detail}`, "unknown", undefined, { cause: err });
}

/** Whether a failure at start (getMe, deleteWebhook, setWebhook, the first poll) needs an operator. */
export function startError(err: unknown, accountId: string): unknown {
  if (err instanceof GrammyError) {
    const code = err.error_code;
    if (code === 401 || code === 404 || (code === 403 && !CHAT_FORBIDDEN.test(err.description))) {
      return new ChannelFatalError(
        `telegram account "${accountId}": the bot token was refused (${code} ${err.description}); check channels.telegram.botToken`,
        { cause: err },
      );
    }
    if (code === 409) return conflictError(err, accountId);
  }
  return err;
}

export function conflictError(err: GrammyError, accountId: string): ChannelFatalError {
  return new ChannelFatalError(
    `telegram account "${accountId}": another process is polling this bot or a webhook is set (409 ${err.description}); ` +
      "stop the other gateway/bot using the same token, or use channels.telegram.mode: webhook",
    { cause: err },
  );
}
