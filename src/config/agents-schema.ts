/**
 * `agents`: the defaults every agent inherits (model, context window, pruning, compaction, memory
 * flush, sub-agents, tools) and the per-agent list. Every key Pincer reads is typed here, once;
 * the runtime's resolvers only fill in defaults. Keys OpenClaw has that Pincer does not read are
 * accepted (`openclawOnly`), anything else is an unknown key.
 */
import { z } from "zod";
import { durationSchema, globListSchema, modelRefSchema, openclawOnly, sizeSchema, timeZoneSchema } from "./values.ts";

const AGENT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/i;
const count = z.number().int().min(0);
const ratio = z.number().min(0).max(1);

/** `agents.defaults.contextPruning` (OpenClaw's cache-ttl pruning); `ttl` defaults to minutes. */
export const contextPruningSchema = z.strictObject({
  mode: z.enum(["off", "cache-ttl"]).optional(),
  ttl: durationSchema("m", 'a non-negative duration like "5m"', { nonNegative: true }).optional(),
  keepLastAssistants: count.optional(),
  softTrimRatio: ratio.optional(),
  hardClearRatio: ratio.optional(),
  minPrunableToolChars: count.optional(),
  softTrim: z
    .strictObject({ maxChars: count.optional(), headChars: count.optional(), tailChars: count.optional() })
    .optional(),
  hardClear: z
    .strictObject({
      enabled: z.boolean().optional(),
      placeholder: z.string().trim().min(1, "a non-empty string").optional(),
    })
    .optional(),
  tools: z.strictObject({ allow: globListSchema.optional(), deny: globListSchema.optional() }).optional(),
});

export const memoryFlushSchema = z.strictObject({
  enabled: z.boolean().optional(),
  softThresholdTokens: count.optional(),
  /** A transcript this large forces a flush: bytes, or a size such as "2mb". */
  forceFlushTranscriptBytes: sizeSchema.optional(),
  prompt: z.string().optional(),
  /** Extra system-prompt text for the flush turn (OpenClaw's default when unset). */
  systemPrompt: z.string().optional(),
});

export const compactionSchema = z.strictObject({
  reserveTokens: count.optional(),
  reserveTokensFloor: count.optional(),
  keepRecentTokens: z.number().int().positive().optional(),
  customInstructions: z.string().optional(),
  memoryFlush: memoryFlushSchema.optional(),
  ...openclawOnly(
    "mode",
    "maxHistoryShare",
    "identifierPolicy",
    "identifierInstructions",
    "recentTurnsPreserve",
    "qualityGuard",
    "postIndexSync",
    "postCompactionSections",
    "model",
    "timeoutSeconds",
  ),
});

/** `agents.defaults.subagents` and `agents.list[].subagents` (the agent's own wins key by key). */
export const subagentsSchema = z.strictObject({
  maxSpawnDepth: z.number().int().min(1).max(5).optional(),
  maxChildrenPerAgent: z.number().int().min(1).max(100).optional(),
  runTimeoutSeconds: z.number().int().min(0).max(86_400).optional(),
  model: modelRefSchema.optional(),
  /** Agent ids (globs, `*` = any) this agent may spawn; default: only itself. */
  allowAgents: z.array(z.string()).optional(),
  ...openclawOnly(
    "maxConcurrent",
    "archiveAfterMinutes",
    "thinking",
    "announceTimeoutMs",
    "delegationMode",
    "requireAgentId",
  ),
});

/** Which tools an agent is offered: globs, deny wins. */
export const toolPolicySchema = z.strictObject({
  allow: globListSchema.optional(),
  deny: globListSchema.optional(),
  ...openclawOnly(
    "profile",
    "alsoAllow",
    "byProvider",
    "toolsBySender",
    "codeMode",
    "swarm",
    "elevated",
    "exec",
    "fs",
    "loopDetection",
    "message",
    "sandbox",
  ),
});

/** `HH:MM` (24h); `24:00` is accepted as the end of the day. */
const clockTime = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'a time of day "HH:MM" (00:00-24:00)');

/** `agents.defaults.heartbeat` / `agents.list[].heartbeat` (the agent's own merges over the defaults). */
export const heartbeatSchema = z.strictObject({
  /** How often; `0m` disables. Default 30m. */
  every: durationSchema("m", 'a non-negative duration like "30m" ("0m" disables)', { nonNegative: true }).optional(),
  prompt: z.string().trim().min(1, "a non-empty string").optional(),
  /** `none` (default): never delivered; `last`: the main session's last route; or a channel name. */
  target: z.string().trim().min(1, "a non-empty string").optional(),
  to: z.string().trim().min(1, "a non-empty string").optional(),
  activeHours: z.strictObject({ start: clockTime, end: clockTime, timezone: timeZoneSchema.optional() }).optional(),
  /** A reply of HEARTBEAT_OK plus at most this many characters is an acknowledgement (default 300). */
  ackMaxChars: count.optional(),
  ...openclawOnly(
    "model",
    "includeReasoning",
    "lightContext",
    "directPolicy",
    "accountId",
    "session",
    "isolatedSession",
    "suppressToolErrorWarnings",
  ),
});

const THINKING_LEVELS = ["off", "minimal", "low", "medium", "high", "xhigh", "adaptive", "max", "ultra"] as const;

/** `agents.defaults.models`: per model ref, its `alias` (a name `/model` and model refs may use). */
export const modelCatalogSchema = z.record(
  z.string(),
  z.strictObject({ alias: z.string().trim().min(1).optional(), ...openclawOnly("params", "streaming") }),
);

export const agentDefaultsSchema = z.strictObject({
  model: modelRefSchema.optional(),
  models: modelCatalogSchema.optional(),
  contextTokens: z.number().int().positive().optional(),
  workspace: z.string().optional(),
  /** True: the gateway creates no workspace files (the owner manages them). */
  skipBootstrap: z.boolean().optional(),
  /** Per workspace file injected into the system prompt (default 20000 chars). */
  bootstrapMaxChars: z.number().int().positive().optional(),
  /** All workspace files together (default 150000 chars). */
  bootstrapTotalMaxChars: z.number().int().positive().optional(),
  /** Tell the agent when workspace files were cut (OpenClaw's; default "once" per truncation and session). */
  bootstrapPromptTruncationWarning: z.enum(["off", "once", "always"]).optional(),
  /** The zone of the date in the system prompt (default: `session.timeZone`, else the host's). */
  userTimezone: timeZoneSchema.optional(),
  heartbeat: heartbeatSchema.optional(),
  thinkingDefault: z.enum(THINKING_LEVELS).optional(),
  contextPruning: contextPruningSchema.optional(),
  compaction: compactionSchema.optional(),
  subagents: subagentsSchema.optional(),
  tools: toolPolicySchema.optional(),
  ...openclawOnly(
    "imageModel",
    "imageGenerationModel",
    "pdfModel",
    "pdfMaxBytesMb",
    "pdfMaxPages",
    "repoRoot",
    "timeFormat",
    "envelopeTimezone",
    "envelopeTimestamp",
    "envelopeElapsed",
    "cliBackends",
    "memorySearch",
    "embeddedPi",
    "verboseDefault",
    "elevatedDefault",
    "blockStreamingDefault",
    "blockStreamingBreak",
    "blockStreamingChunk",
    "blockStreamingCoalesce",
    "humanDelay",
    "timeoutSeconds",
    "mediaMaxMb",
    "imageMaxDimensionPx",
    "typingIntervalSeconds",
    "typingMode",
    "maxConcurrent",
    "additionalSystemPrompt",
    "sandbox",
    "contextLimits",
    "contextInjection",
    "reasoningDefault",
    "fastModeDefault",
    "utilityModel",
    "skillsLimits",
  ),
});

export const agentEntrySchema = z.strictObject({
  id: z.string().regex(AGENT_ID, "an agent id matching ^[a-z0-9][a-z0-9_-]{0,63}$"),
  default: z.boolean().optional(),
  name: z.string().optional(),
  model: modelRefSchema.optional(),
  workspace: z.string().optional(),
  tools: toolPolicySchema.optional(),
  subagents: subagentsSchema.optional(),
  heartbeat: heartbeatSchema.optional(),
  ...openclawOnly(
    "description",
    "agentDir",
    "utilityModel",
    "models",
    "modelPolicy",
    "thinkingDefault",
    "verboseDefault",
    "toolProgressDetail",
    "reasoningDefault",
    "fastModeDefault",
    "contextInjection",
    "bootstrapMaxChars",
    "bootstrapTotalMaxChars",
    "experimental",
    "skills",
    "memory",
    "memorySearch",
    "humanDelay",
    "typingMode",
    "typingIntervalSeconds",
    "tts",
    "skillsLimits",
    "contextLimits",
    "contextTokens",
    "identity",
    "groupChat",
    "embeddedAgent",
    "plugins",
    "sandbox",
    "params",
    "runtime",
  ),
});

export const agentsSchema = z.strictObject({
  defaults: agentDefaultsSchema.optional(),
  list: z.array(agentEntrySchema).optional(),
});

export type AgentsConfig = z.infer<typeof agentsSchema>;
export type AgentDefaultsConfig = z.infer<typeof agentDefaultsSchema>;
export type AgentEntryConfig = z.infer<typeof agentEntrySchema>;
export type ContextPruningConfig = z.infer<typeof contextPruningSchema>;
export type SubagentsConfig = z.infer<typeof subagentsSchema>;
export type ToolPolicyConfig = z.infer<typeof toolPolicySchema>;
export type ModelRefConfig = z.infer<typeof modelRefSchema>;
export type HeartbeatConfig = z.infer<typeof heartbeatSchema>;
