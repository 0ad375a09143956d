/**
 * `agents`: the defaults every agent inherits (model, context window, pruning, compaction, memory
 * flush, sub-agents, tools) and the per-agent list. Every key Pincer reads is typed here, once;
 * the runtime's resolvers only fill in defaults. Keys OpenClaw has that Pincer does not read are
 * accepted (`openclawOnly`), anything else is an unknown key.
 */
import { z } from "zod";
import { durationSchema, globListSchema, modelRefSchema, openclawOnly, sizeSchema } from "./values.ts";

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
  ...openclawOnly("systemPrompt"),
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

const THINKING_LEVELS = ["off", "minimal", "low", "medium", "high", "xhigh", "adaptive", "max", "ultra"] as const;

export const agentDefaultsSchema = z.strictObject({
  model: modelRefSchema.optional(),
  contextTokens: z.number().int().positive().optional(),
  workspace: z.string().optional(),
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
    "models",
    "repoRoot",
    "skipBootstrap",
    "bootstrapMaxChars",
    "bootstrapTotalMaxChars",
    "bootstrapPromptTruncationWarning",
    "userTimezone",
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
    "heartbeat",
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
    "heartbeat",
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
