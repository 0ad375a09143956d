/**
 * Where the CLI's WebSocket clients (`pincer chat`, `pincer channels status`, `pincer pairing
 * approve --notify`) find the running gateway and which token they show it.
 */
import * as fs from "node:fs";
import { DEFAULT_PORT, tokenFilePath } from "../gateway/settings.ts";
import type { CliContext } from "./context.ts";
import { CliError } from "./io.ts";

/** --token, else PINCER_GATEWAY_TOKEN, else gateway.auth.token, else the token file the gateway wrote. */
export function gatewayToken(ctx: CliContext, opts: { token?: string }): string {
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

/** The gateway's HTTP base: --url, else PINCER_GATEWAY_URL, else loopback on the configured port. */
export function gatewayBaseUrl(ctx: CliContext, opts: { url?: string }): string {
  return opts.url ?? ctx.io.env.PINCER_GATEWAY_URL ?? `http://127.0.0.1:${ctx.config.gateway?.port ?? DEFAULT_PORT}`;
}

/** The WebSocket endpoint under an HTTP base. */
export function gatewayWsUrl(base: string): string {
  return base.replace(/^http/, "ws").replace(/\/$/, "") + "/ws";
}
