/**
 * Gathers what the system prompt of one session's turn is built from — the agent's workspace
 * files (capped), the tools offered, the session's channel, chat type and group, the model and
 * the date — and builds the prompt (system-prompt.ts) with its report (context-report.ts). Files
 * are read through one WorkspaceReader, so a turn costs a stat per file unless a file changed.
 */
import type { ToolSpec } from "../providers/types.ts";
import type { SessionEntry } from "../store/entry.ts";
import { isCronRunKey, isSubagentKey } from "../keys/session-key-helpers.ts";
import { injectFiles, WorkspaceReader } from "../workspace/bootstrap-files.ts";
import type { AgentSettings } from "./agent-settings.ts";
import { buildSystemPromptReport, injectedFileStats, type SystemPromptReport } from "./context-report.ts";
import { seenSignatures, truncationWarning } from "./bootstrap-warning.ts";
import { buildSystemPrompt, dateIn } from "./system-prompt.ts";

/** The host's zone, read once (resolving it builds a formatter). */
const HOST_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

export interface AssembleRequest {
  agentId: string;
  sessionKey: string;
  sessionId?: string;
  entry: SessionEntry | undefined;
  settings: AgentSettings;
  tools: readonly ToolSpec[];
  provider: string;
  model: string;
  now: number;
  /** `session.timeZone`; `agents.defaults.userTimezone` wins over it. */
  timeZone: string | undefined;
  /** Extra text for this turn only (a memory flush's system prompt, an API client's system messages). */
  extra?: string;
  source: "run" | "estimate";
}

export interface AssembledPrompt {
  text: string;
  report: SystemPromptReport;
}

export class PromptAssembler {
  readonly reader: WorkspaceReader;

  constructor(reader: WorkspaceReader = new WorkspaceReader()) {
    this.reader = reader;
  }

  async assemble(req: AssembleRequest): Promise<AssembledPrompt> {
    const { settings, entry } = req;
    const subagent = isSubagentKey(req.sessionKey);
    // Sub-agents and cron runs see only AGENTS.md and TOOLS.md, as in OpenClaw.
    const minimalFiles = subagent || isCronRunKey(req.sessionKey);
    const files = await this.reader.load(settings.workspace, minimalFiles);
    const injected = injectFiles(files, settings.bootstrap);
    const fileStats = injectedFileStats(files, injected);
    const warning = truncationWarning(
      fileStats,
      settings.bootstrap,
      settings.bootstrap.truncationWarning,
      seenSignatures(entry?.systemPromptReport),
    );
    const zone = settings.userTimezone ?? req.timeZone ?? HOST_ZONE;
    const { date, weekday } = dateIn(req.now, zone);
    const chatType = entry?.chatType;
    const isGroup = chatType === "group" || chatType === "channel";
    const channel = entry?.lastChannel ?? entry?.channel;
    const groupName = entry?.subject ?? (typeof entry?.displayName === "string" ? entry.displayName : entry?.groupId);
    const built = buildSystemPrompt({
      mode: subagent ? "minimal" : "full",
      workspaceDir: settings.workspace,
      tools: req.tools,
      files: injected,
      heartbeatPrompt: settings.heartbeat.prompt,
      ...(isGroup ? { group: { name: groupName, channel: entry?.channel ?? channel } } : {}),
      runtime: {
        agentId: req.agentId,
        channel,
        chatType,
        model: `${req.provider}/${req.model}`,
        thinking: entry?.thinkingLevel ?? settings.thinkingDefault,
        date,
        weekday,
        timeZone: zone,
      },
      extra: req.extra,
      truncationWarning: warning.lines,
    });
    const report = buildSystemPromptReport({
      source: req.source,
      generatedAt: req.now,
      sessionId: req.sessionId ?? entry?.sessionId,
      sessionKey: req.sessionKey,
      provider: req.provider,
      model: req.model,
      workspaceDir: settings.workspace,
      caps: settings.bootstrap,
      systemPrompt: built.text,
      projectContextChars: built.projectContextChars,
      toolListChars: built.toolListChars,
      files,
      injected,
      tools: req.tools,
      fileStats,
      bootstrapTruncation: warning.meta,
    });
    return { text: built.text, report };
  }
}
