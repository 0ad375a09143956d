/**
 * What chat commands and the status card need from the runtime, and nothing more: the session
 * rows through the manager, model and settings lookup, the session's queue, and the two run
 * controls (`/stop`, `/compact`). The runtime provides it; commands never see the runtime itself,
 * so they can be tested against a small fake and do not import the module that calls them.
 */
import type { PincerConfig } from "../config/schema.ts";
import type { ModelProvider } from "../providers/types.ts";
import type { SessionManager } from "../session/manager.ts";
import type { SessionEntry } from "../store/entry.ts";
import type { AgentSettings } from "./agent-settings.ts";
import type { CompactionOutcome } from "./compaction.ts";
import type { AbortResult, QueueView } from "./run-scheduler.ts";
import type { SystemPromptReport } from "./context-report.ts";
import type { ResolvedModel } from "./turn-runner.ts";
import type { UsageLedger } from "./usage.ts";

export type ModelChoice = ResolvedModel & { ref: string };

export interface CommandContext {
  readonly manager: Pick<SessionManager, "get" | "list" | "patchSession" | "transcriptLines" | "freshnessOf" | "clear">;
  readonly config: PincerConfig;
  readonly version: string;
  now(): number;
  settingsFor(agentId: string): AgentSettings;
  modelFor(agentId: string, entry: SessionEntry | undefined): ModelChoice;
  resolveModelRef(ref: string): ModelChoice;
  windowFor(agentId: string, provider: ModelProvider, model: string, entry?: SessionEntry): number;
  sendDecision(entry: SessionEntry | undefined, sessionKey: string): "allow" | "deny";
  queueFor(agentId: string, sessionKey: string): QueueView | undefined;
  abort(agentId: string, sessionKey: string, reason?: string): AbortResult;
  compact(agentId: string, sessionKey: string, instructions?: string): Promise<CompactionOutcome>;
  /** One line on the native channels' state for `/status`, when they run. */
  readonly channelsLine?: (() => string | undefined) | undefined;
  /** The system prompt a turn of this session would get now (`/context` before the first run). */
  systemPromptReport(agentId: string, sessionKey: string, entry: SessionEntry | undefined): Promise<SystemPromptReport>;
  /** This process's token and cost totals per agent and model (`/status`). */
  readonly usage?: Pick<UsageLedger, "forAgent" | "forModel">;
}
