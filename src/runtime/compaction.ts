/**
 * Persistent compaction, as OpenClaw does it: older messages are summarised by the model into
 * a `compaction` transcript entry; the history stays on disk and later context starts from the
 * summary plus the kept tail. A failed or empty summary changes nothing and says so.
 */
import type { SessionManager } from "../session/manager.ts";
import type { ModelProvider } from "../providers/types.ts";
import type { AgentMessage, AssistantMessage } from "../transcript/entries.ts";
import { buildContext, estimateTokens, messageChars, messageText } from "./context-build.ts";
import { isGroupSessionKey, withSenderName } from "./sender-lines.ts";
import { addSessionUsage, addUsage, costOf, type ModelCost, type UsageTotals } from "./usage.ts";

export interface CompactionOutcome {
  status: "compacted" | "skipped" | "failed";
  reason?: string;
  tokensBefore: number;
  tokensAfter: number;
  firstKeptEntryId?: string;
  /** The summary call's tokens and cost (also added to the row's `usageTotals`), when the model answered. */
  usage?: { provider: string; model: string; totals: UsageTotals };
}

export const SUMMARY_SYSTEM_PROMPT =
  "You summarise a conversation so it can continue without the full history. Keep decisions, facts, open tasks, names and " +
  "identifiers verbatim (ids, paths, URLs, numbers). Be concise. Reply with the summary only.";

/** Consumes a provider stream and returns the final message. */
export async function completeOnce(
  provider: ModelProvider,
  request: Parameters<ModelProvider["stream"]>[0],
): Promise<AssistantMessage> {
  let final: AssistantMessage | null = null;
  for await (const event of provider.stream(request)) if (event.type === "finish") final = event.message;
  if (!final) throw new Error("the model stream ended without a reply");
  return final;
}

/**
 * Picks where the kept tail starts: at a user message, keeping about `keepRecentTokens` (but at
 * most half of the context, so a manual compaction of a short session still summarises something).
 */
export function chooseCut(
  messages: readonly AgentMessage[],
  entryIds: ReadonlyArray<string | null>,
  keepRecentTokens: number,
): number {
  const total = estimateTokens(messages);
  const budget = Math.min(keepRecentTokens, Math.floor(total / 2)) * 4;
  let kept = 0;
  let cut = messages.length;
  for (let i = messages.length - 1; i >= 0; i--) {
    kept += messageChars(messages[i]!);
    if (messages[i]!.role === "user" && entryIds[i] !== null) {
      if (kept > budget && cut < messages.length) break;
      cut = i;
      if (kept > budget) break;
    }
  }
  return cut;
}

export async function compactSession(input: {
  manager: SessionManager;
  agentId: string;
  sessionKey: string;
  provider: ModelProvider;
  model: string;
  keepRecentTokens: number;
  instructions?: string;
  abortSignal?: AbortSignal;
  /** The configured price of a model, so the summary call is priced as a turn's calls are. */
  costOf?(provider: string, model: string): ModelCost | undefined;
}): Promise<CompactionOutcome> {
  const entry = await input.manager.get(input.agentId, input.sessionKey);
  if (!entry) return { status: "skipped", reason: "no session", tokensBefore: 0, tokensAfter: 0 };
  const { lines } = await input.manager.transcriptLines(input.agentId, entry.sessionId);
  // Group lines keep their senders' names, so the summary knows who said what.
  const ctx = buildContext(lines, new Set(), isGroupSessionKey(input.sessionKey) ? withSenderName : undefined);
  const tokensBefore = estimateTokens(ctx.messages);
  const cut = chooseCut(ctx.messages, ctx.entryIds, input.keepRecentTokens);
  const toSummarise = ctx.messages.slice(0, cut);
  const firstKeptEntryId = ctx.entryIds[cut] ?? null;
  if (toSummarise.filter((m) => m.role !== "toolResult").length < 2 || firstKeptEntryId === null) {
    return { status: "skipped", reason: "nothing to compact yet", tokensBefore, tokensAfter: tokensBefore };
  }
  const instruction = ["Summarise the conversation above.", input.instructions?.trim()]
    .filter(Boolean)
    .join("\nFocus: ");
  let summary: string;
  let reply: AssistantMessage | undefined;
  try {
    reply = await completeOnce(input.provider, {
      model: input.model,
      system: SUMMARY_SYSTEM_PROMPT,
      messages: [...toSummarise, { role: "user", content: instruction, timestamp: Date.now() }],
      purpose: "summary",
      abortSignal: input.abortSignal,
    });
    if (reply.stopReason === "error" || reply.stopReason === "aborted")
      throw new Error(reply.errorMessage ?? reply.stopReason);
    summary = messageText(reply).trim();
  } catch (err) {
    await recordUsage(input, entry.sessionId, reply);
    return {
      status: "failed",
      reason: err instanceof Error ? err.message : String(err),
      tokensBefore,
      tokensAfter: tokensBefore,
    };
  }
  const answered = reply!;
  const price = input.costOf?.(answered.provider, answered.model);
  const cost = price ? costOf(answered.usage, price) : undefined;
  const ref = `${answered.provider}/${answered.model}`;
  const usage = {
    provider: answered.provider,
    model: answered.model,
    totals: addUsage(undefined, answered.usage, cost),
  };
  if (summary === "") {
    await recordUsage(input, entry.sessionId, answered);
    return {
      status: "failed",
      reason: "the model returned an empty summary; history kept",
      tokensBefore,
      tokensAfter: tokensBefore,
      usage,
    };
  }
  const tokensAfter = Math.ceil(summary.length / 4) + estimateTokens(ctx.messages.slice(cut));
  const written = await input.manager.appendToSession(
    input.agentId,
    input.sessionKey,
    entry.sessionId,
    [{ type: "compaction", summary, firstKeptEntryId, tokensBefore }],
    (cur, now) => {
      const next = {
        ...cur,
        compactionCount: (cur.compactionCount ?? 0) + 1,
        updatedAt: now,
        totalTokens: tokensAfter,
        totalTokensFresh: true,
        usageTotals: addSessionUsage(cur.usageTotals, answered.usage, cost, ref, "compaction", now),
      };
      delete next.inputTokens;
      delete next.outputTokens;
      delete next.cacheRead;
      delete next.cacheWrite;
      return next;
    },
  );
  if (!written)
    return { status: "skipped", reason: "the session was reset meanwhile", tokensBefore, tokensAfter: tokensBefore };
  return { status: "compacted", tokensBefore, tokensAfter, firstKeptEntryId, usage };
}

/** A summary call that answered but changed nothing still spent tokens: they go on the row. */
async function recordUsage(
  input: Parameters<typeof compactSession>[0],
  sessionId: string,
  reply: AssistantMessage | undefined,
): Promise<void> {
  if (!reply || reply.usage.input + reply.usage.output + reply.usage.cacheRead + reply.usage.cacheWrite === 0) return;
  const price = input.costOf?.(reply.provider, reply.model);
  const cost = price ? costOf(reply.usage, price) : undefined;
  await input.manager.patchSession(input.agentId, input.sessionKey, (cur, at) =>
    cur && cur.sessionId === sessionId
      ? {
          ...cur,
          usageTotals: addSessionUsage(
            cur.usageTotals,
            reply.usage,
            cost,
            `${reply.provider}/${reply.model}`,
            "compaction",
            at,
          ),
        }
      : undefined,
  );
}
