/**
 * One row of the session index (`sessions.json`), keyed by session key.
 * Field names are OpenClaw 2026.3.13's so the file stays readable by OpenClaw,
 * plus Pincer's two freshness timestamps. Unknown fields are preserved untouched.
 */
export interface SessionEntry {
  sessionId: string;
  /** Last write to the row (listing and maintenance only — never freshness). */
  updatedAt: number;
  /** When the current sessionId began; daily freshness uses it. */
  sessionStartedAt?: number;
  /** Last real user/channel message; idle freshness uses it. */
  lastInteractionAt?: number;
  sessionFile?: string;
  systemSent?: boolean;
  abortedLastRun?: boolean;
  label?: string;
  displayName?: string;
  compactionCount?: number;
  memoryFlushAt?: number;
  memoryFlushCompactionCount?: number;
  chatType?: "direct" | "group" | "channel";
  channel?: string;
  groupId?: string;
  subject?: string;
  origin?: {
    label?: string;
    provider?: string;
    surface?: string;
    chatType?: string;
    from?: string;
    to?: string;
    accountId?: string;
    threadId?: string;
  };
  groupActivation?: "mention" | "always";
  deliveryContext?: { channel?: string; to?: string; accountId?: string; threadId?: string };
  lastChannel?: string;
  lastTo?: string;
  lastAccountId?: string;
  lastThreadId?: string;
  thinkingLevel?: string;
  fastMode?: boolean;
  verboseLevel?: string;
  reasoningLevel?: string;
  elevatedLevel?: string;
  responseUsage?: string;
  sendPolicy?: "allow" | "deny";
  queueMode?: string;
  queueDebounceMs?: number;
  queueCap?: number;
  queueDrop?: string;
  providerOverride?: string;
  modelOverride?: string;
  model?: string;
  modelProvider?: string;
  contextTokens?: number;
  inputTokens?: number;
  outputTokens?: number;
  cacheRead?: number;
  cacheWrite?: number;
  totalTokens?: number;
  totalTokensFresh?: boolean;
  spawnedBy?: string;
  spawnDepth?: number;
  /** Pincer: maintenance never removes a pinned row. */
  pinned?: boolean;
  [extra: string]: unknown;
}
