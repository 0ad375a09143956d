/**
 * The keys the Slack adapter reads from its account block (`AccountSettings.raw`), checked once
 * when the adapter is built. CORE's schema validates them at config load; this is the adapter's
 * own guarantee, naming the key, the value and what was expected.
 */
import { z } from "zod";
import type { AccountSettings } from "../types.ts";
import { ChannelFatalError } from "../types.ts";

export const SLACK_DEFAULT_API_URL = "https://slack.com/api/";
export const SLACK_DEFAULT_WEBHOOK_PATH = "/slack/events";
export const SLACK_DEFAULT_WEBHOOK_PORT = 3000;
/** Slack's documented display limit for one message (the API accepts 40 000). */
export const SLACK_MAX_CHARS = 4000;

const RawSchema = z.object({
  mode: z.enum(["socket", "http"]).optional(),
  webhookPath: z.string().startsWith("/").optional(),
  webhookHost: z.string().min(1).optional(),
  webhookPort: z.number().int().min(0).max(65535).optional(),
  textChunkLimit: z.number().int().positive().optional(),
});

export interface SlackSettings {
  accountId: string;
  botToken: string;
  mode: "socket" | "http";
  appToken?: string;
  signingSecret?: string;
  /** Always ends with `/` (the Web API client appends the method name). */
  apiUrl: string;
  webhookPath: string;
  webhookHost: string;
  webhookPort: number;
  maxChars: number;
}

function fail(key: string, value: unknown, expected: string): never {
  throw new ChannelFatalError(`channels.slack.${key}: got ${JSON.stringify(value)}, expected ${expected}`);
}

export function resolveSlackSettings(s: AccountSettings): SlackSettings {
  const parsed = RawSchema.safeParse(Object.fromEntries(Object.entries(s.raw).filter(([k]) => k in RawSchema.shape)));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? "?");
    fail(key, s.raw[key], issue?.message ?? "a valid value");
  }
  const raw = parsed.data;
  const mode = raw.mode ?? "socket";
  if (!s.token) fail("botToken", s.token, "a bot token (xoxb-…), botToken/tokenFile or SLACK_BOT_TOKEN");
  if (mode === "socket" && !s.appToken) fail("appToken", s.appToken, "an app-level token (xapp-…) for Socket Mode");
  if (mode === "http" && !s.signingSecret)
    fail("signingSecret", s.signingSecret, 'the app\'s signing secret for mode "http"');
  let apiUrl = s.baseUrl ?? SLACK_DEFAULT_API_URL;
  try {
    const u = new URL(apiUrl);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("scheme");
  } catch {
    fail("apiUrl", apiUrl, "an http(s) URL such as https://slack.com/api/");
  }
  if (!apiUrl.endsWith("/")) apiUrl += "/";
  return {
    accountId: s.accountId,
    botToken: s.token,
    mode,
    ...(s.appToken ? { appToken: s.appToken } : {}),
    ...(s.signingSecret ? { signingSecret: s.signingSecret } : {}),
    apiUrl,
    webhookPath: raw.webhookPath ?? SLACK_DEFAULT_WEBHOOK_PATH,
    webhookHost: raw.webhookHost ?? "127.0.0.1",
    webhookPort: raw.webhookPort ?? SLACK_DEFAULT_WEBHOOK_PORT,
    maxChars: Math.min(raw.textChunkLimit ?? SLACK_MAX_CHARS, SLACK_MAX_CHARS),
  };
}
