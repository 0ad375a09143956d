/**
 * The agent's memory tools, as OpenClaw names them: `memory_search` (ranked full-text search over
 * `MEMORY.md` and `memory/*.md` of the agent's own workspace, with file and lines) and
 * `memory_get` (a memory file, or a line range of it). The workspace is the calling agent's, from
 * the tool context: an agent never searches another agent's memory. Paths the model passes are
 * checked (memory files only, nothing outside the workspace).
 */
import type { AgentTool, ToolRegistry } from "../runtime/tool-registry.ts";
import { MemoryIndexes } from "../workspace/memory-index.ts";

const DEFAULT_RESULTS = 6;

function args(raw: unknown): Record<string, unknown> {
  return raw && typeof raw === "object" && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
}

function optionalInt(value: unknown, name: string, min: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min)
    throw new Error(`\`${name}\` must be a whole number ≥ ${min}`);
  return value;
}

export function memorySearchTool(indexes: MemoryIndexes): AgentTool {
  return {
    spec: {
      name: "memory_search",
      description:
        "Search your memory (MEMORY.md and memory/*.md in your workspace) by keywords; returns the best matching passages with file and line numbers.",
      parameters: {
        type: "object",
        properties: {
          query: { type: "string", description: "Words to look for" },
          maxResults: { type: "integer", minimum: 1, maximum: 50, description: "How many passages (default 6)" },
        },
        required: ["query"],
        additionalProperties: false,
      },
    },
    async run(raw, ctx) {
      const a = args(raw);
      if (typeof a.query !== "string" || a.query.trim() === "")
        throw new Error("memory_search: `query` must be a non-empty string");
      const max = optionalInt(a.maxResults, "maxResults", 1) ?? DEFAULT_RESULTS;
      const results = await indexes.for(ctx.workspace).search(a.query, max);
      return JSON.stringify({ results });
    },
  };
}

export function memoryGetTool(indexes: MemoryIndexes): AgentTool {
  return {
    spec: {
      name: "memory_get",
      description:
        "Read a memory file (MEMORY.md or memory/<name>.md from memory_search results), whole or from line `from` for `lines` lines.",
      parameters: {
        type: "object",
        properties: {
          path: { type: "string", description: "MEMORY.md or memory/YYYY-MM-DD.md" },
          from: { type: "integer", minimum: 1, description: "First line (1-based)" },
          lines: { type: "integer", minimum: 1, description: "How many lines" },
        },
        required: ["path"],
        additionalProperties: false,
      },
    },
    async run(raw, ctx) {
      const a = args(raw);
      if (typeof a.path !== "string" || a.path.trim() === "")
        throw new Error("memory_get: `path` must be a non-empty string");
      const got = await indexes
        .for(ctx.workspace)
        .get(a.path.trim(), optionalInt(a.from, "from", 1), optionalInt(a.lines, "lines", 1));
      return JSON.stringify(got);
    },
  };
}

/** Adds memory_search and memory_get to a registry; returns the indexes (closed at shutdown). */
export function registerMemoryTools(tools: ToolRegistry, indexes: MemoryIndexes = new MemoryIndexes()): MemoryIndexes {
  tools.register(memorySearchTool(indexes));
  tools.register(memoryGetTool(indexes));
  return indexes;
}
