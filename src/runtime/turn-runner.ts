/**
 * Runs one agent turn for a session: memory flush when due, context build (compaction summary,
 * queued messages left out, cache-ttl pruning), the model call with its tool loop, the reply and
 * usage written to the transcript and row, then threshold compaction. The context is the
 * session's kept build extended by what was appended since (context-cache.ts), not rebuilt. Delivery is decided by the
 * caller from the send policy; this file never talks to a surface.
 */
import type { SessionManager } from "../session/manager.ts";
import type { SessionEntry } from "../store/entry.ts";
import { ContextOverflowError, type ModelProvider, type ToolSpec } from "../providers/types.ts";
import type { AgentMessage, AssistantMessage, NewEntry, ToolResultMessage } from "../transcript/entries.ts";
import { applyCacheTtlPruning } from "../context/prune.ts";
import { isCacheTtlEligible, resolvePruneSettings, type PruneSettings } from "../context/prune-settings.ts";
import type { AgentSettings } from "./agent-settings.ts";
import type { TranscriptView } from "../transcript/parsed-cache.ts";
import { messageText } from "./context-build.ts";
import { runContext } from "./context-cache.ts";
import { compactSession, type CompactionOutcome } from "./compaction.ts";
import { localDate, type ToolRegistry } from "./tool-registry.ts";
import { PromptAssembler, type AssembledPrompt } from "./prompt-assembler.ts";
import { isHeartbeatAck } from "./heartbeat.ts";
import { HEARTBEAT_TOKEN } from "./system-prompt.ts";
import { compactionBudget, contextWindowOf } from "./context-window.ts";
import { isThinkLevel, type ThinkLevel } from "../providers/reasoning.ts";
import {
  addSessionUsage,
  addUsage,
  costBlock,
  costOf,
  type ModelCost,
  type UsageKind,
  type UsageTotals,
} from "./usage.ts";

export const SILENT_REPLY = "NO_REPLY";
const MAX_TOOL_ROUNDS = 8;
const MAX_OVERFLOW_ATTEMPTS = 3;

export interface ResolvedModel {
  provider: ModelProvider;
  model: string;
}

export interface RunnerDeps {
  manager: SessionManager;
  tools: ToolRegistry;
  settingsFor(agentId: string): AgentSettings;
  resolveModel(agentId: string, entry: SessionEntry | undefined): ResolvedModel;
  /** A `provider/model` ref as the registry resolves it (a run's `modelRef`). */
  /** A named model, with the fallbacks of the agent that runs it (OpenClaw: an agent's `fallbacks` follow any model it runs). */
  resolveRef?(ref: string, agentId?: string): ResolvedModel;
  timeZone: string | undefined;
  now(): number;
  onCompaction?(outcome: CompactionOutcome, trigger: "threshold" | "overflow" | "manual"): void;
  onPruned?(chars: number): void;
  onMemoryFlush?(): void;
  /** Builds each turn's system prompt (one per runtime: it caches the workspace files it read). */
  prompts?: PromptAssembler;
  /** The configured price of a model (`models.providers.<p>.models[].cost`), for usage costs. */
  costOf?(provider: string, model: string): ModelCost | undefined;
  /** Security events (the isolation guard refusing a prompt). */
  onSecurityEvent?(event: Record<string, unknown>): void;
  /** Model calls outside a turn's own (memory flush, compaction summary): for the process totals and metrics. */
  onUsage?(event: { agentId: string; provider: string; model: string; usage: UsageTotals; kind: UsageKind }): void;
}

export interface RunRequest {
  runId: string;
  agentId: string;
  sessionKey: string;
  sessionId: string;
  /** Message entries recorded but not part of this run (still queued); read live between rounds. */
  exclude: Set<string>;
  /** Extra context for this run only (e.g. a queue-overflow summary), sent as a final user note. */
  note?: string;
  signal: AbortSignal;
  onDelta(text: string): void;
  /** Called before each model call (steered messages injected before it are answered in it). */
  onRound?(round: number): void;
  /**
   * Text a surface adds to the system prompt for this run only (the OpenAI endpoint's client
   * `system` messages); a per-turn part, so it goes after everything stable.
   */
  extraSystem?: string;
  /** A configured `provider/model` this run answers with instead of the session's model. */
  modelRef?: string;
  /** The session's row as the caller read it just before the run (saves a second read and copy). */
  entry?: SessionEntry;
  /** Whether nothing else waits on the session (asked at the reply's write, which may then free its lease). */
  nothingQueued?: () => boolean;
}

export interface RunResult {
  status: "ok" | "error" | "aborted";
  /** The final reply text (null when silent, aborted or failed). */
  reply: string | null;
  silent: boolean;
  errorMessage?: string;
  usage?: AssistantMessage["usage"];
  model?: string;
  provider?: string;
  /** Every model call of this run added up (tool rounds included), with its cost. */
  turnUsage?: UsageTotals;
  /** True when the answering model has a configured price (the cost in `turnUsage` means something). */
  priced?: boolean;
}

/** True while `text` could still become a silent reply (`NO_REPLY`, `HEARTBEAT_OK`): hold streaming until it cannot. */
function mightBeSilent(text: string): boolean {
  const t = text.trimStart();
  return [SILENT_REPLY, HEARTBEAT_TOKEN].some((token) =>
    t.length < token.length ? token.startsWith(t) : t.startsWith(token),
  );
}

/** A heartbeat turn answers the heartbeat prompt: the newest user message is that prompt. */
function isHeartbeatTurn(messages: readonly AgentMessage[], prompt: string): boolean {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role === "user") return typeof m.content === "string" && m.content.trim() === prompt.trim();
  }
  return false;
}

export class TurnRunner {
  private readonly deps: RunnerDeps;
  /** Last time the provider's prompt cache was touched, per session id (seeded from the transcript). */
  private readonly cacheTouch = new Map<string, number>();

  readonly prompts: PromptAssembler;

  constructor(deps: RunnerDeps) {
    this.deps = deps;
    this.prompts = deps.prompts ?? new PromptAssembler();
  }

  /** What a turn of this session would be sent now (for `/context` before any run). */
  estimatePrompt(agentId: string, sessionKey: string, entry: SessionEntry | undefined): Promise<AssembledPrompt> {
    const settings = this.deps.settingsFor(agentId);
    const { provider, model } = this.deps.resolveModel(agentId, entry);
    const tools = this.deps.tools.specs(settings.tools);
    return this.assemblePrompt({ agentId, sessionKey }, entry, settings, provider, model, tools, "estimate");
  }

  /** The system prompt of a turn of this session (with its report, stored on the row after the run). */
  assemblePrompt(
    req: { agentId: string; sessionKey: string; sessionId?: string; extra?: string },
    entry: SessionEntry | undefined,
    settings: AgentSettings,
    provider: ModelProvider,
    model: string,
    tools: readonly ToolSpec[],
    source: "run" | "estimate" = "run",
  ): Promise<AssembledPrompt> {
    return this.prompts.assemble({
      ...req,
      entry,
      settings,
      tools,
      provider: provider.name,
      model,
      now: this.deps.now(),
      timeZone: this.deps.timeZone,
      source,
    });
  }

  windowFor(settings: AgentSettings, provider: ModelProvider, model: string, entry?: SessionEntry): number {
    return contextWindowOf(settings, provider, model, entry);
  }

  async run(req: RunRequest): Promise<RunResult> {
    const { manager } = this.deps;
    const settings = this.deps.settingsFor(req.agentId);
    let entry = req.entry ?? (await manager.get(req.agentId, req.sessionKey));
    if (!entry || entry.sessionId !== req.sessionId)
      return { status: "aborted", reply: null, silent: true, errorMessage: "the session was reset" };
    const { provider, model } =
      req.modelRef && this.deps.resolveRef
        ? this.deps.resolveRef(req.modelRef, req.agentId)
        : this.deps.resolveModel(req.agentId, entry);
    const window = this.windowFor(settings, provider, model, entry);
    const pruneSettings = resolvePruneSettings(settings.contextPruning);
    const level = entry.thinkingLevel ?? settings.thinkingDefault;
    const thinking: ThinkLevel | undefined = isThinkLevel(level) ? level : undefined;

    // One read serves the flush check and the first round (the flush writes nothing to the transcript).
    req.onRound?.(0);
    let view: TranscriptView | null = await manager.transcriptView(req.agentId, req.sessionId, req.sessionKey);
    await this.maybeFlushMemory(req, entry, settings, provider, model, window, view).catch(() => undefined);

    let compactedThisRun = false;
    // The reply may free a shared session's lease only when nothing follows it in this run: no
    // message queued behind, and no threshold compaction (its reads and writes must stay in this hold).
    const lastWrite = (usage: AssistantMessage["usage"], answered: { provider?: string; model?: string }) =>
      req.nothingQueued?.() === true &&
      (compactedThisRun || !this.overCompactionBudget(settings, provider, model, window, usage, answered, entry));
    for (let attempt = 1; ; attempt++) {
      try {
        const prompt = await this.assemblePrompt(
          { ...req, extra: req.extraSystem },
          entry,
          settings,
          provider,
          model,
          this.deps.tools.specs(settings.tools),
        );
        const result = await this.runRounds(
          req,
          settings,
          provider,
          model,
          window,
          pruneSettings,
          view,
          thinking,
          prompt,
          lastWrite,
        );
        view = null;
        if (
          result.status === "ok" &&
          result.usage &&
          !compactedThisRun &&
          this.overCompactionBudget(settings, provider, model, window, result.usage, result, entry)
        )
          await this.compact(req, settings, provider, model, "threshold");
        return result;
      } catch (err) {
        if (req.signal.aborted) return { status: "aborted", reply: null, silent: true };
        if (err instanceof ContextOverflowError && attempt < MAX_OVERFLOW_ATTEMPTS) {
          if (!compactedThisRun) {
            const outcome = await this.compact(req, settings, provider, model, "overflow");
            compactedThisRun = outcome.status === "compacted";
          }
          view = null;
          entry = await manager.get(req.agentId, req.sessionKey);
          if (!entry || entry.sessionId !== req.sessionId) return { status: "aborted", reply: null, silent: true };
          continue;
        }
        const message = err instanceof Error ? err.message : String(err);
        await manager.patchSession(req.agentId, req.sessionKey, (cur) =>
          cur && cur.sessionId === req.sessionId ? { ...cur, abortedLastRun: false } : undefined,
        );
        return { status: "error", reply: null, silent: true, errorMessage: message, model, provider: provider.name };
      }
    }
  }

  /** A flush's or a summary's model calls, to the process totals (the row has them already). */
  reportUsage(
    agentId: string,
    usage: { provider: string; model: string; totals: UsageTotals } | undefined,
    kind: UsageKind,
  ): void {
    if (usage)
      this.deps.onUsage?.({ agentId, provider: usage.provider, model: usage.model, usage: usage.totals, kind });
  }

  /** Compacts the session with the turn's model; the summary call's usage is counted and the outcome reported. */
  private async compact(
    req: RunRequest,
    settings: AgentSettings,
    provider: ModelProvider,
    model: string,
    trigger: "threshold" | "overflow",
  ): Promise<CompactionOutcome> {
    const outcome = await compactSession({
      manager: this.deps.manager,
      agentId: req.agentId,
      sessionKey: req.sessionKey,
      provider,
      model,
      keepRecentTokens: settings.compaction.keepRecentTokens,
      instructions: settings.compaction.customInstructions,
      costOf: this.deps.costOf,
    });
    this.reportUsage(req.agentId, outcome.usage, "compaction");
    this.deps.onCompaction?.(outcome, trigger);
    return outcome;
  }

  /** Whether a turn that used `usage` calls for a threshold compaction (against the answering model's window). */
  private overCompactionBudget(
    settings: AgentSettings,
    provider: ModelProvider,
    model: string,
    window: number,
    usage: AssistantMessage["usage"],
    answered: { provider?: string; model?: string },
    entry: SessionEntry | undefined,
  ): boolean {
    const used = usage.input + usage.cacheRead + usage.cacheWrite + usage.output;
    // Against the window of the model that answered (a fallback may have stood in).
    const answeredWindow = this.answeredWindow(settings, provider, model, window, answered, entry);
    return used > compactionBudget(answeredWindow, settings.compaction).compactAbove;
  }

  /** The window of the model that answered: `window` unless a fallback stood in for `provider/model`. */
  private answeredWindow(
    settings: AgentSettings,
    provider: ModelProvider,
    model: string,
    window: number,
    answered: { provider?: string; model?: string },
    entry: SessionEntry | undefined,
  ): number {
    if (!answered.provider || !answered.model || (answered.provider === provider.name && answered.model === model))
      return window;
    try {
      const r = this.deps.resolveRef?.(`${answered.provider}/${answered.model}`);
      return r ? contextWindowOf(settings, r.provider, r.model, entry) : window;
    } catch {
      return window; // not a ref the registry knows (a test double's name)
    }
  }

  /** The model call and its tool loop; each round re-reads the transcript so steered messages join. */
  private async runRounds(
    req: RunRequest,
    settings: AgentSettings,
    provider: ModelProvider,
    model: string,
    window: number,
    pruneSettings: PruneSettings,
    firstView: TranscriptView | null,
    thinking: ThinkLevel | undefined,
    prompt: AssembledPrompt,
    /** Whether the reply's write is the run's last (see `run`). */
    lastWrite: (usage: AssistantMessage["usage"], answered: { provider?: string; model?: string }) => boolean,
  ): Promise<RunResult> {
    const { manager } = this.deps;
    let final: AssistantMessage | null = null;
    // Each call is priced and counted as the model that answered it (a fallback may stand in).
    let price: ModelCost | undefined;
    let modelRef = `${provider.name}/${model}`;
    let answered = { provider: provider.name, model };
    let turnUsage: UsageTotals | undefined;
    const toolSpecs: ToolSpec[] = this.deps.tools.specs(settings.tools);
    for (let round = 0; round < MAX_TOOL_ROUNDS; round++) {
      if (!(round === 0 && firstView)) req.onRound?.(round);
      const view =
        round === 0 && firstView ? firstView : await manager.transcriptView(req.agentId, req.sessionId, req.sessionKey);
      const built = runContext(view, req.sessionKey, req.sessionId, req.exclude);
      const foreign = built.foreign;
      if (foreign.length > 0) {
        this.deps.onSecurityEvent?.({
          event: "isolation_violation",
          agentId: req.agentId,
          sessionKey: req.sessionKey,
          sessionId: req.sessionId,
          entries: foreign,
        });
        return {
          status: "error",
          reply: null,
          silent: true,
          errorMessage: `refused: ${foreign.length} message(s) in this session's context belong to another session (isolation guard)`,
        };
      }
      let messages: readonly AgentMessage[] = built.messages;
      const anchor = built.anchor;
      const tag = anchor ? { pincer: { after: anchor } } : {};
      if (req.note) messages = [...messages, { role: "user", content: req.note, timestamp: this.deps.now() }];
      if (!this.cacheTouch.has(req.sessionId) && built.lastCacheTouch !== undefined)
        this.cacheTouch.set(req.sessionId, built.lastCacheTouch);
      const pruned = applyCacheTtlPruning({
        messages,
        settings: pruneSettings,
        contextWindowTokens: window,
        now: this.deps.now(),
        lastCacheTouchAt: this.cacheTouch.get(req.sessionId),
        provider: provider.name,
        modelId: model,
      });
      if (pruned.pruned) {
        this.deps.onPruned?.(pruned.prunedChars);
        if (pruned.lastCacheTouchAt !== undefined) this.cacheTouch.set(req.sessionId, pruned.lastCacheTouchAt);
      }

      let streamed = "";
      let released = false;
      let message: AssistantMessage | null = null;
      for await (const event of provider.stream({
        model,
        messages: pruned.messages,
        tools: toolSpecs,
        purpose: "turn",
        abortSignal: req.signal,
        system: prompt.text,
        ...(thinking ? { thinking } : {}),
      })) {
        if (event.type === "text-delta") {
          streamed += event.text;
          if (released) req.onDelta(event.text);
          else if (!mightBeSilent(streamed)) {
            released = true;
            req.onDelta(streamed);
          }
        } else if (event.type === "finish") message = event.message;
      }
      if (req.signal.aborted) throw new Error("aborted");
      if (!message) throw new Error("the model stream ended without a reply");
      answered = { provider: message.provider, model: message.model };
      modelRef = `${message.provider}/${message.model}`;
      price = this.deps.costOf?.(message.provider, message.model);
      // pi's usage carries the call's cost; the row keeps running totals (usage.ts).
      if (price) message = { ...message, usage: { ...message.usage, cost: costBlock(message.usage, price) } };
      const callCost = price ? costOf(message.usage, price) : undefined;
      turnUsage = addUsage(turnUsage, message.usage, callCost);
      const roundUsage = message.usage;
      final = message;

      const calls = message.content.filter(
        (b): b is Extract<AssistantMessage["content"][number], { type: "toolCall" }> => b.type === "toolCall",
      );
      const touchEntry: NewEntry[] =
        pruneSettings.mode === "cache-ttl" && isCacheTtlEligible(provider.name, model)
          ? [
              {
                type: "custom",
                customType: "openclaw.cache-ttl",
                data: { timestamp: this.deps.now(), provider: provider.name, modelId: model },
              },
            ]
          : [];
      if (calls.length === 0 || message.stopReason !== "toolUse") {
        const usage = message.usage;
        const text = messageText(message);
        const heartbeatTurn = isHeartbeatTurn(pruned.messages, settings.heartbeat.prompt);
        const ack = isHeartbeatAck(text, heartbeatTurn ? settings.heartbeat.ackMaxChars : 0);
        // A heartbeat's acknowledgement and its prompt stay in the file but leave the context (context-build.ts).
        const replyTag = ack && heartbeatTurn && anchor ? { pincer: { after: anchor, heartbeat: "ack" } } : tag;
        const written = await manager.appendToSession(
          req.agentId,
          req.sessionKey,
          req.sessionId,
          [{ type: "message", message, ...replyTag }, ...touchEntry],
          (cur, now) => ({
            ...cur,
            updatedAt: now,
            // The model that answered, as OpenClaw records it after a fallback.
            model: answered.model,
            modelProvider: answered.provider,
            contextTokens: this.answeredWindow(settings, provider, model, window, answered, cur),
            inputTokens: usage.input,
            outputTokens: usage.output,
            cacheRead: usage.cacheRead,
            cacheWrite: usage.cacheWrite,
            totalTokens: usage.input + usage.cacheRead + usage.cacheWrite,
            totalTokensFresh: true,
            abortedLastRun: false,
            systemPromptReport: prompt.report,
            usageTotals: addSessionUsage(cur.usageTotals, roundUsage, callCost, modelRef, undefined, now),
          }),
          { last: lastWrite(usage, answered) },
        );
        if (!written) return { status: "aborted", reply: null, silent: true, errorMessage: "the session was reset" };
        if (touchEntry.length > 0) this.cacheTouch.set(req.sessionId, this.deps.now());
        const silent = text.trimStart().startsWith(SILENT_REPLY) || text.trim() === "" || ack;
        return {
          status: "ok",
          reply: silent ? null : text,
          silent,
          usage,
          ...answered,
          turnUsage,
          priced: price !== undefined,
        };
      }

      const results: NewEntry[] = [];
      let endTurn = false;
      for (const call of calls) {
        const out = await this.deps.tools.run(
          call.name,
          call.arguments,
          {
            agentId: req.agentId,
            sessionKey: req.sessionKey,
            workspace: settings.workspace,
            now: this.deps.now(),
            timeZone: this.deps.timeZone,
            signal: req.signal,
          },
          settings.tools,
        );
        const result: ToolResultMessage = {
          role: "toolResult",
          toolCallId: call.id,
          toolName: call.name,
          content: [{ type: "text", text: out.text }],
          isError: out.isError,
          timestamp: this.deps.now(),
        };
        results.push({ type: "message", message: result, ...tag });
        endTurn ||= out.endTurn;
      }
      const written = await manager.appendToSession(
        req.agentId,
        req.sessionKey,
        req.sessionId,
        [{ type: "message", message, ...tag }, ...results],
        (cur, now) => ({
          ...cur,
          updatedAt: now,
          usageTotals: addSessionUsage(cur.usageTotals, roundUsage, callCost, modelRef, undefined, now),
        }),
      );
      if (!written) return { status: "aborted", reply: null, silent: true, errorMessage: "the session was reset" };
      // sessions_yield: the turn ends here; what the agent waits for arrives as the next message.
      if (endTurn)
        return {
          status: "ok",
          reply: null,
          silent: true,
          usage: message.usage,
          ...answered,
          turnUsage,
          priced: price !== undefined,
        };
    }
    return {
      status: "error",
      reply: null,
      silent: true,
      errorMessage: `stopped after ${MAX_TOOL_ROUNDS} tool rounds`,
      usage: final?.usage,
      ...answered,
      turnUsage,
      priced: price !== undefined,
    };
  }

  /** Silent pre-compaction turn (OpenClaw's memory flush): the agent may save notes; its reply is never delivered. */
  private async maybeFlushMemory(
    req: RunRequest,
    entry: SessionEntry,
    settings: AgentSettings,
    provider: ModelProvider,
    model: string,
    window: number,
    view: TranscriptView,
  ): Promise<void> {
    const flush = settings.compaction.memoryFlush;
    if (!flush.enabled) return;
    const compactions = entry.compactionCount ?? 0;
    if (entry.memoryFlushCompactionCount === compactions && entry.memoryFlushAt !== undefined) return;
    const built = runContext(view, req.sessionKey, req.sessionId, req.exclude);
    const context = built.messages;
    // Heartbeat turns never flush (as in OpenClaw).
    if (isHeartbeatTurn(context, settings.heartbeat.prompt)) return;
    const stored = entry.totalTokensFresh ? (entry.totalTokens ?? 0) + (entry.outputTokens ?? 0) : 0;
    const estimated = built.estimatedTokens;
    const projected = Math.max(stored, estimated);
    const threshold = compactionBudget(window, settings.compaction).flushAt;
    // Characters of context stand in for the transcript's size on disk (no extra stat per turn).
    if (projected < threshold && estimated * 4 < flush.forceFlushTranscriptBytes) return;

    const now = this.deps.now();
    const date = localDate(now, this.deps.timeZone);
    const prompt =
      withNoReplyHint(flush.prompt ?? DEFAULT_FLUSH_PROMPT).replaceAll("YYYY-MM-DD", date) +
      `\nCurrent time: ${new Date(now).toISOString()}`;
    const messages: AgentMessage[] = [...context, { role: "user", content: prompt, timestamp: now }];
    const memoryTool = this.deps.tools.specs().filter((t) => t.name === "memory_append");
    // The session's own system prompt, plus the flush's instructions as this turn's part.
    const system = await this.assemblePrompt(
      { ...req, extra: (flush.systemPrompt ?? DEFAULT_FLUSH_SYSTEM_PROMPT).replaceAll("YYYY-MM-DD", date) },
      entry,
      settings,
      provider,
      model,
      memoryTool,
    );
    // Each call is counted on the row and in the totals as a memory flush of the model that answered it.
    const spent: Array<{
      usage: AssistantMessage["usage"];
      cost: number | undefined;
      provider: string;
      model: string;
    }> = [];
    for (let round = 0; round < 4; round++) {
      let final: AssistantMessage | null = null;
      for await (const ev of provider.stream({
        model,
        system: system.text,
        messages,
        tools: memoryTool,
        purpose: "memory-flush",
        abortSignal: req.signal,
      }))
        if (ev.type === "finish") final = ev.message;
      if (!final) break;
      const price = this.deps.costOf?.(final.provider, final.model);
      spent.push({
        usage: final.usage,
        cost: price ? costOf(final.usage, price) : undefined,
        provider: final.provider,
        model: final.model,
      });
      messages.push(final);
      const calls = final.content.filter(
        (b): b is Extract<AssistantMessage["content"][number], { type: "toolCall" }> => b.type === "toolCall",
      );
      if (calls.length === 0) break;
      for (const call of calls) {
        const out = await this.deps.tools.run(call.name, call.arguments, {
          agentId: req.agentId,
          sessionKey: req.sessionKey,
          workspace: settings.workspace,
          now,
          timeZone: this.deps.timeZone,
        });
        messages.push({
          role: "toolResult",
          toolCallId: call.id,
          toolName: call.name,
          content: [{ type: "text", text: out.text }],
          isError: out.isError,
          timestamp: now,
        });
      }
    }
    this.deps.onMemoryFlush?.();
    await this.deps.manager.patchSession(req.agentId, req.sessionKey, (cur, at) =>
      cur && cur.sessionId === req.sessionId
        ? {
            ...cur,
            memoryFlushAt: at,
            memoryFlushCompactionCount: cur.compactionCount ?? 0,
            ...(spent.length > 0
              ? {
                  usageTotals: spent.reduce<unknown>(
                    (t, c) => addSessionUsage(t, c.usage, c.cost, `${c.provider}/${c.model}`, "memoryFlush", at),
                    cur.usageTotals,
                  ),
                }
              : {}),
          }
        : undefined,
    );
    const byModel = new Map<string, { provider: string; model: string; totals: UsageTotals }>();
    for (const c of spent) {
      const ref = `${c.provider}/${c.model}`;
      const prev = byModel.get(ref);
      byModel.set(ref, { provider: c.provider, model: c.model, totals: addUsage(prev?.totals, c.usage, c.cost) });
    }
    for (const u of byModel.values()) this.reportUsage(req.agentId, u, "memoryFlush");
  }
}

export const DEFAULT_FLUSH_SYSTEM_PROMPT =
  "This turn is a silent memory flush before the session is compacted: nothing you reply is delivered. " +
  "Save what is worth keeping to memory/YYYY-MM-DD.md with memory_append; usually the right reply is NO_REPLY.";

/** A custom flush prompt still tells the model how to stay silent (OpenClaw appends the same hint). */
function withNoReplyHint(prompt: string): string {
  return prompt.includes(SILENT_REPLY)
    ? prompt
    : `${prompt}\nIf there is nothing to store, reply exactly ${SILENT_REPLY}.`;
}

export const DEFAULT_FLUSH_PROMPT =
  "Pre-compaction memory flush: the conversation will soon be compacted. Store durable memories now with the memory_append tool " +
  "(it writes memory/YYYY-MM-DD.md in your workspace, append-only). Treat MEMORY.md, SOUL.md, TOOLS.md and AGENTS.md as read-only " +
  "and do not create timestamped variants. If there is nothing to store, reply exactly NO_REPLY.";
