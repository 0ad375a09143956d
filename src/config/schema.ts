/**
 * The Pincer config file, as one zod schema composed of one schema per section. Every value is
 * checked here, once, at load; a key that neither Pincer nor OpenClaw knows is an error naming its
 * path (load.ts). Sections Pincer passes through without reading (`channels`, `logging`, ...) are
 * accepted as they are.
 */
import { z } from "zod";
import { agentsSchema } from "./agents-schema.ts";
import { channelsSchema } from "./channels-schema.ts";
import { envSchema } from "./env-schema.ts";
import { STORE_BACKENDS, STORE_BACKEND_NAMES } from "./backends.ts";
import { commandsSchema, cronSchema, gatewaySchema, hooksSchema } from "./gateway-schema.ts";
import { messagesSchema } from "./messages-schema.ts";
import { modelsSchema } from "./models-schema.ts";
import { toolsSchema } from "./tools-schema.ts";
import { durationSchema, openclawOnly, sizeSchema as size, timeZoneSchema as timeZone } from "./values.ts";

const duration = durationSchema("d", "invalid duration (use ms, s, m, h, d)");

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
      backend: z.enum(STORE_BACKEND_NAMES),
      path: z.string().min(1).optional(),
      /** `postgres://...` or `redis://...`; `${ENV}` is expanded. */
      url: z.string().min(1).optional(),
      fsync: z.boolean().optional(),
      leaseTtlMs: z.number().int().min(100).optional(),
      /** Connections per gateway process (postgres). */
      poolSize: z.number().int().min(1).max(1000).optional(),
    })
    .superRefine((v, ctx) => {
      const { shared, urlExample } = STORE_BACKENDS[v.backend];
      if (shared && !v.url)
        ctx.addIssue({
          code: "custom",
          path: ["url"],
          message: `a ${urlExample ?? ""} URL (required by backend "${v.backend}")`,
        });
    }),
]);

export const sessionSchema = z.strictObject({
  scope: z.enum(["per-sender", "global"]).optional(),
  dmScope: z.enum(["main", "per-peer", "per-channel-peer", "per-account-channel-peer"]).optional(),
  mainKey: z
    .string()
    .min(1)
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/i, "a plain key segment (letters, digits, _ and -)")
    .optional(),
  identityLinks: z.record(z.string(), z.array(z.string())).optional(),
  reset: resetBlockSchema.optional(),
  resetByType: z
    .strictObject({
      direct: resetBlockSchema.optional(),
      dm: resetBlockSchema.optional(),
      group: resetBlockSchema.optional(),
      thread: resetBlockSchema.optional(),
    })
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

const bindingSchema = z.strictObject({
  agentId: z.string().min(1),
  match: z.strictObject({
    channel: z.string().min(1),
    accountId: z.string().optional(),
    /** `dm` is OpenClaw's older name of `direct` (read as `direct` at load). */
    peer: z
      .strictObject({
        // As OpenClaw reads them: the kind in any case, a numeric id as its digits.
        kind: z
          .preprocess(
            (v) => (typeof v === "string" ? v.trim().toLowerCase() : v),
            z.enum(["direct", "group", "channel", "dm"]),
          )
          .transform((k) => (k === "dm" ? "direct" : k)),
        id: z.preprocess((v) => (typeof v === "number" ? String(v) : v), z.string().trim().min(1)),
      })
      .optional(),
    guildId: z.string().optional(),
    teamId: z.string().optional(),
    roles: z.array(z.string()).optional(),
  }),
  type: z.enum(["route", "acp"]).optional(),
  comment: z.string().optional(),
  ...openclawOnly("sessionKey", "sessionScope"),
});

const loose = z.looseObject({});

export const configSchema = z.strictObject({
  session: sessionSchema.optional(),
  agents: agentsSchema.optional(),
  bindings: z.array(bindingSchema).optional(),
  gateway: gatewaySchema.optional(),
  models: modelsSchema.optional(),
  /** Native channels (telegram, slack, discord, signal) and OpenClaw's others, accepted and ignored. */
  channels: channelsSchema.optional(),
  hooks: hooksSchema.optional(),
  cron: cronSchema.optional(),
  tools: toolsSchema.optional(),
  commands: commandsSchema.optional(),
  messages: messagesSchema.optional(),
  /** Pincer reads only the gateway's log level; OpenClaw's other logging keys pass through. */
  logging: z
    .looseObject({ level: z.enum(["silent", "fatal", "error", "warn", "info", "debug", "trace"]).optional() })
    .optional(),
  env: envSchema.optional(),
  // Bookkeeping OpenClaw's wizard writes: accepted, nothing to report.
  wizard: loose.optional(),
  meta: loose.optional(),
  $schema: z.string().optional(),
  ...openclawOnly(
    "plugins",
    "skills",
    "auth",
    "ui",
    "diagnostics",
    "cli",
    "crestodian",
    "update",
    "browser",
    "secrets",
    "acp",
    "nodeHost",
    "broadcast",
    "audio",
    "media",
    "approvals",
    "web",
    "discovery",
    "canvasHost",
    "talk",
    "memory",
    "mcp",
    "surfaces",
    "proxy",
  ),
});

export type PincerConfig = z.infer<typeof configSchema>;
export type SessionConfig = NonNullable<PincerConfig["session"]>;
export type ResetBlockConfig = z.infer<typeof resetBlockSchema>;
