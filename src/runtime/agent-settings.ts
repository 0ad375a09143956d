/**
 * Per-agent runtime settings read from `agents.defaults` and `agents.list[]`: the model, context
 * window, compaction and memory-flush thresholds, and the workspace directory. The config was
 * checked at load (config/agents-schema.ts); this only fills in the defaults.
 */
import type {
  AgentsConfig,
  ContextPruningConfig,
  ModelRefConfig,
  SubagentsConfig,
  ToolPolicyConfig,
} from "../config/agents-schema.ts";
import { parseSizeBytes } from "../util/units.ts";
import { resolveWorkspaceDir } from "../workspace/layout.ts";
import { DEFAULT_BOOTSTRAP_MAX_CHARS, DEFAULT_BOOTSTRAP_TOTAL_MAX_CHARS } from "../workspace/bootstrap-files.ts";
import { resolveHeartbeat, type HeartbeatSettings } from "./heartbeat.ts";
import { DEFAULT_TRUNCATION_WARNING_MODE, type TruncationWarningMode } from "./bootstrap-warning.ts";

export interface CompactionSettings {
  reserveTokens: number;
  reserveTokensFloor: number;
  keepRecentTokens: number;
  customInstructions: string | undefined;
  memoryFlush: {
    enabled: boolean;
    softThresholdTokens: number;
    forceFlushTranscriptBytes: number;
    prompt: string | undefined;
    systemPrompt: string | undefined;
  };
}

export interface AgentSettings {
  agentId: string;
  /** `provider/model` when configured for this agent or as the default; undefined = registry default. */
  modelRef: string | undefined;
  /** Caps the model's context window when set (`agents.defaults.contextTokens`). */
  contextTokens: number | undefined;
  compaction: CompactionSettings;
  workspace: string;
  /** Caps of the workspace files in the system prompt (`bootstrapMaxChars`, `bootstrapTotalMaxChars`). */
  bootstrap: { maxChars: number; totalMaxChars: number; truncationWarning: TruncationWarningMode };
  /** `agents.defaults.userTimezone`: the zone of the system prompt's date (undefined: the session's). */
  userTimezone: string | undefined;
  heartbeat: HeartbeatSettings;
  thinkingDefault: string;
  /** The `contextPruning` block; the context layer fills in its defaults. */
  contextPruning: ContextPruningConfig | undefined;
  /** Which tools this agent is offered (`agents.list[].tools`, else `agents.defaults.tools`). */
  tools: ToolPolicyConfig | undefined;
  /** `agents.defaults.subagents` merged with the agent's own `subagents`. */
  subagents: {
    maxSpawnDepth: number;
    maxChildrenPerAgent: number;
    runTimeoutSeconds: number;
    model: string | undefined;
    allowAgents: string[];
  };
}

function modelRefOf(value: ModelRefConfig | undefined): string | undefined {
  const ref = typeof value === "string" ? value : value?.primary;
  return ref !== undefined && ref.trim() !== "" ? ref.trim() : undefined;
}

export function resolveAgentSettings(agents: AgentsConfig | undefined, agentId: string, home: string): AgentSettings {
  const defaults = agents?.defaults ?? {};
  const own = agents?.list?.find((a) => a.id.toLowerCase() === agentId);
  const compaction = defaults.compaction ?? {};
  const flush = compaction.memoryFlush ?? {};
  const workspace = resolveWorkspaceDir(agents, agentId, home);
  return {
    agentId,
    modelRef: modelRefOf(own?.model) ?? modelRefOf(defaults.model),
    contextTokens: defaults.contextTokens,
    compaction: {
      reserveTokens: compaction.reserveTokens ?? 16_384,
      reserveTokensFloor: compaction.reserveTokensFloor ?? 20_000,
      keepRecentTokens: compaction.keepRecentTokens ?? 20_000,
      customInstructions: compaction.customInstructions,
      memoryFlush: {
        enabled: flush.enabled ?? true,
        softThresholdTokens: flush.softThresholdTokens ?? 4000,
        forceFlushTranscriptBytes:
          flush.forceFlushTranscriptBytes !== undefined
            ? parseSizeBytes(flush.forceFlushTranscriptBytes)
            : 2 * 1024 * 1024,
        prompt: flush.prompt,
        systemPrompt: flush.systemPrompt,
      },
    },
    workspace,
    bootstrap: {
      maxChars: defaults.bootstrapMaxChars ?? DEFAULT_BOOTSTRAP_MAX_CHARS,
      totalMaxChars: defaults.bootstrapTotalMaxChars ?? DEFAULT_BOOTSTRAP_TOTAL_MAX_CHARS,
      truncationWarning: defaults.bootstrapPromptTruncationWarning ?? DEFAULT_TRUNCATION_WARNING_MODE,
    },
    userTimezone: defaults.userTimezone,
    heartbeat: resolveHeartbeat(agents, agentId),
    thinkingDefault: defaults.thinkingDefault ?? "off",
    contextPruning: defaults.contextPruning,
    tools: own?.tools ?? defaults.tools,
    subagents: subagentSettings(defaults.subagents ?? {}, own?.subagents ?? {}, agentId),
  };
}

/** The agent's own `subagents` keys win over the defaults', key by key. */
function subagentSettings(
  defaults: SubagentsConfig,
  own: SubagentsConfig,
  agentId: string,
): AgentSettings["subagents"] {
  const allow = own.allowAgents ?? defaults.allowAgents;
  return {
    maxSpawnDepth: own.maxSpawnDepth ?? defaults.maxSpawnDepth ?? 1,
    maxChildrenPerAgent: own.maxChildrenPerAgent ?? defaults.maxChildrenPerAgent ?? 5,
    runTimeoutSeconds: own.runTimeoutSeconds ?? defaults.runTimeoutSeconds ?? 0,
    model: modelRefOf(own.model ?? defaults.model),
    // By default an agent may only spawn sub-agents of itself.
    allowAgents: allow ? allow.map((x) => x.toLowerCase()) : [agentId],
  };
}
