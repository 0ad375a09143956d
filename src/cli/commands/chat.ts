/**
 * `pincer chat [--session KEY] "text"`: sends one message to the running gateway over its
 * WebSocket and prints the reply as it streams. The token comes from --token,
 * PINCER_GATEWAY_TOKEN, or the gateway's token file in $PINCER_HOME.
 */
import * as fs from "node:fs";
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import { DEFAULT_PORT, tokenFilePath } from "../../gateway/settings.ts";
import type { CliContext } from "../context.ts";
import { CliError } from "../io.ts";

interface ChatOpts {
  session?: string;
  url?: string;
  token?: string;
  json?: boolean;
  timeout?: string;
}

function readToken(ctx: CliContext, opts: ChatOpts): string {
  if (opts.token) return opts.token;
  if (ctx.io.env.PINCER_GATEWAY_TOKEN) return ctx.io.env.PINCER_GATEWAY_TOKEN;
  const configured = ctx.config.gateway?.auth?.token;
  if (configured) return configured;
  try {
    return fs.readFileSync(tokenFilePath(ctx.home), "utf8").trim();
  } catch {
    throw new CliError(
      `no gateway token: pass --token, set PINCER_GATEWAY_TOKEN, or start the gateway once so it writes ${tokenFilePath(ctx.home)}`,
    );
  }
}

export async function chat(ctx: CliContext, text: string[], opts: ChatOpts): Promise<number> {
  const message = text.join(" ");
  if (message.trim() === "") throw new CliError('nothing to send: pincer chat "your message"');
  const base =
    opts.url ?? ctx.io.env.PINCER_GATEWAY_URL ?? `http://127.0.0.1:${ctx.config.gateway?.port ?? DEFAULT_PORT}`;
  const wsUrl = base.replace(/^http/, "ws").replace(/\/$/, "") + "/ws";
  const sessionKey = opts.session ?? "agent:main:main";
  const timeoutMs = opts.timeout ? Number(opts.timeout) * 1000 : 120_000;
  const token = readToken(ctx, opts);
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
