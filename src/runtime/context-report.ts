/**
 * What the system prompt is made of, in OpenClaw's `SessionSystemPromptReport` shape (stored on
 * the session row as `systemPromptReport` after each run, so OpenClaw's `/context` reads it too),
 * and the `/context list | detail | json` replies built from it plus the session's history.
 */
import type { ToolSpec } from "../providers/types.ts";
import type { InjectedFile, WorkspaceFile } from "../workspace/bootstrap-files.ts";
import type { BootstrapTruncationMeta } from "./bootstrap-warning.ts";

export interface InjectedFileStats {
  name: string;
  path: string;
  missing: boolean;
  rawChars: number;
  injectedChars: number;
  truncated: boolean;
}

export interface SystemPromptReport {
  /** `run`: what the last run sent; `estimate`: built for `/context` without a run. */
  source: "run" | "estimate";
  generatedAt: number;
  sessionId?: string;
  sessionKey?: string;
  provider?: string;
  model?: string;
  workspaceDir: string;
  bootstrapMaxChars: number;
  bootstrapTotalMaxChars: number;
  sandbox: { mode: string; sandboxed: boolean };
  systemPrompt: { chars: number; projectContextChars: number; nonProjectContextChars: number };
  injectedWorkspaceFiles: InjectedFileStats[];
  /** OpenClaw's truncation-warning state (bootstrap-warning.ts); its seen signatures keep `once` once. */
  bootstrapTruncation?: BootstrapTruncationMeta;
  skills: { promptChars: number; entries: Array<{ name: string; blockChars: number }> };
  tools: {
    listChars: number;
    schemaChars: number;
    entries: Array<{ name: string; summaryChars: number; schemaChars: number; propertiesCount: number | null }>;
  };
}

/** The report's header fields come as they are; the sizes are measured from the rest. */
export interface ReportInput extends Pick<
  SystemPromptReport,
  "source" | "generatedAt" | "sessionId" | "sessionKey" | "provider" | "model" | "workspaceDir" | "bootstrapTruncation"
> {
  caps: { maxChars: number; totalMaxChars: number };
  systemPrompt: string;
  projectContextChars: number;
  toolListChars: number;
  files: readonly WorkspaceFile[];
  injected: readonly InjectedFile[];
  tools: readonly ToolSpec[];
  /** Per-file sizes when the caller measured them already (the truncation warning needs them first). */
  fileStats?: InjectedFileStats[];
}

type ToolEntry = SystemPromptReport["tools"]["entries"][number];
/** A tool's sizes, measured once per spec object (specs live as long as their registry). */
const toolEntries = new WeakMap<ToolSpec, ToolEntry>();

function toolEntry(t: ToolSpec): ToolEntry {
  let e = toolEntries.get(t);
  if (!e) {
    const props = (t.parameters as { properties?: unknown }).properties;
    e = {
      name: t.name,
      summaryChars: t.description.trim().length,
      schemaChars: JSON.stringify(t.parameters).length,
      propertiesCount: props && typeof props === "object" ? Object.keys(props).length : null,
    };
    toolEntries.set(t, e);
  }
  return e;
}

/** Raw and injected size of each workspace file, and whether the caps cut it. */
export function injectedFileStats(
  workspaceFiles: readonly WorkspaceFile[],
  injected: readonly InjectedFile[],
): InjectedFileStats[] {
  const byPath = new Map(injected.map((f) => [f.path, f.content]));
  return workspaceFiles.map((f): InjectedFileStats => {
    const rawChars = f.missing ? 0 : (f.content ?? "").trimEnd().length;
    const injectedChars = byPath.get(f.path)?.length ?? 0;
    return {
      name: f.name,
      path: f.path,
      missing: f.missing,
      rawChars,
      injectedChars,
      truncated: !f.missing && injectedChars < rawChars,
    };
  });
}

export function buildSystemPromptReport(input: ReportInput): SystemPromptReport {
  const files = input.fileStats ?? injectedFileStats(input.files, input.injected);
  const tools = input.tools.map(toolEntry);
  const chars = input.systemPrompt.length;
  return {
    source: input.source,
    generatedAt: input.generatedAt,
    ...(input.sessionId ? { sessionId: input.sessionId } : {}),
    ...(input.sessionKey ? { sessionKey: input.sessionKey } : {}),
    ...(input.provider ? { provider: input.provider } : {}),
    ...(input.model ? { model: input.model } : {}),
    workspaceDir: input.workspaceDir,
    bootstrapMaxChars: input.caps.maxChars,
    bootstrapTotalMaxChars: input.caps.totalMaxChars,
    sandbox: { mode: "off", sandboxed: false },
    systemPrompt: {
      chars,
      projectContextChars: input.projectContextChars,
      nonProjectContextChars: Math.max(0, chars - input.projectContextChars),
    },
    injectedWorkspaceFiles: files,
    ...(input.bootstrapTruncation ? { bootstrapTruncation: input.bootstrapTruncation } : {}),
    skills: { promptChars: 0, entries: [] },
    tools: {
      listChars: input.toolListChars,
      schemaChars: tools.reduce((s, t) => s + t.schemaChars, 0),
      entries: tools,
    },
  };
}

/** The session side of `/context`: its token counters and the history sent with the prompt. */
export interface ContextSession {
  totalTokens: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  contextTokens: number;
  history: { messages: number; chars: number; compacted: boolean };
}

const int = (n: number) => new Intl.NumberFormat("en-US").format(n);
const tok = (chars: number) => Math.ceil(chars / 4);
const size = (chars: number) => `${int(chars)} chars (~${int(tok(chars))} tok)`;
const pct = (part: number, whole: number) => (whole > 0 ? `${Math.round((part / whole) * 1000) / 10}%` : "?");

export const CONTEXT_HELP = [
  "🧠 /context",
  "",
  "What the model receives each turn: the system prompt (workspace files, tools, rules, runtime line) and the session's history.",
  "",
  "Try:",
  "- /context list   (short breakdown)",
  "- /context detail (per file, per tool, history)",
  "- /context json   (the same, machine-readable)",
  "",
  "Usage: /context list | detail | json",
].join("\n");

/** `/context <mode>`'s reply; null mode text → the usage line. */
export function formatContext(mode: string, report: SystemPromptReport, session: ContextSession): string {
  if (mode === "" || mode === "help") return CONTEXT_HELP;
  if (mode === "json") return JSON.stringify({ report, session }, null, 2);
  const detail = mode === "detail" || mode === "deep";
  if (!detail && mode !== "list" && mode !== "show")
    return "Unknown /context mode.\nUse: /context, /context list, /context detail, or /context json";
  const files = report.injectedWorkspaceFiles.map((f) => {
    const status = f.missing ? "MISSING" : f.truncated ? "TRUNCATED" : "OK";
    return `- ${f.name}: ${status} | raw ${f.missing ? "0" : size(f.rawChars)} | injected ${f.missing ? "0" : size(f.injectedChars)}`;
  });
  const truncated = report.injectedWorkspaceFiles.filter((f) => f.truncated);
  const window = session.contextTokens;
  const historyTok = tok(session.history.chars);
  const promptTok = tok(report.systemPrompt.chars);
  const toolsTok = tok(report.tools.schemaChars);
  const lines = [
    detail ? "🧠 Context breakdown (detailed)" : "🧠 Context breakdown",
    `Workspace: ${report.workspaceDir}`,
    `Bootstrap max/file: ${int(report.bootstrapMaxChars)} chars`,
    `Bootstrap max/total: ${int(report.bootstrapTotalMaxChars)} chars`,
    `Sandbox: mode=${report.sandbox.mode} sandboxed=${report.sandbox.sandboxed}`,
    `System prompt (${report.source}): ${size(report.systemPrompt.chars)} (Project Context ${size(report.systemPrompt.projectContextChars)})`,
    ...(truncated.length > 0
      ? [
          "",
          `⚠ ${truncated.length} workspace file(s) truncated: ${truncated.map((f) => f.name).join(", ")}.`,
          "Tip: raise `agents.defaults.bootstrapMaxChars` and/or `agents.defaults.bootstrapTotalMaxChars` if this is not intended.",
        ]
      : []),
    "",
    "Injected workspace files:",
    ...(files.length > 0 ? files : ["- (none)"]),
    "",
    `Tool list (system prompt text): ${size(report.tools.listChars)}`,
    `Tool schemas (JSON): ${size(report.tools.schemaChars)} (counts toward context; not shown as text)`,
    `Tools: ${report.tools.entries.map((t) => t.name).join(", ") || "(none)"}`,
  ];
  if (detail) {
    const top = (pick: (t: SystemPromptReport["tools"]["entries"][number]) => number) =>
      [...report.tools.entries]
        .sort((a, b) => pick(b) - pick(a))
        .slice(0, 30)
        .map((t) => `- ${t.name}: ${size(pick(t))}`);
    lines.push(
      "Top tools (schema size):",
      ...top((t) => t.schemaChars),
      "",
      "Top tools (summary text size):",
      ...top((t) => t.summaryChars),
      "",
      "Tools (param count):",
      ...report.tools.entries
        .filter((t) => t.propertiesCount !== null)
        .map((t) => `- ${t.name}: ${t.propertiesCount} params`),
    );
  }
  lines.push(
    "",
    `History: ${int(session.history.messages)} message(s), ${size(session.history.chars)}${session.history.compacted ? " · starts from a compaction summary" : ""}`,
    `Window ${int(window)} tok: system prompt ${pct(promptTok, window)} · tool schemas ${pct(toolsTok, window)} · history ${pct(historyTok, window)}`,
    session.totalTokens !== null
      ? `Session tokens (cached): ${int(session.totalTokens)} total / ctx=${int(window)}`
      : `Session tokens (cached): unknown / ctx=${int(window)}`,
  );
  return lines.join("\n");
}

/** The `/status` line for the stored report (nothing before the first run). */
export function statusLine(report: SystemPromptReport | undefined): string | null {
  if (!report?.systemPrompt) return null;
  const files = report.injectedWorkspaceFiles ?? [];
  const present = files.filter((f) => !f.missing).length;
  const cut = files.filter((f) => f.truncated).length;
  return `🧾 System prompt: ${size(report.systemPrompt.chars)} · workspace files ${present}${cut > 0 ? ` (${cut} truncated)` : ""} · tools ${report.tools?.entries?.length ?? 0}`;
}
