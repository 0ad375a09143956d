/**
 * HTTP surfaces that submit messages: the channel-bridge inbound API, per-hook webhooks, and run
 * lookups for `?async=1` submissions.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { EnvelopeError } from "../keys/envelope-schema.ts";
import { agentIdFromKey, hookSessionKey } from "../keys/session-key-helpers.ts";
import type { AgentRuntime, TurnOutcome } from "../runtime/runtime.ts";
import type { ChannelManager } from "../channels/manager.ts";
import { configuredAgentIds, UnknownAgentError } from "../runtime/unknown-agent.ts";
import { canUseChannel, ownerOf, tokensEqual, bearerToken, type Principal } from "./auth.ts";
import { HttpError, readJson, sendJson } from "./http-util.ts";
import type { RunRegistry } from "./run-registry.ts";
import type { RunOutcome } from "./protocol.ts";

export function outcomeBody(o: TurnOutcome): RunOutcome {
  return {
    runId: o.runId,
    sessionKey: o.sessionKey,
    sessionId: o.sessionId,
    status: o.status,
    reply: o.reply,
    delivered: o.delivered,
    ...(o.error ? { error: o.error } : {}),
    ...(o.resetReason ? { resetReason: o.resetReason } : {}),
  };
}

export async function submitOrThrow(
  rt: AgentRuntime,
  envelope: unknown,
  options: Parameters<AgentRuntime["submit"]>[1],
) {
  try {
    return await rt.submit(envelope, options);
  } catch (err) {
    if (err instanceof EnvelopeError) throw new HttpError(400, "invalid_envelope", err.message);
    if (err instanceof UnknownAgentError) throw new HttpError(404, "agent_not_found", err.message);
    throw err;
  }
}

export async function handleInbound(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: {
    rt: AgentRuntime;
    principal: Principal;
    limit: number;
    runs: RunRegistry;
    url: URL;
    /** The channels' access gate: envelopes of a channel with a `channels.<ch>` block pass it first. */
    gate?: Pick<ChannelManager, "gateEnvelope">;
  },
): Promise<void> {
  let body = await readJson(req, ctx.limit);
  const channel = (body as { channel?: unknown } | null)?.channel;
  if (typeof channel === "string" && !canUseChannel(ctx.principal, channel)) {
    throw new HttpError(403, "forbidden", `this token may not submit messages for channel ${JSON.stringify(channel)}`);
  }
  if (ctx.principal.kind === "hook") throw new HttpError(403, "forbidden", "hook tokens may only post to their hook");
  if (ctx.gate) {
    // Refused or held for group history: nothing is recorded. A pairing code comes back as `reply`
    // for the bridge to deliver, as it delivers answers.
    const gated = await ctx.gate.gateEnvelope(body);
    if (gated.status === "refused" || gated.status === "pending-history") {
      sendJson(res, 200, {
        status: gated.status,
        reason: gated.reason,
        reply: gated.status === "refused" ? gated.reply : null,
        delivered: false,
      });
      return;
    }
    if (gated.status === "accept") body = gated.envelope;
  }
  const accepted = await submitOrThrow(ctx.rt, body, { surface: "http" });
  ctx.runs.track(accepted, ownerOf(ctx.principal));
  if (ctx.url.searchParams.get("async") === "1") {
    sendJson(res, 202, {
      runId: accepted.runId,
      sessionKey: accepted.sessionKey,
      sessionId: accepted.sessionId,
      status: "accepted",
    });
    return;
  }
  sendJson(res, 200, outcomeBody(await accepted.done));
}

export interface HookEndpoint {
  id: string;
  token: string;
  agent?: string;
  name?: string;
  sessionKey?: string;
}

/** `POST /hooks/<id>`: its own token, one session per hook (`agent:<agent>:hook:<id>`). */
export async function handleHook(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: { rt: AgentRuntime; hooks: readonly HookEndpoint[]; hookId: string; limit: number; runs: RunRegistry; url: URL },
): Promise<void> {
  const token = bearerToken(req) ?? "";
  // Compare against every hook's token so timing does not reveal which hook ids exist.
  let hook: HookEndpoint | undefined;
  for (const h of ctx.hooks) if (tokensEqual(token, h.token) && h.id === ctx.hookId) hook = h;
  if (!hook) throw new HttpError(401, "unauthorized", "invalid hook token");
  const body = await readJson(req, ctx.limit);
  const b = (body ?? {}) as { text?: unknown; message?: unknown; messageId?: unknown };
  const text = typeof b.text === "string" ? b.text : typeof b.message === "string" ? b.message : JSON.stringify(body);
  if (text.trim() === "")
    throw new HttpError(
      400,
      "invalid_request",
      "text: got an empty string, expected the message for the hook's session",
    );
  // A configured session key names its agent; otherwise the hook's agent (default main).
  const sessionKey = hook.sessionKey?.toLowerCase();
  const agentId =
    (sessionKey !== undefined ? agentIdFromKey(sessionKey) : undefined) ?? hook.agent?.toLowerCase() ?? "main";
  const known = configuredAgentIds(ctx.rt.config);
  if (!known.includes(agentId)) throw new HttpError(404, "agent_not_found", new UnknownAgentError(agentId).message);
  const envelope = {
    channel: "hook",
    chatType: "direct",
    peerId: hook.id,
    senderId: hook.id,
    ...(hook.name ? { senderName: hook.name } : {}),
    text,
    ...(typeof b.messageId === "string" ? { messageId: b.messageId } : {}),
  };
  const accepted = await submitOrThrow(ctx.rt, envelope, {
    surface: "webhook",
    commandAuthorized: false,
    interactive: false,
    target: { agentId, sessionKey: sessionKey ?? hookSessionKey(agentId, hook.id) },
  });
  ctx.runs.track(accepted, ownerOf({ kind: "hook", id: hook.id }));
  if (ctx.url.searchParams.get("async") === "1") {
    sendJson(res, 202, {
      runId: accepted.runId,
      sessionKey: accepted.sessionKey,
      sessionId: accepted.sessionId,
      status: "accepted",
    });
    return;
  }
  sendJson(res, 200, outcomeBody(await accepted.done));
}
