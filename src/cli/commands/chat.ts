/**
 * `pincer chat [--session KEY] "text"`: sends one message to the running gateway over its
 * WebSocket and prints the reply as it streams. The token comes from --token,
 * PINCER_GATEWAY_TOKEN, or the gateway's token file in $PINCER_HOME.
 */
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import type { CliContext } from "../context.ts";
import { gatewayBaseUrl, gatewayToken, gatewayWsUrl } from "../gateway-target.ts";
import { CliError } from "../io.ts";

interface ChatOpts {
  session?: string;
  url?: string;
  token?: string;
  json?: boolean;
  timeout?: string;
}

export async function chat(ctx: CliContext, text: string[], opts: ChatOpts): Promise<number> {
  const message = text.join(" ");
  if (message.trim() === "") throw new CliError('nothing to send: pincer chat "your message"');
  const base = gatewayBaseUrl(ctx, opts);
  const wsUrl = gatewayWsUrl(base);
  const sessionKey = opts.session ?? "agent:main:main";
  const timeoutMs = opts.timeout ? Number(opts.timeout) * 1000 : 120_000;
  const token = gatewayToken(ctx, opts);
  const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` } });
  const runId = randomUUID();
  let streamed = false;
  return await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new CliError(`no reply within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    const finish = (code: number) => {
      clearTimeout(timer);
      ws.close();
      resolve(code);
    };
    ws.on("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      reject(
        new CliError(
          res.statusCode === 401 ? "the gateway rejected the token (401)" : `the gateway answered ${res.statusCode}`,
        ),
      );
    });
    ws.on("error", (err) => {
      clearTimeout(timer);
      reject(new CliError(`cannot reach the gateway at ${base}: ${err.message} (is \`pincer gateway\` running?)`));
    });
    ws.on("open", () =>
      ws.send(
        JSON.stringify({
          type: "req",
          id: 1,
          method: "chat.send",
          params: { sessionKey, message, idempotencyKey: runId },
        }),
      ),
    );
    ws.on("message", (data) => {
      const frame = JSON.parse(String(data)) as {
        type: string;
        id?: number;
        ok?: boolean;
        error?: { message: string };
        event?: string;
        payload?: Record<string, unknown>;
      };
      if (frame.type === "res" && frame.ok === false) {
        clearTimeout(timer);
        ws.close();
        reject(new CliError(frame.error?.message ?? "request failed"));
        return;
      }
      if (frame.type !== "event" || frame.event !== "chat") return;
      const ev = frame.payload as {
        runIds?: string[];
        state: string;
        text?: string;
        message?: string;
        errorMessage?: string;
        delivered?: boolean;
      };
      if (!ev.runIds?.includes(runId)) return;
      if (ev.state === "delta" && ev.text && !opts.json) {
        streamed = true;
        ctx.io.out(ev.text, false);
      } else if (ev.state === "final") {
        if (opts.json)
          ctx.io.out(JSON.stringify({ sessionKey, reply: ev.message ?? null, delivered: ev.delivered ?? false }));
        else if (!streamed && ev.message) ctx.io.out(ev.message);
        else if (streamed) ctx.io.out("");
        else if (ev.delivered === false)
          ctx.io.err("(reply not delivered: send policy denies it or the reply was silent)");
        finish(0);
      } else if (ev.state === "error" || ev.state === "aborted") {
        ctx.io.err(`error: ${ev.errorMessage ?? ev.state}`);
        finish(1);
      }
    });
  });
}
