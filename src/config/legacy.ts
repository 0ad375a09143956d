/**
 * Keys older OpenClaw configs use at their old place, read at the new one with a warning that says
 * where they now live (OpenClaw's own load-time migration, `agent.defaults-v2`): the top-level
 * `agent.*` block is `agents.defaults.*`, except its tool settings (`agent.tools.allow|deny` →
 * `tools.allow|deny`, `agent.elevated` → `tools.elevated`, `agent.bash` → `tools.exec`). Values
 * already at the new place win; the old ones only fill in what is missing. `pincer doctor --fix`
 * moves them in the file.
 */
type Rec = Record<string, unknown>;

const isRec = (v: unknown): v is Rec => v !== null && typeof v === "object" && !Array.isArray(v);

function ensure(parent: Rec, key: string): Rec {
  const v = parent[key];
  if (isRec(v)) return v;
  const fresh: Rec = {};
  parent[key] = fresh;
  return fresh;
}

/** Copies what `target` lacks from `source`, recursively; explicit target values are kept. */
function mergeMissing(target: Rec, source: Rec): void {
  for (const [k, v] of Object.entries(source)) {
    if (v === undefined) continue;
    if (target[k] === undefined) target[k] = v;
    else if (isRec(target[k]) && isRec(v)) mergeMissing(target[k], v);
  }
}

/** One legacy key and where it now lives. */
export interface LegacyMove {
  from: string;
  to: string;
}

/** Where each key of a legacy `agent` block goes (for warnings and `doctor --fix`). */
export function legacyAgentMoves(agent: Rec): LegacyMove[] {
  const moves: LegacyMove[] = [];
  for (const key of Object.keys(agent)) {
    if (key === "tools" && isRec(agent.tools)) {
      for (const t of Object.keys(agent.tools))
        moves.push({
          from: `agent.tools.${t}`,
          to: t === "allow" || t === "deny" ? `tools.${t}` : `agents.defaults.tools.${t}`,
        });
    } else if (key === "elevated") moves.push({ from: "agent.elevated", to: "tools.elevated" });
    else if (key === "bash") moves.push({ from: "agent.bash", to: "tools.exec" });
    else moves.push({ from: `agent.${key}`, to: `agents.defaults.${key}` });
  }
  return moves;
}

/** Rewrites `input` in place (a clone of the file's value); pushes one warning per moved key. */
export function migrateLegacyKeys(input: unknown, warnings: string[]): void {
  if (!isRec(input) || !isRec(input.agent)) return;
  const agent = structuredClone(input.agent);
  for (const m of legacyAgentMoves(agent))
    warnings.push(
      `${m.from} is the old place of ${m.to}: read as ${m.to} (move it there; \`pincer doctor --fix\` does)`,
    );
  const tools = isRec(agent.tools) ? agent.tools : undefined;
  if (tools || agent.elevated !== undefined || agent.bash !== undefined) {
    const top = ensure(input, "tools");
    if (tools?.allow !== undefined) top.allow ??= tools.allow;
    if (tools?.deny !== undefined) top.deny ??= tools.deny;
    if (agent.elevated !== undefined) top.elevated ??= agent.elevated;
    if (agent.bash !== undefined) top.exec ??= agent.bash;
  }
  if (tools) {
    delete tools.allow;
    delete tools.deny;
    if (Object.keys(tools).length === 0) delete agent.tools;
  }
  delete agent.elevated;
  delete agent.bash;
  mergeMissing(ensure(ensure(input, "agents"), "defaults"), agent);
  delete input.agent;
}
