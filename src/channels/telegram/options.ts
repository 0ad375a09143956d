/**
 * The Telegram-only keys of one account block (`settings.raw`, channel-level keys already merged
 * with `accounts.<id>`), checked once when the adapter is made. CORE's schema accepts them too;
 * this is the adapter's own guard, so a bad value names the key, the value and what was expected.
 */
import { z } from "zod";
import { ChannelFatalError, type AccountSettings } from "../types.ts";

export interface TelegramOptions {
  token: string;
  apiRoot?: string;
  mode: "polling" | "webhook";
  /** getUpdates long-poll timeout (Telegram allows up to 50 s). */
  pollingTimeoutSec: number;
  /** Per Bot API call other than getUpdates. */
  timeoutSeconds: number;
  webhookUrl?: string;
  webhookSecret?: string;
  webhookPath: string;
  webhookHost: string;
  webhookPort: number;
}

const Schema = z.object({
  mode: z.enum(["polling", "webhook"]).default("polling"),
  pollingTimeoutSec: z.number().int().min(0).max(50).default(30),
  timeoutSeconds: z.number().int().min(1).max(500).default(30),
  webhookUrl: z.url({ protocol: /^https?$/ }).optional(),
  // Telegram's own rule for secret_token: 1–256 of A–Z a–z 0–9 _ -.
  webhookSecret: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,256}$/)
    .optional(),
  webhookPath: z
    .string()
    .regex(/^\/[\w\-./]*$/)
    .default("/telegram-webhook"),
  webhookHost: z.string().min(1).default("127.0.0.1"),
  webhookPort: z.number().int().min(0).max(65535).default(8787),
});

export function readTelegramOptions(settings: AccountSettings): TelegramOptions {
  const where = `channels.telegram${settings.accountId === "default" ? "" : ` (account "${settings.accountId}")`}`;
  const picked = Object.fromEntries(Object.keys(Schema.shape).map((k) => [k, settings.raw[k]]));
  const parsed = Schema.safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.join(".");
    throw new ChannelFatalError(
      `${where}.${key}: ${JSON.stringify(settings.raw[key as string])} is not valid (${issue.message})`,
    );
  }
  const o = parsed.data;
  if (!settings.token)
    throw new ChannelFatalError(`${where}: no bot token (botToken, tokenFile or TELEGRAM_BOT_TOKEN)`);
  if (o.mode === "webhook" && (!o.webhookUrl || !o.webhookSecret)) {
    throw new ChannelFatalError(`${where}: mode "webhook" needs webhookUrl and webhookSecret`);
  }
  const apiRoot = settings.baseUrl?.replace(/\/+$/, "");
  return {
    token: settings.token,
    ...(apiRoot ? { apiRoot } : {}),
    mode: o.mode,
    pollingTimeoutSec: o.pollingTimeoutSec,
    timeoutSeconds: o.timeoutSeconds,
    ...(o.webhookUrl ? { webhookUrl: o.webhookUrl } : {}),
    ...(o.webhookSecret ? { webhookSecret: o.webhookSecret } : {}),
    webhookPath: o.webhookPath,
    webhookHost: o.webhookHost,
    webhookPort: o.webhookPort,
  };
}
