/**
 * Queue settings for one session (reference §14.2): an inline `/queue` directive, then the session
 * row's overrides, then `messages.queue` (per channel, then global), then the defaults.
 */
import type { SessionEntry } from "../store/entry.ts";

export type QueueMode = "collect" | "followup" | "steer" | "steer-backlog" | "interrupt";
export type QueueDrop = "old" | "new" | "summarize";

export interface QueueSettings {
  mode: QueueMode;
  debounceMs: number;
  cap: number;
  drop: QueueDrop;
}

export interface QueueConfig {
  mode?: string;
  byChannel?: Record<string, string>;
  debounceMs?: number;
  debounceMsByChannel?: Record<string, number>;
  cap?: number;
  drop?: string;
}

/** Pincer's default debounce is short: collect still gathers a burst, and a lone message is not delayed a second. */
export const DEFAULT_QUEUE: QueueSettings = { mode: "collect", debounceMs: 0, cap: 20, drop: "summarize" };

const MODE_ALIASES: Record<string, QueueMode> = {
  collect: "collect", coalesce: "collect",
  followup: "followup", "follow-ups": "followup", followups: "followup", "follow-up": "followup",
  steer: "steer", steering: "steer", queue: "steer", queued: "steer",
  "steer-backlog": "steer-backlog", "steer+backlog": "steer-backlog", steer_backlog: "steer-backlog",
  interrupt: "interrupt", interrupts: "interrupt", abort: "interrupt",
};
const DROP_ALIASES: Record<string, QueueDrop> = { old: "old", oldest: "old", new: "new", newest: "new", summarize: "summarize", summary: "summarize" };

export function normalizeQueueMode(value: string | undefined): QueueMode | undefined {
  return value === undefined ? undefined : MODE_ALIASES[value.trim().toLowerCase()];
}

export function normalizeQueueDrop(value: string | undefined): QueueDrop | undefined {
  return value === undefined ? undefined : DROP_ALIASES[value.trim().toLowerCase()];
}

export function resolveQueueSettings(
  config: QueueConfig | undefined,
  entry: Pick<SessionEntry, "queueMode" | "queueDebounceMs" | "queueCap" | "queueDrop"> | undefined,
  channel: string | undefined,
  inline: Partial<QueueSettings> = {},
): QueueSettings {
  const ch = channel?.toLowerCase();
  const mode =
    inline.mode ??
    normalizeQueueMode(entry?.queueMode) ??
    normalizeQueueMode(ch ? config?.byChannel?.[ch] : undefined) ??
    normalizeQueueMode(config?.mode) ??
    DEFAULT_QUEUE.mode;
  const debounceMs = inline.debounceMs ?? entry?.queueDebounceMs ?? (ch ? config?.debounceMsByChannel?.[ch] : undefined) ?? config?.debounceMs ?? DEFAULT_QUEUE.debounceMs;
  const cap = Math.max(1, inline.cap ?? entry?.queueCap ?? config?.cap ?? DEFAULT_QUEUE.cap);
  const drop = inline.drop ?? normalizeQueueDrop(entry?.queueDrop) ?? normalizeQueueDrop(config?.drop) ?? DEFAULT_QUEUE.drop;
  return { mode, debounceMs, cap, drop };
}

/** Config validation for `messages.queue`: names the key, the value and what was expected. */
export function checkQueueConfig(config: QueueConfig | undefined): string[] {
  const problems: string[] = [];
  const modes = Object.keys(MODE_ALIASES).join(", ");
  if (config?.mode !== undefined && !normalizeQueueMode(config.mode)) problems.push(`messages.queue.mode: got ${JSON.stringify(config.mode)}, expected one of ${modes}`);
  for (const [ch, m] of Object.entries(config?.byChannel ?? {})) {
    if (!normalizeQueueMode(m)) problems.push(`messages.queue.byChannel.${ch}: got ${JSON.stringify(m)}, expected one of ${modes}`);
  }
  if (config?.drop !== undefined && !normalizeQueueDrop(config.drop)) problems.push(`messages.queue.drop: got ${JSON.stringify(config.drop)}, expected one of old, new, summarize`);
  return problems;
}
