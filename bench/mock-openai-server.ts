/**
 * A minimal OpenAI-compatible model server for the gateway benchmark, run in its own process so its
 * CPU is not counted as the gateway's: every `POST /v1/chat/completions` with `stream: true` gets
 * the same short reply as chat.completions server-sent events (a role chunk, two text chunks, a
 * finish chunk, a usage chunk, `[DONE]`), the wire format of test/fixtures/fake-providers.ts.
 * Prints `listening <port>` on stdout once it accepts connections.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

const created = 1_700_000_000;

function chunk(model: string, choices: unknown[], extra: Record<string, unknown> = {}): string {
  return `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created, model, choices, ...extra })}\n\n`;
}

/** The whole event stream for one reply; only the model id varies, so it is built once per id. */
const replies = new Map<string, string>();
function replyFor(model: string): string {
  let body = replies.get(model);
  if (body === undefined) {
    body =
      chunk(model, [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]) +
      chunk(model, [{ index: 0, delta: { content: "bench " }, finish_reason: null }]) +
      chunk(model, [{ index: 0, delta: { content: "reply" }, finish_reason: null }]) +
      chunk(model, [{ index: 0, delta: {}, finish_reason: "stop" }]) +
      chunk(model, [], { usage: { prompt_tokens: 30, completion_tokens: 2, total_tokens: 32 } }) +
      "data: [DONE]\n\n";
    replies.set(model, body);
  }
  return body;
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      res.writeHead(404).end();
      return;
    }
    let model = "bench-model";
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { model?: unknown; stream?: unknown };
      if (body.stream !== true) {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "the bench server only streams", type: "invalid_request_error" } }));
        return;
      }
      if (typeof body.model === "string") model = body.model;
    } catch {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.end(replyFor(model));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
