/**
 * The gateway's agent runtime: every surface (HTTP inbound, WebSocket, webhooks, cron, the
 * OpenAI-compatible endpoint, WebChat) hands messages to `submit`. It records the message
 * durably, handles chat commands, queues the message on its session, runs turns one at a time
 * per session, applies the send policy to the reply and streams `chat` events.
 */
import { randomUUID } from "node:crypto";
import { parseEnvelope } from "../keys/envelope-schema.ts";
import type { InboundEnvelope } from "../keys/envelope.ts";
import type { PincerConfig } from "../config/schema.ts";
import type { SessionManager, InboundOptions, InboundResult } from "../session/manager.ts";
import type { SessionEntry } from "../store/entry.ts";
import { resolveSendPolicy } from "../policy/send-policy.ts";
import type { ModelProvider } from "../providers/types.ts";
import { resolveAgentSettings, type AgentSettings } from "./agent-settings.ts";
import { compactSession, type CompactionOutcome } from "./compaction.ts";
import { isCommandAuthorized, parseCommand, type ParsedCommand } from "./command-parse.ts";
import { handleCommand } from "./command-handlers.ts";
import type { CommandContext } from "./command-context.ts";
import { Channel } from "./event-channel.ts";
import { resolveQueueSettings } from "./queue-settings.ts";
import { RunScheduler, type AbortResult, type BatchResult, type BatchRun, type QueueView } from "./run-scheduler.ts";
import { previewOf, type QueueItem, type QueueOutcome } from "./session-queue.ts";
import { refKey } from "../session/session-ref.ts";
import { ToolRegistry } from "./tool-registry.ts";
import { TurnRunner, type ResolvedModel } from "./turn-runner.ts";
import type { SystemPromptReport } from "./context-report.ts";
import { recordedAnswer } from "./recorded-answer.ts";
import { assertMessageSize, DEFAULT_MAX_MESSAGE_BYTES } from "./message-limits.ts";
import { configuredAgentIds, UnknownAgentError } from "./unknown-agent.ts";
import { modelCostOf, usageFooter, usageModeOf, UsageLedger, type UsageKind, type UsageTotals } from "./usage.ts";

export type Surface = "http" | "ws" | "webchat" | "webhook" | "cron" | "openai" | "cli" | "internal" | "channel";

export interface ChatEvent {
  runId: string;
  /** Every submission answered by this run (collect mode answers several at once). */
  runIds: string[];
  agentId: string;
  sessionKey: string;
  seq: number;
  state: "delta" | "final" | "aborted" | "error";
  text?: string;
  message?: string;
  errorMessage?: string;
  delivered?: boolean;
  usage?: { input: number; output: number; totalTokens: number };
}

/** Something happened to a session that screens showing it should reload (not a run's output). */
export interface SessionEvent {
  agentId: string;
  sessionKey: string;
  sessionId: string | null;
  change: "message" | "reset" | "deleted";
}

export interface TurnOutcome {
  runId: string;
  /** The run that answered (several submissions share one run in collect mode). */
  batchRunId?: string;
  agentId: string;
  sessionKey: string;
  sessionId: string;
  status: QueueOutcome["status"] | "duplicate" | "command" | "not-mentioned";
  reply: string | null;
  delivered: boolean;
  error?: string;
  resetReason?: string | null;
  /** The answering run's model calls added up (tokens and cost), when a model answered. */
  usage?: UsageTotals;
}

export interface Accepted {
  runId: string;
  agentId: string;
  sessionKey: string;
  sessionId: string;
  done: Promise<TurnOutcome>;
}

export interface SubmitOptions {
  surface: Surface;
  /** Set by surfaces whose caller is the operator (WebChat owner, token-authenticated chat.send). */
  commandAuthorized?: boolean;
  /** Cron and heartbeat turns do not extend idle freshness. */
  interactive?: boolean;
  runId?: string;
  /** Records into this session instead of routing (hooks, cron, WebChat, an authorised explicit key). */
  target?: { agentId: string; sessionKey: string };
  /** False for internal traffic: the session's last route is kept (see InboundOptions.touchRoute). */
  touchRoute?: boolean;
  provenance?: InboundOptions["provenance"];
  /** Added to the system prompt of the run that answers this message (OpenAI clients' `system` messages). */
  extraSystem?: string;
  /** A configured `provider/model` the run that answers this message uses instead of the session's (OpenAI `model`). */
  modelRef?: string;
}

/** A reply meant for a session's channel outside a request/response exchange (announces). */
export interface OutboundMessage {
  agentId: string;
  sessionKey: string;
  route: { channel?: string; to?: string; accountId?: string; threadId?: string };
  text: string;
  /** Stable id of this announce (e.g. the sub-agent's key): the channel outbox enqueues it once, across restarts. */
  dedupeId?: string;
}

export interface RuntimeObserver {
  turn?(status: string, ms: number): void;
  reset?(reason: string): void;
  compaction?(outcome: CompactionOutcome, trigger: string): void;
  pruned?(chars: number): void;
  queueDepth?(delta: number): void;
  memoryFlush?(): void;
  security?(event: Record<string, unknown>): void;
  /** One run's model calls added up (metrics per agent and model); `kind` for a memory flush's or a summary's. */
  usage?(event: { agentId: string; provider: string; model: string; usage: UsageTotals; kind?: UsageKind }): void;
  /** A run that ended in an error: who, on which model, and why (the gateway logs it). */
  turnFailed?(event: {
    agentId: string;
    sessionKey: string;
    sessionId: string | undefined;
    runId: string;
    provider: string | undefined;
    model: string | undefined;
    reason: string;
  }): void;
}

export interface RuntimeOptions {
  config: PincerConfig;
  home: string;
  manager: SessionManager;
  /** `agentId`: the agent the model runs for (its own `model.fallbacks` apply). */
  resolveModelRef(ref: string | undefined, agentId?: string): ResolvedModel & { ref: string };
  now?: () => number;
  observer?: RuntimeObserver;
  tools?: ToolRegistry;
  version?: string;
}

export class AgentRuntime implements CommandContext {
  readonly manager: SessionManager;
  readonly config: PincerConfig;
  readonly home: string;
  readonly version: string;
  readonly observer: RuntimeObserver;
  private readonly runner: TurnRunner;
  private readonly scheduler: RunScheduler;
  private readonly chatEvents = new Channel<ChatEvent>();
  private readonly sessionEvents = new Channel<SessionEvent>();
  private readonly outbound = new Channel<OutboundMessage>();
  private readonly settingsCache = new Map<string, AgentSettings>();
  /** The largest message text accepted from any surface (`gateway.maxMessageBytes`). */
  readonly maxMessageBytes: number;
  /** Outcomes of messages with a message id that are queued or running, by their transcript entry. */
  private readonly pendingAnswers = new Map<string, Promise<TurnOutcome>>();
  private readonly resolveRef: RuntimeOptions["resolveModelRef"];
  /** Token and cost totals of this process's runs, per agent and model (`/status`, `/metrics`). */
  readonly usage = new UsageLedger();
  /** Per-submission turn inputs (system prompt addition, model), by run id, until the submission is answered. */
  private readonly turnInputs = new Map<string, { extraSystem?: string; modelRef?: string }>();
  readonly now: () => number;
  /** Set once shutdown begins: background work (announces) leaves its durable state for the next start. */
  shuttingDown = false;
  /** The channels line of `/status` (set by the gateway when native channels run). */
  channelsLine: (() => string | undefined) | undefined = undefined;
  /**
   * Set by the channel layer: puts an announce in its durable outbox. `deliverToRoute` waits for
   * it, so a caller that records "delivered" afterwards (sub-agents) never outruns the outbox.
   */
  outboundSink: ((msg: OutboundMessage) => Promise<void>) | undefined = undefined;

  /** Messages with an id whose outcome a retry could still wait for (diagnostics, tests). */
  get pendingAnswerCount(): number {
    return this.pendingAnswers.size;
  }

  constructor(options: RuntimeOptions) {
    this.manager = options.manager;
    this.config = options.config;
    this.home = options.home;
    this.version = options.version ?? "0.0.0";
    this.now = options.now ?? Date.now;
    this.maxMessageBytes = options.config.gateway?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.observer = options.observer ?? {};
    this.resolveRef = options.resolveModelRef;
    this.runner = new TurnRunner({
      manager: this.manager,
      tools: options.tools ?? new ToolRegistry(),
      settingsFor: (id) => this.settingsFor(id),
      resolveModel: (id, entry) => this.modelFor(id, entry),
      timeZone: this.config.session?.timeZone,
      now: this.now,
      onCompaction: (o, t) => this.observer.compaction?.(o, t),
      onPruned: (c) => this.observer.pruned?.(c),
      onMemoryFlush: () => this.observer.memoryFlush?.(),
      onSecurityEvent: (e) => this.observer.security?.(e),
      costOf: (p, m) => modelCostOf(this.config, p, m),
      resolveRef: (ref, agentId) => this.resolveRef(ref, agentId),
      onUsage: (e) => {
        this.usage.add(e.agentId, `${e.provider}/${e.model}`, e.usage);
        this.observer.usage?.(e);
      },
    });
    this.scheduler = new RunScheduler({
      runBatch: (run) => this.runBatch(run),
      leases: this.manager.leases,
      now: this.now,
      onDepth: (delta) => this.observer.queueDepth?.(delta),
    });
  }

  settingsFor(agentId: string): AgentSettings {
    let s = this.settingsCache.get(agentId);
    if (!s) {
      s = resolveAgentSettings(this.config.agents, agentId, this.home);
      this.settingsCache.set(agentId, s);
    }
    return s;
  }

  /** Model precedence, in OpenClaw's order: session override, then the agent's model, then the default. */
  modelFor(agentId: string, entry: SessionEntry | undefined): ResolvedModel & { ref: string } {
    if (entry?.providerOverride && entry.modelOverride) {
      try {
        return this.resolveRef(`${entry.providerOverride}/${entry.modelOverride}`, agentId);
      } catch {
        // A provider removed from the config since: fall back to the agent's model.
      }
    }
    return this.resolveRef(this.settingsFor(agentId).modelRef, agentId);
  }

  resolveModelRef(ref: string): ResolvedModel & { ref: string } {
    return this.resolveRef(ref);
  }

  windowFor(agentId: string, provider: ModelProvider, model: string, entry?: SessionEntry): number {
    return this.runner.windowFor(this.settingsFor(agentId), provider, model, entry);
  }

  onChat(listener: (ev: ChatEvent) => void): () => void {
    return this.chatEvents.subscribe(listener);
  }

  /** Bridges subscribe here to deliver announces to a session's channel. */
  onOutbound(listener: (msg: OutboundMessage) => void): () => void {
    return this.outbound.subscribe(listener);
  }

  /** Sends text to a session's last route, unless its send policy denies delivery. */
  async deliverToRoute(
    agentId: string,
    sessionKey: string,
    text: string,
    opts: { dedupeId?: string } = {},
  ): Promise<boolean> {
    const entry = await this.manager.get(agentId, sessionKey);
    if (!entry || this.sendDecision(entry, sessionKey) === "deny") return false;
    const route = {
      ...entry.deliveryContext,
      channel: entry.deliveryContext?.channel ?? entry.lastChannel,
      to: entry.deliveryContext?.to ?? entry.lastTo,
    };
    if (!route.channel) return false;
    const msg: OutboundMessage = { agentId, sessionKey, route, text };
    if (opts.dedupeId) msg.dedupeId = opts.dedupeId;
    this.outbound.emit(msg);
    await this.outboundSink?.(msg);
    return true;
  }

  /** New messages, resets and deletions, for screens that show sessions (WebChat). */
  onSession(listener: (ev: SessionEvent) => void): () => void {
    return this.sessionEvents.subscribe(listener);
  }

  /** Passes on a session event from another gateway sharing the store (or emits one of ours). */
  emitSession(ev: SessionEvent): void {
    this.sessionEvents.emit(ev);
  }

  /** Passes on a chat event of a run on another gateway sharing the store (never re-published). */
  relayChat(ev: ChatEvent): void {
    this.chatEvents.emit(ev);
  }

  sendDecision(
    entry: SessionEntry | undefined,
    sessionKey: string,
    context: { channel?: string; chatType?: string } = {},
  ): "allow" | "deny" {
    return resolveSendPolicy(this.config.session?.sendPolicy, entry, sessionKey, context);
  }

  /** The session's queue while it has work (depth, the active run), else undefined. */
  queueFor(agentId: string, sessionKey: string): QueueView | undefined {
    return this.scheduler.view({ agentId, sessionKey });
  }

  /**
   * Accepts one inbound message. Resolves once the message is durable (and, for commands, handled);
   * `done` settles when the run that answers it has finished.
   */
  async submit(input: unknown, options: SubmitOptions): Promise<Accepted> {
    const envelope = parseEnvelope(input);
    assertMessageSize(envelope.text, this.maxMessageBytes);
    const known = configuredAgentIds(this.config);
    if (options.target && !known.includes(options.target.agentId)) throw new UnknownAgentError(options.target.agentId);
    const runId = options.runId ?? randomUUID();
    const authorized =
      options.commandAuthorized ??
      isCommandAuthorized(this.config.commands?.allowFrom, {
        channel: envelope.channel,
        senderId: envelope.senderId,
        chatType: envelope.chatType,
      });
    const command = authorized ? parseCommand(envelope.text) : null;
    if (command && command.name !== "new" && command.name !== "reset")
      return this.runCommand(envelope, command, runId, options);
    if (command && command.args !== "") {
      const withModel = await this.newWithModel(envelope, command, options);
      if (withModel?.remaining)
        return this.submit({ ...envelope, text: withModel.remaining }, { ...options, commandAuthorized: authorized });
      if (withModel) {
        const r = withModel.recorded;
        const done = Promise.resolve<TurnOutcome>({
          runId,
          agentId: r.agentId,
          sessionKey: r.sessionKey,
          sessionId: r.sessionId,
          status: "command",
          reply: `✅ New session started with model ${withModel.ref}.`,
          delivered: true,
          resetReason: r.resetReason,
        });
        return { runId, agentId: r.agentId, sessionKey: r.sessionKey, sessionId: r.sessionId, done };
      }
    }

    let done: Promise<TurnOutcome> | undefined;
    const turnInput = options.extraSystem || options.modelRef;
    if (turnInput) this.turnInputs.set(runId, { extraSystem: options.extraSystem, modelRef: options.modelRef });
    const recorded = await this.manager.recordInbound(envelope, {
      interactive: options.interactive ?? true,
      commandAuthorized: authorized,
      target: options.target,
      touchRoute: options.touchRoute,
      provenance: options.provenance,
      onRecorded: (result) => {
        done = this.afterRecorded(envelope, result, runId);
      },
    });
    if (recorded.isNewSession && recorded.resetReason) this.observer.reset?.(recorded.resetReason);
    if (!recorded.duplicate && (recorded.messageEntry || recorded.resetReason)) {
      this.emitSession({
        agentId: recorded.agentId,
        sessionKey: recorded.sessionKey,
        sessionId: recorded.sessionId,
        change: recorded.resetReason && recorded.resetReason !== "new-session" ? "reset" : "message",
      });
    }
    // A duplicate returns before the lane callback runs: answer it here.
    done ??= this.afterRecorded(envelope, recorded, runId);
    if (turnInput) void done.finally(() => this.turnInputs.delete(runId));
    return { runId, agentId: recorded.agentId, sessionKey: recorded.sessionKey, sessionId: recorded.sessionId, done };
  }

  /** Runs inside the session lane right after the message is durable (see InboundOptions.onRecorded). */
  private afterRecorded(envelope: InboundEnvelope, result: InboundResult, runId: string): Promise<TurnOutcome> {
    const base = {
      runId,
      agentId: result.agentId,
      sessionKey: result.sessionKey,
      sessionId: result.sessionId,
      resetReason: result.resetReason,
    };
    if (result.duplicate) return this.answerIfUnanswered(envelope, result, base);
    if (!result.messageEntry) {
      // A bare `/new` or `/reset`: the reset is the whole effect.
      const reply = result.resetReason ? "✅ New session started." : null;
      return Promise.resolve({ ...base, status: "command", reply, delivered: reply !== null });
    }
    const activation = result.entry.groupActivation ?? "mention";
    if (envelope.chatType !== "direct" && activation === "mention" && envelope.wasMentioned === false) {
      // Recorded for context; under `mention` activation (the default, as in OpenClaw) the agent
      // answers only when mentioned.
      return Promise.resolve({ ...base, status: "not-mentioned", reply: null, delivered: false });
    }
    const settings = resolveQueueSettings(this.config.messages?.queue, result.entry, envelope.channel);
    const pending = pendingKey(result.agentId, result.sessionKey, result.messageEntry.id);
    let settle!: (o: TurnOutcome) => void;
    const done = new Promise<TurnOutcome>((resolve) => {
      settle = resolve;
    });
    // A retry arriving while this one is queued or running waits for the same outcome. Registered
    // before queueing: a full queue may settle the item (drop) inside `enqueue`.
    if (envelope.messageId) this.pendingAnswers.set(pending, done);
    const item: QueueItem = {
      runId,
      entryId: result.messageEntry.id,
      preview: previewOf(result.body),
      settings,
      resolve: (o) => {
        this.pendingAnswers.delete(pending);
        settle({ ...base, ...o, runId });
      },
    };
    this.scheduler.enqueue(result, item, { channel: envelope.channel, chatType: envelope.chatType });
    return done;
  }

  /**
   * A retried delivery is not recorded again; it gets the first delivery's outcome. While that is
   * still running here, the retry waits for it. Otherwise the transcript tells: the reply of the
   * run that answered it, or — when it is still the session's last message and nothing here is
   * working on the session — its first delivery was recorded but never answered (the gateway that
   * took it died mid-run): answer it now. While another gateway is still working on it, that
   * gateway holds the session's lease, so the read below waits for its answer.
   */
  private async answerIfUnanswered(
    envelope: InboundEnvelope,
    result: InboundResult,
    base: Omit<TurnOutcome, "status" | "reply" | "delivered">,
  ): Promise<TurnOutcome> {
    // Surfaces consume `done` without a rejection handler: a failure here is an outcome, never a throw.
    try {
      return await this.originalOutcome(envelope, result, base);
    } catch (err) {
      return {
        ...base,
        status: "error",
        reply: null,
        delivered: false,
        error: `retry of an already recorded message: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
  }

  private async originalOutcome(
    envelope: InboundEnvelope,
    result: InboundResult,
    base: Omit<TurnOutcome, "status" | "reply" | "delivered">,
  ): Promise<TurnOutcome> {
    const duplicate: TurnOutcome = { ...base, status: "duplicate", reply: null, delivered: false };
    const firstEntry = result.duplicateOf;
    if (!envelope.messageId || !firstEntry) return duplicate;
    const inFlight = this.pendingAnswers.get(pendingKey(result.agentId, result.sessionKey, firstEntry));
    if (inFlight) {
      const o = await inFlight;
      return { ...duplicate, reply: o.reply, delivered: o.delivered, batchRunId: o.batchRunId ?? o.runId };
    }
    // A group message that did not mention the agent was recorded for context only, never answered.
    if (
      envelope.chatType !== "direct" &&
      (result.entry.groupActivation ?? "mention") === "mention" &&
      envelope.wasMentioned === false
    )
      return duplicate;
    const { lines } = await this.manager.transcriptLines(result.agentId, result.sessionId, result.sessionKey);
    const answer = recordedAnswer(lines, firstEntry);
    if (answer.state === "answered") {
      const delivered =
        answer.reply !== null &&
        this.sendDecision(result.entry, result.sessionKey, {
          channel: envelope.channel,
          chatType: envelope.chatType,
        }) === "allow";
      return { ...duplicate, reply: delivered ? answer.reply : null, delivered };
    }
    if (answer.state !== "unanswered" || this.queueFor(result.agentId, result.sessionKey)) return duplicate;
    const outcome = await this.resume(result.agentId, result.sessionKey);
    return { ...outcome, runId: base.runId, batchRunId: outcome.runId };
  }

  /** One model turn over a batch the scheduler took off the session's queue; streams its chat events. */
  private async runBatch(run: BatchRun): Promise<BatchResult> {
    const { agentId, sessionKey } = run.ref;
    const entry = await this.manager.get(agentId, sessionKey);
    let seq = 0;
    const deliverable = this.sendDecision(entry, sessionKey, run.route) === "allow";
    // The current round's streamed text: kept in the transcript when the run is stopped mid-reply.
    let partial = "";
    let result;
    try {
      result = entry
        ? await this.runner.run({
            runId: run.runId,
            agentId,
            sessionKey,
            sessionId: entry.sessionId,
            entry,
            exclude: run.exclude,
            note: run.note,
            signal: run.signal,
            onDelta: (text) => {
              partial += text;
              if (deliverable)
                this.chatEvents.emit({
                  runId: run.runId,
                  runIds: run.runIds(),
                  agentId,
                  sessionKey,
                  seq: seq++,
                  state: "delta",
                  text,
                });
            },
            onRound: (round) => {
              partial = "";
              run.onRound(round);
            },
            extraSystem: this.extraSystemOf(run.runIds()),
            modelRef: run
              .runIds()
              .map((id) => this.turnInputs.get(id)?.modelRef)
              .findLast((r) => r !== undefined),
            nothingQueued: run.nothingQueued,
          })
        : { status: "aborted" as const, reply: null, silent: true, errorMessage: "the session is gone" };
    } catch (err) {
      result = {
        status: "error" as const,
        reply: null,
        silent: true,
        errorMessage: err instanceof Error ? err.message : String(err),
      };
    }
    if (result.status === "aborted" && entry) {
      await this.manager.patchSession(agentId, sessionKey, (cur) =>
        cur && cur.sessionId === entry.sessionId ? { ...cur, abortedLastRun: true } : undefined,
      );
      // As OpenClaw: what the user saw before Stop stays in the transcript (stopReason "aborted").
      if (partial.trim() !== "")
        await this.manager
          .appendToSession(agentId, sessionKey, entry.sessionId, [
            {
              type: "message",
              message: {
                role: "assistant",
                content: [{ type: "text", text: partial }],
                api: "pincer",
                provider: entry.modelProvider ?? "pincer",
                model: entry.model ?? "unknown",
                usage: {
                  input: 0,
                  output: 0,
                  cacheRead: 0,
                  cacheWrite: 0,
                  totalTokens: 0,
                  cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
                },
                stopReason: "aborted",
                timestamp: this.now(),
              },
            },
          ])
          .catch(() => null);
    }
    const delivered = result.status === "ok" && !result.silent && deliverable;
    if ("turnUsage" in result && result.turnUsage && result.provider && result.model) {
      this.usage.add(agentId, `${result.provider}/${result.model}`, result.turnUsage);
      this.observer.usage?.({ agentId, provider: result.provider, model: result.model, usage: result.turnUsage });
    }
    if (result.status === "error")
      this.observer.turnFailed?.({
        agentId,
        sessionKey,
        sessionId: entry?.sessionId,
        runId: run.runId,
        ...this.modelNamesOf(agentId, entry, result),
        reason: result.errorMessage ?? "unknown error",
      });
    // `/usage tokens|full`: the footer goes on the delivered text only, never into the transcript.
    const footer =
      delivered && "turnUsage" in result
        ? usageFooter(
            usageModeOf(entry?.responseUsage),
            result.turnUsage,
            result.priced ? result.turnUsage?.cost : undefined,
            sessionKey,
          )
        : null;
    if (footer && result.reply !== null) result = { ...result, reply: `${result.reply}\n${footer}` };
    const status: QueueOutcome["status"] = result.status === "ok" ? (result.silent ? "silent" : "ok") : result.status;
    const usage =
      "usage" in result && result.usage
        ? { input: result.usage.input, output: result.usage.output, totalTokens: result.usage.totalTokens }
        : undefined;
    this.chatEvents.emit({
      runId: run.runId,
      runIds: run.runIds(),
      agentId,
      sessionKey,
      seq: seq++,
      state: result.status === "ok" ? "final" : result.status === "aborted" ? "aborted" : "error",
      ...(delivered ? { message: result.reply! } : {}),
      ...(result.errorMessage ? { errorMessage: result.errorMessage } : {}),
      delivered,
      ...(usage ? { usage } : {}),
    });
    this.observer.turn?.(status, this.now() - run.startedAt);
    return {
      status,
      reply: delivered ? result.reply : null,
      delivered,
      ...(result.errorMessage ? { error: result.errorMessage } : {}),
      ...("turnUsage" in result && result.turnUsage ? { usage: result.turnUsage } : {}),
    };
  }

  /**
   * Runs a turn on messages already in the transcript (nothing new recorded): used after a restart
   * for announces that were recorded but not yet answered, and for interrupted sub-agent runs.
   */
  resume(agentId: string, sessionKey: string): Promise<TurnOutcome> {
    return new Promise((resolve) => {
      const runId = randomUUID();
      void this.manager.get(agentId, sessionKey).then((entry) => {
        const base = { runId, agentId, sessionKey, sessionId: entry?.sessionId ?? "" };
        if (!entry) {
          resolve({ ...base, status: "error", reply: null, delivered: false, error: "no such session" });
          return;
        }
        const settings = resolveQueueSettings(this.config.messages?.queue, entry, entry.lastChannel);
        this.scheduler.enqueue(
          base,
          { runId, entryId: null, preview: "(resume)", settings, resolve: (o) => resolve({ ...base, ...o, runId }) },
          { channel: entry.lastChannel, chatType: entry.chatType },
        );
      });
    });
  }

  /** Aborts the active run and clears queued messages (`/stop`, `chat.abort`, resets). */
  abort(agentId: string, sessionKey: string, reason = "aborted"): AbortResult {
    return this.scheduler.abort({ agentId, sessionKey }, reason);
  }

  /** Runs a compaction in the session's run slot (a running turn is aborted first, as OpenClaw's `/compact` does). */
  compact(agentId: string, sessionKey: string, instructions?: string): Promise<CompactionOutcome> {
    this.scheduler.abortActive({ agentId, sessionKey });
    return new Promise((resolve) => {
      const runId = randomUUID();
      const item: QueueItem = {
        runId,
        entryId: null,
        preview: "/compact",
        settings: { mode: "followup", debounceMs: 0, cap: Number.MAX_SAFE_INTEGER, drop: "new" },
        resolve: () => undefined,
        task: async (signal) => {
          const entry = await this.manager.get(agentId, sessionKey);
          const { provider, model } = this.modelFor(agentId, entry);
          const outcome = await compactSession({
            manager: this.manager,
            agentId,
            sessionKey,
            provider,
            model,
            keepRecentTokens: this.settingsFor(agentId).compaction.keepRecentTokens,
            instructions: instructions ?? this.settingsFor(agentId).compaction.customInstructions,
            abortSignal: signal,
            costOf: (p, m) => modelCostOf(this.config, p, m),
          });
          this.runner.reportUsage(agentId, outcome.usage, "compaction");
          this.observer.compaction?.(outcome, "manual");
          resolve(outcome);
          return { runId, status: "ok", reply: null, delivered: false };
        },
      };
      this.scheduler.enqueue({ agentId, sessionKey }, item, {});
    });
  }

  /** The system prompt a turn of this session would get now, as a report (`/context` before a run). */
  async systemPromptReport(
    agentId: string,
    sessionKey: string,
    entry: SessionEntry | undefined,
  ): Promise<SystemPromptReport> {
    return (await this.runner.estimatePrompt(agentId, sessionKey, entry)).report;
  }

  /** Manual reset from the gateway API: stops work on the session first. */
  async reset(agentId: string, sessionKey: string): Promise<SessionEntry> {
    this.abort(agentId, sessionKey, "session reset");
    const entry = await this.manager.reset(agentId, sessionKey);
    this.observer.reset?.("manual");
    this.emitSession({ agentId, sessionKey, sessionId: entry.sessionId, change: "reset" });
    return entry;
  }

  async delete(agentId: string, sessionKey: string): Promise<{ deleted: boolean; archived: string[] }> {
    this.abort(agentId, sessionKey, "session deleted");
    const res = await this.manager.delete(agentId, sessionKey);
    if (res.deleted) this.emitSession({ agentId, sessionKey, sessionId: null, change: "deleted" });
    return res;
  }

  /**
   * `/new <provider/model> [text]`: resets and sets the session's model; the remaining text (if
   * any) then runs as a normal message. Null when the first word is not a known model.
   */
  private async newWithModel(
    envelope: InboundEnvelope,
    command: ParsedCommand,
    options: SubmitOptions,
  ): Promise<{ remaining: string; recorded: InboundResult; ref: string } | null> {
    const [first = "", ...rest] = command.args.split(/\s+/);
    if (!first.includes("/")) return null;
    let resolved;
    try {
      resolved = this.resolveRef(first);
    } catch {
      return null;
    }
    const recorded = await this.manager.recordInbound(
      { ...envelope, text: `/${command.name}`, messageId: undefined },
      { interactive: options.interactive ?? true, commandAuthorized: true, target: options.target },
    );
    if (recorded.resetReason) this.observer.reset?.(recorded.resetReason);
    await this.manager.patchSession(recorded.agentId, recorded.sessionKey, (cur) =>
      cur ? { ...cur, providerOverride: resolved.provider.name, modelOverride: resolved.model } : undefined,
    );
    return { remaining: rest.join(" ").trim(), recorded, ref: resolved.ref };
  }

  private async runCommand(
    envelope: InboundEnvelope,
    command: ParsedCommand,
    runId: string,
    options: SubmitOptions,
  ): Promise<Accepted> {
    // Commands touch the session like any message (it is created or reset if stale) without recording their text.
    const recorded = await this.manager.recordInbound(envelope, {
      interactive: options.interactive ?? true,
      commandAuthorized: true,
      recordMessage: false,
      target: options.target,
    });
    const route = this.manager.routeOf(envelope, options.target);
    const reply = await handleCommand(this, command, {
      agentId: recorded.agentId,
      sessionKey: recorded.sessionKey,
      envelope,
      channel: route.channel,
    });
    const outcome: TurnOutcome = {
      runId,
      agentId: recorded.agentId,
      sessionKey: recorded.sessionKey,
      sessionId: recorded.sessionId,
      status: "command",
      reply,
      delivered: reply !== null,
    };
    return {
      runId,
      agentId: recorded.agentId,
      sessionKey: recorded.sessionKey,
      sessionId: recorded.sessionId,
      done: Promise.resolve(outcome),
    };
  }

  /** The model a failed run used, else the one it would have used (a throw before the runner said). */
  private modelNamesOf(
    agentId: string,
    entry: SessionEntry | undefined,
    result: { provider?: string; model?: string },
  ): { provider: string | undefined; model: string | undefined } {
    if (result.provider && result.model) return { provider: result.provider, model: result.model };
    try {
      const m = this.modelFor(agentId, entry);
      return { provider: m.provider.name, model: m.model };
    } catch {
      return { provider: undefined, model: undefined };
    }
  }

  private extraSystemOf(runIds: readonly string[]): string | undefined {
    const parts = runIds.map((id) => this.turnInputs.get(id)?.extraSystem).filter((t): t is string => t !== undefined);
    return parts.length > 0 ? parts.join("\n\n") : undefined;
  }

  queueDepthTotal(): number {
    return this.scheduler.depthTotal();
  }

  /** Resolves when no run is in flight (graceful shutdown); aborts what is still running at the deadline. */
  async drain(timeoutMs: number): Promise<void> {
    this.shuttingDown = true;
    await this.scheduler.drain(timeoutMs);
  }
}

/** A message's pending outcome, by its session and transcript entry. */
function pendingKey(agentId: string, sessionKey: string, entryId: string): string {
  return `${refKey({ agentId, sessionKey })}\u0000${entryId}`;
}
