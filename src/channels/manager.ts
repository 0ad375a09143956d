/**
 * ChannelManager: the channel layer inside the gateway. For every enabled account it runs a
 * supervisor around the platform's adapter, and it is the one way in and the one way out:
 *
 *   inbound   adapter event → InboundDedupe.claim → AccessGate (dmPolicy / pairing / groups /
 *             mention → pending history) → ReplyLedger (fsync) → runtime.submit (recorded: durable)
 *             → the adapter may acknowledge; the turn runs, with a typing indicator
 *   outbound  every text for a chat (replies, command answers, pairing codes, announces, cron) →
 *             `deliver` (the send policy, checked here once) → DeliveryQueue (durable outbox,
 *             chunking, rate limits, retries) → adapter.send
 *
 * `POST /v1/inbound` envelopes of a channel with a `channels.<ch>` block pass the same gate
 * (`gateEnvelope`); without a block they are accepted as before.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import type { Logger } from "pino";
import { unmatchableTelegramAllowEntries } from "../config/channels-schema.ts";
import type { PincerConfig } from "../config/schema.ts";
import type { InboundEnvelope } from "../keys/envelope.ts";
import type { AgentRuntime, OutboundMessage, TurnOutcome } from "../runtime/runtime.ts";
import { DeliveryQueue, type DeliveryEvent, type DeliveryQueueOptions } from "./delivery.ts";
import { AccessGate, type GateDecision } from "./gate.ts";
import { InboundDedupe } from "./inbound-dedupe.ts";
import type { OriginKind } from "./outbox.ts";
import { pairingReply, PairingStore, type PairingRequest } from "./pairing-store.ts";
import { ADAPTER_FACTORIES, type AdapterFactory } from "./registry.ts";
import { ReplyLedger, type LedgerEntry } from "./reply-ledger.ts";
import { accessFor, isNativeChannel, resolveChannelAccounts, type ChannelAccount } from "./settings.ts";
import { FileStateStore } from "./state-store.ts";
import { AccountSupervisor, type AccountStatus, type BackoffOptions } from "./supervisor.ts";
import { keepTyping } from "./typing.ts";
import type { ChannelAdapter, ChannelInbound, ChannelName, IngestResult, ProbeResult, ReplyTarget } from "./types.ts";

/** What the gateway counts (metrics.ts). */
export type ChannelMetricEvent =
  | { type: "received"; channel: string; accountId: string }
  | { type: "refused"; channel: string; accountId: string; reason: string }
  | { type: "pending"; channel: string; accountId: string }
  | { type: "duplicate"; channel: string; accountId: string }
  | { type: "skipped"; channel: string; accountId: string; reason: string }
  | DeliveryEvent;

export interface ChannelManagerOptions {
  config: PincerConfig;
  home: string;
  env?: NodeJS.ProcessEnv;
  runtime: AgentRuntime;
  log: Logger;
  /** Replaces the adapter factories (tests drive the layer with a fake adapter). */
  factories?: Partial<Record<ChannelName, AdapterFactory>>;
  now?: () => number;
  backoff?: Partial<BackoffOptions>;
  /** Delivery queue tuning (tests: short retries). */
  delivery?: Pick<DeliveryQueueOptions, "limits" | "retry" | "adapterPollMs" | "sendTimeoutMs">;
  typingEveryMs?: number;
  onMetric?(ev: ChannelMetricEvent): void;
}

export interface AccountReport extends Omit<Partial<AccountStatus>, "state"> {
  channel: ChannelName;
  accountId: string;
  enabled: boolean;
  configured: boolean;
  state: AccountStatus["state"] | "disabled" | "unconfigured" | "unsupported";
  queueDepth: number;
  error?: string;
  probe?: ProbeResult;
}

/** The answer to a bridged envelope (`POST /v1/inbound`). */
export type BridgeGateResult =
  | { status: "ungated" }
  | { status: "accept"; envelope: InboundEnvelope }
  | { status: "refused"; reason: string; reply: string | null }
  | { status: "pending-history"; reason: string };

const SEND_TIMEOUT_DEFAULT = 120_000;
/** Conversations whose exact reply target is remembered (announces fall back to the row's route). */
const MAX_ROUTES = 10_000;

function accountKey(channel: string, accountId: string): string {
  return `${channel}\u0000${accountId}`;
}

function ledgerId(env: InboundEnvelope & { accountId?: string }): string {
  return createHash("sha256")
    .update([env.channel, env.accountId ?? "", conversationOf(env), env.messageId ?? ""].join("\u0000"))
    .digest("hex")
    .slice(0, 32);
}

function shorten(text: string, max: number): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

function conversationOf(env: Pick<InboundEnvelope, "peerId" | "topicId" | "threadId">): string {
  const sub = env.topicId ?? env.threadId;
  return sub ? `${env.peerId}:${sub}` : env.peerId;
}

const agentPatternCache = new WeakMap<PincerConfig, Map<string, RegExp[] | undefined>>();

/** `agents.list[].groupChat.mentionPatterns` of one agent (OpenClaw reads them before `messages.groupChat`). */
function agentMentionPatterns(config: PincerConfig, agentId: string): RegExp[] | undefined {
  let cache = agentPatternCache.get(config);
  if (!cache) agentPatternCache.set(config, (cache = new Map()));
  if (cache.has(agentId)) return cache.get(agentId);
  const agent = config.agents?.list?.find((a) => a.id.toLowerCase() === agentId);
  const raw = (agent as { groupChat?: { mentionPatterns?: unknown } } | undefined)?.groupChat?.mentionPatterns;
  let patterns: RegExp[] | undefined;
  if (Array.isArray(raw) && raw.length > 0) {
    patterns = [];
    for (const p of raw) {
      if (typeof p !== "string") continue;
      try {
        patterns.push(new RegExp(p, "i"));
      } catch {
        // An invalid pattern is skipped, as OpenClaw does.
      }
    }
  }
  cache.set(agentId, patterns);
  return patterns;
}

/** `textChunkLimit`: the adapter as it is, with a smaller message limit for the chunker. */
function withChunkLimit(adapter: ChannelAdapter, limit: number | undefined): ChannelAdapter {
  if (limit === undefined || limit >= adapter.caps.maxChars) return adapter;
  const caps = { ...adapter.caps, maxChars: limit };
  return {
    channel: adapter.channel,
    accountId: adapter.accountId,
    caps,
    start: (ctx) => adapter.start(ctx),
    stop: () => adapter.stop(),
    send: (chunk) => adapter.send(chunk),
    ...(adapter.typing ? { typing: (t: ReplyTarget) => adapter.typing!(t) } : {}),
    probe: () => adapter.probe(),
    status: () => adapter.status(),
    render: (md) => adapter.render(md),
  };
}

export class ChannelManager {
  readonly accounts: ChannelAccount[];
  readonly pairing: PairingStore;
  readonly gate: AccessGate;
  readonly delivery: DeliveryQueue;
  private readonly opts: ChannelManagerOptions;
  private readonly rt: AgentRuntime;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly dedupe: InboundDedupe;
  private readonly ledger: ReplyLedger;
  private readonly supervisors = new Map<string, AccountSupervisor>();
  private readonly factories: Partial<Record<ChannelName, AdapterFactory>>;
  /** Exact reply targets by the row's route form (`<channel>:<peer>`), so announces reach a Slack DM's channel. */
  private readonly routes = new Map<string, ReplyTarget>();
  private readonly inflight = new Set<Promise<unknown>>();
  private started = false;
  private closed = false;

  constructor(opts: ChannelManagerOptions) {
    this.opts = opts;
    this.rt = opts.runtime;
    this.log = opts.log.child({ component: "channels" });
    this.now = opts.now ?? Date.now;
    this.accounts = resolveChannelAccounts(opts.config, opts.home, opts.env);
    this.factories = opts.factories ?? ADAPTER_FACTORIES;
    this.pairing = new PairingStore({ home: opts.home, now: this.now });
    this.gate = new AccessGate({
      config: opts.config,
      pairing: this.pairing,
      activation: async (env) => {
        const route = this.rt.manager.routeOf(env);
        return (await this.rt.manager.get(route.agentId, route.sessionKey))?.groupActivation;
      },
      agentPatterns: (env) => {
        try {
          return agentMentionPatterns(opts.config, this.rt.manager.routeOf(env).agentId);
        } catch {
          return undefined;
        }
      },
    });
    const dir = path.join(opts.home, "channels");
    this.delivery = new DeliveryQueue({
      dir: path.join(dir, "outbox"),
      adapterFor: (channel, accountId) => this.supervisors.get(accountKey(channel, accountId))?.adapter,
      log: this.log,
      now: this.now,
      sendTimeoutMs: SEND_TIMEOUT_DEFAULT,
      ...opts.delivery,
      onEvent: (ev) => {
        if (ev.type === "sent") this.supervisors.get(accountKey(ev.channel, ev.accountId))?.noteOutbound();
        opts.onMetric?.(ev);
      },
    });
    this.dedupe = new InboundDedupe({ dir: path.join(dir, "inbound"), now: this.now });
    this.ledger = new ReplyLedger(dir);
  }

  /** Whether any native channel is configured (the gateway skips the layer otherwise). */
  get configured(): boolean {
    return this.accounts.length > 0;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.delivery.open();
    await this.dedupe.open();
    const { pending, bad } = this.ledger.open();
    if (bad > 0) this.log.warn({ bad }, "reply ledger: unreadable lines skipped");
    this.rt.outboundSink = (msg) => this.announce(msg);
    for (const { path: key, entry } of unmatchableTelegramAllowEntries(this.opts.config.channels?.telegram))
      this.log.warn(
        { key, entry },
        `${key}: ${JSON.stringify(entry)} never matches: Telegram senders are allowed by numeric user id only (a @username can change hands); replace it with the user's id`,
      );
    for (const account of this.accounts) this.startAccount(account);
    // Messages recorded before the last stop whose answer never reached the outbox.
    for (const entry of pending) this.track(this.replay(entry));
  }

  private startAccount(account: ChannelAccount): void {
    const { channel, accountId } = account.settings;
    if (!account.enabled) return;
    if (account.unusable) {
      this.log.warn({ channel, accountId, problem: account.unusable }, "channel account not started");
      return;
    }
    const factory = this.factories[channel];
    if (!factory) {
      this.log.warn({ channel, accountId }, "channel account not started: no adapter for this channel in this build");
      return;
    }
    const sup = new AccountSupervisor({
      channel,
      accountId,
      create: () => withChunkLimit(factory(account.settings), account.textChunkLimit),
      ingest: (msg) => this.ingest(account, msg),
      state: new FileStateStore(path.join(this.opts.home, "channels", "state"), channel, accountId),
      log: this.log,
      now: this.now,
      ...(this.opts.backoff ? { backoff: this.opts.backoff } : {}),
      onSkipped: (reason) => this.opts.onMetric?.({ type: "skipped", channel, accountId, reason }),
      onStarted: () => this.delivery.kick(channel, accountId),
    });
    this.supervisors.set(accountKey(channel, accountId), sup);
    void sup.start();
  }

  /** Stops taking messages (adapters disconnected); the outbound queue keeps working until `close`. */
  async stopInbound(): Promise<void> {
    await Promise.all([...this.supervisors.values()].map((s) => s.stop()));
  }

  /** After the runtime drained: waits for the answers of finished turns to be enqueued, then closes the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stopInbound();
    this.rt.outboundSink = undefined;
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    await this.delivery.close();
    await this.dedupe.close();
    await this.ledger.close();
  }

  /**
   * One inbound platform message of `account` (the adapter awaits this before acknowledging). It is
   * in the reply ledger (fsync) before anything else, so a crash at any later step is finished by
   * the next start (`replay`), however far it got: the dedupe claim, the gate, the record.
   */
  async ingest(account: ChannelAccount, msg: ChannelInbound): Promise<IngestResult> {
    const { channel, accountId } = account.settings;
    const env: ChannelInbound["envelope"] = { ...msg.envelope, channel, accountId };
    this.opts.onMetric?.({ type: "received", channel, accountId });
    if (this.closed) return { status: "refused", reason: "gateway shutting down" };
    const entry: LedgerEntry = {
      id: ledgerId(env),
      at: this.now(),
      inbound: { envelope: env, reply: msg.reply, ...(msg.mention ? { mention: msg.mention } : {}) },
    };
    // A redelivery while the first delivery is still being worked on.
    if (this.ledger.has(entry.id)) return this.duplicate(channel, accountId);
    await this.ledger.add(entry);
    if (!(await this.dedupe.claim(channel, accountId, conversationOf(env), env.messageId))) {
      await this.ledger.done(entry.id);
      return this.duplicate(channel, accountId);
    }
    return this.admit(account, entry, false);
  }

  private duplicate(channel: ChannelName, accountId: string): IngestResult {
    this.opts.onMetric?.({ type: "duplicate", channel, accountId });
    return { status: "duplicate" };
  }

  /** The gate, then the record; the answer is enqueued when the turn ends (`answer`). */
  private async admit(account: ChannelAccount, entry: LedgerEntry, replayed: boolean): Promise<IngestResult> {
    const { channel, accountId } = account.settings;
    const {
      envelope: env,
      reply,
      mention,
    } = entry.inbound as LedgerEntry["inbound"] & { envelope: ChannelInbound["envelope"] };
    const decision = await this.gate.decide({ envelope: env, ...(mention ? { mention } : {}) }, account.access);
    const refused = await this.applyRefusal(decision, account, env, reply, entry.id);
    if (refused) {
      await this.ledger.done(entry.id);
      return refused;
    }
    const accepted = (decision as Extract<GateDecision, { action: "accept" }>).envelope;
    this.rememberRoute(env, reply);
    let submitted;
    try {
      submitted = await this.rt.submit(
        { ...accepted, channel, accountId, messageId: env.messageId },
        { surface: "channel" },
      );
    } catch (err) {
      // Not stored: a redelivery of it is taken again.
      await this.ledger.done(entry.id);
      if (!replayed) await this.dedupe.release(channel, accountId, conversationOf(env), env.messageId);
      this.log.warn({ channel, accountId, err: (err as Error).message }, "channel message not accepted");
      this.opts.onMetric?.({ type: "refused", channel, accountId, reason: "invalid" });
      return { status: "refused", reason: (err as Error).message };
    }
    const adapter = this.supervisors.get(accountKey(channel, accountId))?.adapter;
    const stopTyping =
      adapter?.caps.typing && adapter.typing ? keepTyping(adapter, reply, this.typingOpts()) : () => undefined;
    this.track(submitted.done.then((outcome) => this.answer(entry, outcome, replayed)).finally(stopTyping));
    return { status: "accepted", sessionKey: submitted.sessionKey };
  }

  /** The exact reply target of a conversation's last message, for announces to its row route (bounded). */
  private rememberRoute(env: InboundEnvelope, reply: ReplyTarget): void {
    const key = `${env.channel}:${env.chatType === "direct" ? env.senderId : env.peerId}`;
    const { replyToMessageId: _omit, ...target } = reply;
    this.routes.delete(key);
    this.routes.set(key, target);
    if (this.routes.size > MAX_ROUTES) this.routes.delete(this.routes.keys().next().value!);
  }

  private typingOpts(): { everyMs?: number } {
    return this.opts.typingEveryMs !== undefined ? { everyMs: this.opts.typingEveryMs } : {};
  }

  /** Refused, pairing and pending decisions: counted, the pairing code sent; null when accepted. */
  private async applyRefusal(
    decision: GateDecision,
    account: ChannelAccount,
    env: InboundEnvelope,
    reply: ReplyTarget | undefined,
    entryId: string,
  ): Promise<IngestResult | null> {
    const { channel, accountId } = account.settings;
    switch (decision.action) {
      case "accept":
        return null;
      case "pending":
        this.opts.onMetric?.({ type: "pending", channel, accountId });
        return { status: "pending-history" };
      case "pairing":
        if (decision.created && decision.code && reply) {
          this.log.info({ channel, accountId, sender: env.senderId }, "pairing request created");
          await this.deliver(
            { ...reply, replyToMessageId: undefined } as ReplyTarget,
            pairingReply(channel, env.senderId, decision.code),
            { agentId: "main", kind: "pairing" },
            `pairing:${entryId}`,
          );
        }
        this.opts.onMetric?.({ type: "refused", channel, accountId, reason: "pairing" });
        return { status: "refused", reason: decision.reason };
      case "refuse":
        this.log.debug(
          { channel, accountId, sender: env.senderId, reason: decision.reason },
          "inbound refused by the access gate",
        );
        this.opts.onMetric?.({ type: "refused", channel, accountId, reason: decision.reason.split(" ")[0]! });
        return { status: "refused", reason: decision.reason };
    }
  }

  /** A finished turn of a channel message: its answer into the outbox, then the ledger entry closed. */
  private async answer(entry: LedgerEntry, outcome: TurnOutcome, replayed: boolean): Promise<void> {
    try {
      const wanted = outcome.reply !== null && outcome.delivered && (replayed || outcome.status !== "duplicate");
      if (wanted && outcome.reply!.trim() !== "") {
        // The ledger entry's id: a restart that finds the entry open (died after the enqueue,
        // before `done`) answers it again, and the outbox keeps the first enqueue only.
        await this.deliver(
          entry.inbound.reply,
          outcome.reply!,
          {
            agentId: outcome.agentId,
            sessionKey: outcome.sessionKey,
            kind: outcome.status === "command" ? "command" : "reply",
          },
          `reply:${entry.id}`,
        );
      }
      await this.ledger.done(entry.id);
    } catch (err) {
      // Left open: the next start answers it again from the transcript.
      this.log.error({ err, sessionKey: outcome.sessionKey }, "channel reply not enqueued (kept for the next start)");
    }
  }

  /** An entry left open by the last run: admitted again (the runtime answers a recorded message from its transcript). */
  private async replay(entry: LedgerEntry): Promise<void> {
    const env = entry.inbound.envelope;
    const account = this.accounts.find(
      (a) => a.settings.channel === env.channel && a.settings.accountId === env.accountId,
    );
    try {
      if (!account) throw new Error(`account ${env.channel}/${env.accountId ?? ""} is no longer configured`);
      await this.admit(account, entry, true);
    } catch (err) {
      this.log.error({ err }, "channel message from before the restart could not be answered");
      await this.ledger.done(entry.id).catch(() => undefined);
    }
  }

  /**
   * The one outbound point: the send policy (and `/send off`) of the session, then the durable
   * queue. Returns the outbox id, or undefined when nothing was enqueued (denied, or no such
   * channel account). A `dedupeId` seen before returns the first message's outbox id.
   */
  async deliver(
    target: ReplyTarget,
    markdown: string,
    origin: { agentId: string; sessionKey?: string; kind: OriginKind },
    dedupeId?: string,
  ): Promise<string | undefined> {
    if (
      !this.accounts.some((a) => a.settings.channel === target.channel && a.settings.accountId === target.accountId)
    ) {
      this.log.warn(
        { channel: target.channel, accountId: target.accountId },
        "outbound message for an account that is not configured: dropped",
      );
      return undefined;
    }
    if (origin.sessionKey) {
      const entry = await this.rt.manager.get(origin.agentId, origin.sessionKey);
      const chatType = entry?.chatType;
      if (
        this.rt.sendDecision(entry, origin.sessionKey, {
          channel: target.channel,
          ...(chatType ? { chatType } : {}),
        }) === "deny"
      )
        return undefined;
    }
    return this.delivery.enqueue({ target, markdown, origin, ...(dedupeId ? { dedupeId } : {}) });
  }

  /** A session's last route as a reply target (row `deliveryContext`), if it is a native channel. */
  targetFromRoute(route: OutboundMessage["route"]): ReplyTarget | undefined {
    const channel = route.channel;
    if (!channel || !isNativeChannel(channel) || !route.to) return undefined;
    const exact = this.routes.get(route.to);
    const to = route.to.startsWith(`${channel}:`) ? route.to.slice(channel.length + 1) : route.to;
    const accountId = route.accountId ?? exact?.accountId ?? "default";
    const target: ReplyTarget = { channel, accountId, to: exact && exact.accountId === accountId ? exact.to : to };
    const threadId = route.threadId ?? exact?.threadId;
    if (threadId !== undefined) target.threadId = threadId;
    return target;
  }

  /** Announces and `sessions_send` answers (runtime.onOutbound → the session's last route). */
  private async announce(msg: OutboundMessage): Promise<void> {
    const target = this.targetFromRoute(msg.route);
    if (!target) return;
    try {
      await this.deliver(
        target,
        msg.text,
        { agentId: msg.agentId, sessionKey: msg.sessionKey, kind: "announce" },
        msg.dedupeId ? `announce:${msg.dedupeId}` : undefined,
      );
    } catch (err) {
      this.log.error({ err, sessionKey: msg.sessionKey }, "announce not enqueued");
    }
  }

  /** Cron: the job's `deliver` target, else the session's last route. */
  async deliverCron(
    outcome: TurnOutcome,
    deliver: { channel: ChannelName; to: string; accountId?: string; threadId?: string } | undefined,
  ): Promise<string | undefined> {
    if (!outcome.reply || !outcome.delivered) return undefined;
    let target: ReplyTarget | undefined;
    if (deliver) {
      const accountId = deliver.accountId ?? this.opts.config.channels?.[deliver.channel]?.defaultAccount ?? "default";
      target = { channel: deliver.channel, accountId, to: deliver.to };
      if (deliver.threadId) target.threadId = deliver.threadId;
    } else {
      const entry = await this.rt.manager.get(outcome.agentId, outcome.sessionKey);
      target = entry
        ? this.targetFromRoute({
            channel: entry.deliveryContext?.channel ?? entry.lastChannel,
            to: entry.deliveryContext?.to ?? entry.lastTo,
            accountId: entry.deliveryContext?.accountId ?? entry.lastAccountId,
            threadId: entry.deliveryContext?.threadId ?? entry.lastThreadId,
          })
        : undefined;
    }
    if (!target) return undefined;
    // Nothing re-runs a cron fire after a restart (croner does not catch up), so the run id only
    // guards a second call for the same run.
    return this.deliver(
      target,
      outcome.reply,
      { agentId: outcome.agentId, sessionKey: outcome.sessionKey, kind: "cron" },
      `cron:${outcome.runId}`,
    );
  }

  /** `POST /v1/inbound`: the gate for a bridged envelope whose channel has a `channels.<ch>` block. */
  async gateEnvelope(body: unknown): Promise<BridgeGateResult> {
    const env = body as Partial<InboundEnvelope> | null;
    if (!env || typeof env !== "object" || typeof env.channel !== "string") return { status: "ungated" };
    const channel = env.channel.trim().toLowerCase();
    const access = accessFor(this.accounts, channel, typeof env.accountId === "string" ? env.accountId : undefined);
    if (!access) return { status: "ungated" };
    // Malformed envelopes are the runtime's to refuse (400 with the field); the gate needs these.
    if (
      typeof env.chatType !== "string" ||
      typeof env.senderId !== "string" ||
      typeof env.peerId !== "string" ||
      typeof env.text !== "string"
    )
      return { status: "ungated" };
    const account = this.accounts.find((a) => a.access === access)!;
    const envelope = { ...(env as InboundEnvelope) };
    this.opts.onMetric?.({ type: "received", channel, accountId: access.accountId });
    const decision = await this.gate.decide({ envelope }, access);
    switch (decision.action) {
      case "accept":
        return { status: "accept", envelope: decision.envelope };
      case "pending":
        this.opts.onMetric?.({ type: "pending", channel, accountId: access.accountId });
        return { status: "pending-history", reason: decision.reason };
      case "pairing":
        this.opts.onMetric?.({ type: "refused", channel, accountId: access.accountId, reason: "pairing" });
        // A bridge delivers the pairing text itself, as it delivers replies.
        return {
          status: "refused",
          reason: decision.reason,
          reply: decision.created && decision.code ? pairingReply(channel, envelope.senderId, decision.code) : null,
        };
      case "refuse":
        void account;
        this.opts.onMetric?.({
          type: "refused",
          channel,
          accountId: access.accountId,
          reason: decision.reason.split(" ")[0]!,
        });
        return { status: "refused", reason: decision.reason, reply: null };
    }
  }

  async listPairing(channel: string, accountId?: string): Promise<PairingRequest[]> {
    return this.pairing.list(channel, accountId);
  }

  /** Approves a code; with `notify`, tells the sender (over the channel) that they may now talk. */
  async approvePairing(channel: string, code: string, opts: { accountId?: string; notify?: boolean } = {}) {
    const approved = await this.pairing.approve(channel, code, opts.accountId);
    if (approved && opts.notify && isNativeChannel(channel)) {
      await this.deliver(
        { channel, accountId: approved.accountId, to: approved.id },
        "✅ Pincer: access approved. Send a message to start.",
        {
          agentId: "main",
          kind: "notice",
        },
      ).catch((err: unknown) => this.log.warn({ err }, "pairing approval notice not sent"));
    }
    return approved;
  }

  rejectPairing(channel: string, code: string, accountId?: string): Promise<PairingRequest | null> {
    return this.pairing.reject(channel, code, accountId);
  }

  /** Per channel and account: state, liveness, errors, queue depth; `probe` asks each running adapter. */
  async status(opts: { probe?: boolean } = {}): Promise<AccountReport[]> {
    const out: AccountReport[] = [];
    for (const account of this.accounts) {
      const { channel, accountId } = account.settings;
      const sup = this.supervisors.get(accountKey(channel, accountId));
      const base = {
        channel,
        accountId,
        enabled: account.enabled,
        configured: !account.unusable,
        queueDepth: this.delivery.depth(channel, accountId),
      };
      if (!sup) {
        const state = !account.enabled ? "disabled" : account.unusable ? "unconfigured" : "unsupported";
        out.push({
          ...base,
          state,
          connected: false,
          ...(account.unusable
            ? { error: account.unusable }
            : state === "unsupported"
              ? { error: "no adapter for this channel in this build" }
              : {}),
        });
        continue;
      }
      const st = sup.status();
      const report: AccountReport = { ...base, ...st, ...(st.lastError ? { error: st.lastError } : {}) };
      if (opts.probe && sup.adapter)
        report.probe = await sup.adapter.probe().catch((err: unknown) => ({ ok: false, error: String(err) }));
      out.push(report);
    }
    return out;
  }

  /** The `/status` line: one short fact per account. */
  statusLine(): string | undefined {
    if (this.accounts.length === 0) return undefined;
    const parts = this.accounts.map((a) => {
      const { channel, accountId } = a.settings;
      const sup = this.supervisors.get(accountKey(channel, accountId));
      const name = accountId === "default" ? channel : `${channel}/${accountId}`;
      const state = sup ? sup.status() : undefined;
      const word = !a.enabled
        ? "disabled"
        : a.unusable
          ? "unconfigured"
          : !state
            ? "unsupported"
            : state.connected
              ? "connected"
              : state.state;
      const depth = this.delivery.depth(channel, accountId);
      // A stopped account says why (a revoked token: "fatal: 401 …"), shortened for the card.
      const why = state && !state.connected && state.lastError ? `: ${shorten(state.lastError, 80)}` : "";
      return `${name} ${word}${why}${depth > 0 ? ` (${depth} queued)` : ""}`;
    });
    return `📡 Channels: ${parts.join(" · ")}`;
  }

  /** The adapter of a running account (tests, probes). */
  adapterOf(channel: ChannelName, accountId = "default"): ChannelAdapter | undefined {
    return this.supervisors.get(accountKey(channel, accountId))?.adapter;
  }

  /** Resolves when no answer is being enqueued and the queue has nothing due (tests). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    await this.delivery.idle();
  }

  private track(p: Promise<unknown>): void {
    const guarded = p.catch((err: unknown) => this.log.error({ err }, "channel background work failed"));
    this.inflight.add(guarded);
    void guarded.finally(() => this.inflight.delete(guarded));
  }
}
