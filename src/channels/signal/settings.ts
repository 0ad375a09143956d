/**
 * The keys the Signal adapter reads: the account number (`account`, E.164), the signal-cli
 * daemon's base URL (`httpUrl`, default http://127.0.0.1:8080, signal-cli's own default) and
 * `textChunkLimit`. Checked once when the adapter is built; a bad value fails start naming the key.
 */
import type { AccountSettings } from "../types.ts";
import { ChannelFatalError } from "../types.ts";

export const SIGNAL_DEFAULT_HTTP_URL = "http://127.0.0.1:8080";
export const SIGNAL_MAX_CHARS = 4000;
const E164 = /^\+[1-9]\d{6,14}$/;

export interface SignalSettings {
  accountId: string;
  /** The bot's own number (E.164): loop protection and the daemon's `account` parameter. */
  account: string;
  /** No trailing slash. */
  httpUrl: string;
  maxChars: number;
}

function fail(key: string, value: unknown, expected: string): never {
  throw new ChannelFatalError(`channels.signal.${key}: got ${JSON.stringify(value)}, expected ${expected}`);
}

export function resolveSignalSettings(s: AccountSettings): SignalSettings {
  const account = (s.account ?? s.token ?? "").replace(/[\s().-]/g, "");
  if (!E164.test(account)) fail("account", s.account ?? s.token, "the bot's number in E.164 form (+15551234567)");
  const raw = s.baseUrl ?? SIGNAL_DEFAULT_HTTP_URL;
  const withScheme = /^https?:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    fail("httpUrl", raw, "the signal-cli daemon's URL, e.g. http://127.0.0.1:8080");
  }
  const limit = s.raw.textChunkLimit;
  if (limit !== undefined && (typeof limit !== "number" || !Number.isInteger(limit) || limit <= 0)) {
    fail("textChunkLimit", limit, "a positive integer");
  }
  return {
    accountId: s.accountId,
    account,
    httpUrl: url.toString().replace(/\/+$/, ""),
    maxChars: Math.min(typeof limit === "number" ? limit : SIGNAL_MAX_CHARS, SIGNAL_MAX_CHARS),
  };
}
