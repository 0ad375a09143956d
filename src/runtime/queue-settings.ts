/**
 * Queue settings for one session: an inline `/queue` directive, then the session row's overrides,
 * then `messages.queue` (per channel, then global), then the defaults. The config's values were
 * checked and put into their canonical names at load (config/messages-schema.ts); a session row's
 * values come from `/queue` or `sessions.patch` and are normalised here.
 */
import {
  normalizeQueueDrop,
  normalizeQueueMode,
  type QueueConfig,
  type QueueDrop,
  type QueueMode,
} from "../config/messages-schema.ts";
import type { SessionEntry } from "../store/entry.ts";

export { normalizeQueueDrop, normalizeQueueMode, type QueueConfig, type QueueDrop, type QueueMode };

export interface QueueSettings {
  mode: QueueMode;
  debounceMs: number;
  cap: number;
  drop: QueueDrop;
}

/** Pincer's default debounce is short: collect still gathers a burst, and a lone message is not delayed a second. */
export const DEFAULT_QUEUE: QueueSettings = { mode: "collect", debounceMs: 0, cap: 20, drop: "summarize" };

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
    (ch ? config?.byChannel?.[ch] : undefined) ??
    config?.mode ??
    DEFAULT_QUEUE.mode;
  const debounceMs =
    inline.debounceMs ??
    entry?.queueDebounceMs ??
    (ch ? config?.debounceMsByChannel?.[ch] : undefined) ??
    config?.debounceMs ??
    DEFAULT_QUEUE.debounceMs;
  const cap = Math.max(1, inline.cap ?? entry?.queueCap ?? config?.cap ?? DEFAULT_QUEUE.cap);
  const drop = inline.drop ?? normalizeQueueDrop(entry?.queueDrop) ?? config?.drop ?? DEFAULT_QUEUE.drop;
  return { mode, debounceMs, cap, drop };
}
