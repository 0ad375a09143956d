/**
 * Tools the agent may call during a turn. The runner executes them itself (the model adapters
 * only report tool calls). Later layers (session tools) register more.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import type { ToolSpec } from "../providers/types.ts";

export interface ToolContext {
  agentId: string;
  sessionKey: string;
  workspace: string;
  now: number;
  timeZone: string | undefined;
}

export interface AgentTool {
  spec: ToolSpec;
  run(args: unknown, ctx: ToolContext): Promise<string>;
}

/** `YYYY-MM-DD` in the given zone (the memory file's name). */
export function localDate(now: number, timeZone: string | undefined): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(now));
}

/** Appends durable notes to `memory/YYYY-MM-DD.md` in the agent's workspace; the path is never taken from the model. */
export const memoryAppendTool: AgentTool = {
  spec: {
    name: "memory_append",
    description: "Append durable notes to today's memory file (memory/YYYY-MM-DD.md in the workspace). Append-only.",
    parameters: { type: "object", properties: { text: { type: "string", description: "Markdown to append" } }, required: ["text"], additionalProperties: false },
  },
  async run(args, ctx) {
    const text = (args as { text?: unknown } | null)?.text;
    if (typeof text !== "string" || text.trim() === "") throw new Error("memory_append: `text` must be a non-empty string");
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

  specs(): ToolSpec[] {
    return [...this.tools.values()].map((t) => t.spec);
  }

  async run(name: string, args: unknown, ctx: ToolContext): Promise<{ text: string; isError: boolean }> {
    const tool = this.tools.get(name);
    if (!tool) return { text: `unknown tool: ${name}`, isError: true };
    try {
      return { text: await tool.run(args, ctx), isError: false };
    } catch (err) {
      return { text: err instanceof Error ? err.message : String(err), isError: true };
    }
  }
}
