/**
 * Config sections the gateway runtime owns: `gateway`, `commands`, `hooks`, `cron`. Strict where
 * Pincer interprets a key, so a typo is reported with its full path; OpenClaw's gateway keys that
 * Pincer does not read are accepted as they are.
 */
import { z } from "zod";
import { durationSchema, openclawOnly } from "./values.ts";

export const durationString = durationSchema("m", 'a duration such as "24h" or "90s"');

/** `gateway.maxMessageBytes`: its default, and the most it may be set to (the envelope's own ceiling). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
export const MAX_MESSAGE_BYTES_CEILING = 16 * 1024 * 1024;

export const gatewaySchema = z.strictObject({
  /** Interface to listen on; anything but loopback requires a token. */
  host: z.string().min(1).optional(),
  port: z.number().int().min(0).max(65535).optional(),
  auth: z
    .strictObject({
      // Any length loads (OpenClaw accepts short tokens); gateway/settings.ts refuses one under 16
      // characters beyond loopback and warns on loopback.
      token: z.string().min(1, "a non-empty token").optional(),
      ...openclawOnly("mode", "password", "allowTailscale", "rateLimit", "trustedProxy"),
    })
    .optional(),
  /** Channel-scoped bridge tokens: each may only deliver into the channels it names. */
  clients: z
    .array(
      z.strictObject({
        id: z.string().min(1),
        token: z.string().min(16, "a token of at least 16 characters"),
        channels: z.array(z.string()),
      }),
    )
    .optional(),
  /** Largest accepted request body (default: maxMessageBytes + 64 KiB). */
  maxBodyBytes: z.number().int().min(1024).optional(),
  /** Largest message text on any surface, in bytes of UTF-8 (default 1 MiB, at most 16 MiB). */
  maxMessageBytes: z.number().int().min(1).max(MAX_MESSAGE_BYTES_CEILING).optional(),
  /** Memory for parsed transcripts kept between turns, all agents together (default 64 MiB). */
  transcriptCacheBytes: z.number().int().min(0).optional(),
  webSession: z
    .strictObject({ idleMinutes: z.number().positive().optional(), absoluteHours: z.number().positive().optional() })
    .optional(),
  /** HTTPS/WSS: PEM files. */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /**
   * Slow clients are cut off: all headers within headersMs, the whole request within requestMs; a
   * WebSocket that has not authenticated (cookie, bearer or a `connect` frame) within authMs.
   */
  timeouts: z
    .strictObject({
      headersMs: z.number().int().min(100).optional(),
      requestMs: z.number().int().min(100).optional(),
      authMs: z.number().int().min(100).optional(),
    })
    .optional(),
  ...openclawOnly(
    "mode",
    "bind",
    "customBindHost",
    "controlUi",
    "trustedProxies",
    "allowRealIpFallback",
    "tools",
    "webchat",
    "channelHealthCheckMinutes",
    "channelStaleEventThresholdMinutes",
    "channelMaxRestartsPerHour",
    "tailscale",
    "remote",
    "reload",
    "http",
    "push",
    "nodes",
  ),
});

export const commandsSchema = z.looseObject({
  /** Senders allowed to run chat commands, per channel (`*` for every channel). */
  allowFrom: z.union([z.array(z.string()), z.record(z.string(), z.array(z.string()))]).optional(),
});

const hookIdPattern = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export const hooksSchema = z.looseObject({
  endpoints: z
    .array(
      z.strictObject({
        id: z.string().regex(hookIdPattern, "a hook id matching ^[a-z0-9][a-z0-9_-]{0,63}$"),
        token: z.string().min(16, "a token of at least 16 characters"),
        agent: z.string().optional(),
        name: z.string().optional(),
        /** Deliver into this session instead of the hook's own (`agent:<agent>:hook:<id>`). */
        sessionKey: z.string().optional(),
      }),
    )
    .optional(),
});

export const cronSchema = z.looseObject({
  enabled: z.boolean().optional(),
  sessionRetention: durationString.optional(),
  jobs: z
    .array(
      z.strictObject({
        id: z.string().regex(hookIdPattern, "a job id matching ^[a-z0-9][a-z0-9_-]{0,63}$"),
        name: z.string().optional(),
        schedule: z.string().min(1),
        tz: z.string().optional(),
        agent: z.string().optional(),
        message: z.string().min(1),
        /** Each run gets its own fresh session (default); false reuses the job's session. */
        isolated: z.boolean().optional(),
        enabled: z.boolean().optional(),
        /** Where the job's reply is posted (a native channel); without it, the session's last route. */
        deliver: z
          .strictObject({
            channel: z.enum(["telegram", "slack", "discord", "signal"]),
            to: z.string().min(1),
            accountId: z.string().min(1).optional(),
            threadId: z.string().min(1).optional(),
          })
          .optional(),
      }),
    )
    .optional(),
});
