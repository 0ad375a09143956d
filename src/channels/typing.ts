/**
 * "typing…" while a turn runs. Platforms show it for about 5 s, so it is repeated until the
 * returned stop function is called (or `maxMs` passes — a turn that never ends must not type
 * forever). A failure never reaches the caller. After `authFailureLimit` consecutive "auth"
 * failures on an adapter, typing stops for good on that account (that adapter instance): OpenClaw
 * #27092 / PR #27415 — a `sendChatAction` 401 loop got bots deleted by Telegram. A "permanent"
 * failure (chat gone) stops this loop; a "rate-limited" one skips ticks until its retry_after.
 */
import type { Logger } from "pino";
import { ChannelSendError, type ChannelAdapter, type ReplyTarget } from "./types.ts";

export interface KeepTypingOptions {
  /** Default 5000. */
  everyMs?: number;
  /** Stops by itself after this long (default 10 min). */
  maxMs?: number;
  /** Consecutive "auth" failures after which the account never types again (default 3). */
  authFailureLimit?: number;
  log?: Logger;
}

interface AccountTyping {
  authFailures: number;
  disabled: boolean;
}

const accounts = new WeakMap<ChannelAdapter, AccountTyping>();

/** Whether typing was switched off for good on this adapter after repeated auth failures. */
export function typingDisabled(adapter: ChannelAdapter): boolean {
  return accounts.get(adapter)?.disabled ?? false;
}

export function keepTyping(adapter: ChannelAdapter, target: ReplyTarget, opts: KeepTypingOptions = {}): () => void {
  const noop = (): void => {};
  if (!adapter.typing || adapter.caps.typing === false) return noop;
  let state = accounts.get(adapter);
  if (!state) {
    state = { authFailures: 0, disabled: false };
    accounts.set(adapter, state);
  }
  const acct = state;
  if (acct.disabled) return noop;
  const limit = opts.authFailureLimit ?? 3;
  const startedAt = Date.now();
  const maxMs = opts.maxMs ?? 10 * 60_000;
  let stopped = false;
  let inflight = false;
  let skipUntil = 0;

  const stop = (): void => {
    stopped = true;
    clearInterval(timer);
  };
  const onError = (err: unknown): void => {
    const kind = err instanceof ChannelSendError ? err.kind : "transient";
    if (kind === "auth") {
      acct.authFailures++;
      if (acct.authFailures >= limit && !acct.disabled) {
        acct.disabled = true;
        opts.log?.warn(
          { channel: adapter.channel, accountId: adapter.accountId, failures: acct.authFailures },
          "typing: stopped for good on this account after repeated auth failures",
        );
      }
      if (acct.disabled) stop();
    } else if (kind === "permanent") {
      stop();
    } else if (kind === "rate-limited" && err instanceof ChannelSendError && err.retryAfterMs) {
      skipUntil = Date.now() + err.retryAfterMs;
    }
  };
  const tick = (): void => {
    if (stopped) return;
    if (acct.disabled || Date.now() - startedAt > maxMs) return stop();
    if (inflight || Date.now() < skipUntil) return;
    inflight = true;
    let p: Promise<void>;
    try {
      p = adapter.typing!(target);
    } catch (err) {
      p = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    p.then(
      () => {
        acct.authFailures = 0;
      },
      (err: unknown) => {
        try {
          onError(err);
        } catch {
          // never throws
        }
      },
    ).finally(() => {
      inflight = false;
    });
  };
  const timer = setInterval(tick, opts.everyMs ?? 5000);
  timer.unref();
  tick();
  return stop;
}
