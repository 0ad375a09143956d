/**
 * The Pincer config file, as one zod schema. Sections Pincer interprets are strict (an unknown key
 * is reported, see load.ts); sections later parts of Pincer will own are accepted as they are.
 */
import { z } from "zod";
import { parseSizeBytes } from "../util/units.ts";
import { commandsSchema, cronSchema, durationSchema, gatewaySchema, hooksSchema, messagesSchema } from "./gateway-schema.ts";
import { isSharedBackend } from "./resolve.ts";

const AGENT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/i;

const duration = durationSchema("d", "invalid duration (use ms, s, m, h, d)");

const size = z.union([z.string(), z.number()]).refine(
  (v) => {
    try {
      parseSizeBytes(v);
      return true;
    } catch {
      return false;
    }
  },
  { message: "invalid size (use b, kb, mb, gb, tb)" },
);

const timeZone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: "an IANA time zone such as \"Europe/Berlin\"" },
);

export const resetBlockSchema = z.strictObject({
  mode: z.enum(["daily", "idle", "none"]).optional(),
  atHour: z.number().int().min(0).max(23).optional(),
  idleMinutes: z.number().int().positive().optional(),
});

const sendPolicySchema = z.strictObject({
  default: z.enum(["allow", "deny"]).optional(),
  rules: z
    .array(
      z.strictObject({
        action: z.enum(["allow", "deny"]),
        match: z
          .strictObject({
            channel: z.string().optional(),
            chatType: z.enum(["direct", "group", "channel", "dm"]).optional(),
            keyPrefix: z.string().optional(),
            rawKeyPrefix: z.string().optional(),
            /** Legacy name of `channel` (migrated at load). */
            provider: z.string().optional(),
          })
          .optional(),
      }),
    )
    .optional(),
});

const maintenanceSchema = z.strictObject({
  mode: z.enum(["warn", "enforce"]).optional(),
  pruneAfter: duration.optional(),
  pruneDays: z.number().int().optional(),
  maxEntries: z.number().int().optional(),
  highWaterEntries: z.number().int().optional(),
  rotateBytes: size.optional(),
  resetArchiveRetention: z.union([duration, z.literal(false)]).optional(),
  maxDiskBytes: size.optional(),
  highWaterBytes: size.optional(),
});

/** `store`: an OpenClaw path template, or Pincer's backend object (later issues add backends). */
const storeSchema = z.union([
  z.string().min(1),
  z
    .strictObject({
      backend: z.enum(["fs", "memory", "sqlite", "postgres", "redis"]),
      path: z.string().min(1).optional(),
      /** `postgres://...` or `redis://...`; `${ENV}` is expanded. */
      url: z.string().min(1).optional(),
      fsync: z.boolean().optional(),
      leaseTtlMs: z.number().int().min(100).optional(),
      /** Connections per gateway process (postgres). */
      poolSize: z.number().int().min(1).max(1000).optional(),
    })
    .superRefine((v, ctx) => {
      if (isSharedBackend(v.backend) && !v.url) {
        ctx.addIssue({ code: "custom", path: ["url"], message: `a ${v.backend === "postgres" ? "postgres://user:pass@host:5432/db" : "redis://host:6379"} URL (required by backend "${v.backend}")` });
      }
    }),
]);

export const sessionSchema = z.strictObject({
  scope: z.enum(["per-sender", "global"]).optional(),
  dmScope: z.enum(["main", "per-peer", "per-channel-peer", "per-account-channel-peer"]).optional(),
  mainKey: z.string().min(1).regex(/^[a-z0-9][a-z0-9_-]{0,63}$/i, "a plain key segment (letters, digits, _ and -)").optional(),
  identityLinks: z.record(z.string(), z.array(z.string())).optional(),
  reset: resetBlockSchema.optional(),
  resetByType: z
    .strictObject({ direct: resetBlockSchema.optional(), dm: resetBlockSchema.optional(), group: resetBlockSchema.optional(), thread: resetBlockSchema.optional() })
    .optional(),
  resetByChannel: z.record(z.string(), resetBlockSchema).optional(),
  idleMinutes: z.number().int().positive().optional(),
  resetTriggers: z.array(z.string().min(1)).optional(),
  timeZone: timeZone.optional(),
  maintenance: maintenanceSchema.optional(),
  sendPolicy: sendPolicySchema.optional(),
  store: storeSchema.optional(),
  agentToAgent: z.strictObject({ maxPingPongTurns: z.number().int().min(0).max(5).optional() }).optional(),
  parentForkMaxTokens: z.number().int().min(0).optional(),
  typingIntervalSeconds: z.number().optional(),
  typingMode: z.string().optional(),
  threadBindings: z.looseObject({}).optional(),
});

const agentEntrySchema = z.looseObject({
  id: z.string().regex(AGENT_ID, "an agent id matching ^[a-z0-9][a-z0-9_-]{0,63}$"),
  default: z.boolean().optional(),
  name: z.string().optional(),
  model: z.union([z.string(), z.looseObject({})]).optional(),
  workspace: z.string().optional(),
});

const bindingSchema = z.strictObject({
  agentId: z.string().min(1),
  match: z.strictObject({
    channel: z.string().min(1),
    accountId: z.string().optional(),
    peer: z.strictObject({ kind: z.enum(["direct", "group", "channel"]), id: z.string().min(1) }).optional(),
    guildId: z.string().optional(),
    teamId: z.string().optional(),
    roles: z.array(z.string()).optional(),
  }),
  type: z.enum(["route", "acp"]).optional(),
  comment: z.string().optional(),
});

const loose = z.looseObject({});

export const configSchema = z.strictObject({
  session: sessionSchema.optional(),
  agents: z
    .looseObject({
      defaults: z
        .looseObject({
          model: z.union([z.string(), z.looseObject({})]).optional(),
          contextTokens: z.number().int().positive().optional(),
          workspace: z.string().optional(),
        })
        .optional(),
      list: z.array(agentEntrySchema).optional(),
    })
    .optional(),
  bindings: z.array(bindingSchema).optional(),
  // Owned by later parts of Pincer (gateway, models, channels, ...): accepted as they are for now.
  gateway: gatewaySchema.optional(),
  models: loose.optional(),
  channels: loose.optional(),
  hooks: hooksSchema.optional(),
  cron: cronSchema.optional(),
  tools: loose.optional(),
  commands: commandsSchema.optional(),
  messages: messagesSchema.optional(),
  logging: loose.optional(),
  plugins: loose.optional(),
  skills: loose.optional(),
  auth: loose.optional(),
  ui: loose.optional(),
  wizard: loose.optional(),
  meta: loose.optional(),
  $schema: z.string().optional(),
});

export type PincerConfig = z.infer<typeof configSchema>;
export type SessionConfig = NonNullable<PincerConfig["session"]>;
export type ResetBlockConfig = z.infer<typeof resetBlockSchema>;
