/**
 * The `/status` card: model, tokens, context use, session age, next reset, send policy and queue
 * of one session. Shown by the `/status` command, the WS `sessions.status` method and the
 * `session_status` tool, so it lives on its own.
 */
import type { CommandContext } from "./command-context.ts";
import { resolveQueueSettings } from "./queue-settings.ts";
import { statusLine, type SystemPromptReport } from "./context-report.ts";
import { compactionBudget } from "./context-window.ts";
import { costOf, formatTokenCount, formatTotals, formatUsd, modelCostOf, validTotals } from "./usage.ts";

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

export function fmtTokens(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(n >= 100_000 ? 0 : 1)}k` : String(n);
}

export async function statusCard(rt: CommandContext, agentId: string, sessionKey: string): Promise<string> {
  const entry = await rt.manager.get(agentId, sessionKey);
  const now = rt.now();
  const { provider, model, ref } = rt.modelFor(agentId, entry);
  const window = rt.windowFor(agentId, provider, model, entry);
  const used = entry?.totalTokens ?? (entry?.inputTokens ?? 0) + (entry?.outputTokens ?? 0);
  const freshness = await rt.manager.freshnessOf(agentId, sessionKey);
  const cfg = rt.config.messages?.queue;
  const q = resolveQueueSettings(cfg, entry, entry?.lastChannel);
  const hasQueueOverride =
    entry?.queueMode !== undefined ||
    entry?.queueCap !== undefined ||
    entry?.queueDebounceMs !== undefined ||
    entry?.queueDrop !== undefined;
  const depth = rt.queueFor(agentId, sessionKey)?.depth ?? 0;
  const send = rt.sendDecision(entry, sessionKey);
  const tz = rt.config.session?.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const isGroup = entry?.chatType === "group" || entry?.chatType === "channel";
  const budget = compactionBudget(window, rt.settingsFor(agentId).compaction);
  const channels = rt.channelsLine?.();
  const price = modelCostOf(rt.config, provider.name, model);
  const priced = price !== undefined;
  // OpenClaw's `💵 Cost` on the tokens line: the last run's, at the answering model's price.
  const lastCost =
    price && entry?.inputTokens !== undefined
      ? costOf(
          {
            input: entry.inputTokens,
            output: entry.outputTokens ?? 0,
            cacheRead: entry.cacheRead ?? 0,
            cacheWrite: entry.cacheWrite ?? 0,
          },
          price,
        )
      : undefined;
  const session = validTotals(entry?.usageTotals);
  const agentTotals = rt.usage?.forAgent(agentId);
  const modelTotals = rt.usage?.forModel(`${provider.name}/${model}`);
  const totals = [
    session
      ? `session ${formatTotals(session, priced || session.cost > 0)} (${session.calls} call${session.calls === 1 ? "" : "s"})`
      : null,
    // The process's ledger: since this gateway started (rows keep the durable per-session totals).
    agentTotals ? `since start: agent ${agentId} ${formatTotals(agentTotals, agentTotals.cost > 0)}` : null,
    modelTotals ? `model ${provider.name}/${model} ${formatTotals(modelTotals, priced)}` : null,
  ].filter((t) => t !== null);
  return [
    `🦞 Pincer ${rt.version}`,
    `🕒 Time: ${new Date(now).toISOString()} (${tz})`,
    `🧠 Model: ${ref}${provider.offline ? " · offline echo provider (no model is called)" : ""}`,
    `🧮 Tokens: ${entry?.inputTokens ?? 0} in / ${entry?.outputTokens ?? 0} out${lastCost !== undefined ? ` · 💵 Cost: ${formatUsd(lastCost)}` : ""}`,
    `📚 Context: ${fmtTokens(used)}/${fmtTokens(window)} (${Math.round((used / window) * 100)}%) · 🧹 Compactions: ${entry?.compactionCount ?? 0}`,
    ...(budget.clamped
      ? [
          `🧯 Reserve: ${formatTokenCount(budget.reserve)} (clamped from ${formatTokenCount(budget.configuredReserve)} for a ${formatTokenCount(window)} window) · compacts above ${formatTokenCount(budget.compactAbove)}`,
        ]
      : []),
    ...(totals.length > 0 ? [`💵 Usage: ${totals.join(" · ")}`] : []),
    ...[statusLine(entry?.systemPromptReport as SystemPromptReport | undefined)].filter((l) => l !== null),
    entry
      ? `🧵 Session: ${sessionKey} • started ${age(now - (entry.sessionStartedAt ?? entry.updatedAt))} ago • updated ${age(now - entry.updatedAt)} ago`
      : `🧵 Session: ${sessionKey} • no activity`,
    `⏭️ Next reset: ${freshness?.nextResetAt ? new Date(freshness.nextResetAt).toISOString() : "none"}`,
    `📤 Send: ${send === "allow" ? "on" : "off"}${entry?.sendPolicy ? " (session override)" : ""}`,
    `⚙️ Runtime: direct · Think: ${entry?.thinkingLevel ?? rt.settingsFor(agentId).thinkingDefault}`,
    `${isGroup ? `👥 Activation: ${entry?.groupActivation ?? "mention"} · ` : ""}🪢 Queue: ${q.mode}${hasQueueOverride || depth > 0 ? ` (depth ${depth} · debounce ${q.debounceMs}ms · cap ${q.cap} · drop ${q.drop})` : ""}`,
    ...(channels ? [channels] : []),
  ].join("\n");
}
