/**
 * OpenAI-compatible `POST /v1/chat/completions`. The newest user message is the inbound message;
 * the session keeps the history, so earlier messages in the request are not replayed. The session
 * is chosen as OpenClaw does, whatever `session.dmScope` says: the `x-pincer-session-key` header
 * (an existing session, authorised against the caller), else the `user` field
 * (`agent:<agent>:openai-user:<user>`), else a fresh session per request
 * (`agent:<agent>:openai:<uuid>`, named in the `x-pincer-session-key` response header so the
 * client can continue it). The agent is the key's, or `model: "pincer:<agentId>"`, or the one the
 * bindings route the `openai` channel to. Streaming uses chat.completion.chunk SSE frames.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AgentRuntime, ChatEvent } from "../runtime/runtime.ts";
import { EnvelopeError, parseEnvelope } from "../keys/envelope-schema.ts";
import { buildSessionKey } from "../keys/session-key-codec.ts";
import { agentIdFromKey } from "../keys/session-key-helpers.ts";
import { normalizeSessionKey } from "../keys/session-key-normalize.ts";
import { configuredAgentIds, UnknownAgentError } from "../runtime/unknown-agent.ts";
import { canAccessKey, canUseChannel, type Principal } from "./auth.ts";
import { HttpError, readJson, sendJson } from "./http-util.ts";
import { submitOrThrow } from "./inbound-routes.ts";
import { toWire } from "./wire-errors.ts";

interface ChatRequest {
  model?: unknown;
  messages?: unknown;
  stream?: unknown;
  user?: unknown;
}

function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages) || messages.length === 0)
    throw new HttpError(400, "invalid_request", "messages: got nothing, expected a non-empty array of chat messages");
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; content?: unknown };
    if (m?.role !== "user") continue;
    if (typeof m.content === "string") return m.content;
    if (Array.isArray(m.content)) {
      return m.content
        .map((p: { type?: unknown; text?: unknown }) =>
          p?.type === "text" && typeof p.text === "string" ? p.text : "",
        )
        .join("\n");
    }
    throw new HttpError(
      400,
      "invalid_request",
      `messages[${i}].content: expected a string or an array of content parts`,
    );
  }
  throw new HttpError(400, "invalid_request", 'messages: expected at least one message with role "user"');
}

const known = (rt: AgentRuntime, agentId: string): void => {
  const ids = configuredAgentIds(rt.config);
  if (!ids.includes(agentId)) throw new HttpError(404, "agent_not_found", new UnknownAgentError(agentId).message);
};

/** `pincer:<agentId>` / `pincer/<agentId>` name an agent; any other model string leaves the choice to routing. */
function agentOfModel(model: unknown): string | undefined {
  if (typeof model !== "string") return undefined;
  const m = /^pincer[:/](.+)$/i.exec(model.trim());
  if (!m) return undefined;
  const id = m[1]!.toLowerCase();
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(id))
    throw new HttpError(
      400,
      "invalid_request",
      `model: got ${JSON.stringify(model)}, expected "pincer:<agentId>" with an agent id matching ^[a-z0-9][a-z0-9_-]{0,63}$`,
    );
  return id;
}

async function chooseSession(
  ctx: { rt: AgentRuntime; principal: Principal },
  headerKey: string | string[] | undefined,
  model: unknown,
  user: string | undefined,
  envelope: Record<string, unknown>,
): Promise<{ agentId: string; sessionKey: string }> {
  const modelAgent = agentOfModel(model);
  if (typeof headerKey === "string" && headerKey.trim() !== "") {
    let key: string;
    try {
      key = normalizeSessionKey(headerKey);
    } catch (err) {
      throw new HttpError(
        400,
        "invalid_session_key",
        `x-pincer-session-key: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const agentId = agentIdFromKey(key);
    if (!agentId)
      throw new HttpError(
        400,
        "invalid_session_key",
        `x-pincer-session-key: got ${JSON.stringify(headerKey)}, expected a key like agent:<agentId>:...`,
      );
    known(ctx.rt, agentId);
    if (modelAgent !== undefined && modelAgent !== agentId)
      throw new HttpError(
        400,
        "invalid_request",
        `model names agent ${JSON.stringify(modelAgent)} but x-pincer-session-key is a session of agent ${JSON.stringify(agentId)}`,
      );
    if (!canAccessKey(ctx.principal, key)) throw new HttpError(403, "forbidden", "this token may not use that session");
    if (!(await ctx.rt.manager.get(agentId, key)))
      throw new HttpError(404, "session_not_found", `no session ${JSON.stringify(key)}`);
    return { agentId, sessionKey: key };
  }
  if (!canUseChannel(ctx.principal, "openai"))
    throw new HttpError(403, "forbidden", "this token may not use the openai channel");
  let agentId = modelAgent;
  if (agentId === undefined) {
    try {
      agentId = ctx.rt.manager.routeOf(parseEnvelope(envelope)).agentId;
    } catch (err) {
      if (err instanceof EnvelopeError) throw new HttpError(400, "invalid_envelope", err.message);
      throw err;
    }
  }
  known(ctx.rt, agentId);
  // Lower-cased like every key value; `user` is already limited to letters, digits and . _ @ -.
  const rest = user !== undefined ? `openai-user:${user.toLowerCase()}` : `openai:${randomUUID()}`;
  return { agentId, sessionKey: buildSessionKey({ kind: "other", agentId, rest }) };
}

export async function handleChatCompletions(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: { rt: AgentRuntime; principal: Principal; limit: number },
): Promise<void> {
  const body = (await readJson(req, ctx.limit)) as ChatRequest;
  if (!body || typeof body !== "object") throw new HttpError(400, "invalid_request", "expected a JSON object");
  const text = lastUserText(body.messages);
  if (body.user !== undefined && (typeof body.user !== "string" || !/^[A-Za-z0-9._@-]{1,128}$/.test(body.user))) {
    throw new HttpError(
      400,
      "invalid_request",
      `user: got ${JSON.stringify(body.user)}, expected 1-128 characters of letters, digits, . _ @ -`,
    );
  }
  const user = typeof body.user === "string" ? body.user : undefined;
  const envelope = {
    channel: "openai",
    chatType: "direct",
    peerId: user ?? "anonymous",
    senderId: user ?? "anonymous",
    text,
  };
  const target = await chooseSession(ctx, req.headers["x-pincer-session-key"], body.model, user, envelope);
  const stream = body.stream === true;
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const model = typeof body.model === "string" ? body.model : "pincer";
  let unsubscribe: (() => void) | null = null;
  let runIdRef = "";
  const pendingDeltas: string[] = [];
  const writeChunk = (delta: Record<string, unknown>, finish: string | null) => {
    res.write(
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`,
    );
  };
  if (stream) {
    // Subscribe before submitting so no delta is missed; deltas before the run id is known are buffered.
    unsubscribe = ctx.rt.onChat((ev: ChatEvent) => {
      if (ev.state !== "delta" || !ev.text) return;
      if (!runIdRef) pendingDeltas.push(JSON.stringify([ev.runIds, ev.text]));
      else if (ev.runIds.includes(runIdRef)) writeChunk({ content: ev.text }, null);
    });
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    writeChunk({ role: "assistant", content: "" }, null);
  }
  try {
    const accepted = await submitOrThrow(ctx.rt, envelope, {
      surface: "openai",
      target,
      commandAuthorized: ctx.principal.kind === "operator",
    });
    runIdRef = accepted.runId;
    for (const p of pendingDeltas.splice(0)) {
      const [ids, t] = JSON.parse(p) as [string[], string];
      if (ids.includes(runIdRef)) writeChunk({ content: t }, null);
    }
    const outcome = await accepted.done;
    unsubscribe?.();
    const content = outcome.reply ?? "";
    const headers = { "x-pincer-session-key": outcome.sessionKey, "x-pincer-session-id": outcome.sessionId };
    if (stream) {
      writeChunk({}, outcome.status === "error" ? "error" : "stop");
      res.write("data: [DONE]\n\n");
      res.end();
      return;
    }
    if (outcome.status === "error") throw new HttpError(502, "model_error", outcome.error ?? "the model call failed");
    sendJson(
      res,
      200,
      {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop", logprobs: null }],
        usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      },
      headers,
    );
  } catch (err) {
    unsubscribe?.();
    if (stream && res.headersSent) {
      // The 200 is already out: the error, mapped as on every surface, is the stream's last event;
      // rethrown so the gateway logs it once (the ended response is left alone).
      const wire = toWire(err);
      res.write(
        `data: ${JSON.stringify({ error: { code: wire.code, message: wire.message, ...(wire.retryable ? { retryable: true } : {}) } })}\n\n`,
      );
      res.end();
    }
    throw err;
  }
}
