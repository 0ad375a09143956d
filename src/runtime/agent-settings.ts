/**
 * Per-agent runtime settings read from `agents.defaults` and `agents.list[]`: the model, context
 * window, compaction and memory-flush thresholds, and the workspace directory.
 */
import * as path from "node:path";
import { parseSizeBytes } from "../util/units.ts";
import type { ToolPolicy } from "./tool-registry.ts";

export interface CompactionSettings {
  reserveTokens: number;
  reserveTokensFloor: number;
  keepRecentTokens: number;
  customInstructions: string | undefined;
  memoryFlush: { enabled: boolean; softThresholdTokens: number; forceFlushTranscriptBytes: number; prompt: string | undefined };
}

export interface AgentSettings {
  agentId: string;
  /** `provider/model` when configured for this agent or as the default; undefined = registry default. */
  modelRef: string | undefined;
  /** Caps the model's context window when set (`agents.defaults.contextTokens`). */
  contextTokens: number | undefined;
  compaction: CompactionSettings;
  workspace: string;
  thinkingDefault: string;
  /** Raw `contextPruning` block, parsed by the context layer. */
  contextPruning: unknown;
  /** Which tools this agent is offered (`agents.list[].tools`, else `agents.defaults.tools`). */
  tools: ToolPolicy | undefined;
  /** `agents.defaults.subagents` merged with the agent's own `subagents`. */
  subagents: { maxSpawnDepth: number; maxChildrenPerAgent: number; runTimeoutSeconds: number; model: string | undefined; allowAgents: string[] };
}

interface AgentsConfig {
  defaults?: Record<string, unknown>;
  list?: Array<Record<string, unknown> & { id: string }>;
}

function modelRefOf(value: unknown): string | undefined {
  if (typeof value === "string" && value.trim() !== "") return value.trim();
  if (value && typeof value === "object" && typeof (value as { primary?: unknown }).primary === "string") return (value as { primary: string }).primary;
  return undefined;
}

function num(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

export function resolveAgentSettings(agents: AgentsConfig | undefined, agentId: string, home: string): AgentSettings {
  const defaults = agents?.defaults ?? {};
  const own: Record<string, unknown> = agents?.list?.find((a) => a.id.toLowerCase() === agentId) ?? {};
  const compaction = (defaults.compaction ?? {}) as Record<string, unknown>;
  const flush = (compaction.memoryFlush ?? {}) as Record<string, unknown>;
  const workspace =
    typeof own.workspace === "string" ? path.resolve(own.workspace) :
    typeof defaults.workspace === "string" && agentId === "main" ? path.resolve(defaults.workspace) :
    path.join(home, "agents", agentId, "workspace");
  return {
    agentId,
    modelRef: modelRefOf(own.model) ?? modelRefOf(defaults.model),
    contextTokens: typeof defaults.contextTokens === "number" ? defaults.contextTokens : undefined,
    compaction: {
      reserveTokens: num(compaction.reserveTokens, 16_384),
      reserveTokensFloor: num(compaction.reserveTokensFloor, 20_000),
      keepRecentTokens: num(compaction.keepRecentTokens, 20_000),
      customInstructions: typeof compaction.customInstructions === "string" ? compaction.customInstructions : undefined,
      memoryFlush: {
        enabled: flush.enabled !== false,
        softThresholdTokens: num(flush.softThresholdTokens, 4000),
        forceFlushTranscriptBytes:
          typeof flush.forceFlushTranscriptBytes === "string" || typeof flush.forceFlushTranscriptBytes === "number" ? parseSizeBytes(flush.forceFlushTranscriptBytes) : 2 * 1024 * 1024,
        prompt: typeof flush.prompt === "string" ? flush.prompt : undefined,
      },
    },
    workspace,
    thinkingDefault: typeof defaults.thinkingDefault === "string" ? defaults.thinkingDefault : "off",
    contextPruning: defaults.contextPruning,
    tools: (own.tools ?? defaults.tools) as ToolPolicy | undefined,
    subagents: subagentSettings(defaults.subagents, own.subagents, agentId),
  };
}

function subagentSettings(defaults: unknown, own: unknown, agentId: string): AgentSettings["subagents"] {
  const d = (defaults ?? {}) as Record<string, unknown>;
  const o = (own ?? {}) as Record<string, unknown>;
  const pick = (k: string) => (o[k] !== undefined ? o[k] : d[k]);
  const clampInt = (v: unknown, lo: number, hi: number, fallback: number) => (typeof v === "number" && Number.isInteger(v) ? Math.min(hi, Math.max(lo, v)) : fallback);
  const allow = pick("allowAgents");
  return {
    maxSpawnDepth: clampInt(pick("maxSpawnDepth"), 1, 5, 1),
    maxChildrenPerAgent: clampInt(pick("maxChildrenPerAgent"), 1, 100, 5),
    runTimeoutSeconds: clampInt(pick("runTimeoutSeconds"), 0, 86_400, 0),
    model: typeof pick("model") === "string" ? (pick("model") as string) : undefined,
    // By default an agent may only spawn sub-agents of itself.
    allowAgents: Array.isArray(allow) ? allow.filter((x): x is string => typeof x === "string").map((x) => x.toLowerCase()) : [agentId],
  };
}
