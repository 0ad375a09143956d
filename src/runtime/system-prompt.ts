/**
 * The system prompt, assembled here and nowhere else. It is a pure function of its inputs, and
 * its parts are ordered from the most stable to the most variable — identity, tools, rules,
 * workspace files, then the group and the runtime line (agent, channel, chat type, model, date)
 * — so a provider's prompt cache keeps hitting across turns: two turns with the same workspace,
 * tools and model on the same day send byte-identical text. The time of day is left out on
 * purpose (it would change the prompt every minute); the date is in the configured zone.
 * Sub-agents get the minimal form: no persona, memory, reply or heartbeat sections, and only
 * AGENTS.md and TOOLS.md from the workspace.
 */
import type { ToolSpec } from "../providers/types.ts";
import type { InjectedFile } from "../workspace/bootstrap-files.ts";

export const HEARTBEAT_TOKEN = "HEARTBEAT_OK";
export const SILENT_TOKEN = "NO_REPLY";
export const DEFAULT_HEARTBEAT_PROMPT =
  "Read HEARTBEAT.md if it exists (workspace context). Follow it strictly. Do not infer or repeat old tasks from prior chats. If nothing needs attention, reply HEARTBEAT_OK.";

/** Where the workspace files start in the prompt (the report measures from here). */
export const PROJECT_CONTEXT_HEADING = "# Project Context";

export interface PromptRuntime {
  agentId: string;
  channel?: string;
  chatType?: string;
  /** `provider/model`. */
  model: string;
  thinking?: string;
  /** `YYYY-MM-DD` in `timeZone`. */
  date: string;
  weekday: string;
  timeZone: string;
}

export interface PromptInputs {
  mode: "full" | "minimal";
  workspaceDir: string;
  tools: readonly ToolSpec[];
  files: readonly InjectedFile[];
  /** The heartbeat prompt in use (full mode), shown so the agent recognises a heartbeat. */
  heartbeatPrompt?: string;
  /** Group chats: the group's name, shown with the sender-name convention of user lines. */
  group?: { name?: string; channel?: string };
  runtime: PromptRuntime;
  /** Extra instructions for this turn only (a memory flush's system prompt, a client's system messages). */
  extra?: string;
  /** OpenClaw's bootstrap truncation warning lines (bootstrap-warning.ts); empty or absent: none. */
  truncationWarning?: readonly string[];
}

export interface BuiltPrompt {
  text: string;
  /** Characters of the `# Project Context` part (the workspace files). */
  projectContextChars: number;
  /** Characters of the tool list lines. */
  toolListChars: number;
}

/**
 * Formatters by zone: building an Intl.DateTimeFormat costs far more than using one; and the last
 * answer with its second, since formatting twice per turn still cost more than the rest of the
 * runtime line (zone offsets are whole seconds, so a date never changes within a second).
 */
const formatters = new Map<
  string,
  { date: Intl.DateTimeFormat; weekday: Intl.DateTimeFormat; second: number; last: { date: string; weekday: string } }
>();

/** `YYYY-MM-DD` and the weekday of `now` in `timeZone`. */
export function dateIn(now: number, timeZone: string): { date: string; weekday: string } {
  const second = Math.floor(now / 1000);
  let f = formatters.get(timeZone);
  if (!f) {
    f = {
      date: new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }),
      weekday: new Intl.DateTimeFormat("en-US", { timeZone, weekday: "long" }),
      second: Number.NaN,
      last: { date: "", weekday: "" },
    };
    formatters.set(timeZone, f);
  }
  if (f.second !== second) {
    const d = new Date(now);
    f.last = { date: f.date.format(d), weekday: f.weekday.format(d) };
    f.second = second;
  }
  return { ...f.last };
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

/** The stable part of a prompt: everything before the group section, with its measured sizes. */
interface StablePart {
  mode: PromptInputs["mode"];
  workspaceDir: string;
  heartbeatPrompt: string | undefined;
  tools: readonly ToolSpec[];
  files: ReadonlyArray<{ name: string; content: string }>;
  text: string;
  projectContextChars: number;
  toolListChars: number;
}

/**
 * The last stable part per mode and workspace: it is the bulk of the prompt (the workspace files)
 * and the same on every turn until a file, the tools or the heartbeat prompt change, so it is
 * built and joined once, not on every turn. Bounded: one entry per (mode, workspace).
 */
const stableParts = new Map<string, StablePart>();
const MAX_STABLE_PARTS = 256;

function sameStable(c: StablePart, input: PromptInputs): boolean {
  if (c.heartbeatPrompt !== input.heartbeatPrompt) return false;
  if (c.tools.length !== input.tools.length || c.files.length !== input.files.length) return false;
  for (let i = 0; i < c.tools.length; i++) {
    const a = c.tools[i]!;
    const b = input.tools[i]!;
    if (a !== b && (a.name !== b.name || a.description !== b.description)) return false;
  }
  for (let i = 0; i < c.files.length; i++) {
    const a = c.files[i]!;
    const b = input.files[i]!;
    if (a.name !== b.name || a.content !== b.content) return false;
  }
  return true;
}

function stablePart(input: PromptInputs): StablePart {
  const key = `${input.mode}\0${input.workspaceDir}`;
  const hit = stableParts.get(key);
  if (hit && sameStable(hit, input)) return hit;
  const built = buildStable(input);
  if (!hit && stableParts.size >= MAX_STABLE_PARTS) stableParts.delete(stableParts.keys().next().value!);
  stableParts.set(key, built);
  return built;
}

export function buildSystemPrompt(input: PromptInputs): BuiltPrompt {
  const stable = stablePart(input);
  const out: string[] = [];

  if (input.group) {
    const where = input.group.channel ? ` on ${input.group.channel}` : "";
    const name = input.group.name ? ` "${oneLine(input.group.name)}"` : "";
    out.push(
      "",
      "## Group Chat",
      `You are in the group chat${name}${where}. Each user message starts with its sender's name ("Name: text"); several people may be talking.`,
    );
  }

  // Shown once per truncation by default, so it is a per-turn part: after everything stable.
  if (input.truncationWarning && input.truncationWarning.length > 0)
    out.push(
      "",
      "## Bootstrap Truncation",
      "⚠ Bootstrap truncation warning:",
      ...input.truncationWarning.map((l) => `- ${l}`),
    );

  if (input.extra && input.extra.trim() !== "") out.push("", "## Instructions for this turn", input.extra.trim());

  const rt = input.runtime;
  const runtimeLine = [
    `agent=${rt.agentId}`,
    rt.channel ? `channel=${rt.channel}` : null,
    rt.chatType ? `chat=${rt.chatType}` : null,
    `model=${rt.model}`,
    rt.thinking ? `thinking=${rt.thinking}` : null,
  ]
    .filter((p): p is string => p !== null)
    .join(" | ");
  out.push(
    "",
    "## Runtime",
    `Runtime: ${runtimeLine}`,
    `Current date: ${rt.date} (${rt.weekday}), time zone ${rt.timeZone}. Ask session_status for the time of day.`,
  );

  return {
    // The stable part starts with fixed text and the rest ends with the runtime line: the whole
    // prompt trimmed, as before, without copying the stable part again.
    text: `${stable.text}\n${out.join("\n").trimEnd()}`,
    projectContextChars: stable.projectContextChars,
    toolListChars: stable.toolListChars,
  };
}

function buildStable(input: PromptInputs): StablePart {
  const full = input.mode === "full";
  const names = new Set(input.tools.map((t) => t.name));
  const out: string[] = [];
  out.push(
    full
      ? "You are a personal assistant running inside Pincer, a gateway that connects you to people over chat channels."
      : "You are a sub-agent running inside Pincer: another agent handed you the task in the user message.",
  );

  const toolLines = input.tools.map((t) => `- ${t.name}: ${oneLine(t.description)}`);
  out.push(
    "",
    "## Tooling",
    "Tools available in this session (names are case-sensitive; call them exactly as listed):",
    ...toolLines,
    "TOOLS.md holds notes on how to use tools; it does not decide which tools you have.",
  );

  if (full && (names.has("memory_search") || names.has("memory_append"))) {
    out.push("", "## Memory");
    if (names.has("memory_search"))
      out.push(
        "Before answering about earlier work, decisions, dates, people, preferences or todos, search your memory with memory_search (MEMORY.md and memory/*.md), then read the lines you need with memory_get.",
      );
    if (names.has("memory_append"))
      out.push("Write what is worth keeping with memory_append (it appends to memory/YYYY-MM-DD.md of today).");
  }

  if (full) {
    out.push(
      "",
      "## Replies",
      `- If you have nothing to say, reply with exactly ${SILENT_TOKEN} and nothing else: it is not delivered.`,
      "- Start a reply with [[reply_to_current]] to quote the message you answer, or [[reply_to:<id>]] for another message, where the channel supports quoting.",
      "",
      "## Heartbeats",
      `A heartbeat is a periodic check-in whose user message is: ${oneLine(input.heartbeatPrompt ?? DEFAULT_HEARTBEAT_PROMPT)}`,
      `If a heartbeat needs nothing from you, reply exactly ${HEARTBEAT_TOKEN}. If something needs attention, reply with that alone and leave ${HEARTBEAT_TOKEN} out.`,
    );
  } else {
    out.push(
      "",
      "## Sub-agent",
      "Do the task and reply with its result; your reply is announced to the agent that asked.",
    );
  }

  out.push(
    "",
    "## Workspace",
    `Your working directory is ${input.workspaceDir}. Its files are your long-lived notes and persona; treat them as private.`,
  );

  let projectContextChars = 0;
  if (input.files.length > 0) {
    const section: string[] = [
      "",
      PROJECT_CONTEXT_HEADING,
      "The workspace files below are loaded for you on every turn" +
        (full ? "; SOUL.md is your persona, USER.md the person you help, IDENTITY.md who you are." : "."),
    ];
    for (const f of input.files) section.push("", `## ${f.name}`, "", f.content);
    projectContextChars = section.join("\n").length;
    out.push(...section);
  }

  return {
    mode: input.mode,
    workspaceDir: input.workspaceDir,
    heartbeatPrompt: input.heartbeatPrompt,
    tools: [...input.tools],
    files: input.files.map((f) => ({ name: f.name, content: f.content })),
    text: out.join("\n"),
    projectContextChars,
    toolListChars: toolLines.join("\n").length,
  };
}
