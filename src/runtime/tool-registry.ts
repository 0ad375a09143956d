/**
 * Tools the agent may call during a turn. The runner executes them itself (the model adapters
 * only report tool calls). Later layers (session tools) register more.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { globMatch } from "../util/glob.ts";
import type { ToolSpec } from "../providers/types.ts";

export interface ToolContext {
  agentId: string;
  sessionKey: string;
  workspace: string;
  now: number;
  timeZone: string | undefined;
  /** Aborted when the turn is stopped; long-running tools should give up. */
  signal?: AbortSignal;
}

export interface ToolOutput {
  text: string;
  /** Ends the turn after this round (sessions_yield): no further model call. */
  endTurn?: boolean;
}

export interface AgentTool {
  spec: ToolSpec;
  run(args: unknown, ctx: ToolContext): Promise<string | ToolOutput>;
}

/** `agents.list[].tools` / `agents.defaults.tools`: which tools an agent is offered (globs, deny wins). */
export interface ToolPolicy {
  allow?: string[];
  deny?: string[];
}

export function toolAllowed(policy: ToolPolicy | undefined, name: string): boolean {
  if (policy?.deny?.some((p) => globMatch(p, name))) return false;
  return !policy?.allow || policy.allow.length === 0 || policy.allow.some((p) => globMatch(p, name));
}

/** `YYYY-MM-DD` in the given zone (the memory file's name). */
export function localDate(now: number, timeZone: string | undefined): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(
    new Date(now),
  );
}

/** Appends durable notes to `memory/YYYY-MM-DD.md` in the agent's workspace; the path is never taken from the model. */
export const memoryAppendTool: AgentTool = {
  spec: {
    name: "memory_append",
    description: "Append durable notes to today's memory file (memory/YYYY-MM-DD.md in the workspace). Append-only.",
    parameters: {
      type: "object",
      properties: { text: { type: "string", description: "Markdown to append" } },
      required: ["text"],
      additionalProperties: false,
    },
  },
  async run(args, ctx) {
    const text = (args as { text?: unknown } | null)?.text;
    if (typeof text !== "string" || text.trim() === "")
      throw new Error("memory_append: `text` must be a non-empty string");
    const dir = path.join(ctx.workspace, "memory");
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${localDate(ctx.now, ctx.timeZone)}.md`);
    await fs.appendFile(file, text.endsWith("\n") ? text : `${text}\n`, { mode: 0o600 });
    return `appended ${Buffer.byteLength(text)} bytes to memory/${path.basename(file)}`;
  },
};

export class ToolRegistry {
  private readonly tools = new Map<string, AgentTool>();

  constructor(tools: readonly AgentTool[] = [memoryAppendTool]) {
    for (const t of tools) this.tools.set(t.spec.name, t);
  }

  register(tool: AgentTool): void {
    this.tools.set(tool.spec.name, tool);
  }

  specs(policy?: ToolPolicy): ToolSpec[] {
    return [...this.tools.values()].filter((t) => toolAllowed(policy, t.spec.name)).map((t) => t.spec);
  }

  /** Runs a tool; any failure (bad arguments included) becomes an error result the model can read. */
  async run(
    name: string,
    args: unknown,
    ctx: ToolContext,
    policy?: ToolPolicy,
  ): Promise<{ text: string; isError: boolean; endTurn: boolean }> {
    const tool = this.tools.get(name);
    if (!tool || !toolAllowed(policy, name)) return { text: `unknown tool: ${name}`, isError: true, endTurn: false };
    try {
      const out = await tool.run(args, ctx);
      return typeof out === "string"
        ? { text: out, isError: false, endTurn: false }
        : { text: out.text, isError: false, endTurn: out.endTurn === true };
    } catch (err) {
      return { text: err instanceof Error ? err.message : String(err), isError: true, endTurn: false };
    }
  }
}
