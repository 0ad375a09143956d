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
import { resolveSendPolicy, type SendPolicyConfig } from "../policy/send-policy.ts";
import type { ModelProvider } from "../providers/types.ts";
import { resolveAgentSettings, type AgentSettings } from "./agent-settings.ts";
import { compactSession, type CompactionOutcome } from "./compaction.ts";
import { isCommandAuthorized, parseCommand, type ParsedCommand } from "./command-parse.ts";
import { handleCommand } from "./command-handlers.ts";
import { resolveQueueSettings, type QueueConfig } from "./queue-settings.ts";
import { previewOf, SessionQueue, type QueueItem, type QueueOutcome } from "./session-queue.ts";
import { ToolRegistry } from "./tools.ts";
import { TurnRunner, type ResolvedModel } from "./turn-runner.ts";
import { recordedAnswer } from "./recorded-answer.ts";
import { assertMessageSize, DEFAULT_MAX_MESSAGE_BYTES } from "./message-limits.ts";
import { configuredAgentIds, UnknownAgentError } from "./unknown-agent.ts";

export type Surface = "http" | "ws" | "webchat" | "webhook" | "cron" | "openai" | "cli" | "internal";

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
}

/** A reply meant for a session's channel outside a request/response exchange (announces). */
export interface OutboundMessage {
  agentId: string;
  sessionKey: string;
  route: { channel?: string; to?: string; accountId?: string; threadId?: string };
  text: string;
}

export interface RuntimeObserver {
  turn?(status: string, ms: number): void;
  reset?(reason: string): void;
  compaction?(outcome: CompactionOutcome, trigger: string): void;
  pruned?(chars: number): void;
  queueDepth?(delta: number): void;
  memoryFlush?(): void;
  security?(event: Record<string, unknown>): void;
}

export interface RuntimeOptions {
  config: PincerConfig;
  home: string;
  manager: SessionManager;
  resolveModelRef(ref: string | undefined): ResolvedModel & { ref: string };
  now?: () => number;
  observer?: RuntimeObserver;
  tools?: ToolRegistry;
  version?: string;
}

export class AgentRuntime {
  readonly manager: SessionManager;
  readonly config: PincerConfig;
  readonly home: string;
  readonly version: string;
  readonly observer: RuntimeObserver;
  private readonly runner: TurnRunner;
  private readonly queues = new Map<string, SessionQueue>();
  private readonly listeners = new Set<(ev: ChatEvent) => void>();
  private readonly sessionListeners = new Set<(ev: SessionEvent) => void>();
  private readonly outboundListeners = new Set<(msg: OutboundMessage) => void>();
  private readonly settingsCache = new Map<string, AgentSettings>();
  /** The largest message text accepted from any surface (`gateway.maxMessageBytes`). */
  readonly maxMessageBytes: number;
  /** Outcomes of messages with a message id that are queued or running, by their transcript entry. */
  private readonly pendingAnswers = new Map<string, Promise<TurnOutcome>>();
  private readonly resolveRef: RuntimeOptions["resolveModelRef"];
  readonly now: () => number;
  private inFlight = 0;
  /** Set once shutdown begins: background work (announces) leaves its durable state for the next start. */
  shuttingDown = false;
  private drainWaiters: Array<() => void> = [];

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
    });
  }

  settingsFor(agentId: string): AgentSettings {
    let s = this.settingsCache.get(agentId);
    if (!s) {
      s = resolveAgentSettings(this.config.agents as Parameters<typeof resolveAgentSettings>[0], agentId, this.home);
      this.settingsCache.set(agentId, s);
    }
    return s;
  }

  /** Model precedence (reference §13.5): session override, then the agent's model, then the default. */
  modelFor(agentId: string, entry: SessionEntry | undefined): ResolvedModel & { ref: string } {
    if (entry?.providerOverride && entry.modelOverride) {
      try {
        return this.resolveRef(`${entry.providerOverride}/${entry.modelOverride}`);
      } catch {
        // A provider removed from the config since: fall back to the agent's model.
      }
    }
    return this.resolveRef(this.settingsFor(agentId).modelRef);
  }

  resolveModelRef(ref: string): ResolvedModel & { ref: string } {
    return this.resolveRef(ref);
  }

  windowFor(agentId: string, provider: ModelProvider, model: string, entry?: SessionEntry): number {
    return this.runner.windowFor(this.settingsFor(agentId), provider, model, entry);
  }

  onChat(listener: (ev: ChatEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Bridges subscribe here to deliver announces to a session's channel. */
  onOutbound(listener: (msg: OutboundMessage) => void): () => void {
    this.outboundListeners.add(listener);
    return () => this.outboundListeners.delete(listener);
  }

  /** Sends text to a session's last route, unless its send policy denies delivery. */
  async deliverToRoute(agentId: string, sessionKey: string, text: string): Promise<boolean> {
    const entry = await this.manager.get(agentId, sessionKey);
    if (!entry || this.sendDecision(entry, sessionKey) === "deny") return false;
    const route = { ...entry.deliveryContext, channel: entry.deliveryContext?.channel ?? entry.lastChannel, to: entry.deliveryContext?.to ?? entry.lastTo };
    if (!route.channel) return false;
    for (const l of this.outboundListeners) {
      try {
        l({ agentId, sessionKey, route, text });
      } catch {
        // A failing bridge must not break the runtime.
      }
    }
    return true;
  }

  /** New messages, resets and deletions, for screens that show sessions (WebChat). */
  onSession(listener: (ev: SessionEvent) => void): () => void {
    this.sessionListeners.add(listener);
    return () => this.sessionListeners.delete(listener);
  }

  /** Passes on a session event from another gateway sharing the store (or emits one of ours). */
  emitSession(ev: SessionEvent): void {
    for (const l of this.sessionListeners) {
      try {
        l(ev);
      } catch {
        // A broken listener must not break the caller.
      }
    }
  }

  /** Passes on a chat event of a run on another gateway sharing the store (never re-published). */
  relayChat(ev: ChatEvent): void {
    this.emit(ev);
  }

  private emit(ev: ChatEvent): void {
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch {
        // A broken listener (a closed socket) must not break the run.
      }
    }
  }

  sendDecision(entry: SessionEntry | undefined, sessionKey: string, context: { channel?: string; chatType?: string } = {}): "allow" | "deny" {
    return resolveSendPolicy(this.config.session?.sendPolicy as SendPolicyConfig | undefined, entry, sessionKey, context);
  }

  queueFor(agentId: string, sessionKey: string): SessionQueue | undefined {
    return this.queues.get(`${agentId}\u0000${sessionKey}`);
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
      isCommandAuthorized(this.config.commands?.allowFrom, { channel: envelope.channel, senderId: envelope.senderId, chatType: envelope.chatType });
    const command = authorized ? parseCommand(envelope.text) : null;
    if (command && command.name !== "new" && command.name !== "reset") return this.runCommand(envelope, command, runId, options);
    if (command && command.args !== "") {
      const withModel = await this.newWithModel(envelope, command, options);
      if (withModel?.remaining) return this.submit({ ...envelope, text: withModel.remaining }, { ...options, commandAuthorized: authorized });
      if (withModel) {
        const r = withModel.recorded;
        const done = Promise.resolve<TurnOutcome>({ runId, agentId: r.agentId, sessionKey: r.sessionKey, sessionId: r.sessionId, status: "command", reply: `✅ New session started with model ${withModel.ref}.`, delivered: true, resetReason: r.resetReason });
        return { runId, agentId: r.agentId, sessionKey: r.sessionKey, sessionId: r.sessionId, done };
      }
    }

    let done: Promise<TurnOutcome> | undefined;
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
      this.emitSession({ agentId: recorded.agentId, sessionKey: recorded.sessionKey, sessionId: recorded.sessionId, change: recorded.resetReason && recorded.resetReason !== "new-session" ? "reset" : "message" });
    }
    // A duplicate returns before the lane callback runs: answer it here.
    done ??= this.afterRecorded(envelope, recorded, runId);
    return { runId, agentId: recorded.agentId, sessionKey: recorded.sessionKey, sessionId: recorded.sessionId, done };
  }

  /** Runs inside the session lane right after the message is durable (see InboundOptions.onRecorded). */
  private afterRecorded(envelope: InboundEnvelope, result: InboundResult, runId: string): Promise<TurnOutcome> {
    const base = { runId, agentId: result.agentId, sessionKey: result.sessionKey, sessionId: result.sessionId, resetReason: result.resetReason };
    if (result.duplicate) return this.answerIfUnanswered(envelope, result, base);
    if (!result.messageEntry) {
      // A bare `/new` or `/reset`: the reset is the whole effect.
      const reply = result.resetReason ? "✅ New session started." : null;
      return Promise.resolve({ ...base, status: "command", reply, delivered: reply !== null });
    }
    const activation = result.entry.groupActivation ?? "mention";
    if (envelope.chatType !== "direct" && activation === "mention" && envelope.wasMentioned === false) {
      // Recorded for context; the agent answers only when mentioned (reference §13.6).
      return Promise.resolve({ ...base, status: "not-mentioned", reply: null, delivered: false });
    }
    const settings = resolveQueueSettings(this.config.messages?.queue as QueueConfig | undefined, result.entry, envelope.channel);
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
    this.enqueue(result.agentId, result.sessionKey, item, { channel: envelope.channel, chatType: envelope.chatType });
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
  private async answerIfUnanswered(envelope: InboundEnvelope, result: InboundResult, base: Omit<TurnOutcome, "status" | "reply" | "delivered">): Promise<TurnOutcome> {
    // Surfaces consume `done` without a rejection handler: a failure here is an outcome, never a throw.
    try {
      return await this.originalOutcome(envelope, result, base);
    } catch (err) {
      return { ...base, status: "error", reply: null, delivered: false, error: `retry of an already recorded message: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  private async originalOutcome(envelope: InboundEnvelope, result: InboundResult, base: Omit<TurnOutcome, "status" | "reply" | "delivered">): Promise<TurnOutcome> {
    const duplicate: TurnOutcome = { ...base, status: "duplicate", reply: null, delivered: false };
    const firstEntry = result.duplicateOf;
    if (!envelope.messageId || !firstEntry) return duplicate;
    const inFlight = this.pendingAnswers.get(pendingKey(result.agentId, result.sessionKey, firstEntry));
    if (inFlight) {
      const o = await inFlight;
      return { ...duplicate, reply: o.reply, delivered: o.delivered, batchRunId: o.batchRunId ?? o.runId };
    }
    // A group message that did not mention the agent was recorded for context only, never answered.
    if (envelope.chatType !== "direct" && (result.entry.groupActivation ?? "mention") === "mention" && envelope.wasMentioned === false) return duplicate;
    const { lines } = await this.manager.transcriptLines(result.agentId, result.sessionId, result.sessionKey);
    const answer = recordedAnswer(lines, firstEntry);
    if (answer.state === "answered") {
      const delivered = answer.reply !== null && this.sendDecision(result.entry, result.sessionKey, { channel: envelope.channel, chatType: envelope.chatType }) === "allow";
      return { ...duplicate, reply: delivered ? answer.reply : null, delivered };
    }
    if (answer.state !== "unanswered" || this.queueFor(result.agentId, result.sessionKey)) return duplicate;
    const outcome = await this.resume(result.agentId, result.sessionKey);
    return { ...outcome, runId: base.runId, batchRunId: outcome.runId };
  }

  private enqueue(agentId: string, sessionKey: string, item: QueueItem, route: { channel?: string; chatType?: string }): void {
    const laneKey = `${agentId}\u0000${sessionKey}`;
    let q = this.queues.get(laneKey);
    if (!q) {
      q = new SessionQueue();
      // On a shared store the session stays leased to this gateway while its queue has work; the
      // message was just recorded under the lease, so joining it here leaves no gap.
      q.hold = this.manager.leases?.retain(agentId, sessionKey) ?? null;
      this.queues.set(laneKey, q);
    }
    const { droppedItems, steered } = q.admit(item, this.now());
    for (const d of droppedItems) d.resolve({ runId: d.runId, status: "dropped", reply: null, delivered: false, error: "dropped: the session queue is full" });
    if (steered) return;
    if (!droppedItems.includes(item)) this.observer.queueDepth?.(1);
    this.observer.queueDepth?.(-droppedItems.filter((d) => d !== item).length);
    this.pump(agentId, sessionKey, q, route);
  }

  private pump(agentId: string, sessionKey: string, q: SessionQueue, route: { channel?: string; chatType?: string }): void {
    if (q.active || q.pending.length === 0 || q.timer) return;
    const newest = q.pending[q.pending.length - 1]!;
    const wait = newest.settings.debounceMs - (this.now() - q.lastEnqueueAt);
    if (wait > 0 && !newest.task) {
      q.timer = setTimeout(() => {
        q.timer = null;
        this.pump(agentId, sessionKey, q, route);
      }, wait);
      return;
    }
    const batch = q.takeBatch();
    this.observer.queueDepth?.(-batch.length);
    const controller = new AbortController();
    const exclude = new Set<string>();
    for (const p of q.pending) if (p.entryId) exclude.add(p.entryId);
    q.active = { runId: batch[0]!.runId, controller, batch, exclude, round: -1, isTask: !!batch[0]!.task };
    this.inFlight++;
    // A store failure outside the run (e.g. a full disk marking an aborted run) ends this run with
    // an error; it must never become an unhandled rejection, which would end the process.
    const failed = (err: unknown) => {
      for (const b of batch) b.resolve({ runId: b.runId, status: "error", reply: null, delivered: false, error: err instanceof Error ? err.message : String(err) });
    };
    void this.execute(agentId, sessionKey, q, route).catch(failed).finally(() => {
      q.active = null;
      this.inFlight--;
      if (q.idle) {
        this.queues.delete(`${agentId}\u0000${sessionKey}`);
        if (q.hold) this.manager.leases?.release(q.hold);
        q.hold = null;
      }
      else this.pump(agentId, sessionKey, q, route);
      // Drained only when nothing runs and nothing waits (a queued follow-up starts right above).
      if (this.inFlight === 0 && this.queueDepthTotal() === 0) for (const w of this.drainWaiters.splice(0)) w();
    });
  }

  private async execute(agentId: string, sessionKey: string, q: SessionQueue, route: { channel?: string; chatType?: string }): Promise<void> {
    const active = q.active!;
    const started = this.now();
    const leases = this.manager.leases;
    if (leases && !q.hold) {
      try {
        q.hold = await leases.acquire(agentId, sessionKey);
      } catch (err) {
        const error = `the session is busy on another gateway: ${err instanceof Error ? err.message : String(err)}`;
        for (const b of active.batch) b.resolve({ runId: b.runId, status: "error", reply: null, delivered: false, error });
        return;
      }
    }
    if (active.isTask) {
      const item = active.batch[0]!;
      const outcome = await item.task!(active.controller.signal).catch((err: unknown) => ({ runId: item.runId, status: "error" as const, reply: null, delivered: false, error: String(err) }));
      item.resolve(outcome);
      return;
    }
    const entry = await this.manager.get(agentId, sessionKey);
    const runIds = () => active.batch.map((b) => b.runId);
    let seq = 0;
    const decision = this.sendDecision(entry, sessionKey, route);
    const deliverable = decision === "allow";
    let result;
    try {
      result = entry
        ? await this.runner.run({
            runId: active.runId,
            agentId,
            sessionKey,
            sessionId: entry.sessionId,
            exclude: active.exclude,
            note: q.takeOverflowNote(),
            signal: active.controller.signal,
            onDelta: (text) => {
              if (deliverable) this.emit({ runId: active.runId, runIds: runIds(), agentId, sessionKey, seq: seq++, state: "delta", text });
            },
            onRound: (round) => {
              active.round = round;
            },
          })
        : { status: "aborted" as const, reply: null, silent: true, errorMessage: "the session is gone" };
    } catch (err) {
      result = { status: "error" as const, reply: null, silent: true, errorMessage: err instanceof Error ? err.message : String(err) };
    }
    if (result.status === "aborted" && entry) {
      await this.manager.patchSession(agentId, sessionKey, (cur) => (cur && cur.sessionId === entry.sessionId ? { ...cur, abortedLastRun: true } : undefined));
    }
    const delivered = result.status === "ok" && !result.silent && deliverable;
    const status: QueueOutcome["status"] = result.status === "ok" ? (result.silent ? "silent" : "ok") : result.status;
    const usage = "usage" in result && result.usage ? { input: result.usage.input, output: result.usage.output, totalTokens: result.usage.totalTokens } : undefined;
    this.emit({
      runId: active.runId, runIds: runIds(), agentId, sessionKey, seq: seq++,
      state: result.status === "ok" ? "final" : result.status === "aborted" ? "aborted" : "error",
      ...(delivered ? { message: result.reply! } : {}),
      ...(result.errorMessage ? { errorMessage: result.errorMessage } : {}),
      delivered,
      ...(usage ? { usage } : {}),
    });
    this.observer.turn?.(status, this.now() - started);
    // Steered items injected after the last model round was read would go unanswered: queue them again.
    const requeue = active.batch.filter((b) => b.injectedAtRound !== undefined && b.injectedAtRound >= active.round && result.status === "ok");
    for (const b of active.batch) {
      if (requeue.includes(b)) continue;
      b.resolve({ runId: b.runId, batchRunId: active.runId, status, reply: delivered ? result.reply : null, delivered, ...(result.errorMessage ? { error: result.errorMessage } : {}) });
    }
    for (const b of requeue) {
      b.injectedAtRound = undefined;
      b.settings = { ...b.settings, mode: "followup" };
      q.pending.unshift(b);
      this.observer.queueDepth?.(1);
    }
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
        const settings = resolveQueueSettings(this.config.messages?.queue as QueueConfig | undefined, entry, entry.lastChannel);
        this.enqueue(agentId, sessionKey, { runId, entryId: null, preview: "(resume)", settings, resolve: (o) => resolve({ ...base, ...o, runId }) }, { channel: entry.lastChannel, chatType: entry.chatType });
      });
    });
  }

  /** Aborts the active run and clears queued messages (`/stop`, `chat.abort`, resets). */
  abort(agentId: string, sessionKey: string, reason = "aborted"): { aborted: boolean; runIds: string[]; cleared: number } {
    const q = this.queues.get(`${agentId}\u0000${sessionKey}`);
    if (!q) return { aborted: false, runIds: [], cleared: 0 };
    const runIds: string[] = [];
    if (q.active && !q.active.controller.signal.aborted) {
      q.active.controller.abort();
      runIds.push(...q.active.batch.map((b) => b.runId));
    }
    if (q.timer) {
      clearTimeout(q.timer);
      q.timer = null;
    }
    const cleared = q.pending.splice(0);
    this.observer.queueDepth?.(-cleared.length);
    for (const c of cleared) c.resolve({ runId: c.runId, status: "aborted", reply: null, delivered: false, error: reason });
    return { aborted: runIds.length > 0, runIds, cleared: cleared.length };
  }

  /** Runs a compaction in the session's run slot (a running turn is aborted first, reference §11.2). */
  compact(agentId: string, sessionKey: string, instructions?: string): Promise<CompactionOutcome> {
    const q = this.queues.get(`${agentId}\u0000${sessionKey}`);
    q?.active?.controller.abort();
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
            manager: this.manager, agentId, sessionKey, provider, model,
            keepRecentTokens: this.settingsFor(agentId).compaction.keepRecentTokens,
            instructions: instructions ?? this.settingsFor(agentId).compaction.customInstructions,
            abortSignal: signal,
          });
          this.observer.compaction?.(outcome, "manual");
          resolve(outcome);
          return { runId, status: "ok", reply: null, delivered: false };
        },
      };
      this.enqueue(agentId, sessionKey, item, {});
    });
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
  private async newWithModel(envelope: InboundEnvelope, command: ParsedCommand, options: SubmitOptions): Promise<{ remaining: string; recorded: InboundResult; ref: string } | null> {
    const [first = "", ...rest] = command.args.split(/\s+/);
    if (!first.includes("/")) return null;
    let resolved;
    try {
      resolved = this.resolveRef(first);
    } catch {
      return null;
    }
    const recorded = await this.manager.recordInbound({ ...envelope, text: `/${command.name}`, messageId: undefined }, { interactive: options.interactive ?? true, commandAuthorized: true, target: options.target });
    if (recorded.resetReason) this.observer.reset?.(recorded.resetReason);
    await this.manager.patchSession(recorded.agentId, recorded.sessionKey, (cur) => (cur ? { ...cur, providerOverride: resolved.provider.name, modelOverride: resolved.model } : undefined));
    return { remaining: rest.join(" ").trim(), recorded, ref: resolved.ref };
  }

  private async runCommand(envelope: InboundEnvelope, command: ParsedCommand, runId: string, options: SubmitOptions): Promise<Accepted> {
    // Commands touch the session like any message (it is created or reset if stale) without recording their text.
    const recorded = await this.manager.recordInbound(envelope, { interactive: options.interactive ?? true, commandAuthorized: true, recordMessage: false, target: options.target });
    const route = this.manager.routeOf(envelope, options.target);
    const reply = await handleCommand(this, command, { agentId: recorded.agentId, sessionKey: recorded.sessionKey, envelope, channel: route.channel });
    const outcome: TurnOutcome = { runId, agentId: recorded.agentId, sessionKey: recorded.sessionKey, sessionId: recorded.sessionId, status: "command", reply, delivered: reply !== null };
    return { runId, agentId: recorded.agentId, sessionKey: recorded.sessionKey, sessionId: recorded.sessionId, done: Promise.resolve(outcome) };
  }

  queueDepthTotal(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.depth;
    return n;
  }

  /** Resolves when no run is in flight (graceful shutdown); aborts what is still running at the deadline. */
  async drain(timeoutMs: number): Promise<void> {
    this.shuttingDown = true;
    if (this.inFlight === 0 && this.queueDepthTotal() === 0) return;
    const drained = new Promise<void>((r) => this.drainWaiters.push(r));
    const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs).unref());
    if ((await Promise.race([drained, timer])) === "timeout") {
      // Past the deadline: queued messages stay recorded (durable) but unanswered; running turns are aborted and marked.
      for (const [laneKey] of this.queues) {
        const [agentId, sessionKey] = laneKey.split("\u0000") as [string, string];
        this.abort(agentId, sessionKey, "gateway shutting down");
      }
      await Promise.race([drained, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
  }
}

function pendingKey(agentId: string, sessionKey: string, entryId: string): string {
  return `${agentId}\u0000${sessionKey}\u0000${entryId}`;
}
