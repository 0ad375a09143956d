/** What every CLI command starts from: the loaded config and the stores it selects. */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadConfig } from "../config/load.ts";
import { resolveAgents, resolveStorePath } from "../config/resolve.ts";
import type { PincerConfig } from "../config/schema.ts";
import { CliError, type CliIO } from "./io.ts";

export interface CliContext {
  io: CliIO;
  config: PincerConfig;
  home: string;
  configPath: string | null;
  defaultAgentId: string;
  agentIds: string[];
}

export function loadContext(io: CliIO, configPath: string | undefined): CliContext {
  const loaded = loadConfig({ configPath, env: io.env });
  for (const w of loaded.warnings) io.err(`warning: ${w}`);
  const agents = resolveAgents(loaded.config);
  return { io, config: loaded.config, home: loaded.home, configPath: loaded.path, defaultAgentId: agents.defaultAgentId, agentIds: agents.ids };
}

export interface StoreTarget {
  agentId: string;
  path: string;
}

export interface StoreSelection {
  agent?: string;
  allAgents?: boolean;
  store?: string;
}

/** Resolves --agent / --all-agents / --store to store files (OpenClaw's rules, reference §9.1). */
export function selectStores(ctx: CliContext, sel: StoreSelection): { targets: StoreTarget[]; aggregate: boolean } {
  if (sel.store && (sel.agent || sel.allAgents)) throw new CliError("--store cannot be combined with --agent or --all-agents");
  if (sel.agent && sel.allAgents) throw new CliError("--agent and --all-agents cannot be used together");
  if (sel.store) return { targets: [{ agentId: ctx.defaultAgentId, path: path.resolve(sel.store) }], aggregate: false };
  if (sel.agent) {
    const id = sel.agent.trim().toLowerCase();
    if (!ctx.agentIds.includes(id)) throw new CliError(`Unknown agent id ${JSON.stringify(sel.agent)}. Configured agents: ${ctx.agentIds.join(", ")}.`);
    return { targets: [{ agentId: id, path: resolveStorePath(ctx.config, id, ctx.home) }], aggregate: false };
  }
  if (sel.allAgents) {
    const ids = new Set(ctx.agentIds);
    // Agents that have state on disk but are no longer configured are listed too.
    try {
      for (const d of fs.readdirSync(path.join(ctx.home, "agents"), { withFileTypes: true })) if (d.isDirectory()) ids.add(d.name);
    } catch {
      // no agents directory yet
    }
    const seen = new Set<string>();
    const targets: StoreTarget[] = [];
    for (const id of ids) {
      const p = resolveStorePath(ctx.config, id, ctx.home);
      if (seen.has(p)) continue;
      seen.add(p);
      targets.push({ agentId: id, path: p });
    }
    return { targets, aggregate: true };
  }
  return { targets: [{ agentId: ctx.defaultAgentId, path: resolveStorePath(ctx.config, ctx.defaultAgentId, ctx.home) }], aggregate: false };
}
