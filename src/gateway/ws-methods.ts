/**
 * Gateway RPC methods over the WebSocket (reference §16), named as OpenClaw's. Every key a caller
 * names is canonicalised and authorised against the caller before use.
 */
import { createHash, randomUUID } from "node:crypto";
import { agentIdFromKey, isCronRunKey } from "../keys/session-key-helpers.ts";
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

/**
 * The envelope's message id for a chat.send: the idempotency key within the caller's namespace, so
 * the per-session retry dedupe never takes one caller's message for another's. Ids that could not
 * be read back unambiguously (a `:` or anything unusual, or very long) are hashed.
 */
function wsMessageId(principal: Principal, idempotencyKey: string): string {
  const id = /^[A-Za-z0-9._-]{1,40}$/.test(principal.id) ? principal.id : `h${createHash("sha256").update(principal.id).digest("hex").slice(0, 16)}`;
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
}

type Params = Record<string, unknown>;

function str(p: Params, name: string, opts: { required?: boolean; max?: number } = {}): string | undefined {
  const v = p[name];
  if (v === undefined || v === null) {
    if (opts.required) throw new RpcError("INVALID_REQUEST", `${name}: required`);
    return undefined;
  }
  if (typeof v !== "string" || v.trim() === "" || (opts.max !== undefined && v.length > opts.max)) {
    throw new RpcError("INVALID_REQUEST", `${name}: got ${JSON.stringify(v)}, expected a non-empty string${opts.max ? ` of at most ${opts.max} characters` : ""}`);
  }
  return v;
}

function int(p: Params, name: string, min: number, max: number): number | undefined {
  const v = p[name];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw new RpcError("INVALID_REQUEST", `${name}: got ${JSON.stringify(v)}, expected an integer ${min}-${max}`);
  return v;
}

/** Canonical key + its agent, authorised for the caller; optionally it must exist. */
async function keyOf(ctx: RpcContext, raw: string, mustExist: boolean): Promise<{ key: string; agentId: string; entry: SessionEntry | undefined }> {
  let key: string;
  try {
    key = normalizeSessionKey(raw);
  } catch (err) {
    throw new RpcError("INVALID_REQUEST", `sessionKey: ${err instanceof Error ? err.message : String(err)}`);
  }
  const agentId = agentIdFromKey(key);
  if (!agentId) throw new RpcError("INVALID_REQUEST", `sessionKey: got ${JSON.stringify(raw)}, expected agent:<agentId>:...`);
  // Before anything reads or writes: naming an unconfigured agent must not open (create) its store.
  if (!ctx.agentIds().includes(agentId)) throw new RpcError("NOT_FOUND", new UnknownAgentError(agentId).message);
  if (!canAccessKey(ctx.principal, key)) throw new RpcError("FORBIDDEN", "this caller may not use that session");
  const entry = await ctx.rt.manager.get(agentId, key);
  if (mustExist && !entry) throw new RpcError("NOT_FOUND", `No session found: ${key}`);
  return { key, agentId, entry };
}

function publicRow(key: string, e: SessionEntry): Record<string, unknown> {
  const chatType = e.chatType ?? (key.includes(":group:") ? "group" : key.includes(":channel:") ? "channel" : "direct");
  return {
    key, kind: chatType === "direct" ? "direct" : "group", label: e.label, displayName: e.displayName, channel: e.channel ?? e.lastChannel, chatType,
    updatedAt: e.updatedAt, sessionStartedAt: e.sessionStartedAt, lastInteractionAt: e.lastInteractionAt, sessionId: e.sessionId,
    abortedLastRun: e.abortedLastRun ?? false, thinkingLevel: e.thinkingLevel, sendPolicy: e.sendPolicy, groupActivation: e.groupActivation,
    inputTokens: e.inputTokens, outputTokens: e.outputTokens, totalTokens: e.totalTokensFresh ? e.totalTokens : undefined, totalTokensFresh: e.totalTokensFresh ?? false,
    modelProvider: e.modelProvider, model: e.model, contextTokens: e.contextTokens, compactionCount: e.compactionCount ?? 0,
    lastChannel: e.lastChannel, lastTo: e.lastTo, origin: e.origin, queueMode: e.queueMode,
  };
}

const PATCHABLE = new Set(["label", "thinkingLevel", "fastMode", "verboseLevel", "reasoningLevel", "responseUsage", "elevatedLevel", "model", "sendPolicy", "groupActivation", "queueMode", "queueDebounceMs", "queueCap", "queueDrop", "pinned"]);

export async function callMethod(ctx: RpcContext, method: string, p: Params, emit: (event: string, payload: unknown) => void): Promise<unknown> {
  const { rt } = ctx;
  switch (method) {
    case "sessions.list": {
      const limit = int(p, "limit", 1, 10_000) ?? 200;
      const activeMinutes = int(p, "activeMinutes", 1, 10_000_000);
      const search = str(p, "search")?.toLowerCase();
      const agentFilter = str(p, "agentId")?.toLowerCase();
      if (agentFilter !== undefined && !ctx.agentIds().includes(agentFilter)) throw new RpcError("NOT_FOUND", new UnknownAgentError(agentFilter).message);
      const sessions: Record<string, unknown>[] = [];
      for (const agentId of ctx.agentIds()) {
        if (agentFilter && agentFilter !== agentId) continue;
        const page = await rt.manager.list(agentId, activeMinutes ? { activeSince: rt.now() - activeMinutes * 60_000 } : {}, { limit: limit * 2 + 16 });
        for (const row of page.rows) {
          if (isCronRunKey(row.key) || !canAccessKey(ctx.principal, row.key)) continue;
          if (search && ![row.key, row.entry.sessionId, row.entry.label, row.entry.displayName].some((s) => typeof s === "string" && s.toLowerCase().includes(search))) continue;
          sessions.push(publicRow(row.key, row.entry));
        }
      }
      sessions.sort((a, b) => (b.updatedAt as number) - (a.updatedAt as number));
      const { provider, model } = rt.modelFor("main", undefined);
      return { ts: rt.now(), count: Math.min(limit, sessions.length), defaults: { modelProvider: provider.name, model, contextTokens: rt.windowFor("main", provider, model) }, sessions: sessions.slice(0, limit) };
    }
    case "sessions.resolve": {
      const given = ["key", "sessionId", "label"].filter((k) => p[k] !== undefined);
      if (given.length !== 1) throw new RpcError("INVALID_REQUEST", "Provide either key, sessionId, or label (not multiple)");
      if (p.key !== undefined) return { ok: true, key: (await keyOf(ctx, str(p, "key", { required: true })!, true)).key };
      const want = given[0] === "sessionId" ? str(p, "sessionId", { required: true }) : str(p, "label", { required: true, max: 64 });
      const found: string[] = [];
      for (const agentId of ctx.agentIds()) {
        for (const row of await rt.manager.list(agentId).then((pg) => pg.rows)) {
          const v = given[0] === "sessionId" ? row.entry.sessionId : row.entry.label;
          if (v === want && canAccessKey(ctx.principal, row.key)) found.push(row.key);
        }
      }
      if (found.length === 0) throw new RpcError("NOT_FOUND", `No session found: ${want}`);
      if (found.length > 1) throw new RpcError("INVALID_REQUEST", `Multiple sessions found for ${given[0]} ${want}: ${found.join(", ")}`);
      return { ok: true, key: found[0] };
    }
    case "sessions.patch": {
      const { key, agentId } = await keyOf(ctx, str(p, "key", { required: true })!, false);
      for (const k of Object.keys(p)) if (k !== "key" && !PATCHABLE.has(k)) throw new RpcError("INVALID_REQUEST", `${k}: not a patchable field (allowed: ${[...PATCHABLE].join(", ")})`);
      if (p.sendPolicy !== undefined && p.sendPolicy !== null && p.sendPolicy !== "allow" && p.sendPolicy !== "deny") throw new RpcError("INVALID_REQUEST", `sendPolicy: got ${JSON.stringify(p.sendPolicy)}, expected "allow", "deny" or null`);
      if (p.groupActivation !== undefined && p.groupActivation !== null && p.groupActivation !== "mention" && p.groupActivation !== "always") throw new RpcError("INVALID_REQUEST", `groupActivation: got ${JSON.stringify(p.groupActivation)}, expected "mention", "always" or null`);
      if (p.label !== undefined && p.label !== null && (typeof p.label !== "string" || p.label.trim().length < 1 || p.label.trim().length > 64)) throw new RpcError("INVALID_REQUEST", "label: expected 1-64 characters or null");
      let modelPatch: { providerOverride?: string; modelOverride?: string } | null | undefined;
      if (p.model === null) modelPatch = null;
      else if (p.model !== undefined) {
        try {
          const r = rt.resolveModelRef(str(p, "model", { required: true })!);
          modelPatch = { providerOverride: r.provider.name, modelOverride: r.model };
        } catch (err) {
          throw new RpcError("INVALID_REQUEST", `model: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      if (typeof p.label === "string") {
        const label = p.label.trim();
        const clash = (await rt.manager.list(agentId)).rows.find((r) => r.entry.label === label && r.key !== key);
        if (clash) throw new RpcError("INVALID_REQUEST", `label already in use: ${label}`);
      }
      const entry = await rt.manager.patchSession(agentId, key, (cur, now) => {
        const next: SessionEntry = cur ? { ...cur } : { sessionId: randomUUID(), updatedAt: now, sessionStartedAt: now };
        for (const [k, v] of Object.entries(p)) {
          if (k === "key" || k === "model") continue;
          if (v === null) delete next[k];
          else next[k] = k === "label" && typeof v === "string" ? v.trim() : v;
        }
        if (modelPatch === null) {
          delete next.providerOverride;
          delete next.modelOverride;
        } else if (modelPatch) Object.assign(next, modelPatch);
        next.updatedAt = now;
        return next;
      });
      const resolved = rt.modelFor(agentId, entry);
      return { ok: true, key, entry, resolved: { modelProvider: resolved.provider.name, model: resolved.model } };
    }
    case "sessions.reset": {
      const { key, agentId } = await keyOf(ctx, str(p, "key", { required: true })!, true);
      return { ok: true, key, entry: await rt.reset(agentId, key) };
    }
    case "sessions.delete": {
      const { key, agentId } = await keyOf(ctx, str(p, "key", { required: true })!, true);
      const r = await rt.delete(agentId, key);
      return { ok: true, key, deleted: r.deleted, archived: r.archived };
    }
    case "sessions.compact": {
      const { key, agentId } = await keyOf(ctx, str(p, "key", { required: true })!, true);
      const instructions = str(p, "instructions");
      const o = await rt.compact(agentId, key, instructions);
      return { ok: true, key, compacted: o.status === "compacted", status: o.status, reason: o.reason, tokensBefore: o.tokensBefore, tokensAfter: o.tokensAfter };
    }
    case "sessions.status": {
      const { key, agentId } = await keyOf(ctx, str(p, "key", { required: true })!, true);
      return { key, card: await statusCard(rt, agentId, key) };
    }
    case "chat.history": {
      const { key, agentId, entry } = await keyOf(ctx, str(p, "sessionKey", { required: true, max: 512 })!, true);
      const limit = int(p, "limit", 1, 1000) ?? 200;
      const { lines } = await rt.manager.transcriptLines(agentId, entry!.sessionId);
      const messages = historyFromLines(lines).filter((m) => !(m.role === "assistant" && m.text.trimStart().startsWith("NO_REPLY"))).slice(-limit);
      return { sessionKey: key, sessionId: entry!.sessionId, messages, thinkingLevel: entry!.thinkingLevel };
    }
    case "chat.send": {
      const message = str(p, "message", { required: true });
      const idempotencyKey = str(p, "idempotencyKey", { max: 200 }) ?? randomUUID();
      const rawKey = str(p, "sessionKey", { required: true, max: 512 })!;
      const { key, agentId } = await keyOf(ctx, rawKey, false);
      // Idempotency is the caller's own, per session: another caller's key is never looked up, and
      // one key of this caller names one message of one session (the run id is the key).
      const owner = ownerOf(ctx.principal);
      const existing = ctx.runs.own(owner, idempotencyKey);
      if (existing && (existing.agentId !== agentId || existing.sessionKey !== key)) {
        throw new RpcError("CONFLICT", `idempotencyKey ${JSON.stringify(idempotencyKey)} was already used by this caller for session ${existing.sessionKey}; use a new key for a new message`);
      }
      if (existing) return { runId: idempotencyKey, status: existing.outcome ? "ok" : "in_flight", sessionKey: key, ...(existing.outcome ? { result: outcomeBody(existing.outcome) } : {}) };
      const envelope = { channel: "webchat", chatType: "direct", peerId: "owner", senderId: ctx.principal.id, text: message!, messageId: wsMessageId(ctx.principal, idempotencyKey) };
      const accepted = await ctx.rt.submit(envelope, { surface: "ws", target: { agentId, sessionKey: key }, commandAuthorized: ctx.principal.kind === "operator", runId: idempotencyKey });
      ctx.runs.track(accepted, owner);
      void accepted.done.then((o) => {
        // Commands and duplicates never produce a streamed run: answer them with one final event.
        if (o.status === "command" || o.status === "duplicate" || o.status === "dropped" || o.status === "not-mentioned") {
          emit("chat", { runId: o.runId, runIds: [o.runId], sessionKey: key, seq: 0, state: "final", message: o.reply ?? undefined, delivered: o.delivered, status: o.status });
        }
      });
      return { runId: accepted.runId, status: "started", sessionKey: accepted.sessionKey, sessionId: accepted.sessionId };
    }
    case "chat.abort": {
      const { key, agentId } = await keyOf(ctx, str(p, "sessionKey", { required: true, max: 512 })!, false);
      const r = rt.abort(agentId, key, "aborted by chat.abort");
      return { ok: true, aborted: r.aborted, runIds: r.runIds };
    }
    case "agent.wait": {
      const runId = str(p, "runId", { required: true })!;
      // Own runs only (the operator may also wait on anyone's): run ids are idempotency keys callers may share.
      const rec = ctx.runs.find(runId, ownerOf(ctx.principal), () => ctx.principal.kind === "operator");
      if (!rec) throw new RpcError("NOT_FOUND", `unknown run ${runId}`);
      const timeoutMs = int(p, "timeoutMs", 0, 600_000) ?? 30_000;
      const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs).unref());
      const res = await Promise.race([rec.done, timer]);
      if (res === "timeout") return { status: "timeout" };
      return { status: res.status === "error" ? "error" : "ok", ...(res.error ? { error: res.error } : {}), result: outcomeBody(res) };
    }
    default:
      throw new RpcError("INVALID_REQUEST", `unknown method ${JSON.stringify(method)}`);
  }
}
