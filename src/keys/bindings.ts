/**
 * Agent selection from `bindings` (OpenClaw's rule; the tiers are TIERS): the first binding, in config order, of the
 * most specific tier that matches; every field present on a binding must hold.
 */
import type { ChatType } from "./envelope.ts";
import { DEFAULT_AGENT_ID, normalizeAccountId, normalizeAgentId, normalizeChannel } from "./ids.ts";
import type { MatchedBy, RouteBinding, RoutingConfig } from "./routing-config.ts";
import { foldIdCase, isCaseSensitiveChannel } from "./segment.ts";

export interface BindingPeer {
  kind: ChatType;
  id: string;
}

export interface AgentSelectionInput {
  /** Normalised channel and account. */
  channel: string;
  accountId: string;
  peer?: BindingPeer;
  /** The group/channel a thread or topic message belongs to. */
  parentPeer?: BindingPeer;
  guildId?: string;
  teamId?: string;
  roles?: readonly string[];
}

export interface AgentSelection {
  agentId: string;
  matchedBy: MatchedBy;
}

const TIERS: readonly MatchedBy[] = [
  "binding.peer",
  "binding.peer.parent",
  "binding.guild+roles",
  "binding.guild",
  "binding.team",
  "binding.account",
  "binding.channel",
];

const CHAT_TYPES: ReadonlySet<string> = new Set(["direct", "group", "channel"]);

const present = (v: string | undefined): string | undefined => v?.trim() || undefined;

export function defaultAgentId(cfg: RoutingConfig): string {
  const list = cfg.agents?.list ?? [];
  const chosen = list.find((a) => a.default === true) ?? list[0];
  return chosen ? normalizeAgentId(chosen.id) : DEFAULT_AGENT_ID;
}

function accountMatches(pattern: string | undefined, accountId: string): boolean {
  const p = present(pattern);
  return p === "*" || normalizeAccountId(p) === accountId;
}

/** Kinds `group` and `channel` are interchangeable; ids compare with the channel's case rule. */
function peerEquals(want: BindingPeer, got: BindingPeer | undefined, caseSensitive: boolean): boolean {
  if (!got) return false;
  const kindOk = want.kind === got.kind || (want.kind !== "direct" && got.kind !== "direct");
  return kindOk && foldIdCase(want.id.trim(), caseSensitive) === foldIdCase(got.id.trim(), caseSensitive);
}

/** The tier a binding matches the input at, or undefined when any of its constraints fails. */
function tierOf(b: RouteBinding, input: AgentSelectionInput): MatchedBy | undefined {
  const m = b.match;
  const guild = present(m.guildId);
  const team = present(m.teamId);
  const roles = (m.roles ?? []).map((r) => r.trim()).filter((r) => r !== "");
  if (guild !== undefined && guild !== present(input.guildId)) return undefined;
  if (team !== undefined && team !== present(input.teamId)) return undefined;
  if (roles.length > 0 && !roles.some((r) => (input.roles ?? []).some((have) => have.trim() === r))) return undefined;
  if (m.peer !== undefined) {
    // OpenClaw's normalizeChatType: `dm` is `direct`.
    const want = (m.peer.kind as string) === "dm" ? { ...m.peer, kind: "direct" as const } : m.peer;
    // A peer constraint without a valid kind and id is invalid and never matches.
    if (!CHAT_TYPES.has(want.kind) || typeof want.id !== "string" || want.id.trim() === "") return undefined;
    const cs = isCaseSensitiveChannel(input.channel);
    if (peerEquals(want, input.peer, cs)) return "binding.peer";
    if (peerEquals(want, input.parentPeer, cs)) return "binding.peer.parent";
    return undefined;
  }
  if (guild !== undefined) return roles.length > 0 ? "binding.guild+roles" : "binding.guild";
  if (team !== undefined) return "binding.team";
  return present(m.accountId) === "*" ? "binding.channel" : "binding.account";
}

export function selectAgent(cfg: RoutingConfig, input: AgentSelectionInput): AgentSelection {
  const fallback = defaultAgentId(cfg);
  let best: { rank: number; binding: RouteBinding } | undefined;
  for (const b of cfg.bindings ?? []) {
    if (normalizeChannel(b.match.channel) !== input.channel || !accountMatches(b.match.accountId, input.accountId))
      continue;
    const tier = tierOf(b, input);
    const rank = tier === undefined ? -1 : TIERS.indexOf(tier);
    if (rank >= 0 && (best === undefined || rank < best.rank)) best = { rank, binding: b };
  }
  if (!best) return { agentId: fallback, matchedBy: "default" };
  // A binding naming an agent that is not configured falls back to the default agent.
  const known = (cfg.agents?.list ?? []).map((a) => normalizeAgentId(a.id));
  const wanted = normalizeAgentId(best.binding.agentId);
  const agentId = known.length === 0 || known.includes(wanted) ? wanted : fallback;
  return { agentId, matchedBy: TIERS[best.rank] ?? "default" };
}
