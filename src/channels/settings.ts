/**
 * From `channels.<ch>` (+ `accounts.<id>`), the environment and `messages.groupChat` to what one
 * account runs with: the adapter's `AccountSettings` and the access rules the gate applies.
 * Account keys override channel-level keys; environment tokens apply to the `default` account only
 * (as in OpenClaw); `tokenFile` is read here, once, so a missing file fails the start naming it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { AccountConfig, ChannelConfig, ChannelsConfig } from "../config/channels-schema.ts";
import { NATIVE_CHANNELS } from "../config/channels-schema.ts";
import type { PincerConfig } from "../config/schema.ts";
import { PincerError } from "../errors.ts";
import type { AccountSettings, ChannelName } from "./types.ts";

export class ChannelSettingsError extends PincerError {
  override readonly code = "channel_config_invalid";
}

export type DmPolicy = "pairing" | "allowlist" | "open" | "disabled";
export type GroupPolicy = "allowlist" | "open" | "disabled";

export interface GroupRule {
  enabled?: boolean;
  requireMention?: boolean;
  allowFrom?: string[];
  topics?: Record<string, { enabled?: boolean; requireMention?: boolean; allowFrom?: string[] }>;
}

/** Discord's guild allowlist: a guild (id or "*"), its channels (id or "*"), sender users/roles. */
export interface GuildRule {
  requireMention?: boolean;
  users?: string[];
  roles?: string[];
  channels?: Record<
    string,
    { allow?: boolean; enabled?: boolean; requireMention?: boolean; users?: string[]; roles?: string[] }
  >;
}

/** What the gate needs for one account. */
export interface AccessSettings {
  channel: ChannelName;
  accountId: string;
  dmPolicy: DmPolicy;
  /** Config `allowFrom` as written (the pairing store is merged in by the gate under `pairing`). */
  allowFrom: string[];
  groupPolicy: GroupPolicy;
  /** `groups` keys (group ids or `"*"`); empty: no group allowlist by id. */
  groups: Record<string, GroupRule>;
  groupAllowFrom: string[];
  /** Group lines kept for the next triggered turn (0: none). */
  historyLimit: number;
  mentionPatterns: RegExp[];
  /** Discord `guilds` (empty: none configured; guild messages then follow `groups`). */
  guilds: Record<string, GuildRule>;
}

export interface ChannelAccount {
  settings: AccountSettings;
  access: AccessSettings;
  enabled: boolean;
  /** Why the account cannot start (no token …); undefined when it can. */
  unusable?: string;
  textChunkLimit?: number;
}

export const DEFAULT_ACCOUNT = "default";
export const DEFAULT_HISTORY_LIMIT = 50;

/** Environment tokens of the `default` account, per channel: [settings field, variable]. */
const ENV_TOKENS: Record<ChannelName, [keyof AccountSettings, string][]> = {
  telegram: [["token", "TELEGRAM_BOT_TOKEN"]],
  discord: [["token", "DISCORD_BOT_TOKEN"]],
  slack: [
    ["token", "SLACK_BOT_TOKEN"],
    ["appToken", "SLACK_APP_TOKEN"],
  ],
  signal: [],
};

const BASE_URL_KEY: Record<ChannelName, "apiRoot" | "apiUrl" | "httpUrl"> = {
  telegram: "apiRoot",
  slack: "apiUrl",
  discord: "apiRoot",
  signal: "httpUrl",
};

export function isNativeChannel(name: string): name is ChannelName {
  return (NATIVE_CHANNELS as readonly string[]).includes(name);
}

/** The account ids of a channel block: its `accounts` keys, else the one default account. */
export function accountIdsOf(block: ChannelConfig): string[] {
  const ids = Object.keys(block.accounts ?? {});
  return ids.length > 0 ? ids.map((id) => id.toLowerCase()) : [DEFAULT_ACCOUNT];
}

function mergedBlock(block: ChannelConfig, accountId: string): AccountConfig {
  const { accounts, defaultAccount: _defaultAccount, ...base } = block;
  const own = Object.entries(accounts ?? {}).find(([id]) => id.toLowerCase() === accountId)?.[1];
  return { ...base, ...own };
}

function readTokenFile(file: string, home: string, where: string): string {
  const resolved = path.resolve(home, file.startsWith("~") ? path.join(process.env.HOME ?? "", file.slice(1)) : file);
  try {
    return fs.readFileSync(resolved, "utf8").trim();
  } catch (err) {
    throw new ChannelSettingsError(
      `${where}.tokenFile: got ${JSON.stringify(file)}, expected a readable file holding the token (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

function compilePatterns(config: PincerConfig): RegExp[] {
  return (config.messages?.groupChat?.mentionPatterns ?? []).map((p) => new RegExp(p, "i"));
}

/** Every account of every configured native channel, enabled or not. */
export function resolveChannelAccounts(
  config: PincerConfig,
  home: string,
  env: NodeJS.ProcessEnv = process.env,
): ChannelAccount[] {
  const channels: ChannelsConfig = config.channels ?? {};
  const patterns = compilePatterns(config);
  const globalHistory = config.messages?.groupChat?.historyLimit ?? DEFAULT_HISTORY_LIMIT;
  const out: ChannelAccount[] = [];
  for (const channel of NATIVE_CHANNELS) {
    const block = channels[channel];
    if (!block) continue;
    for (const accountId of accountIdsOf(block)) {
      const where =
        accountId === DEFAULT_ACCOUNT && !block.accounts
          ? `channels.${channel}`
          : `channels.${channel}.accounts.${accountId}`;
      const raw = mergedBlock(block, accountId);
      const settings: AccountSettings = { channel, accountId, raw: { ...raw } };
      const token =
        raw.botToken ?? raw.token ?? (raw.tokenFile ? readTokenFile(raw.tokenFile, home, where) : undefined);
      if (token) settings.token = token;
      if (raw.appToken) settings.appToken = raw.appToken;
      if (raw.signingSecret) settings.signingSecret = raw.signingSecret;
      if (raw.account) settings.account = raw.account;
      if (channel === "signal" && !settings.token && raw.account) settings.token = raw.account;
      if (accountId === DEFAULT_ACCOUNT)
        for (const [field, variable] of ENV_TOKENS[channel]) {
          const value = env[variable]?.trim();
          if (value && settings[field] === undefined) (settings as unknown as Record<string, string>)[field] = value;
        }
      const baseUrl = raw[BASE_URL_KEY[channel]];
      if (baseUrl) settings.baseUrl = baseUrl;
      const access: AccessSettings = {
        channel,
        accountId,
        dmPolicy: raw.dmPolicy ?? "pairing",
        allowFrom: raw.allowFrom ?? [],
        groupPolicy: raw.groupPolicy ?? "allowlist",
        groups: groupsOf(channel, raw),
        groupAllowFrom: raw.groupAllowFrom ?? [],
        historyLimit: raw.historyLimit ?? globalHistory,
        mentionPatterns: patterns,
        guilds: channel === "discord" ? (raw.guilds ?? {}) : {},
      };
      const enabled = block.enabled !== false && raw.enabled !== false;
      const account: ChannelAccount = { settings, access, enabled };
      if (raw.textChunkLimit !== undefined) account.textChunkLimit = raw.textChunkLimit;
      const missing = missingCredential(settings);
      if (missing) account.unusable = `${where}: no ${missing}`;
      out.push(account);
    }
  }
  return out;
}

/** `groups`, plus Slack's `channels.<id>` allowlist in the same form (an explicit `groups` entry wins). */
function groupsOf(channel: ChannelName, raw: AccountConfig): Record<string, GroupRule> {
  const groups: Record<string, GroupRule> = {};
  if (channel === "slack")
    for (const [id, rule] of Object.entries(raw.channels ?? {})) {
      // Names (`#general`) need a lookup at start in OpenClaw; ids are what messages carry.
      if (id.startsWith("#")) continue;
      groups[id] = {
        ...(rule.allow === false || rule.enabled === false ? { enabled: false } : {}),
        ...(rule.requireMention !== undefined ? { requireMention: rule.requireMention } : {}),
        ...(rule.users ? { allowFrom: rule.users } : {}),
      };
    }
  return { ...groups, ...raw.groups };
}

function missingCredential(s: AccountSettings): string | undefined {
  switch (s.channel) {
    case "telegram":
      return s.token ? undefined : "botToken (or tokenFile, or TELEGRAM_BOT_TOKEN for the default account)";
    case "discord":
      return s.token ? undefined : "token (or tokenFile, or DISCORD_BOT_TOKEN for the default account)";
    case "slack":
      if (!s.token) return "botToken (or SLACK_BOT_TOKEN for the default account)";
      return s.appToken || s.signingSecret ? undefined : "appToken (Socket Mode) or signingSecret (HTTP Events)";
    case "signal":
      return s.account || s.token ? undefined : "account (the signal-cli number)";
  }
}

/** The gate's rules for a channel that has a `channels.<ch>` block (bridged envelopes too). */
export function accessFor(
  accounts: readonly ChannelAccount[],
  channel: string,
  accountId: string | undefined,
): AccessSettings | undefined {
  const id = (accountId ?? DEFAULT_ACCOUNT).toLowerCase();
  const ofChannel = accounts.filter((a) => a.settings.channel === channel);
  if (ofChannel.length === 0) return undefined;
  // An account the config does not name falls back to the channel's first account's rules (fail closed).
  return (ofChannel.find((a) => a.settings.accountId === id) ?? ofChannel[0]!).access;
}
