/**
 * Gateway RPC methods over the WebSocket, named as OpenClaw's: a table of
 * `{ params, result, run }`, one row per method. The params schemas (gateway/protocol.ts) are
 * checked before a method runs, so `run` receives typed, validated values; every key a caller
 * names is then canonicalised and authorised against the caller before use.
 */
import { createHash, randomUUID } from "node:crypto";
import type { z } from "zod";
import { agentIdFromKey } from "../keys/session-key-helpers.ts";
import { normalizeSessionKey } from "../keys/session-key-normalize.ts";
import type { AgentRuntime } from "../runtime/runtime.ts";
import { statusCard } from "../runtime/status-card.ts";
import { historyFromLines } from "../transcript/history.ts";
import type { SessionEntry } from "../store/entry.ts";
import { UnknownAgentError } from "../runtime/unknown-agent.ts";
import { PincerError } from "../errors.ts";
import { httpStatusOfRpcCode } from "./wire-errors.ts";
import { canAccessKey, ownerOf, type Principal } from "./auth.ts";
import type { RunRegistry } from "./run-registry.ts";
import { outcomeBody } from "./inbound-routes.ts";
import type { ChannelManager } from "../channels/manager.ts";
import type { AdminSurface } from "./admin.ts";
import { ADMIN_METHODS } from "./admin-methods.ts";
import { visibleRowsOf } from "./visible-rows.ts";
import {
  paramsProblem,
  WS_METHODS,
  type EventFrame,
  type MethodName,
  type MethodResult,
  type ParsedParams,
  type SessionRow,
} from "./protocol.ts";

/**
 * The envelope's message id for a chat.send: the idempotency key within the caller's namespace, so
 * the per-session retry dedupe never takes one caller's message for another's. Ids that could not
 * be read back unambiguously (a `:` or anything unusual, or very long) are hashed.
 */
function wsMessageId(principal: Principal, idempotencyKey: string): string {
  const id = /^[A-Za-z0-9._-]{1,40}$/.test(principal.id)
    ? principal.id
    : `h${createHash("sha256").update(principal.id).digest("hex").slice(0, 16)}`;
  return `ws:${principal.kind}:${id}:${idempotencyKey}`;
}

/** An RPC answer chosen by a method: `code` is the WebSocket error code itself (`NOT_FOUND`, ...). */
export class RpcError extends PincerError {
  override readonly code: string;
  override readonly httpStatus: number;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.httpStatus = httpStatusOfRpcCode(code);
  }
}

export interface RpcContext {
  rt: AgentRuntime;
  principal: Principal;
  runs: RunRegistry;
  agentIds(): string[];
  /** The native channel layer, when channels are configured. */
  channels?: ChannelManager;
  /** The Control UI's operator reads (logs, cron, config, audit). */
  admin?: AdminSurface;
  /** This socket's log follow (`logs.tail {follow}`): one at a time, stopped when the socket closes. */
  follow?: { start(stop: () => void): void; stop(): void };
}

/** Pairing and channel status are the operator's (they change who may talk to the agents). */
function channelsOf(ctx: RpcContext): ChannelManager {
  if (ctx.principal.kind !== "operator") throw new RpcError("FORBIDDEN", "only the operator may manage channels");
  if (!ctx.channels) throw new RpcError("NOT_FOUND", "no native channels are configured (channels.telegram, …)");
  return ctx.channels;
}

/** Sends an event frame to the caller's socket. */
export type Emit = (frame: EventFrame) => void;

/** The methods this module answers (`connect` is the server's: it changes the socket's caller). */
export type RpcMethodName = Exclude<MethodName, "connect">;

export interface MethodSpec<M extends RpcMethodName> {
  /** The protocol's schema, seen through what it parses to (so `run` gets exactly that). */
  params: z.ZodType<ParsedParams<M>> & { shape: z.core.$ZodShape };
  result: (typeof WS_METHODS)[M]["result"];
  run(ctx: RpcContext, params: ParsedParams<M>, emit: Emit): Promise<MethodResult<M>>;
}

/** Labels matched in a "multiple sessions" error (labels are meant to be unique). */
const MAX_LOOKUP_MATCHES = 10;

/** Canonical key + its agent, authorised for the caller; optionally it must exist. */
async function keyOf(
  ctx: RpcContext,
  raw: string,
  mustExist: boolean,
): Promise<{ key: string; agentId: string; entry: SessionEntry | undefined }> {
  let key: string;
  try {
    key = normalizeSessionKey(raw);
  } catch (err) {
    throw new RpcError("INVALID_REQUEST", `sessionKey: ${err instanceof Error ? err.message : String(err)}`);
  }
  const agentId = agentIdFromKey(key);
  if (!agentId)
    throw new RpcError("INVALID_REQUEST", `sessionKey: got ${JSON.stringify(raw)}, expected agent:<agentId>:...`);
  // Before anything reads or writes: naming an unconfigured agent must not open (create) its store.
  if (!ctx.agentIds().includes(agentId)) throw new RpcError("NOT_FOUND", new UnknownAgentError(agentId).message);
  if (!canAccessKey(ctx.principal, key)) throw new RpcError("FORBIDDEN", "this caller may not use that session");
  const entry = await ctx.rt.manager.get(agentId, key);
  if (mustExist && !entry) throw new RpcError("NOT_FOUND", `No session found: ${key}`);
  return { key, agentId, entry };
}

/** Like keyOf with mustExist: the row is there. */
export async function existingKey(
  ctx: RpcContext,
  raw: string,
): Promise<{ key: string; agentId: string; entry: SessionEntry }> {
  const found = await keyOf(ctx, raw, true);
  return { ...found, entry: found.entry! };
}

export function publicRow(key: string, e: SessionEntry): SessionRow {
  const chatType = e.chatType ?? (key.includes(":group:") ? "group" : key.includes(":channel:") ? "channel" : "direct");
  return {
    key,
    kind: chatType === "direct" ? "direct" : "group",
    label: e.label,
    displayName: e.displayName,
    channel: e.channel ?? e.lastChannel,
    chatType,
    updatedAt: e.updatedAt,
    sessionStartedAt: e.sessionStartedAt,
    lastInteractionAt: e.lastInteractionAt,
    sessionId: e.sessionId,
    abortedLastRun: e.abortedLastRun ?? false,
    thinkingLevel: e.thinkingLevel,
    sendPolicy: e.sendPolicy,
    groupActivation: e.groupActivation,
    inputTokens: e.inputTokens,
    outputTokens: e.outputTokens,
    totalTokens: e.totalTokensFresh ? e.totalTokens : undefined,
    totalTokensFresh: e.totalTokensFresh ?? false,
    modelProvider: e.modelProvider,
    model: e.model,
    contextTokens: e.contextTokens,
    compactionCount: e.compactionCount ?? 0,
    lastChannel: e.lastChannel,
    lastTo: e.lastTo,
    origin: e.origin,
    queueMode: e.queueMode,
  };
}

const METHODS: { [M in RpcMethodName]: MethodSpec<M> } = {
  ...ADMIN_METHODS,
  "sessions.list": {
    ...WS_METHODS["sessions.list"],
    async run(ctx, p) {
      const { rt } = ctx;
      const limit = p.limit ?? 200;
      const search = p.search?.toLowerCase();
      const agentFilter = p.agentId?.toLowerCase();
      if (agentFilter !== undefined && !ctx.agentIds().includes(agentFilter))
        throw new RpcError("NOT_FOUND", new UnknownAgentError(agentFilter).message);
      const sessions: SessionRow[] = [];
      const activeSince = p.activeMinutes ? rt.now() - p.activeMinutes * 60_000 : undefined;
      for (const agentId of ctx.agentIds()) {
        if (agentFilter && agentFilter !== agentId) continue;
        // Rows come newest first: an agent's `limit` newest matches are all the merge below needs,
        // wherever they sit (a search or a caller's access may skip many newer rows).
        let found = 0;
        for await (const row of visibleRowsOf(ctx, agentId, activeSince, limit * 2 + 16)) {
          if (
            search &&
            ![row.key, row.entry.sessionId, row.entry.label, row.entry.displayName].some(
              (s) => typeof s === "string" && s.toLowerCase().includes(search),
            )
          )
            continue;
          sessions.push(publicRow(row.key, row.entry));
          if (++found >= limit) break;
        }
      }
      sessions.sort((a, b) => b.updatedAt - a.updatedAt);
      const { provider, model } = rt.modelFor("main", undefined);
      return {
        ts: rt.now(),
        count: Math.min(limit, sessions.length),
        defaults: { modelProvider: provider.name, model, contextTokens: rt.windowFor("main", provider, model) },
        sessions: sessions.slice(0, limit),
      };
    },
  },
  "sessions.resolve": {
    ...WS_METHODS["sessions.resolve"],
    async run(ctx, p) {
      const given = (["key", "sessionId", "label"] as const).filter((k) => p[k] !== undefined);
      if (given.length !== 1)
        throw new RpcError("INVALID_REQUEST", "Provide either key, sessionId, or label (not multiple)");
      if (p.key !== undefined) return { ok: true, key: (await keyOf(ctx, p.key, true)).key };
      const want = p.sessionId !== undefined ? { sessionId: p.sessionId } : { label: p.label };
      const found: string[] = [];
      for (const agentId of ctx.agentIds()) {
        const rows = await ctx.rt.manager.findSessions(
          agentId,
          { ...want, accept: (key) => canAccessKey(ctx.principal, key) },
          MAX_LOOKUP_MATCHES - found.length,
        );
        found.push(...rows.map((r) => r.key));
        if (found.length >= MAX_LOOKUP_MATCHES) break;
      }
      const wanted = p.sessionId ?? p.label;
      if (found.length === 0) throw new RpcError("NOT_FOUND", `No session found: ${wanted}`);
      if (found.length > 1)
        throw new RpcError("INVALID_REQUEST", `Multiple sessions found for ${given[0]} ${wanted}: ${found.join(", ")}`);
      return { ok: true, key: found[0]! };
    },
  },
  "sessions.patch": {
    ...WS_METHODS["sessions.patch"],
    async run(ctx, p) {
      const { rt } = ctx;
      const { key, agentId } = await keyOf(ctx, p.key, false);
      let modelPatch: { providerOverride?: string; modelOverride?: string } | null | undefined;
      if (p.model === null) modelPatch = null;
      else if (p.model !== undefined) {
        try {
          const r = rt.resolveModelRef(p.model);
          modelPatch = { providerOverride: r.provider.name, modelOverride: r.model };
        } catch (err) {
          throw new RpcError("INVALID_REQUEST", `model: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      if (typeof p.label === "string") {
        const label = p.label;
        const clash = (await rt.manager.findSessions(agentId, { label, accept: (k) => k !== key }, 1))[0];
        if (clash) throw new RpcError("INVALID_REQUEST", `label already in use: ${label}`);
      }
      const { key: _key, model: _model, ...fields } = p;
      const entry = await rt.manager.patchSession(agentId, key, (cur, now) => {
        const next: SessionEntry = cur
          ? { ...cur }
          : { sessionId: randomUUID(), updatedAt: now, sessionStartedAt: now };
        for (const [k, v] of Object.entries(fields)) {
          if (v === undefined) continue;
          if (v === null) delete next[k];
          else next[k] = v;
        }
        if (modelPatch === null) {
          delete next.providerOverride;
          delete next.modelOverride;
        } else if (modelPatch) Object.assign(next, modelPatch);
        next.updatedAt = now;
        return next;
      });
      // The mutator always returns a row, so there is one.
      const resolved = rt.modelFor(agentId, entry);
      return {
        ok: true,
        key,
        entry: entry!,
        resolved: { modelProvider: resolved.provider.name, model: resolved.model },
      };
    },
  },
  "sessions.reset": {
    ...WS_METHODS["sessions.reset"],
    async run(ctx, p) {
      const { key, agentId } = await existingKey(ctx, p.key);
      return { ok: true, key, entry: await ctx.rt.reset(agentId, key) };
    },
  },
  "sessions.delete": {
    ...WS_METHODS["sessions.delete"],
    async run(ctx, p) {
      const { key, agentId } = await existingKey(ctx, p.key);
      const r = await ctx.rt.delete(agentId, key);
      return { ok: true, key, deleted: r.deleted, archived: r.archived };
    },
  },
  "sessions.compact": {
    ...WS_METHODS["sessions.compact"],
    async run(ctx, p) {
      const { key, agentId } = await existingKey(ctx, p.key);
      const o = await ctx.rt.compact(agentId, key, p.instructions ?? undefined);
      return {
        ok: true,
        key,
        compacted: o.status === "compacted",
        status: o.status,
        reason: o.reason,
        tokensBefore: o.tokensBefore,
        tokensAfter: o.tokensAfter,
      };
    },
  },
  "sessions.status": {
    ...WS_METHODS["sessions.status"],
    async run(ctx, p) {
      const { key, agentId } = await existingKey(ctx, p.key);
      return { key, card: await statusCard(ctx.rt, agentId, key) };
    },
  },
  "chat.history": {
    ...WS_METHODS["chat.history"],
    async run(ctx, p) {
      const { key, agentId, entry } = await existingKey(ctx, p.sessionKey);
      const limit = p.limit ?? 200;
      // Some lines are not messages (header, model changes, tool results): read a little more than asked.
      const { lines } = await ctx.rt.manager.transcriptLines(agentId, entry.sessionId, undefined, {
        tail: limit * 3 + 16,
      });
      const messages = historyFromLines(lines, { details: true })
        .filter((m) => !(m.role === "assistant" && m.text.trimStart().startsWith("NO_REPLY")))
        .slice(-limit);
      return { sessionKey: key, sessionId: entry.sessionId, messages, thinkingLevel: entry.thinkingLevel };
    },
  },
  "chat.send": {
    ...WS_METHODS["chat.send"],
    async run(ctx, p, emit) {
      const idempotencyKey = p.idempotencyKey ?? randomUUID();
      const { key, agentId } = await keyOf(ctx, p.sessionKey, false);
      // Idempotency is the caller's own, per session: another caller's key is never looked up, and
      // one key of this caller names one message of one session (the run id is the key).
      const owner = ownerOf(ctx.principal);
      const existing = ctx.runs.own(owner, idempotencyKey);
      if (existing && (existing.agentId !== agentId || existing.sessionKey !== key)) {
        throw new RpcError(
          "CONFLICT",
          `idempotencyKey ${JSON.stringify(idempotencyKey)} was already used by this caller for session ${existing.sessionKey}; use a new key for a new message`,
        );
      }
      if (existing)
        return {
          runId: idempotencyKey,
          status: existing.outcome ? "ok" : "in_flight",
          sessionKey: key,
          ...(existing.outcome ? { result: outcomeBody(existing.outcome) } : {}),
        };
      const envelope = {
        channel: "webchat",
        chatType: "direct",
        peerId: "owner",
        senderId: ctx.principal.id,
        text: p.message,
        messageId: wsMessageId(ctx.principal, idempotencyKey),
      };
      const accepted = await ctx.rt.submit(envelope, {
        surface: "ws",
        target: { agentId, sessionKey: key },
        commandAuthorized: ctx.principal.kind === "operator",
        runId: idempotencyKey,
      });
      ctx.runs.track(accepted, owner);
      void accepted.done.then((o) => {
        // Commands and duplicates never produce a streamed run: answer them with one final event.
        if (
          o.status === "command" ||
          o.status === "duplicate" ||
          o.status === "dropped" ||
          o.status === "not-mentioned"
        ) {
          emit({
            type: "event",
            event: "chat",
            payload: {
              runId: o.runId,
              runIds: [o.runId],
              sessionKey: key,
              seq: 0,
              state: "final",
              message: o.reply ?? undefined,
              delivered: o.delivered,
              status: o.status,
            },
          });
        }
      });
      return {
        runId: accepted.runId,
        status: "started",
        sessionKey: accepted.sessionKey,
        sessionId: accepted.sessionId,
      };
    },
  },
  "chat.abort": {
    ...WS_METHODS["chat.abort"],
    async run(ctx, p) {
      const { key, agentId } = await keyOf(ctx, p.sessionKey, false);
      const r = ctx.rt.abort(agentId, key, "aborted by chat.abort");
      return { ok: true, aborted: r.aborted, runIds: r.runIds };
    },
  },
  "agent.wait": {
    ...WS_METHODS["agent.wait"],
    async run(ctx, p) {
      // Own runs only (the operator may also wait on anyone's): run ids are idempotency keys callers may share.
      const rec = ctx.runs.find(p.runId, ownerOf(ctx.principal), () => ctx.principal.kind === "operator");
      if (!rec) throw new RpcError("NOT_FOUND", `unknown run ${p.runId}`);
      const timeoutMs = p.timeoutMs ?? 30_000;
      const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs).unref());
      const res = await Promise.race([rec.done, timer]);
      if (res === "timeout") return { status: "timeout" };
      return {
        status: res.status === "error" ? "error" : "ok",
        ...(res.error ? { error: res.error } : {}),
        result: outcomeBody(res),
      };
    },
  },
  "pairing.list": {
    ...WS_METHODS["pairing.list"],
    async run(ctx, p) {
      const requests = await channelsOf(ctx).listPairing(p.channel, p.accountId);
      return { channel: p.channel, requests };
    },
  },
  "pairing.approve": {
    ...WS_METHODS["pairing.approve"],
    async run(ctx, p) {
      const approved = await channelsOf(ctx).approvePairing(p.channel, p.code, {
        ...(p.accountId ? { accountId: p.accountId } : {}),
        ...(p.notify ? { notify: true } : {}),
      });
      return approved
        ? { ok: true, approved: true, id: approved.id, accountId: approved.accountId }
        : { ok: true, approved: false };
    },
  },
  "pairing.reject": {
    ...WS_METHODS["pairing.reject"],
    async run(ctx, p) {
      const rejected = await channelsOf(ctx).rejectPairing(p.channel, p.code, p.accountId);
      return rejected ? { ok: true, rejected: true, id: rejected.id } : { ok: true, rejected: false };
    },
  },
  "channels.status": {
    ...WS_METHODS["channels.status"],
    async run(ctx, p) {
      if (ctx.principal.kind !== "operator")
        throw new RpcError("FORBIDDEN", "only the operator may read channel status");
      const reports = ctx.channels ? await ctx.channels.status({ probe: p.probe === true }) : [];
      return { accounts: reports.map((r) => ({ ...r })) };
    },
  },
};

function isRpcMethod(method: string): method is RpcMethodName {
  return Object.hasOwn(METHODS, method);
}

/** Validates the params against the method's schema, then runs it. */
async function invoke<M extends RpcMethodName>(
  ctx: RpcContext,
  method: M,
  params: Record<string, unknown>,
  emit: Emit,
): Promise<MethodResult<M>> {
  const spec: MethodSpec<M> = METHODS[method];
  const parsed = spec.params.safeParse(params);
  if (!parsed.success)
    throw new RpcError("INVALID_REQUEST", paramsProblem(method, spec.params.shape, params, parsed.error));
  return spec.run(ctx, parsed.data, emit);
}

export async function callMethod(
  ctx: RpcContext,
  method: string,
  params: Record<string, unknown>,
  emit: Emit,
): Promise<MethodResult<RpcMethodName>> {
  if (!isRpcMethod(method)) throw new RpcError("INVALID_REQUEST", `unknown method ${JSON.stringify(method)}`);
  return invoke(ctx, method, params, emit);
}
