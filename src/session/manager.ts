/**
 * The session manager: the library API for embedding Pincer. It routes an inbound message to its
 * session, applies the lifecycle (lazy, exact resets), records the message durably before
 * returning, and answers listing and history questions. One store per agent.
 */
import { randomUUID } from "node:crypto";
import { parseEnvelope } from "../keys/envelope-schema.ts";
import type { InboundEnvelope } from "../keys/envelope.ts";
import { legacyAdoption, type AdoptionVerdict } from "../keys/legacy-adoption.ts";
import { resolveRoute, type ResolvedRoute, type RoutingConfig } from "../keys/routing.ts";
import { resetTypeForKey } from "../keys/session-key-helpers.ts";
import { systemClock, type Clock } from "../lifecycle/clock.ts";
import { evaluateFreshness } from "../lifecycle/freshness.ts";
import { resolveResetPolicy } from "../lifecycle/policy.ts";
import { buildResetEntry, detectResetTrigger } from "../lifecycle/reset.ts";
import type { SessionEntry } from "../store/entry.ts";
import { sessionFileFor, transcriptIdOf } from "../store/session-file.ts";
import {
  appendAndPatch,
  type Fence,
  type ListFilter,
  type ListOptions,
  type ListPage,
  type PatchMutator,
  type PatchResult,
  type SessionRow,
  type SessionStore,
  type TranscriptLine,
} from "../store/types.ts";
import {
  emptyUsage,
  type AssistantMessage,
  type NewEntry,
  type TranscriptEntry,
  type Usage,
  type UserMessage,
} from "../transcript/entries.ts";
import { historyFromLines, type HistoryItem } from "../transcript/history.ts";
import { ParsedTranscriptCache, type TranscriptView } from "../transcript/parsed-cache.ts";
import { TranscriptWriter } from "../transcript/writer.ts";
import { KeyedLane } from "./keyed-lane.ts";
import { HeldRowCache } from "./held-rows.ts";
import { SessionLeases } from "./session-leases.ts";
import { applyRouteFields } from "./row-origin.ts";
import { SessionNotFoundError } from "./session-not-found.ts";
import { forkedLines, planThreadFork } from "./thread-fork.ts";
import { refKey, refOfKey } from "./session-ref.ts";
import { MaintenanceRunner, type MaintenanceWarning } from "../maintenance/runner.ts";
import type { MaintenanceSettings } from "../config/maintenance-settings.ts";

/** Row fields that describe one transcript, not the conversation: `clear` drops them with the history. */
const PER_TRANSCRIPT_FIELDS = [
  "inputTokens",
  "outputTokens",
  "cacheRead",
  "cacheWrite",
  "totalTokens",
  "totalTokensFresh",
  "contextTokens",
  "compactionCount",
  "memoryFlushAt",
  "memoryFlushCompactionCount",
  "systemSent",
  "abortedLastRun",
  "abortCutoffMessageSid",
  "abortCutoffTimestamp",
  "forkedFromParent",
  "cliSessionIds",
  "claudeCliSessionId",
  "systemPromptReport",
  "fallbackNoticeSelectedModel",
  "fallbackNoticeActiveModel",
  "fallbackNoticeReason",
] as const;

/** Lines read from a legacy transcript's end to find its newest user message. */
const LEGACY_INTERACTION_TAIL = 256;

/** Times a legacy row lacks, read from its transcript. */
interface LegacyTimes {
  startedAt?: number;
  lastInteractionAt?: number;
}

/** When the newest message from a user (not another session, not the system) was written. */
function lastUserMessageAt(lines: readonly TranscriptLine[]): number | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    const message = line.message as
      { role?: unknown; timestamp?: unknown; provenance?: { kind?: unknown } } | undefined;
    if (line.type !== "message" || message?.role !== "user") continue;
    const kind = message.provenance?.kind;
    if (kind !== undefined && kind !== "external_user") continue;
    const at =
      typeof message.timestamp === "number"
        ? message.timestamp
        : typeof line.timestamp === "string"
          ? Date.parse(line.timestamp)
          : NaN;
    if (Number.isFinite(at)) return at;
  }
  return undefined;
}

/** Rows read per store page by findSessions (a label or session-id lookup). */
const FIND_PAGE_ROWS = 500;
/**
 * Transcript lines read with a shared session's lease to catch up on what another gateway appended
 * since this one last held it: a turn there adds two or three; more falls back to a longer read.
 */
const CATCH_UP_LINES = 8;

/** The combined inbound write found the row calling for a reset; it wrote nothing. */
class CombinedWriteDeclined extends Error {
  constructor(sessionId: string) {
    super(`inbound write on session ${sessionId} declined: the stored row calls for a reset`);
  }
}

/** The parts of the config the manager reads (a parsed Pincer config satisfies it). */
export interface ManagerConfig extends RoutingConfig {
  session?: RoutingConfig["session"] & {
    reset?: { mode?: "daily" | "idle" | "none"; atHour?: number; idleMinutes?: number };
    resetByType?: Record<
      string,
      { mode?: "daily" | "idle" | "none"; atHour?: number; idleMinutes?: number } | undefined
    >;
    resetByChannel?: Record<string, { mode?: "daily" | "idle" | "none"; atHour?: number; idleMinutes?: number }>;
    idleMinutes?: number;
    resetTriggers?: string[];
    timeZone?: string;
    /** A thread's parent over this many tokens is not copied into it (0: no limit; default 100 000). */
    parentForkMaxTokens?: number;
  };
}

export interface SessionManagerOptions {
  config: ManagerConfig;
  /** The store of one agent (the same instance for the same agent). */
  storeFor: (agentId: string) => Promise<SessionStore>;
  clock?: Clock;
  /** Working directory recorded in new transcript headers (the agent's workspace). */
  workspaceFor?: (agentId: string) => string;
  /** Automatic maintenance (time-based, in the background); off when omitted. */
  maintenance?: MaintenanceSettings & { intervalMs?: number };
  onMaintenanceWarning?: (warning: MaintenanceWarning) => void;
  onBackgroundError?: (err: unknown) => void;
  /**
   * Set when several gateway processes share the store: every session is leased across processes
   * (see session-leases.ts) while this process works on it.
   */
  sharedSessions?: {
    leaseTtlMs: number;
    leaseWaitMs: number;
    onLost?: (agentId: string, sessionKey: string, err: unknown, state: { idle: boolean }) => void;
  };
  /** Memory for whole transcripts kept parsed between turns, all agents together (default 64 MiB). */
  transcriptCacheBytes?: number;
  /** A row OpenClaw wrote under its form of a key was adopted, or refused (it could be another peer's). */
  onLegacyKey?: (event: LegacyKeyEvent) => void;
}

/** What happened to a row found under OpenClaw's form of a key. */
export interface LegacyKeyEvent {
  agentId: string;
  sessionKey: string;
  legacyKey: string;
  adopted: boolean;
  why: string;
}

export type StaleReason = "daily" | "idle";
export type ResetReason = StaleReason | "new-session" | "trigger" | "manual";

export interface ResolveResult {
  agentId: string;
  sessionKey: string;
  chatType: InboundEnvelope["chatType"];
  matchedBy: string;
  sessionId: string | null;
  fresh: boolean;
  staleReason: StaleReason | null;
  nextResetAt: number | null;
  /** A row under OpenClaw's form of the key, when Pincer's key has none: adopted on the next message, or refused. */
  legacy?: { key: string; adopt: boolean; why: string };
}

export interface InboundResult {
  agentId: string;
  sessionKey: string;
  sessionId: string;
  entry: SessionEntry;
  isNewSession: boolean;
  /** Why a new session id was minted (null when the existing session continued). */
  resetReason: ResetReason | null;
  previousSessionId: string | null;
  /** The message text after a reset trigger was stripped (empty for a bare `/new`). */
  body: string;
  /** The transcript entry written for the message (null for a bare trigger or a duplicate). */
  messageEntry: TranscriptEntry | null;
  /** True when this message id was already recorded (a retried delivery): nothing was written. */
  duplicate: boolean;
  /** For a duplicate: the transcript entry id of the first delivery. */
  duplicateOf?: string;
}

export interface AssistantReply {
  text: string;
  provider?: string;
  model?: string;
  api?: string;
  usage?: Partial<Usage>;
  stopReason?: AssistantMessage["stopReason"];
}

export interface InboundOptions {
  /** Non-interactive turns (cron, heartbeat, system events) never extend idle freshness. */
  interactive?: boolean;
  /** Whether the sender may run reset triggers (the gateway's command authorisation). */
  commandAuthorized?: boolean;
  /** False for command-only messages: the session is touched (and reset if stale) but the text is not recorded. */
  recordMessage?: boolean;
  /**
   * Called synchronously inside the session's lane right after the message is durable, before any
   * later read or write of the session — the gateway queues the message here, so a run reading the
   * transcript can never see a message that is not yet in its queue.
   */
  onRecorded?: (result: InboundResult) => void;
  /** Records into this session instead of routing the envelope (hooks, cron, WebChat, explicit keys). */
  target?: { agentId: string; sessionKey: string };
  /**
   * False for internal traffic (agent-to-agent messages, sub-agent announces, WebChat): the
   * session's chat type, origin and last route are left as they are, so replies meant for the
   * session's real channel still find it.
   */
  touchRoute?: boolean;
  /** Where the message came from when it is not an external user (stored on the message). */
  provenance?: UserMessage["provenance"];
}

export class SessionManager {
  private readonly config: ManagerConfig;
  private readonly storeFor: (agentId: string) => Promise<SessionStore>;
  private readonly clock: Clock;
  private readonly workspaceFor: (agentId: string) => string;
  private readonly writers = new Map<SessionStore, TranscriptWriter>();
  /**
   * Per store: session ids whose transcript is stored under another name (OpenClaw's `sessionFile`,
   * e.g. `<id>-topic-42`), learned from every row this manager reads or writes.
   */
  private readonly transcriptNames = new WeakMap<SessionStore, Map<string, string>>();
  /** Parsed transcripts of every agent's writer, under one byte budget. */
  readonly transcriptCache: ParsedTranscriptCache;
  private readonly lanes = new KeyedLane();
  private readonly maintenance: MaintenanceRunner | null;
  /** Cross-process session ownership; null when this process is the store's only writer. */
  readonly leases: SessionLeases | null;
  /** Rows of held sessions (shared stores only): a turn reads its row without a round trip. */
  private readonly heldRows: HeldRowCache | null;
  private readonly onLegacyKey: ((event: LegacyKeyEvent) => void) | undefined;

  constructor(options: SessionManagerOptions) {
    this.config = options.config;
    this.storeFor = options.storeFor;
    this.clock = options.clock ?? systemClock;
    this.workspaceFor = options.workspaceFor ?? (() => process.cwd());
    this.transcriptCache = new ParsedTranscriptCache(options.transcriptCacheBytes);
    this.onLegacyKey = options.onLegacyKey;
    this.maintenance = options.maintenance
      ? new MaintenanceRunner({
          settings: options.maintenance,
          intervalMs: options.maintenance.intervalMs,
          now: () => this.clock.now(),
          protectedKeys: () => this.protectedKeys(),
          onWarning: options.onMaintenanceWarning,
          onError: options.onBackgroundError,
        })
      : null;
    const shared = options.sharedSessions;
    this.leases = shared
      ? new SessionLeases({
          storeFor: this.storeFor,
          ttlMs: shared.leaseTtlMs,
          waitMs: shared.leaseWaitMs,
          onLost: shared.onLost,
          onAcquired: async (_agentId, sessionKey, store, continuous, read) => {
            // The row read with the lease serves the hold's first readRow.
            if (read) this.heldRows?.rememberUnder(read.hold, read.row);
            if (continuous) return;
            // Another gateway may have appended since this one last held the session.
            const row = read ? read.row : await store.get(sessionKey);
            if (!row) return;
            const tail = read?.tail?.sessionId === this.transcriptId(store, row.sessionId) ? read.tail : undefined;
            await this.writerFor(store).refresh(row.sessionId, tail);
          },
          tailHint: (agentId, sessionKey, store) => {
            // Only a transcript this process has state of needs catching up (see TranscriptWriter.refresh).
            const sessionId = this.heldRows?.lastSessionId(agentId, sessionKey);
            if (!sessionId || !this.writerFor(store).knows(sessionId)) return undefined;
            return { sessionId: this.transcriptId(store, sessionId), lines: CATCH_UP_LINES };
          },
        })
      : null;
    this.heldRows = this.leases ? new HeldRowCache(this.leases) : null;
  }

  /** The session's row; `inLane` when called inside the session's lane (then the read is cached). */
  private async readRow(
    store: SessionStore,
    agentId: string,
    sessionKey: string,
    inLane: boolean,
  ): Promise<SessionEntry | undefined> {
    const hit = this.heldRows?.lookup(agentId, sessionKey);
    if (hit) return this.learn(store, hit.row);
    const row = await store.get(sessionKey);
    if (inLane) this.heldRows?.remember(agentId, sessionKey, row);
    return this.learn(store, row);
  }

  /** Patches a row inside the session's lane, keeping the held-row cache current. */
  private async patchRow(
    store: SessionStore,
    agentId: string,
    sessionKey: string,
    mutator: PatchMutator,
  ): Promise<PatchResult> {
    const res = await store.patch(sessionKey, mutator);
    this.heldRows?.remember(agentId, sessionKey, res.after);
    this.learn(store, res.before);
    this.learn(store, res.after);
    return res;
  }

  /**
   * Appends entries to the transcript and then patches the row, inside the session's lane: as one
   * atomic write where the store offers it (one transaction / script on postgres and redis).
   */
  private async appendThenPatch(
    store: SessionStore,
    agentId: string,
    sessionKey: string,
    sessionId: string,
    entries: readonly NewEntry[],
    now: number,
    mutator: PatchMutator | undefined,
    last = false,
  ): Promise<{ written: TranscriptEntry[]; after: SessionEntry | undefined }> {
    // `last`: the caller's last write of its work here; the lease may be freed with it (SessionLeases.fence).
    const fence = this.leases?.fence(agentId, sessionKey, last && mutator !== undefined);
    let patched: PatchResult | null = null;
    const written = await this.writerFor(store).append(sessionId, entries, {
      now,
      cwd: this.workspaceFor(agentId),
      fence,
      ...(mutator
        ? {
            write: async (lines: TranscriptLine[]) => {
              patched = await appendAndPatch(
                store,
                this.transcriptId(store, sessionId),
                lines,
                fence,
                sessionKey,
                mutator,
                // The row as this holder last saw it: the store may write in one round trip. Not a
                // copy: the store only reads it (and `patched.before`, which may be it, is not used).
                (fence && this.heldRows?.peek(agentId, sessionKey)) || undefined,
              );
            },
          }
        : {}),
    });
    const after = patched ? (patched as PatchResult).after : undefined;
    if (patched) this.heldRows?.remember(agentId, sessionKey, this.learn(store, after));
    // The write renewed the lease on its way: the background renewal can wait.
    const renewedTo = patched ? (patched as PatchResult).leaseExpiresAt : undefined;
    if (fence && renewedTo !== undefined) this.leases?.renewedBy(agentId, sessionKey, fence, renewedTo);
    if (fence && patched && (patched as PatchResult).leaseReleased) this.leases?.freedBy(agentId, sessionKey, fence);
    return { written, after };
  }

  /**
   * Runs work on one session: one at a time in this process (the lane) and, on a shared store,
   * only while this process holds the session's lease.
   */
  private inSession<T>(agentId: string, sessionKey: string, work: () => Promise<T>): Promise<T> {
    const leases = this.leases;
    return this.lanes.run(
      refKey({ agentId, sessionKey }),
      leases ? () => leases.with(agentId, sessionKey, work) : work,
    );
  }

  private fenceOf(agentId: string, sessionKey: string): Fence | undefined {
    return this.leases?.fence(agentId, sessionKey);
  }

  /** Never removed by maintenance: every agent's main session and sessions with work in flight. */
  protectedKeys(): Set<string> {
    const mainKey = this.config.session?.mainKey ?? "main";
    const keys = new Set<string>();
    for (const a of this.config.agents?.list ?? []) keys.add(`agent:${a.id.toLowerCase()}:${mainKey}`);
    keys.add(`agent:main:${mainKey}`);
    for (const laneKey of this.lanes.activeKeys()) keys.add(refOfKey(laneKey).sessionKey);
    // On a shared store: sessions with a run in flight or queued here, between lane operations too.
    for (const key of this.leases?.heldKeys() ?? []) keys.add(key);
    return keys;
  }

  /** Explains how a message would be routed and whether it would start a new session. No writes. */
  async resolve(input: unknown): Promise<ResolveResult> {
    const envelope = parseEnvelope(input);
    const route = resolveRoute(envelope, this.config);
    const store = await this.storeFor(route.agentId);
    let entry = await store.get(route.sessionKey);
    const now = this.clock.now();
    const base = {
      agentId: route.agentId,
      sessionKey: route.sessionKey,
      chatType: route.chatType,
      matchedBy: route.matchedBy,
    };
    let legacy: ResolveResult["legacy"];
    if (!entry) {
      const found = await this.legacyRow(store, route, envelope);
      if (found) {
        legacy = { key: found.key, adopt: found.verdict.adopt, why: found.verdict.why };
        if (found.verdict.adopt) entry = found.row;
      }
    }
    if (!entry)
      return {
        ...base,
        sessionId: null,
        fresh: false,
        staleReason: null,
        nextResetAt: null,
        ...(legacy ? { legacy } : {}),
      };
    const verdict = this.freshness(entry, route.resetType, route.channel, now, await this.legacyTimes(store, entry));
    return {
      ...base,
      sessionId: entry.sessionId,
      fresh: verdict.fresh,
      staleReason: verdict.staleReason,
      nextResetAt: verdict.nextResetAt,
      ...(legacy ? { legacy } : {}),
    };
  }

  /** The row under OpenClaw's form of the route's key, with whether it may be adopted. */
  private async legacyRow(
    store: SessionStore,
    route: ResolvedRoute,
    envelope: InboundEnvelope,
  ): Promise<{ key: string; row: SessionEntry; verdict: AdoptionVerdict } | null> {
    const key = route.legacyKey;
    if (key === undefined) return null;
    const row = await store.get(key);
    if (!row) return null;
    const verdict = legacyAdoption(key, route.sessionKey, row, {
      channel: route.channel,
      senderId: envelope.senderId,
      ...(envelope.chatType !== "direct" ? { groupPeerId: envelope.peerId.trim() } : {}),
      ...(route.peerLinkIds ? { linkedIds: route.peerLinkIds } : {}),
    });
    return { key, row, verdict };
  }

  /**
   * On a miss under Pincer's key: adopts the row OpenClaw wrote under its form of the key, moving
   * it to Pincer's key in one atomic step (the transcript stays where it is: the row names it), so
   * the conversation continues. A row that could be another peer's is left alone and reported.
   */
  private async adoptLegacyRow(
    store: SessionStore,
    route: ResolvedRoute,
    envelope: InboundEnvelope,
  ): Promise<SessionEntry | undefined> {
    const found = await this.legacyRow(store, route, envelope);
    if (!found) return undefined;
    const event = {
      agentId: route.agentId,
      sessionKey: route.sessionKey,
      legacyKey: found.key,
      adopted: found.verdict.adopt,
      why: found.verdict.why,
    };
    if (!found.verdict.adopt) {
      this.onLegacyKey?.(event);
      return undefined;
    }
    await store.putMany([
      { key: route.sessionKey, entry: found.row },
      { key: found.key, entry: null },
    ]);
    this.heldRows?.remember(route.agentId, route.sessionKey, found.row);
    this.onLegacyKey?.(event);
    return this.learn(store, found.row);
  }

  /**
   * Routes the message, applies the reset rules, and appends it to the session's transcript before
   * returning — so an acknowledged message survives a crash.
   */
  async recordInbound(input: unknown, options: InboundOptions = {}): Promise<InboundResult> {
    const envelope = parseEnvelope(input);
    const route = this.routeOf(envelope, options.target);
    return this.inSession(route.agentId, route.sessionKey, async () => {
      const store = await this.storeFor(route.agentId);
      const writer = this.writerFor(store);
      const interactive = options.interactive ?? true;
      const commandAuthorized = options.commandAuthorized ?? true;

      const current =
        (await this.readRow(store, route.agentId, route.sessionKey, true)) ??
        (options.target ? undefined : await this.adoptLegacyRow(store, route, envelope));
      const firstDelivery =
        current && envelope.messageId
          ? await writer.findMessageId(current.sessionId, envelope.messageId, this.clock.now())
          : null;
      if (current && firstDelivery) {
        return {
          agentId: route.agentId,
          sessionKey: route.sessionKey,
          sessionId: current.sessionId,
          entry: current,
          isNewSession: false,
          resetReason: null,
          previousSessionId: null,
          body: envelope.text,
          messageEntry: null,
          duplicate: true,
          duplicateOf: firstDelivery,
        };
      }

      const legacy = current ? await this.legacyTimes(store, current) : {};
      // A thread's first message: its session starts as a branch of its parent channel's.
      const fork =
        !current && route.parentSessionKey
          ? await planThreadFork(store, route.parentSessionKey, {
              maxTokens: this.config.session?.parentForkMaxTokens,
              transcriptId: (parent) => this.transcriptId(store, this.learn(store, parent).sessionId),
            })
          : null;
      const trigger = commandAuthorized ? detectResetTrigger(envelope.text, this.config.session?.resetTriggers) : null;
      const body = trigger ? trigger.remainder : envelope.text;
      const now = this.clock.now();
      let resetReason: ResetReason | null = null;
      let previousSessionId: string | null = null;
      const cwd = this.workspaceFor(route.agentId);
      const recordMessage = body.trim() !== "" && options.recordMessage !== false;
      const userEntry = (): NewEntry => ({
        type: "message",
        message: {
          role: "user",
          content: body,
          timestamp: envelope.timestamp ?? now,
          ...(options.provenance ? { provenance: options.provenance } : {}),
        },
        pincer: {
          sessionKey: route.sessionKey,
          ...(envelope.messageId ? { messageId: envelope.messageId } : {}),
          channel: route.channel,
          senderId: envelope.senderId,
          ...(envelope.senderName ? { senderName: envelope.senderName } : {}),
        },
      });
      const resetReasonFor = (cur: SessionEntry | undefined): ResetReason | null => {
        if (!cur) return "new-session";
        if (trigger) return "trigger";
        // Legacy times describe the session they were read from (a racing reset makes them moot).
        const verdict = this.freshness(
          cur,
          route.resetType,
          route.channel,
          now,
          cur.sessionId === current?.sessionId ? legacy : {},
        );
        return verdict.fresh ? null : (verdict.staleReason ?? "daily");
      };
      const recorded = (entry: SessionEntry, messageEntry: TranscriptEntry | null): InboundResult => {
        this.maintenance?.poke(store);
        const result: InboundResult = {
          agentId: route.agentId,
          sessionKey: route.sessionKey,
          sessionId: entry.sessionId,
          entry,
          isNewSession: resetReason !== null,
          resetReason,
          previousSessionId,
          body,
          messageEntry,
          duplicate: false,
        };
        options.onRecorded?.(result);
        return result;
      };

      const mutator = (cur: SessionEntry | undefined): SessionEntry => {
        resetReason = resetReasonFor(cur);
        previousSessionId = null;
        let next: SessionEntry;
        if (resetReason) {
          previousSessionId = cur?.sessionId ?? null;
          next = buildResetEntry(cur, { newSessionId: randomUUID(), now });
          // OpenClaw's flag: the new session id has not had its first turn (system prompt) yet.
          next.systemSent = false;
          if (fork && resetReason === "new-session") next.forkedFromParent = true;
        } else {
          next = { ...cur! };
        }
        next.updatedAt = now;
        // OpenClaw marks the session's first turn (system prompt, skills) when it prepares it: a
        // recorded message is answered by such a turn.
        if (recordMessage) next.systemSent = true;
        if (interactive) next.lastInteractionAt = now;
        else if (!resetReason && cur?.sessionId === current?.sessionId) {
          next.lastInteractionAt ??= legacy.lastInteractionAt;
          if (next.lastInteractionAt === undefined) delete next.lastInteractionAt;
        }
        // A legacy (OpenClaw) row learns when its session began from the transcript header.
        next.sessionStartedAt ??= Math.min(legacy.startedAt ?? next.updatedAt, now);
        if (options.touchRoute === false) {
          this.setSessionFile(store, next);
          return next;
        }
        applyRouteFields(next, envelope, {
          channel: route.channel,
          accountId: route.accountId,
          ...(route.threadId !== undefined ? { threadId: route.threadId } : {}),
          ...(route.conversationId !== undefined ? { conversationId: route.conversationId } : {}),
        });
        this.setSessionFile(store, next);
        return next;
      };

      // Steady state (the row names a fresh session): the message and the row patch in one atomic
      // write. The reset decision stays inside it: should the row as the store has it call for a
      // reset after all, the mutator declines, nothing is written, and the path below runs.
      if (current && recordMessage && store.appendAndPatch && resetReasonFor(current) === null) {
        const sessionId = current.sessionId;
        try {
          const { written, after } = await this.appendThenPatch(
            store,
            route.agentId,
            route.sessionKey,
            sessionId,
            [userEntry()],
            now,
            (cur) => {
              const next = mutator(cur);
              if (resetReason !== null || next.sessionId !== sessionId) throw new CombinedWriteDeclined(sessionId);
              return next;
            },
          );
          if (after) return recorded(after, written[0] ?? null);
        } catch (err) {
          if (!(err instanceof CombinedWriteDeclined)) throw err;
        }
      }

      const result = await this.patchRow(store, route.agentId, route.sessionKey, mutator);
      const entry = result.after!;

      if (previousSessionId && previousSessionId !== entry.sessionId) {
        writer.forget(previousSessionId);
        await store.archiveTranscript(this.transcriptId(store, previousSessionId), "reset", now);
      }
      if (fork?.branch && resetReason === "new-session" && entry.forkedFromParent === true)
        await writer.startWith(
          entry.sessionId,
          forkedLines(fork, entry.sessionId, now, cwd),
          this.fenceOf(route.agentId, route.sessionKey),
        );
      let messageEntry: TranscriptEntry | null = null;
      if (recordMessage) {
        const [written] = await writer.append(entry.sessionId, [userEntry()], {
          now,
          cwd,
          fence: this.fenceOf(route.agentId, route.sessionKey),
        });
        messageEntry = written ?? null;
      } else {
        await writer.ensureHeader(entry.sessionId, now, cwd, this.fenceOf(route.agentId, route.sessionKey));
      }
      return recorded(entry, messageEntry);
    });
  }

  /** Appends the agent's reply to the session's current transcript and records usage on the row. */
  async appendAssistant(agentId: string, sessionKey: string, reply: AssistantReply): Promise<TranscriptEntry> {
    return this.inSession(agentId, sessionKey, async () => {
      const store = await this.storeFor(agentId);
      const entry = await this.readRow(store, agentId, sessionKey, true);
      if (!entry) throw new SessionNotFoundError(agentId, sessionKey);
      const now = this.clock.now();
      const usage: Usage = { ...emptyUsage(), ...reply.usage, cost: { ...emptyUsage().cost, ...reply.usage?.cost } };
      const message: AssistantMessage = {
        role: "assistant",
        content: [{ type: "text", text: reply.text }],
        api: reply.api ?? "pincer",
        provider: reply.provider ?? "pincer",
        model: reply.model ?? "unknown",
        usage,
        stopReason: reply.stopReason ?? "stop",
        timestamp: now,
      };
      const {
        written: [written],
      } = await this.appendThenPatch(
        store,
        agentId,
        sessionKey,
        entry.sessionId,
        [{ type: "message", message }],
        now,
        (cur) => {
          if (!cur || cur.sessionId !== entry.sessionId) return undefined;
          const promptTokens = usage.input + usage.cacheRead + usage.cacheWrite;
          return {
            ...cur,
            updatedAt: now,
            ...(reply.model ? { model: reply.model } : {}),
            ...(reply.provider ? { modelProvider: reply.provider } : {}),
            systemSent: true,
            inputTokens: usage.input,
            outputTokens: usage.output,
            cacheRead: usage.cacheRead,
            cacheWrite: usage.cacheWrite,
            totalTokens: promptTokens,
            totalTokensFresh: true,
          };
        },
      );
      return written!;
    });
  }

  /**
   * Appends entries to the session's transcript if it still has `sessionId` (a reset in between
   * makes this a no-op returning null), then applies `patchRow` to the row in the same lane.
   * `last`: the caller does nothing more on the session after this (a turn's reply with nothing
   * queued behind it), so on a shared store the lease may be freed with this write.
   */
  async appendToSession(
    agentId: string,
    sessionKey: string,
    sessionId: string,
    entries: readonly NewEntry[],
    patchRow?: (cur: SessionEntry, now: number) => SessionEntry,
    options: { last?: boolean } = {},
  ): Promise<TranscriptEntry[] | null> {
    return this.inSession(agentId, sessionKey, async () => {
      const store = await this.storeFor(agentId);
      const entry = await this.readRow(store, agentId, sessionKey, true);
      if (!entry || entry.sessionId !== sessionId) return null;
      const now = this.clock.now();
      const mutator: PatchMutator | undefined = patchRow
        ? (cur) => (cur && cur.sessionId === sessionId ? patchRow(cur, now) : undefined)
        : undefined;
      if (entries.length === 0) {
        if (mutator) await this.patchRow(store, agentId, sessionKey, mutator);
        return [];
      }
      return (await this.appendThenPatch(store, agentId, sessionKey, sessionId, entries, now, mutator, options.last))
        .written;
    });
  }

  /** Read-modify-write of one row in the session's lane; the mutator may return undefined for "no change". */
  async patchSession(
    agentId: string,
    sessionKey: string,
    mutator: (cur: SessionEntry | undefined, now: number) => SessionEntry | null | undefined,
  ): Promise<SessionEntry | undefined> {
    return this.inSession(agentId, sessionKey, async () => {
      const store = await this.storeFor(agentId);
      const now = this.clock.now();
      const res = await this.patchRow(store, agentId, sessionKey, (cur) => mutator(cur, now));
      return res.after ?? undefined;
    });
  }

  /** Every line of a session's transcript (torn or corrupt lines are reported and skipped). */
  async transcriptLines(
    agentId: string,
    sessionId: string,
    sessionKey?: string,
    /** A reader that needs only the end: read from the store, at least this many last lines may do. */
    options: { tail?: number } = {},
  ): Promise<{ lines: TranscriptLine[]; issues: number }> {
    const read = async () => this.writerFor(await this.storeFor(agentId)).readAll(sessionId);
    // Given the key, the read is ordered with the session's writes (see InboundOptions.onRecorded).
    if (sessionKey !== undefined) return this.inSession(agentId, sessionKey, read);
    // Without it, on a shared store, another gateway may have appended since any copy cached here.
    if (this.leases) return this.writerFor(await this.storeFor(agentId)).readUncached(sessionId, options.tail);
    return read();
  }

  /**
   * The transcript without a copy, read in the session's lane, for the turn runner's built-context
   * cache (see TranscriptView: read only, and only up to `length`).
   */
  async transcriptView(agentId: string, sessionId: string, sessionKey: string): Promise<TranscriptView> {
    return this.inSession(agentId, sessionKey, async () =>
      this.writerFor(await this.storeFor(agentId)).view(sessionId),
    );
  }

  /** Starts a new session id under the key now (manual reset), archiving the old transcript. */
  async reset(agentId: string, sessionKey: string): Promise<SessionEntry> {
    return this.inSession(agentId, sessionKey, async () => {
      const store = await this.storeFor(agentId);
      const now = this.clock.now();
      let previous: string | null = null;
      const res = await this.patchRow(store, agentId, sessionKey, (cur) => {
        if (!cur) return undefined;
        previous = cur.sessionId;
        const next = buildResetEntry(cur, { newSessionId: randomUUID(), now });
        this.setSessionFile(store, next);
        return next;
      });
      if (!res.after) throw new SessionNotFoundError(agentId, sessionKey);
      if (previous) {
        this.writerFor(store).forget(previous);
        await store.archiveTranscript(this.transcriptId(store, previous), "reset", now);
      }
      await this.writerFor(store).ensureHeader(
        res.after.sessionId,
        now,
        this.workspaceFor(agentId),
        this.fenceOf(agentId, sessionKey),
      );
      return res.after;
    });
  }

  /**
   * Clears the history and keeps the session's settings (`pincer sessions clear`, `/clear`): a new
   * session id with every field of the row but the ones that describe the old transcript (token
   * counters, compactions, the first-turn flag, …); the old transcript is archived (`.reset.<ts>`).
   * Unlike a reset nothing is dropped that the user chose, whatever the carry-over list says.
   */
  async clear(agentId: string, sessionKey: string): Promise<{ before: SessionEntry; after: SessionEntry }> {
    return this.inSession(agentId, sessionKey, async () => {
      const store = await this.storeFor(agentId);
      const now = this.clock.now();
      const res = await this.patchRow(store, agentId, sessionKey, (cur) => {
        if (!cur) return undefined;
        const next: SessionEntry = { ...cur };
        for (const field of PER_TRANSCRIPT_FIELDS) delete next[field];
        Object.assign(next, {
          sessionId: randomUUID(),
          updatedAt: now,
          sessionStartedAt: now,
          lastInteractionAt: now,
          compactionCount: 0,
          systemSent: false,
        });
        delete next.sessionFile;
        this.setSessionFile(store, next);
        return next;
      });
      if (!res.before || !res.after) throw new SessionNotFoundError(agentId, sessionKey);
      this.writerFor(store).forget(res.before.sessionId);
      await store.archiveTranscript(this.transcriptId(store, res.before.sessionId), "reset", now);
      await this.writerFor(store).ensureHeader(
        res.after.sessionId,
        now,
        this.workspaceFor(agentId),
        this.fenceOf(agentId, sessionKey),
      );
      return { before: res.before, after: res.after };
    });
  }

  /** Removes the row; its transcript is archived as `.deleted.<ts>`, not destroyed. */
  async delete(agentId: string, sessionKey: string): Promise<{ deleted: boolean; archived: string[] }> {
    return this.inSession(agentId, sessionKey, async () => {
      const store = await this.storeFor(agentId);
      const res = await this.patchRow(store, agentId, sessionKey, () => null);
      if (!res.before) return { deleted: false, archived: [] };
      const stillUsed = (await store.all()).some((r) => r.entry.sessionId === res.before!.sessionId);
      const archived: string[] = [];
      if (!stillUsed) {
        this.writerFor(store).forget(res.before.sessionId);
        const name = await store.archiveTranscript(
          this.transcriptId(store, res.before.sessionId),
          "deleted",
          this.clock.now(),
        );
        if (name) archived.push(name);
      }
      return { deleted: true, archived };
    });
  }

  /** The envelope's route, or the explicit target with the envelope's channel details. */
  routeOf(
    envelope: InboundEnvelope,
    target?: { agentId: string; sessionKey: string },
  ): ReturnType<typeof resolveRoute> {
    const route = resolveRoute(envelope, this.config);
    if (!target) return route;
    return {
      ...route,
      agentId: target.agentId,
      sessionKey: target.sessionKey,
      matchedBy: "explicit",
      resetType: resetTypeForKey(target.sessionKey),
    };
  }

  /** Freshness of a stored session by key (for /status): when it would next reset, if ever. */
  async freshnessOf(
    agentId: string,
    sessionKey: string,
  ): Promise<{ fresh: boolean; nextResetAt: number | null } | null> {
    const store = await this.storeFor(agentId);
    const entry = await store.get(sessionKey);
    if (!entry) return null;
    const channel = entry.lastChannel ?? entry.channel ?? "unknown";
    const verdict = this.freshness(
      entry,
      resetTypeForKey(sessionKey),
      channel,
      this.clock.now(),
      await this.legacyTimes(store, entry),
    );
    return { fresh: verdict.fresh, nextResetAt: verdict.nextResetAt };
  }

  async get(agentId: string, sessionKey: string): Promise<SessionEntry | undefined> {
    return this.readRow(await this.storeFor(agentId), agentId, sessionKey, false);
  }

  async list(agentId: string, filter?: ListFilter, options?: ListOptions): Promise<ListPage> {
    const store = await this.storeFor(agentId);
    const page = await store.list(filter, options);
    for (const row of page.rows) this.learn(store, row.entry);
    return page;
  }

  /**
   * Rows of one agent whose label or session id is exactly the one given (both when both are),
   * and that `accept` admits (a caller's visibility), newest first: at most `limit` of them.
   * The store is read a page at a time and the scan stops at `limit` matches, so memory stays
   * bounded; a lookup that matches nothing still reads every row once (no index on labels).
   */
  async findSessions(
    agentId: string,
    match: { label?: string; sessionId?: string; accept?: (key: string) => boolean },
    limit: number,
  ): Promise<SessionRow[]> {
    const found: SessionRow[] = [];
    if (match.label === undefined && match.sessionId === undefined) return found;
    const store = await this.storeFor(agentId);
    let cursor: string | null = null;
    do {
      const page: ListPage = await store.list({}, { cursor, limit: FIND_PAGE_ROWS });
      for (const row of page.rows) {
        this.learn(store, row.entry);
        if (match.label !== undefined && row.entry.label !== match.label) continue;
        if (match.sessionId !== undefined && row.entry.sessionId !== match.sessionId) continue;
        if (match.accept && !match.accept(row.key)) continue;
        found.push(row);
        if (found.length >= limit) return found;
      }
      cursor = page.nextCursor;
    } while (cursor);
    return found;
  }

  async history(
    agentId: string,
    sessionKey: string,
    options: { limit?: number } = {},
  ): Promise<{ sessionId: string; items: HistoryItem[]; issues: number }> {
    const store = await this.storeFor(agentId);
    const entry = this.learn(store, await store.get(sessionKey));
    if (!entry) throw new SessionNotFoundError(agentId, sessionKey);
    // Read a little more than asked: some lines (header, model changes) are not messages.
    const read = await store.readTranscript(
      transcriptIdOf(entry),
      options.limit !== undefined ? { tail: options.limit * 2 + 8 } : {},
    );
    const items = historyFromLines(read.lines);
    return {
      sessionId: entry.sessionId,
      items: options.limit !== undefined ? items.slice(-options.limit) : items,
      issues: read.issues.length,
    };
  }

  private freshness(
    entry: SessionEntry,
    resetType: "direct" | "group" | "thread",
    channel: string,
    now: number,
    legacy: LegacyTimes,
  ) {
    const policy = resolveResetPolicy(this.config.session ?? {}, resetType, channel);
    return evaluateFreshness({
      entry,
      now,
      policy,
      timeZone: this.config.session?.timeZone,
      transcriptStartedAt: legacy.startedAt,
      transcriptLastInteractionAt: legacy.lastInteractionAt,
    });
  }

  /**
   * For rows written before Pincer (OpenClaw has neither timestamp): when the session began, from
   * the transcript header, and when its user last spoke, from the newest user message in a bounded
   * tail of the transcript — never a bookkeeping write such as `updatedAt`.
   */
  private async legacyTimes(store: SessionStore, entry: SessionEntry): Promise<LegacyTimes> {
    const out: LegacyTimes = {};
    const id = this.transcriptId(store, this.learn(store, entry).sessionId);
    if (entry.sessionStartedAt === undefined) {
      const header = await store.transcriptHeader(id);
      const ts = typeof header?.timestamp === "string" ? Date.parse(header.timestamp) : NaN;
      if (Number.isFinite(ts)) out.startedAt = ts;
    }
    if (entry.lastInteractionAt === undefined) {
      const read = await store.readTranscript(id, { tail: LEGACY_INTERACTION_TAIL });
      const at = lastUserMessageAt(read.lines);
      if (at !== undefined) out.lastInteractionAt = at;
    }
    return out;
  }

  /**
   * Records the row's transcript file as OpenClaw does (absolute, inside this store's sessions
   * directory). A row that continues its session keeps the file it names — a forum topic's
   * `<id>-topic-42.jsonl`, or the same name under an old home's path — so the history goes on in
   * the same file for both systems; a new session id starts `<id>.jsonl`.
   */
  private setSessionFile(store: SessionStore, next: SessionEntry): void {
    const file = sessionFileFor(store.capabilities.disk?.dir, next, transcriptIdOf(next));
    if (file === undefined) delete next.sessionFile;
    else next.sessionFile = file;
    this.learn(store, next);
  }

  /** Remembers under which name a row's transcript is stored; returns the row. */
  private learn<T extends SessionEntry | undefined>(store: SessionStore, entry: T): T {
    if (!entry) return entry;
    const id = transcriptIdOf(entry);
    let names = this.transcriptNames.get(store);
    // Only ever set: rows sharing a session id (a cron job and its run) name the same file.
    if (id !== entry.sessionId) {
      if (!names) this.transcriptNames.set(store, (names = new Map()));
      names.set(entry.sessionId, id);
    }
    return entry;
  }

  /** The name the transcript of `sessionId` is stored under (its own id unless a row said otherwise). */
  private transcriptId(store: SessionStore, sessionId: string): string {
    return this.transcriptNames.get(store)?.get(sessionId) ?? sessionId;
  }

  private writerFor(store: SessionStore): TranscriptWriter {
    let w = this.writers.get(store);
    if (!w) {
      w = new TranscriptWriter(store, this.transcriptCache, (id) => this.transcriptId(store, id));
      this.writers.set(store, w);
    }
    return w;
  }
}
