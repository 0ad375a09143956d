/**
 * `channels`: the four platforms Pincer runs natively (telegram, slack, discord, signal), written as
 * OpenClaw users write them — channel-level keys, `accounts.<id>` blocks inheriting them, per-group
 * settings. OpenClaw's other channel names are accepted (and reported at start as not supported);
 * any other name or key is an error naming its path with the closest known key.
 *
 * Access rules OpenClaw validates at load are checked here too, on every account as merged:
 * `dmPolicy: "open"` needs `"*"` in `allowFrom`; `dmPolicy: "allowlist"` needs a non-empty `allowFrom`.
 */
import { z } from "zod";
import { openclawOnly } from "./values.ts";

/** Channel names Pincer runs an adapter for. */
export const NATIVE_CHANNELS = ["telegram", "slack", "discord", "signal"] as const;
export type NativeChannel = (typeof NATIVE_CHANNELS)[number];

/** OpenClaw's other channels: a real openclaw.json still loads; the gateway says they are ignored. */
export const OPENCLAW_ONLY_CHANNELS = [
  "whatsapp",
  "matrix",
  "imessage",
  "bluebubbles",
  "googlechat",
  "msteams",
  "mattermost",
  "irc",
  "line",
  "feishu",
  "nostr",
  "zalo",
  "zalouser",
  "tlon",
  "twitch",
  "synology-chat",
  "nextcloud-talk",
  "webchat",
] as const;

/** Allowlist entries: ids as strings or numbers (Telegram ids are often written as numbers). */
const allowList = z.array(z.union([z.string().min(1), z.number().int()]).transform((v) => String(v)));

const mentionGate = {
  enabled: z.boolean().optional(),
  requireMention: z.boolean().optional(),
  allowFrom: allowList.optional(),
  ...openclawOnly("skills", "systemPrompt", "tools", "toolsBySender", "agentId", "groupPolicy", "users", "allow"),
};

const topicSchema = z.strictObject(mentionGate);
const groupSchema = z.strictObject({ ...mentionGate, topics: z.record(z.string(), topicSchema).optional() });

const port = z.number().int().min(0).max(65535);

/**
 * OpenClaw's Discord guild allowlist (`guilds.<guildId|"*">`, `…channels.<channelId|"*">`) and
 * Slack's channel allowlist (`channels.<channelId>`): the keys the gate reads are typed, the rest
 * of OpenClaw's per-guild/channel options pass through.
 */
const discordChannelRule = z.looseObject({
  allow: z.boolean().optional(),
  enabled: z.boolean().optional(),
  requireMention: z.boolean().optional(),
  users: allowList.optional(),
  roles: allowList.optional(),
});
const discordGuildRule = z.looseObject({
  requireMention: z.boolean().optional(),
  users: allowList.optional(),
  roles: allowList.optional(),
  channels: z.record(z.string(), discordChannelRule).optional(),
});
const slackChannelRule = z.looseObject({
  allow: z.boolean().optional(),
  enabled: z.boolean().optional(),
  requireMention: z.boolean().optional(),
  users: allowList.optional(),
});

/** Keys of one account block (also the channel level, which accounts inherit). */
const accountShape = {
  enabled: z.boolean().optional(),
  name: z.string().optional(),
  botToken: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  appToken: z.string().min(1).optional(),
  signingSecret: z.string().min(1).optional(),
  /** Signal: the account's number (E.164). */
  account: z.string().min(1).optional(),
  /** A file holding the token (trailing whitespace trimmed). */
  tokenFile: z.string().min(1).optional(),
  dmPolicy: z.enum(["pairing", "allowlist", "open", "disabled"]).optional(),
  allowFrom: allowList.optional(),
  groupPolicy: z.enum(["allowlist", "open", "disabled"]).optional(),
  groups: z.record(z.string(), groupSchema).optional(),
  groupAllowFrom: allowList.optional(),
  historyLimit: z.number().int().min(0).optional(),
  textChunkLimit: z.number().int().min(1).optional(),
  mode: z.string().min(1).optional(),
  webhookUrl: z.string().min(1).optional(),
  webhookSecret: z.string().min(1).optional(),
  webhookPath: z.string().min(1).optional(),
  webhookHost: z.string().min(1).optional(),
  webhookPort: port.optional(),
  pollingTimeoutSec: z.number().int().min(0).max(50).optional(),
  /** Discord: the guild allowlist (OpenClaw's shape). */
  guilds: z.record(z.string(), discordGuildRule).optional(),
  /** Slack: the channel allowlist by channel id (OpenClaw's shape). */
  channels: z.record(z.string(), slackChannelRule).optional(),
  /** Base URL overrides (tests, self-hosted endpoints). */
  apiRoot: z.url().optional(),
  apiUrl: z.url().optional(),
  /** signal-cli's daemon; a bare `host:port` is read as http (as the adapter does). */
  httpUrl: z.string().min(1).optional(),
  ...openclawOnly(
    "capabilities",
    "configWrites",
    "commands",
    "actions",
    "replyToMode",
    "replyToModeByChatType",
    "streaming",
    "streamMode",
    "blockStreaming",
    "linkPreview",
    "chunkMode",
    "mediaMaxMb",
    "dmHistoryLimit",
    "dms",
    "dm",
    "markdown",
    "heartbeat",
    "reactionNotifications",
    "reactionLevel",
    "ackReaction",
    "proxy",
    "retry",
    "timeoutSeconds",
    "network",
    "webhookCertPath",
    "customCommands",
    "userToken",
    "userTokenReadOnly",
    "intents",
    "threadBindings",
    "thread",
    "slashCommand",
    "typingReaction",
    "cliPath",
    "autoStart",
    "startupTimeoutMs",
    "receiveMode",
    "ignoreAttachments",
    "ignoreStories",
    "sendReadReceipts",
    "textChunkMode",
    "responsePrefix",
    "execApprovals",
    "agentComponents",
    "pluralkit",
    "allowBots",
    "historyScope",
    "maxLinesPerMessage",
    "ui",
    "voice",
  ),
};

/** One account as its config says, keys merged (channel level, then `accounts.<id>`). */
export type AccountConfig = z.infer<z.ZodObject<typeof accountShape>>;

function checkDmAccess(block: AccountConfig, ctx: z.RefinementCtx, at: (string | number)[]): void {
  const allow = block.allowFrom ?? [];
  if (block.dmPolicy === "open" && !allow.includes("*"))
    ctx.addIssue({
      code: "custom",
      path: [...at, "allowFrom"],
      message: 'an allowFrom list containing "*" (dmPolicy "open" requires it)',
    });
  if (block.dmPolicy === "allowlist" && allow.length === 0)
    ctx.addIssue({
      code: "custom",
      path: [...at, "allowFrom"],
      message: 'a non-empty allowFrom list (dmPolicy "allowlist" admits only the senders listed)',
    });
}

const channelSchema = z
  .strictObject({
    ...accountShape,
    accounts: z
      .record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/i, "an account id"), z.strictObject(accountShape))
      .optional(),
    defaultAccount: z.string().optional(),
  })
  .superRefine((channel, ctx) => {
    const { accounts, ...base } = channel;
    const ids = Object.keys(accounts ?? {});
    if (ids.length === 0) checkDmAccess(base, ctx, []);
    for (const id of ids) checkDmAccess({ ...base, ...accounts![id] }, ctx, ["accounts", id]);
  });

export type ChannelConfig = z.infer<typeof channelSchema>;

export const channelsSchema = z.strictObject({
  telegram: channelSchema.optional(),
  slack: channelSchema.optional(),
  discord: channelSchema.optional(),
  signal: channelSchema.optional(),
  /** OpenClaw's defaults for every channel (`groupPolicy`, …); Pincer does not inherit them (fail closed). */
  ...openclawOnly("defaults", ...OPENCLAW_ONLY_CHANNELS),
});

export type ChannelsConfig = z.infer<typeof channelsSchema>;

/** The OpenClaw-only channel names present in a config (reported at start as ignored). */
export function unsupportedChannels(channels: ChannelsConfig | undefined): string[] {
  if (!channels) return [];
  return OPENCLAW_ONLY_CHANNELS.filter((name) => channels[name] !== undefined);
}

/**
 * Telegram allowlist entries that can never match: Telegram authorises senders by numeric user id
 * only (`tg:`/`telegram:` prefixes stripped), as OpenClaw 2026.3.13 does — a `@username` can be
 * renamed or taken over by someone else, so it is not an identity. Reported (start log, security
 * audit) with the key, never matched. Reads a raw `channels.telegram` block.
 */
export function unmatchableTelegramAllowEntries(telegram: unknown): Array<{ path: string; entry: string }> {
  const out: Array<{ path: string; entry: string }> = [];
  const rec = (v: unknown): Record<string, unknown> | undefined =>
    v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const scan = (where: string, list: unknown): void => {
    if (!Array.isArray(list)) return;
    for (const raw of list) {
      const entry = (typeof raw === "string" || typeof raw === "number" ? String(raw) : "")
        .trim()
        .replace(/^(telegram|tg):/i, "")
        .trim();
      if (entry && entry !== "*" && !/^-?\d+$/.test(entry)) out.push({ path: where, entry });
    }
  };
  const block = (prefix: string, b: Record<string, unknown>): void => {
    scan(`${prefix}.allowFrom`, b.allowFrom);
    scan(`${prefix}.groupAllowFrom`, b.groupAllowFrom);
    for (const [gid, g] of Object.entries(rec(b.groups) ?? {})) {
      scan(`${prefix}.groups.${gid}.allowFrom`, rec(g)?.allowFrom);
      for (const [tid, t] of Object.entries(rec(rec(g)?.topics) ?? {}))
        scan(`${prefix}.groups.${gid}.topics.${tid}.allowFrom`, rec(t)?.allowFrom);
    }
  };
  const top = rec(telegram);
  if (!top) return out;
  block("channels.telegram", top);
  for (const [id, a] of Object.entries(rec(top.accounts) ?? {})) {
    const acc = rec(a);
    if (acc) block(`channels.telegram.accounts.${id}`, acc);
  }
  return out;
}
