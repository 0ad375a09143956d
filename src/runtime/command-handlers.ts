/**
 * What each chat command does, as in OpenClaw (`/compact` and `/send` included). Handlers change the session row
 * through the manager (in the session's lane) and return the reply text.
 */
import type { InboundEnvelope } from "../keys/envelope.ts";
import type { SessionEntry } from "../store/entry.ts";
import { buildContext, messageChars } from "./context-build.ts";
import { formatContext, type SystemPromptReport } from "./context-report.ts";
import { isGroupSessionKey, withSenderName } from "./sender-lines.ts";
import { HELP_TEXT, type ParsedCommand } from "./command-parse.ts";
import { normalizeQueueDrop, normalizeQueueMode, resolveQueueSettings } from "./queue-settings.ts";
import type { CommandContext } from "./command-context.ts";
import { fmtTokens, statusCard } from "./status-card.ts";
import { usageCostText } from "./usage-cost.ts";

export interface CommandTarget {
  agentId: string;
  sessionKey: string;
  envelope: InboundEnvelope;
  channel: string;
}

const THINK_LEVELS: Record<string, string> = {
  off: "off",
  minimal: "minimal",
  low: "low",
  on: "low",
  medium: "medium",
  high: "high",
  max: "high",
  ultrathink: "high",
  xhigh: "xhigh",
  adaptive: "adaptive",
  auto: "adaptive",
};

export async function handleCommand(rt: CommandContext, cmd: ParsedCommand, t: CommandTarget): Promise<string | null> {
  const patch = (mutate: (cur: SessionEntry) => SessionEntry | undefined) =>
    rt.manager.patchSession(t.agentId, t.sessionKey, (cur) => (cur ? mutate(cur) : undefined));
  const arg = cmd.args.toLowerCase();
  switch (cmd.name) {
    case "help":
      return HELP_TEXT;
    case "whoami":
      return `🪪 ${t.envelope.channel}:${t.envelope.senderId}${t.envelope.senderName ? ` (${t.envelope.senderName})` : ""}`;
    case "status":
      return statusCard(rt, t.agentId, t.sessionKey);
    case "clear": {
      // The history goes (archived), every setting of the session stays; a run in flight is stopped first.
      rt.abort(t.agentId, t.sessionKey, "history cleared by /clear");
      const { after } = await rt.manager.clear(t.agentId, t.sessionKey);
      return `🧹 History cleared; the session's settings are kept (session ${after.sessionId}).`;
    }
    case "stop": {
      const r = rt.abort(t.agentId, t.sessionKey, "stopped by /stop");
      await patch((cur) => ({ ...cur, abortedLastRun: r.aborted || cur.abortedLastRun === true }));
      return `⚙️ Agent was aborted. Stopped ${r.runIds.length} run(s), cleared ${r.cleared} queued message(s).`;
    }
    case "compact": {
      const before = await rt.manager.get(t.agentId, t.sessionKey);
      if (!before) return "⚙️ Compaction unavailable (missing session id).";
      const o = await rt.compact(t.agentId, t.sessionKey, cmd.args || undefined);
      if (o.status === "skipped") return `Compaction skipped${o.reason ? `: ${o.reason}` : ""}`;
      if (o.status === "failed") return `Compaction failed${o.reason ? `: ${o.reason}` : ""}`;
      const entry = await rt.manager.get(t.agentId, t.sessionKey);
      const { provider, model } = rt.modelFor(t.agentId, entry);
      const window = rt.windowFor(t.agentId, provider, model, entry);
      return `⚙️ Compacted (${fmtTokens(o.tokensBefore)} → ${fmtTokens(o.tokensAfter)}) • Context ${fmtTokens(o.tokensAfter)}/${fmtTokens(window)} (${Math.round((o.tokensAfter / window) * 100)}%)`;
    }
    case "send": {
      const mode =
        arg === "on" || arg === "allow"
          ? "allow"
          : arg === "off" || arg === "deny"
            ? "deny"
            : ["inherit", "default", "reset"].includes(arg)
              ? "inherit"
              : null;
      if (!mode) return "⚙️ Usage: /send on|off|inherit";
      await patch((cur) => {
        const next = { ...cur };
        if (mode === "inherit") delete next.sendPolicy;
        else next.sendPolicy = mode;
        return next;
      });
      return `⚙️ Send policy set to ${mode === "allow" ? "on" : mode === "deny" ? "off" : "inherit"}.`;
    }
    case "activation": {
      if (t.envelope.chatType === "direct") return "⚙️ Group activation only applies to group chats.";
      if (arg !== "mention" && arg !== "always") return "⚙️ Usage: /activation mention|always";
      await patch((cur) => ({ ...cur, groupActivation: arg, groupActivationNeedsSystemIntro: true }));
      return `⚙️ Group activation set to ${arg}.`;
    }
    case "think": {
      if (!arg) {
        const e = await rt.manager.get(t.agentId, t.sessionKey);
        return `⚙️ Thinking level: ${e?.thinkingLevel ?? rt.settingsFor(t.agentId).thinkingDefault}.`;
      }
      const level = THINK_LEVELS[arg];
      if (!level)
        return `⚙️ Unknown thinking level "${cmd.args}". Use off, minimal, low, medium, high, xhigh, adaptive.`;
      await patch((cur) => ({ ...cur, thinkingLevel: level }));
      return `⚙️ Thinking level set to ${level}.`;
    }
    case "usage": {
      const cur = (await rt.manager.get(t.agentId, t.sessionKey))?.responseUsage ?? "off";
      const aliases: Record<string, string> = {
        on: "tokens",
        true: "tokens",
        yes: "tokens",
        "1": "tokens",
        enable: "tokens",
        tokens: "tokens",
        full: "full",
        session: "full",
        off: "off",
      };
      if (arg === "cost" || arg.startsWith("cost "))
        return usageCostText({
          manager: rt.manager,
          config: rt.config,
          agentId: t.agentId,
          entry: await rt.manager.get(t.agentId, t.sessionKey),
          now: rt.now(),
        });
      const next =
        arg === ""
          ? (({ off: "tokens", tokens: "full", full: "off" } as Record<string, string>)[cur] ?? "off")
          : aliases[arg];
      if (!next) return "⚙️ Usage: /usage off|tokens|full|cost";
      await patch((c) => {
        const n = { ...c };
        if (next === "off") delete n.responseUsage;
        else n.responseUsage = next;
        return n;
      });
      return `⚙️ Usage footer: ${next}.`;
    }
    case "model": {
      const entry = await rt.manager.get(t.agentId, t.sessionKey);
      if (!arg || arg === "status" || arg === "list") {
        const m = rt.modelFor(t.agentId, entry);
        return `🧠 Model: ${m.ref}${m.provider.offline ? " (offline echo provider)" : ""}`;
      }
      let resolved;
      try {
        resolved = rt.resolveModelRef(cmd.args.trim());
      } catch (err) {
        return `⚙️ ${err instanceof Error ? err.message : String(err)}`;
      }
      const agentDefault = rt.modelFor(t.agentId, undefined).ref;
      await patch((cur) => {
        const next = { ...cur };
        if (resolved.ref === agentDefault) {
          delete next.providerOverride;
          delete next.modelOverride;
        } else {
          next.providerOverride = resolved.provider.name;
          next.modelOverride = resolved.model;
        }
        if (next.model !== resolved.model || next.modelProvider !== resolved.provider.name) {
          delete next.model;
          delete next.modelProvider;
          delete next.contextTokens;
        }
        return next;
      });
      return `⚙️ Model set to ${resolved.ref}.`;
    }
    case "queue":
      return queueCommand(rt, t, cmd.args);
    case "context":
      return contextCommand(rt, t, arg);
    default:
      return null;
  }
}

async function queueCommand(rt: CommandContext, t: CommandTarget, args: string): Promise<string> {
  const cfg = rt.config.messages?.queue;
  const show = async () => {
    const e = await rt.manager.get(t.agentId, t.sessionKey);
    const s = resolveQueueSettings(cfg, e, t.channel);
    return `🪢 Queue: ${s.mode} (depth ${rt.queueFor(t.agentId, t.sessionKey)?.depth ?? 0} · debounce ${s.debounceMs}ms · cap ${s.cap} · drop ${s.drop})`;
  };
  if (!args) return show();
  const tokens = args.split(/\s+/);
  const first = tokens[0]!.toLowerCase();
  if (first === "default" || first === "reset" || first === "clear") {
    await rt.manager.patchSession(t.agentId, t.sessionKey, (cur) => {
      if (!cur) return undefined;
      const n = { ...cur };
      delete n.queueMode;
      delete n.queueDebounceMs;
      delete n.queueCap;
      delete n.queueDrop;
      return n;
    });
    return `⚙️ Queue settings reset. ${await show()}`;
  }
  const changes: Partial<SessionEntry> = {};
  for (const tok of tokens) {
    const [k, v] = tok.includes(":")
      ? [tok.slice(0, tok.indexOf(":")).toLowerCase(), tok.slice(tok.indexOf(":") + 1)]
      : ["mode", tok];
    if (k === "mode") {
      const m = normalizeQueueMode(v);
      if (!m) return `⚙️ Unknown queue mode "${v}". Use collect, followup, steer, steer-backlog or interrupt.`;
      changes.queueMode = m;
    } else if (k === "debounce") {
      const ms = /^(\d+)(ms|s)?$/.exec(v.toLowerCase());
      if (!ms) return `⚙️ Invalid debounce "${v}" (use e.g. debounce:500ms or debounce:2s).`;
      changes.queueDebounceMs = Number(ms[1]) * (ms[2] === "s" ? 1000 : 1);
    } else if (k === "cap") {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) return `⚙️ Invalid cap "${v}" (a whole number ≥ 1).`;
      changes.queueCap = n;
    } else if (k === "drop") {
      const d = normalizeQueueDrop(v);
      if (!d) return `⚙️ Invalid drop "${v}" (old, new or summarize).`;
      changes.queueDrop = d;
    } else return `⚙️ Unknown queue option "${k}".`;
  }
  await rt.manager.patchSession(t.agentId, t.sessionKey, (cur) => (cur ? { ...cur, ...changes } : undefined));
  return `⚙️ Queue updated. ${await show()}`;
}

/** `/context`: the stored report of the last run (else an estimate built now) and the session's history. */
async function contextCommand(rt: CommandContext, t: CommandTarget, mode: string): Promise<string> {
  const entry = await rt.manager.get(t.agentId, t.sessionKey);
  const stored = entry?.systemPromptReport as SystemPromptReport | undefined;
  const report =
    stored?.source === "run" && stored.systemPrompt
      ? stored
      : await rt.systemPromptReport(t.agentId, t.sessionKey, entry);
  const { provider, model } = rt.modelFor(t.agentId, entry);
  const window = rt.windowFor(t.agentId, provider, model, entry);
  let history = { messages: 0, chars: 0, compacted: false };
  if (entry) {
    const { lines } = await rt.manager.transcriptLines(t.agentId, entry.sessionId, t.sessionKey);
    const ctx = buildContext(lines, new Set(), isGroupSessionKey(t.sessionKey) ? withSenderName : undefined);
    history = {
      messages: ctx.messages.length,
      chars: ctx.messages.reduce((n, m) => n + messageChars(m), 0),
      compacted: ctx.summary !== null,
    };
  }
  return formatContext(mode, report, {
    totalTokens: entry?.totalTokens ?? null,
    inputTokens: entry?.inputTokens ?? null,
    outputTokens: entry?.outputTokens ?? null,
    contextTokens: window,
    history,
  });
}

/** `/context <mode>` for a session, outside a chat turn (the Control UI's session page). */
export function contextText(rt: CommandContext, agentId: string, sessionKey: string, mode: string): Promise<string> {
  return contextCommand(rt, { agentId, sessionKey, envelope: undefined as never, channel: "webchat" }, mode);
}
