/**
 * `messages`: Pincer reads `messages.queue` (what a session does with messages that arrive
 * while a run is active) and `messages.groupChat` (mention patterns, pending history of native
 * channels); the rest of the section is OpenClaw's and passes through as it is.
 * Queue modes and drop policies are enums of their canonical names and OpenClaw's aliases (any
 * case); after loading, the config holds the canonical name.
 */
import { z } from "zod";

export type QueueMode = "collect" | "followup" | "steer" | "steer-backlog" | "interrupt";
export type QueueDrop = "old" | "new" | "summarize";

const MODE_ALIASES = {
  collect: "collect",
  coalesce: "collect",
  followup: "followup",
  "follow-ups": "followup",
  followups: "followup",
  "follow-up": "followup",
  steer: "steer",
  steering: "steer",
  queue: "steer",
  queued: "steer",
  "steer-backlog": "steer-backlog",
  "steer+backlog": "steer-backlog",
  steer_backlog: "steer-backlog",
  interrupt: "interrupt",
  interrupts: "interrupt",
  abort: "interrupt",
} as const satisfies Record<string, QueueMode>;
const DROP_ALIASES = {
  old: "old",
  oldest: "old",
  new: "new",
  newest: "new",
  summarize: "summarize",
  summary: "summarize",
} as const satisfies Record<string, QueueDrop>;

type ModeName = keyof typeof MODE_ALIASES;
type DropName = keyof typeof DROP_ALIASES;
const isModeName = (v: string): v is ModeName => Object.hasOwn(MODE_ALIASES, v);
const isDropName = (v: string): v is DropName => Object.hasOwn(DROP_ALIASES, v);

export function normalizeQueueMode(value: string | undefined): QueueMode | undefined {
  const v = value?.trim().toLowerCase();
  return v !== undefined && isModeName(v) ? MODE_ALIASES[v] : undefined;
}

export function normalizeQueueDrop(value: string | undefined): QueueDrop | undefined {
  const v = value?.trim().toLowerCase();
  return v !== undefined && isDropName(v) ? DROP_ALIASES[v] : undefined;
}

const folded = (v: unknown) => (typeof v === "string" ? v.trim().toLowerCase() : v);
const names = <T extends string>(table: Record<T, string>) => Object.keys(table) as [T, ...T[]];

const queueModeSchema = z.preprocess(folded, z.enum(names(MODE_ALIASES))).transform((v): QueueMode => MODE_ALIASES[v]);
const queueDropSchema = z.preprocess(folded, z.enum(names(DROP_ALIASES))).transform((v): QueueDrop => DROP_ALIASES[v]);

export const queueSchema = z.strictObject({
  mode: queueModeSchema.optional(),
  /** Mode per channel (lower-case channel names). */
  byChannel: z.record(z.string(), queueModeSchema).optional(),
  debounceMs: z.number().int().min(0).optional(),
  debounceMsByChannel: z.record(z.string(), z.number().int().min(0)).optional(),
  cap: z.number().int().min(1).optional(),
  drop: queueDropSchema.optional(),
});

/** Group chats on native channels: mention regexes (case-insensitive) and the pending-history bound. */
export const groupChatSchema = z.looseObject({
  mentionPatterns: z
    .array(
      z.string().refine(
        (p) => {
          try {
            new RegExp(p, "i");
            return true;
          } catch {
            return false;
          }
        },
        { message: "a valid regular expression" },
      ),
    )
    .optional(),
  historyLimit: z.number().int().min(0).optional(),
});

export const messagesSchema = z.looseObject({ queue: queueSchema.optional(), groupChat: groupChatSchema.optional() });

export type QueueConfig = z.infer<typeof queueSchema>;
