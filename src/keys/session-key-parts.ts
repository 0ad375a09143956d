/**
 * The structured form of a session key (OpenClaw-compatible grammar). Every family of the grammar is one member of the
 * union; `buildSessionKey` and `parseSessionKey` convert between this and the string form.
 *
 * Values (peer, group, thread, topic, job, hook ids) are held decoded and already case-folded:
 * ids on channels outside CASE_SENSITIVE_CHANNELS are lower-case; cron/hook/sub-agent ids are
 * lower-case; per-peer DM ids and threads of channel-less keys keep their case (the channel is not
 * in the key, so the router folds them by the inbound channel before building). "Lower-case" means
 * ASCII `A`-`Z` folded, nothing else (segment.ts). A DM peer is either a platform id or, with
 * `linked: true`, a canonical identityLinks name (ASCII lower-case); the two never share a key.
 */

export type DmScope = "main" | "per-peer" | "per-channel-peer" | "per-account-channel-peer";

/** `agent:<agentId>:<mainKey>`, optionally `:thread:<threadId>` (a DM thread under dmScope main). */
export interface MainKeyParts {
  kind: "main";
  agentId: string;
  mainKey: string;
  threadId?: string;
  /** Telegram DM topics: the chat the topic is in (`:thread:<chatId>:<threadId>`, OpenClaw's form). */
  threadChatId?: string;
}

/** `agent:<a>:direct:<peerId>` */
export interface PerPeerDirectParts {
  kind: "direct";
  scope: "per-peer";
  agentId: string;
  peerId: string;
  /** peerId is a canonical identityLinks name (key segment `~<name>`), never a platform id. */
  linked?: true;
  threadId?: string;
  /** Telegram DM topics: the chat the topic is in (`:thread:<chatId>:<threadId>`, OpenClaw's form). */
  threadChatId?: string;
}

/** `agent:<a>:<channel>:direct:<peerId>` */
export interface PerChannelPeerDirectParts {
  kind: "direct";
  scope: "per-channel-peer";
  agentId: string;
  channel: string;
  peerId: string;
  /** peerId is a canonical identityLinks name (key segment `~<name>`), never a platform id. */
  linked?: true;
  threadId?: string;
  /** Telegram DM topics: the chat the topic is in (`:thread:<chatId>:<threadId>`, OpenClaw's form). */
  threadChatId?: string;
}

/** `agent:<a>:<channel>:<accountId>:direct:<peerId>` */
export interface PerAccountChannelPeerDirectParts {
  kind: "direct";
  scope: "per-account-channel-peer";
  agentId: string;
  channel: string;
  accountId: string;
  peerId: string;
  /** peerId is a canonical identityLinks name (key segment `~<name>`), never a platform id. */
  linked?: true;
  threadId?: string;
  /** Telegram DM topics: the chat the topic is in (`:thread:<chatId>:<threadId>`, OpenClaw's form). */
  threadChatId?: string;
}

export type DirectKeyParts = PerPeerDirectParts | PerChannelPeerDirectParts | PerAccountChannelPeerDirectParts;

/** `agent:<a>:<channel>:group:<groupId>` */
export interface GroupKeyParts {
  kind: "group";
  agentId: string;
  channel: string;
  groupId: string;
  threadId?: string;
}

/** `agent:<a>:<channel>:channel:<channelId>` (Discord/Slack channels, rooms). */
export interface ChannelKeyParts {
  kind: "channel";
  agentId: string;
  channel: string;
  channelId: string;
  threadId?: string;
}

/** `agent:<a>:<channel>:group:<chatId>:topic:<topicId>` (Telegram forum topics; any channel accepted). */
export interface TopicKeyParts {
  kind: "topic";
  agentId: string;
  channel: string;
  chatId: string;
  topicId: string;
  threadId?: string;
}

/** `agent:<a>:cron:<jobId>` */
export interface CronKeyParts {
  kind: "cron";
  agentId: string;
  jobId: string;
}

/** `agent:<a>:cron:<jobId>:run:<sessionId>` — one row per isolated run. */
export interface CronRunKeyParts {
  kind: "cron-run";
  agentId: string;
  jobId: string;
  sessionId: string;
}

/** `agent:<a>:hook:<hookId>` */
export interface HookKeyParts {
  kind: "hook";
  agentId: string;
  hookId: string;
}

/** `agent:<a>:subagent:<uuid>` */
export interface SubagentKeyParts {
  kind: "subagent";
  agentId: string;
  subagentId: string;
}

/**
 * A well-formed agent key of a shape Pincer does not model (`openai-user:x`, `node-1`, `acp:…`,
 * legacy Discord `discord:guild-…`). `rest` is kept verbatim (lower-cased, escapes validated).
 */
export interface OtherKeyParts {
  kind: "other";
  agentId: string;
  rest: string;
}

export interface GlobalKeyParts {
  kind: "global";
}

export interface UnknownKeyParts {
  kind: "unknown";
}

export type ThreadableKeyParts = MainKeyParts | DirectKeyParts | GroupKeyParts | ChannelKeyParts | TopicKeyParts;

export type AgentKeyParts =
  ThreadableKeyParts | CronKeyParts | CronRunKeyParts | HookKeyParts | SubagentKeyParts | OtherKeyParts;

export type SessionKeyParts = AgentKeyParts | GlobalKeyParts | UnknownKeyParts;

export interface KeyCodecOptions {
  /** The configured `session.mainKey` (default `main`); `main` itself is always recognised too. */
  mainKey?: string;
}

export function isThreadable(parts: SessionKeyParts): parts is ThreadableKeyParts {
  return (
    parts.kind === "main" ||
    parts.kind === "direct" ||
    parts.kind === "group" ||
    parts.kind === "channel" ||
    parts.kind === "topic"
  );
}
