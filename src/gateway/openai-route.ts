/**
 * OpenAI-compatible `POST /v1/chat/completions` and `GET /v1/models`. The newest user message is
 * the inbound message; the session keeps the history, so earlier messages in the request are not
 * replayed. Client `system` / `developer` messages are added to the system prompt of this turn
 * only (as OpenClaw's `extraSystemPrompt`). The session is chosen as OpenClaw does, whatever
 * `session.dmScope` says: the `x-pincer-session-key` header (an existing session, authorised
 * against the caller), else the `user` field (`agent:<agent>:openai-user:<user>`), else a fresh
 * session per request (`agent:<agent>:openai:<uuid>`, named in the `x-pincer-session-key`
 * response header so the client can continue it). The agent is the key's, or
 * `model: "pincer:<agentId>"`, or the one the bindings route the `openai` channel to; a `model`
 * naming a configured model (`<provider>/<id>`) answers that turn with it. Streaming
 * uses chat.completion.chunk SSE frames; `stream_options.include_usage` adds OpenAI's final usage
 * chunk. `usage` counts every model call of the turn (prompt = uncached + cached input).
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AgentRuntime, ChatEvent, SubmitOptions, TurnOutcome } from "../runtime/runtime.ts";
import type { UsageTotals } from "../runtime/usage.ts";
import { EnvelopeError, parseEnvelope } from "../keys/envelope-schema.ts";
import { buildSessionKey } from "../keys/session-key-codec.ts";
import { agentIdFromKey } from "../keys/session-key-helpers.ts";
import { normalizeSessionKey } from "../keys/session-key-normalize.ts";
import { configuredAgentIds, UnknownAgentError } from "../runtime/unknown-agent.ts";
import { canAccessKey, canUseChannel, type Principal } from "./auth.ts";
import { HttpError, readJson, sendJson } from "./http-util.ts";
import { submitOrThrow } from "./inbound-routes.ts";
import { toWire } from "./wire-errors.ts";

export interface OpenAiContext {
  rt: AgentRuntime;
  principal: Principal;
  limit: number;
}

interface ChatRequest {
  model?: unknown;
  messages?: unknown;
  stream?: unknown;
  stream_options?: unknown;
  user?: unknown;
}

/** The text of a message's `content`: a string, or the text parts of an array (`text`, `input_text`, `output_text`). */
export function contentText(content: unknown, field: string): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content
      .map((p: { type?: unknown; text?: unknown }) =>
        (p?.type === "text" || p?.type === "input_text" || p?.type === "output_text") && typeof p.text === "string"
          ? p.text
          : "",
      )
      .join("\n");
  throw new HttpError(400, "invalid_request", `${field}: expected a string or an array of content parts`);
}

/** The newest user message's text, and the client's system/developer messages joined (or undefined). */
function readMessages(messages: unknown): { text: string; system: string | undefined } {
  if (!Array.isArray(messages) || messages.length === 0)
    throw new HttpError(400, "invalid_request", "messages: got nothing, expected a non-empty array of chat messages");
  let text: string | undefined;
  const system: string[] = [];
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as { role?: unknown; content?: unknown } | null;
    if (m?.role === "system" || m?.role === "developer") {
      const t = contentText(m.content, `messages[${i}].content`).trim();
      if (t !== "") system.push(t);
    } else if (m?.role === "user") text = contentText(m.content, `messages[${i}].content`);
  }
  if (text === undefined)
    throw new HttpError(400, "invalid_request", 'messages: expected at least one message with role "user"');
  return { text, system: system.length > 0 ? system.join("\n\n") : undefined };
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

/** The `user` field: 1-128 characters of letters, digits, `. _ @ -` (it becomes part of a session key). */
export function userOf(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^[A-Za-z0-9._@-]{1,128}$/.test(value))
    throw new HttpError(
      400,
      "invalid_request",
      `user: got ${JSON.stringify(value)}, expected 1-128 characters of letters, digits, . _ @ -`,
    );
  return value;
}

/** How both endpoints submit: an operator token may run commands; a system message and a configured model ride along. */
export function openAiSubmitOptions(
  ctx: OpenAiContext,
  target: { agentId: string; sessionKey: string },
  system: string | undefined,
  modelRef: string | undefined,
): SubmitOptions {
  return {
    surface: "openai",
    target,
    commandAuthorized: ctx.principal.kind === "operator",
    ...(system ? { extraSystem: system } : {}),
    ...(modelRef ? { modelRef } : {}),
  };
}

/** The inbound envelope of one OpenAI-compatible request: a direct chat with its `user` (or "anonymous"). */
export function openAiEnvelope(user: string | undefined, text: string): Record<string, unknown> {
  return { channel: "openai", chatType: "direct", peerId: user ?? "anonymous", senderId: user ?? "anonymous", text };
}

export async function chooseSession(
  ctx: { rt: AgentRuntime; principal: Principal },
  headerKey: string | string[] | undefined,
  model: unknown,
  user: string | undefined,
  envelope: Record<string, unknown>,
  prefix = "openai",
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
  const rest = user !== undefined ? `${prefix}-user:${user.toLowerCase()}` : `${prefix}:${randomUUID()}`;
  return { agentId, sessionKey: buildSessionKey({ kind: "other", agentId, rest }) };
}

/**
 * Submits one message and hands its run's deltas to `onDelta` (when given) as they stream. The
 * listener is subscribed before the submission so no delta is missed; deltas that arrive before
 * the run id is known are buffered.
 */
export async function submitStreaming(
  ctx: OpenAiContext,
  envelope: Record<string, unknown>,
  options: SubmitOptions,
  onDelta: ((text: string) => void) | null,
): Promise<TurnOutcome> {
  let runId = "";
  const early: Array<[string[], string]> = [];
  const unsubscribe = onDelta
    ? ctx.rt.onChat((ev: ChatEvent) => {
        if (ev.state !== "delta" || !ev.text) return;
        if (!runId) early.push([ev.runIds, ev.text]);
        else if (ev.runIds.includes(runId)) onDelta(ev.text);
      })
    : null;
  try {
    const accepted = await submitOrThrow(ctx.rt, envelope, options);
    runId = accepted.runId;
    for (const [ids, t] of early.splice(0)) if (ids.includes(runId)) onDelta!(t);
    return await accepted.done;
  } finally {
    unsubscribe?.();
  }
}

/** Prompt tokens as OpenAI counts them: uncached plus cached input. */
export function promptTokens(u: UsageTotals | undefined): number {
  return u ? u.input + u.cacheRead + u.cacheWrite : 0;
}

function chatUsage(u: UsageTotals | undefined) {
  const prompt = promptTokens(u);
  const completion = u?.output ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: u?.cacheRead ?? 0 },
  };
}

/** The stream's headers; the session key is known before the run, so a streaming client can continue it too. */
export function sseHeaders(res: ServerResponse, sessionKey: string): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-store",
    connection: "keep-alive",
    "x-pincer-session-key": sessionKey,
  });
}

/** The error, mapped as on every surface, as a stream's last event once the 200 is out. */
export function sseError(res: ServerResponse, err: unknown, event?: string): void {
  const wire = toWire(err);
  const error = { code: wire.code, message: wire.message, ...(wire.retryable ? { retryable: true } : {}) };
  res.write(
    `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(event ? { type: event, error } : { error })}\n\n`,
  );
  res.end();
}

export async function handleChatCompletions(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: OpenAiContext,
): Promise<void> {
  const body = (await readJson(req, ctx.limit)) as ChatRequest;
  if (!body || typeof body !== "object") throw new HttpError(400, "invalid_request", "expected a JSON object");
  const { text, system } = readMessages(body.messages);
  const user = userOf(body.user);
  const envelope = openAiEnvelope(user, text);
  const target = await chooseSession(ctx, req.headers["x-pincer-session-key"], body.model, user, envelope);
  const modelRef = configuredModelRef(ctx.rt, body.model);
  const stream = body.stream === true;
  const includeUsage =
    stream && (body.stream_options as { include_usage?: unknown } | null | undefined)?.include_usage === true;
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const model = typeof body.model === "string" ? body.model : "pincer";
  const frame = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    res.write(
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices, ...extra })}\n\n`,
    );
  // With include_usage every chunk carries `usage: null` and a last chunk with no choices carries the usage.
  const writeChunk = (delta: Record<string, unknown>, finish: string | null) =>
    frame([{ index: 0, delta, finish_reason: finish }], includeUsage ? { usage: null } : {});
  const options = openAiSubmitOptions(ctx, target, system, modelRef);
  if (stream) {
    sseHeaders(res, target.sessionKey);
    writeChunk({ role: "assistant", content: "" }, null);
  }
  try {
    const outcome = await submitStreaming(
      ctx,
      envelope,
      options,
      stream ? (t) => writeChunk({ content: t }, null) : null,
    );
    const headers = { "x-pincer-session-key": outcome.sessionKey, "x-pincer-session-id": outcome.sessionId };
    if (stream) {
      writeChunk({}, outcome.status === "error" ? "error" : "stop");
      if (includeUsage) frame([], { usage: chatUsage(outcome.usage) });
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
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: outcome.reply ?? "" },
            finish_reason: "stop",
            logprobs: null,
          },
        ],
        usage: chatUsage(outcome.usage),
      },
      headers,
    );
  } catch (err) {
    // The 200 is already out: the error is the stream's last event; rethrown so the gateway logs
    // it once (the ended response is left alone).
    if (stream && res.headersSent) sseError(res, err);
    throw err;
  }
}

/**
 * `GET /v1/models`: each configured agent as `pincer:<agentId>` (what `model` selects), then each
 * model of `models.providers` as `<provider>/<id>`.
 */
export function modelList(rt: AgentRuntime): Array<{ id: string; object: "model"; created: number; owned_by: string }> {
  const created = 0;
  const agents = configuredAgentIds(rt.config).map((id) => ({
    id: `pincer:${id}`,
    object: "model" as const,
    created,
    owned_by: "pincer",
  }));
  const models = Object.entries(rt.config.models?.providers ?? {}).flatMap(([provider, p]) =>
    (p.models ?? []).map((m) => ({ id: `${provider}/${m.id}`, object: "model" as const, created, owned_by: provider })),
  );
  return [...agents, ...models];
}

/** A `model` naming one of the configured models (`<provider>/<id>`, as `/v1/models` lists them), else undefined. */
export function configuredModelRef(rt: AgentRuntime, model: unknown): string | undefined {
  if (typeof model !== "string" || model.startsWith("pincer:")) return undefined;
  return modelList(rt).some((m) => m.id === model && m.owned_by !== "pincer") ? model : undefined;
}

export function handleModels(res: ServerResponse, rt: AgentRuntime): void {
  sendJson(res, 200, { object: "list", data: modelList(rt) });
}

export function handleModel(res: ServerResponse, rt: AgentRuntime, id: string): void {
  const found = modelList(rt).find((m) => m.id === id);
  if (!found) throw new HttpError(404, "model_not_found", `no model ${JSON.stringify(id)}`);
  sendJson(res, 200, found);
}
