/**
 * Which sessions an agent's session tools may see or touch, decided from
 * `tools.sessions.visibility` and `tools.agentToAgent` (checked at load, config/tools-schema.ts).
 * In Pincer `tree` covers the caller and all its descendants (OpenClaw: direct children only).
 * Errors name the setting to change.
 */
import type { ToolsConfig } from "../config/tools-schema.ts";
import { globMatch } from "../util/glob.ts";
import { agentIdFromKey } from "../keys/session-key-helpers.ts";

export type Visibility = NonNullable<NonNullable<ToolsConfig["sessions"]>["visibility"]>;

export interface VisibilityConfig {
  visibility: Visibility;
  agentToAgent: { enabled: boolean; allow: string[] };
}

export function resolveVisibilityConfig(tools: ToolsConfig | undefined): VisibilityConfig {
  return {
    visibility: tools?.sessions?.visibility ?? "tree",
    agentToAgent: { enabled: tools?.agentToAgent?.enabled ?? false, allow: tools?.agentToAgent?.allow ?? [] },
  };
}

/** The parent of a session (its `spawnedBy`), for walking up a spawn tree. */
export type ParentLookup = (key: string) => Promise<string | undefined>;

/** True when `key` is `ancestor` or below it in the spawn tree. */
export async function isInTree(key: string, ancestor: string, parentOf: ParentLookup, maxDepth = 16): Promise<boolean> {
  let cur: string | undefined = key;
  for (let i = 0; cur !== undefined && i <= maxDepth; i++) {
    if (cur === ancestor) return true;
    cur = await parentOf(cur);
  }
  return false;
}

/** Null when allowed, else the error message for the model. `verb` is "history", "send", "status", ... */
export async function checkSessionAccess(input: {
  config: VisibilityConfig;
  requesterKey: string;
  targetKey: string;
  verb: string;
  parentOf: ParentLookup;
}): Promise<string | null> {
  const { config, requesterKey, targetKey, verb } = input;
  const requesterAgent = agentIdFromKey(requesterKey) ?? "main";
  const targetAgent = agentIdFromKey(targetKey) ?? "main";
  if (requesterAgent !== targetAgent) {
    if (config.visibility !== "all")
      return `Session ${verb} across agents is not visible (tools.sessions.visibility=${config.visibility}). Set tools.sessions.visibility=all to allow cross-agent access.`;
    if (!config.agentToAgent.enabled)
      return `Agent-to-agent ${verb} is disabled. Set tools.agentToAgent.enabled=true to allow it.`;
    const allowed = (id: string) =>
      config.agentToAgent.allow.length === 0 || config.agentToAgent.allow.some((p) => globMatch(p, id));
    if (!allowed(requesterAgent) || !allowed(targetAgent))
      return `Agent-to-agent ${verb} from ${requesterAgent} to ${targetAgent} is denied by tools.agentToAgent.allow.`;
    return null;
  }
  if (config.visibility === "self" && targetKey !== requesterKey) {
    return `Session ${verb} visibility is restricted to the current session (tools.sessions.visibility=self).`;
  }
  if (config.visibility === "tree" && !(await isInTree(targetKey, requesterKey, input.parentOf))) {
    return `Session ${verb} visibility is restricted to the current session tree (tools.sessions.visibility=tree).`;
  }
  return null;
}
