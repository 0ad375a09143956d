/**
 * The one access gate for inbound messages of a configured channel — adapters and `POST /v1/inbound`
 * envelopes alike — with OpenClaw 2026.3.13's rules:
 *
 * Direct messages, by `dmPolicy`:
 *   disabled  → refused;  open → admitted (the config requires "*" in allowFrom);
 *   allowlist → only config `allowFrom` (the pairing store is ignored);
 *   pairing   → config `allowFrom` + approved senders in the pairing store, else a pairing request:
 *               the sender gets a code the first time (at most 3 pending per channel), nothing after.
 * Group messages, in order: `groupPolicy` (disabled → refused; allowlist → the group must be in
 * `groups` — by id or "*" — or, with no `groups`, the sender in `groupAllowFrom`/`allowFrom`; open →
 * any group), the group's own `allowFrom` (a topic's first), then mention gating: `requireMention`
 * (default true) drops an unmentioned line into the pending history (`historyLimit`, default 50)
 * that the next admitted message of that group carries as context. DM pairing approvals never
 * admit group senders. A mention is native (`mention.explicit`), a reply to the bot, or a match of
 * `messages.groupChat.mentionPatterns`; gating applies only when a mention can be detected at all.
 * An authorised command (`commands.allowFrom`) passes the mention gate, never the access gate.
 *
 * A refused or pending message creates no session and reaches no model: the gate runs before
 * anything is recorded.
 */
import type { PincerConfig } from "../config/schema.ts";
import type { InboundEnvelope } from "../keys/envelope.ts";
import { isCommandAuthorized, parseCommand } from "../runtime/command-parse.ts";
import type { AccessSettings, GroupRule } from "./settings.ts";
import type { PairingStore } from "./pairing-store.ts";

export type GateDecision =
  | { action: "accept"; envelope: InboundEnvelope; reason: string }
  | { action: "refuse"; reason: string }
  /** Refused; `code` is set (and `created` true) when a pairing reply is to be sent now. */
  | { action: "pairing"; reason: string; code: string; created: boolean }
  | { action: "pending"; reason: string };

export interface GateInput {
  envelope: InboundEnvelope;
  mention?: { explicit: boolean; replyToBot: boolean };
}

interface HistoryEntry {
  sender: string;
  body: string;
  messageId?: string;
  timestamp?: number;
}

/** Most group histories kept (least recently used dropped first), as OpenClaw bounds its map. */
const MAX_HISTORY_KEYS = 1000;
export const HISTORY_CONTEXT_MARKER = "[Chat messages since your last reply - for context]";
export const CURRENT_MESSAGE_MARKER = "[Current message - respond to this]";

/** Prefixes an allowlist entry may carry per channel (`telegram:123`, `tg:123`, `user:U1`); Signal's `uuid:` is part of the id. */
const ENTRY_PREFIXES: Record<string, string[]> = {
  telegram: ["telegram", "tg"],
  discord: ["discord", "user"],
  slack: ["slack", "user"],
  signal: ["signal"],
};

function normalizeEntry(entry: string, channel: string): string {
  const e = entry.trim();
  const m = /^([a-z]+):(.+)$/i.exec(e);
  if (m && (ENTRY_PREFIXES[channel] ?? [channel]).includes(m[1]!.toLowerCase())) return m[2]!.trim();
  return e;
}

export function senderAllowed(list: readonly string[], channel: string, senderId: string): boolean {
  for (const raw of list) {
    const entry = normalizeEntry(raw, channel);
    if (entry === "*" || entry === senderId) return true;
  }
  return false;
}

export class AccessGate {
  private readonly history = new Map<string, HistoryEntry[]>();
  private readonly config: PincerConfig;
  private readonly pairing: PairingStore;
  private readonly activation: ((env: InboundEnvelope) => Promise<string | undefined>) | undefined;
  private readonly agentPatterns: ((env: InboundEnvelope) => RegExp[] | undefined) | undefined;

  /** `activation`: the group session's `groupActivation` (`/activation always` turns mention gating off). */
  constructor(opts: {
    config: PincerConfig;
    pairing: PairingStore;
    activation?: (env: InboundEnvelope) => Promise<string | undefined>;
    /** The routed agent's own `agents.list[].groupChat.mentionPatterns` (they win over `messages.groupChat`). */
    agentPatterns?: (env: InboundEnvelope) => RegExp[] | undefined;
  }) {
    this.config = opts.config;
    this.pairing = opts.pairing;
    this.activation = opts.activation;
    this.agentPatterns = opts.agentPatterns;
  }

  async decide(input: GateInput, access: AccessSettings): Promise<GateDecision> {
    const env = input.envelope;
    if (env.chatType === "direct") return this.direct(env, access);
    return this.group(input, access);
  }

  private async direct(env: InboundEnvelope, access: AccessSettings): Promise<GateDecision> {
    switch (access.dmPolicy) {
      case "disabled":
        return { action: "refuse", reason: "dmPolicy=disabled" };
      case "open":
        return { action: "accept", envelope: env, reason: "dmPolicy=open" };
      case "allowlist":
        return senderAllowed(access.allowFrom, env.channel, env.senderId)
          ? { action: "accept", envelope: env, reason: "dmPolicy=allowlist (allowlisted)" }
          : { action: "refuse", reason: "dmPolicy=allowlist (not allowlisted)" };
      case "pairing": {
        if (senderAllowed(access.allowFrom, env.channel, env.senderId))
          return { action: "accept", envelope: env, reason: "dmPolicy=pairing (allowlisted)" };
        const paired = this.pairing.readAllowFrom(access.channel, access.accountId);
        if (senderAllowed(paired, env.channel, env.senderId))
          return { action: "accept", envelope: env, reason: "dmPolicy=pairing (paired)" };
        const meta: Record<string, string> = {};
        if (env.senderName) meta.name = env.senderName;
        const { code, created } = await this.pairing.upsert(access.channel, access.accountId, env.senderId, meta);
        return {
          action: "pairing",
          reason: code ? "dmPolicy=pairing (pairing required)" : "dmPolicy=pairing (pending requests at the cap)",
          code,
          created,
        };
      }
    }
  }

  private groupRule(access: AccessSettings, env: InboundEnvelope): { group?: GroupRule; topic?: GroupRule } {
    const groups = access.groups;
    const group =
      (Object.hasOwn(groups, env.peerId) ? groups[env.peerId] : undefined) ??
      (env.parentPeerId && Object.hasOwn(groups, env.parentPeerId) ? groups[env.parentPeerId] : undefined) ??
      (Object.hasOwn(groups, "*") ? groups["*"] : undefined);
    const topicId = env.topicId ?? env.threadId;
    const topic = topicId && group?.topics && Object.hasOwn(group.topics, topicId) ? group.topics[topicId] : undefined;
    return { group, topic };
  }

  /**
   * Discord with `guilds` configured (OpenClaw's shape): the guild must be listed (id or "*") under
   * `allowlist`; a guild with `channels` admits only those (thread: its parent's entry); `users` /
   * `roles` (channel's, else guild's) admit a sender matching either.
   */
  private guildAccess(env: InboundEnvelope, access: AccessSettings): { refuse?: string; requireMention: boolean } {
    const guilds = access.guilds;
    const guild = (Object.hasOwn(guilds, env.guildId!) ? guilds[env.guildId!] : undefined) ?? guilds["*"];
    if (!guild)
      return access.groupPolicy === "allowlist"
        ? { refuse: "groupPolicy=allowlist (guild not allowlisted)", requireMention: true }
        : { requireMention: true };
    const chans = guild.channels ?? {};
    const pick = (id: string | undefined) => (id !== undefined && Object.hasOwn(chans, id) ? chans[id] : undefined);
    const chan = pick(env.peerId) ?? pick(env.parentPeerId) ?? pick("*");
    if (chan?.allow === false || chan?.enabled === false) return { refuse: "channel disabled", requireMention: true };
    if (access.groupPolicy === "allowlist" && Object.keys(chans).length > 0 && !chan)
      return { refuse: "groupPolicy=allowlist (channel not allowlisted)", requireMention: true };
    const users = chan?.users ?? guild.users ?? [];
    const roles = chan?.roles ?? guild.roles ?? [];
    if (users.length + roles.length > 0) {
      const ok = senderAllowed(users, env.channel, env.senderId) || roles.some((r) => env.roles?.includes(r) === true);
      if (!ok) return { refuse: "guild allowlist (sender not in users/roles)", requireMention: true };
    }
    return { requireMention: chan?.requireMention ?? guild.requireMention ?? true };
  }

  private async group(input: GateInput, access: AccessSettings): Promise<GateDecision> {
    const env = input.envelope;
    if (access.groupPolicy === "disabled") return { action: "refuse", reason: "groupPolicy=disabled" };
    if (env.guildId !== undefined && Object.keys(access.guilds).length > 0) {
      const g = this.guildAccess(env, access);
      if (g.refuse) return { action: "refuse", reason: g.refuse };
      return this.mentionGate(input, access, g.requireMention);
    }
    const { group, topic } = this.groupRule(access, env);
    const groupsConfigured = Object.keys(access.groups).length > 0;
    if (group?.enabled === false || topic?.enabled === false) return { action: "refuse", reason: "group disabled" };
    const override = topic?.allowFrom ?? group?.allowFrom;
    if (access.groupPolicy === "allowlist") {
      if (groupsConfigured && !group)
        return { action: "refuse", reason: "groupPolicy=allowlist (group not allowlisted)" };
      const senders = override ?? (access.groupAllowFrom.length > 0 ? access.groupAllowFrom : access.allowFrom);
      if (!groupsConfigured && senders.length === 0)
        return { action: "refuse", reason: "groupPolicy=allowlist (empty allowlist)" };
      if (senders.length > 0 && !senderAllowed(senders, env.channel, env.senderId))
        return { action: "refuse", reason: "groupPolicy=allowlist (sender not allowlisted)" };
    } else if (override && !senderAllowed(override, env.channel, env.senderId)) {
      return { action: "refuse", reason: "groupPolicy=open (sender not in the group's allowFrom)" };
    }

    return this.mentionGate(input, access, topic?.requireMention ?? group?.requireMention ?? true);
  }

  /** Mention gating, pending history, and the admitted envelope (with the history before it). */
  private async mentionGate(input: GateInput, access: AccessSettings, requireMention: boolean): Promise<GateDecision> {
    const env = input.envelope;
    const patterns = this.agentPatterns?.(env) ?? access.mentionPatterns;
    const canDetect = input.mention !== undefined || patterns.length > 0 || env.wasMentioned !== undefined;
    const mentioned =
      input.mention?.explicit === true ||
      input.mention?.replyToBot === true ||
      env.wasMentioned === true ||
      patterns.some((p) => p.test(env.text));
    const key = historyKey(access, env);
    if (requireMention && canDetect && !mentioned && !this.authorizedCommand(env) && !(await this.always(env))) {
      this.remember(key, access.historyLimit, {
        sender: env.senderName ?? env.senderId,
        body: env.text,
        ...(env.messageId ? { messageId: env.messageId } : {}),
        ...(env.timestamp ? { timestamp: env.timestamp } : {}),
      });
      return { action: "pending", reason: "mention required" };
    }
    const text = this.withHistory(key, access.historyLimit, env.text);
    return {
      action: "accept",
      envelope: { ...env, text, wasMentioned: true },
      reason: `groupPolicy=${access.groupPolicy}${mentioned ? " (mentioned)" : ""}`,
    };
  }

  private async always(env: InboundEnvelope): Promise<boolean> {
    if (!this.activation) return false;
    try {
      return (await this.activation(env)) === "always";
    } catch {
      return false;
    }
  }

  private authorizedCommand(env: InboundEnvelope): boolean {
    if (!parseCommand(env.text)) return false;
    return isCommandAuthorized(this.config.commands?.allowFrom, env);
  }

  private remember(key: string, limit: number, entry: HistoryEntry): void {
    if (limit <= 0) return;
    const list = this.history.get(key) ?? [];
    list.push(entry);
    while (list.length > limit) list.shift();
    this.history.delete(key);
    this.history.set(key, list);
    while (this.history.size > MAX_HISTORY_KEYS) this.history.delete(this.history.keys().next().value!);
  }

  /** The pending lines of the group before the current message (OpenClaw's markers); the history is then cleared. */
  private withHistory(key: string, limit: number, current: string): string {
    const entries = this.history.get(key) ?? [];
    this.history.delete(key);
    if (limit <= 0 || entries.length === 0) return current;
    const lines = entries.map((e) => `${e.sender}: ${e.body}${e.messageId ? ` [id:${e.messageId}]` : ""}`);
    return [HISTORY_CONTEXT_MARKER, ...lines, "", CURRENT_MESSAGE_MARKER, current].join("\n");
  }

  /** Pending lines of a group (tests, status). */
  pendingHistory(access: AccessSettings, env: Pick<InboundEnvelope, "peerId" | "topicId" | "threadId">): number {
    return this.history.get(historyKey(access, env))?.length ?? 0;
  }
}

function historyKey(access: AccessSettings, env: Pick<InboundEnvelope, "peerId" | "topicId" | "threadId">): string {
  return [access.channel, access.accountId, env.peerId, env.topicId ?? env.threadId ?? ""].join("\u0000");
}
