/**
 * OpenAI's Responses API, `POST /v1/responses`, as OpenClaw serves it (text only): `input` is a
 * string or a list of items; `instructions` and `system` / `developer` messages go into this
 * turn's system prompt; the newest `user` message is the inbound message (the session keeps the
 * history, as on `/v1/chat/completions`). Sessions as there, with OpenClaw's `openresponses`
 * prefix (`agent:<agent>:openresponses-user:<user>`, else one per request). `stream: true` sends
 * the Responses SSE events (`response.created` … `response.output_text.delta` …
 * `response.completed`, or `response.failed`) with sequence numbers, then `data: [DONE]`.
 * Accepted and ignored, as in OpenClaw: `reasoning`, `metadata`, `store`, `previous_response_id`,
 * `truncation`, `max_output_tokens`, `max_tool_calls`; client tools are refused.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TurnOutcome } from "../runtime/runtime.ts";
import type { UsageTotals } from "../runtime/usage.ts";
import { HttpError, readJson, sendJson } from "./http-util.ts";
import {
  chooseSession,
  configuredModelRef,
  contentText,
  openAiEnvelope,
  openAiSubmitOptions,
  promptTokens,
  sseError,
  sseHeaders,
  submitStreaming,
  userOf,
  type OpenAiContext,
} from "./openai-route.ts";
import { toWire } from "./wire-errors.ts";

interface ResponsesRequest {
  model?: unknown;
  input?: unknown;
  instructions?: unknown;
  stream?: unknown;
  user?: unknown;
  tools?: unknown;
}

/** The newest user text and the system text from `instructions` and system/developer items. */
function readInput(body: ResponsesRequest): { text: string; system: string | undefined } {
  const system: string[] = [];
  if (body.instructions !== undefined && body.instructions !== null) {
    if (typeof body.instructions !== "string")
      throw new HttpError(400, "invalid_request", "instructions: expected a string");
    if (body.instructions.trim() !== "") system.push(body.instructions.trim());
  }
  let text: string | undefined;
  if (typeof body.input === "string") text = body.input;
  else if (Array.isArray(body.input)) {
    body.input.forEach((raw: unknown, i) => {
      const item = raw as { type?: unknown; role?: unknown; content?: unknown } | null;
      if (item === null || typeof item !== "object")
        throw new HttpError(400, "invalid_request", `input[${i}]: expected an item object`);
      const type = item.type ?? "message";
      if (type === "function_call_output" || type === "function_call")
        throw new HttpError(
          400,
          "invalid_request",
          `input[${i}].type: ${String(type)} needs client tools, which Pincer does not offer`,
        );
      if (type !== "message") return; // reasoning, item_reference: ignored, as in OpenClaw
      if (item.role === "system" || item.role === "developer") {
        const t = contentText(item.content, `input[${i}].content`).trim();
        if (t !== "") system.push(t);
      } else if (item.role === "user") text = contentText(item.content, `input[${i}].content`);
      else if (item.role !== "assistant")
        throw new HttpError(
          400,
          "invalid_request",
          `input[${i}].role: got ${JSON.stringify(item.role)}, expected user, assistant, system or developer`,
        );
    });
  } else throw new HttpError(400, "invalid_request", "input: expected a string or an array of input items");
  if (text === undefined)
    throw new HttpError(400, "invalid_request", 'input: expected at least one message with role "user"');
  return { text, system: system.length > 0 ? system.join("\n\n") : undefined };
}

function responsesUsage(u: UsageTotals | undefined) {
  const input = promptTokens(u);
  const output = u?.output ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: u?.cacheRead ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output,
  };
}

export async function handleResponses(req: IncomingMessage, res: ServerResponse, ctx: OpenAiContext): Promise<void> {
  const body = (await readJson(req, ctx.limit)) as ResponsesRequest;
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw new HttpError(400, "invalid_request", "expected a JSON object");
  if (Array.isArray(body.tools) && body.tools.length > 0)
    throw new HttpError(400, "invalid_request", "tools: client tools are not supported here");
  const { text, system } = readInput(body);
  const user = userOf(body.user);
  const envelope = openAiEnvelope(user, text);
  const target = await chooseSession(
    ctx,
    req.headers["x-pincer-session-key"],
    body.model,
    user,
    envelope,
    "openresponses",
  );
  const modelRef = configuredModelRef(ctx.rt, body.model);
  const stream = body.stream === true;
  const id = `resp_${randomUUID().replaceAll("-", "")}`;
  const itemId = `msg_${randomUUID().replaceAll("-", "")}`;
  const createdAt = Math.floor(Date.now() / 1000);
  const model = typeof body.model === "string" ? body.model : "pincer";
  const resource = (
    status: string,
    output: unknown[],
    usage: UsageTotals | undefined | null,
    error: unknown = null,
  ) => ({
    id,
    object: "response",
    created_at: createdAt,
    status,
    error,
    incomplete_details: null,
    instructions: typeof body.instructions === "string" ? body.instructions : null,
    model,
    output,
    parallel_tool_calls: false,
    tool_choice: "auto",
    tools: [],
    usage: usage === null ? null : responsesUsage(usage),
  });
  const message = (status: "in_progress" | "completed", content: unknown[]) => ({
    type: "message",
    id: itemId,
    status,
    role: "assistant",
    content,
  });
  const part = (t: string) => ({ type: "output_text", text: t, annotations: [], logprobs: [] });
  const options = openAiSubmitOptions(ctx, target, system, modelRef);

  if (!stream) {
    const outcome = await submitStreaming(ctx, envelope, options, null);
    if (outcome.status === "error") throw new HttpError(502, "model_error", outcome.error ?? "the model call failed");
    const reply = outcome.reply ?? "";
    sendJson(
      res,
      200,
      { ...resource("completed", [message("completed", [part(reply)])], outcome.usage), output_text: reply },
      { "x-pincer-session-key": outcome.sessionKey, "x-pincer-session-id": outcome.sessionId },
    );
    return;
  }

  let seq = 0;
  const send = (type: string, data: Record<string, unknown>) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`);
  const at = { item_id: itemId, output_index: 0, content_index: 0 };
  sseHeaders(res, target.sessionKey);
  send("response.created", { response: resource("in_progress", [], null) });
  send("response.in_progress", { response: resource("in_progress", [], null) });
  send("response.output_item.added", { output_index: 0, item: message("in_progress", []) });
  send("response.content_part.added", { ...at, part: part("") });
  let outcome: TurnOutcome;
  try {
    outcome = await submitStreaming(ctx, envelope, options, (delta) =>
      send("response.output_text.delta", { ...at, delta, logprobs: [] }),
    );
  } catch (err) {
    failed(err);
    throw err;
  }
  if (outcome.status === "error") {
    const err = new HttpError(502, "model_error", outcome.error ?? "the model call failed");
    failed(err);
    throw err;
  }
  // The run's reply is what counts (a usage footer, a silent reply): `done` carries it whole.
  const reply = outcome.reply ?? "";
  send("response.output_text.done", { ...at, text: reply, logprobs: [] });
  send("response.content_part.done", { ...at, part: part(reply) });
  const item = message("completed", [part(reply)]);
  send("response.output_item.done", { output_index: 0, item });
  send("response.completed", { response: resource("completed", [item], outcome.usage) });
  res.write("data: [DONE]\n\n");
  res.end();

  function failed(err: unknown): void {
    const wire = toWire(err);
    if (res.writableEnded) return;
    if (!res.headersSent) {
      sseError(res, err, "error");
      return;
    }
    send("response.failed", {
      response: resource("failed", [], null, { code: wire.code, message: wire.message }),
    });
    res.write("data: [DONE]\n\n");
    res.end();
  }
}
