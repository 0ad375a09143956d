/**
 * `pincer channels status [--probe] [--json]`: asks the running gateway (WS `channels.status`) how
 * each channel account is doing — state, connected, last inbound/outbound, the last error, the
 * outbound queue depth; `--probe` also asks each platform who the bot is. Also the small WS client
 * `pincer pairing approve --notify` uses.
 */
import WebSocket from "ws";
import type { CliContext } from "../context.ts";
import { gatewayBaseUrl, gatewayToken, gatewayWsUrl } from "../gateway-target.ts";
import { CliError } from "../io.ts";

export interface GatewayOpts {
  url?: string;
  token?: string;
  timeout?: string;
}

/** Unreachable gateway (as opposed to an error it answered). */
export class GatewayUnreachableError extends CliError {}

/** One WS request to the running gateway; resolves with the response payload. */
export async function gatewayCall(
  ctx: CliContext,
  opts: GatewayOpts,
  method: string,
  params: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const base = gatewayBaseUrl(ctx, opts);
  const ws = new WebSocket(gatewayWsUrl(base), {
    headers: { authorization: `Bearer ${gatewayToken(ctx, opts)}` },
  });
  const timeoutMs = opts.timeout ? Number(opts.timeout) * 1000 : 30_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new CliError(`no answer from the gateway within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    const done = (fn: () => void) => {
      clearTimeout(timer);
      ws.close();
      fn();
    };
    ws.on("unexpected-response", (_req, res) =>
      done(() =>
        reject(
          new CliError(
            res.statusCode === 401 ? "the gateway rejected the token (401)" : `the gateway answered ${res.statusCode}`,
          ),
        ),
      ),
    );
    ws.on("error", (err) =>
      done(() =>
        reject(
          new GatewayUnreachableError(
            `cannot reach the gateway at ${base}: ${err.message} (is \`pincer gateway\` running?)`,
          ),
        ),
      ),
    );
    ws.on("open", () => ws.send(JSON.stringify({ type: "req", id: 1, method, params })));
    ws.on("message", (data) => {
      const frame = JSON.parse(String(data)) as {
        type: string;
        id?: number;
        ok?: boolean;
        payload?: unknown;
        error?: { message?: string };
      };
      if (frame.type !== "res" || frame.id !== 1) return;
      if (frame.ok === false) done(() => reject(new CliError(frame.error?.message ?? `${method} failed`)));
      else done(() => resolve((frame.payload ?? {}) as Record<string, unknown>));
    });
  });
}

interface AccountRow {
  channel: string;
  accountId: string;
  state: string;
  connected?: boolean;
  queueDepth: number;
  error?: string;
  lastInboundAt?: number;
  lastOutboundAt?: number;
  attempts?: number;
  inbound?: string;
  mode?: string;
  probe?: { ok: boolean; identity?: { id: string; name?: string }; error?: string };
}

function ago(now: number, at: number | undefined): string {
  if (at === undefined) return "never";
  const s = Math.max(0, Math.round((now - at) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

export async function channelsStatus(
  ctx: CliContext,
  opts: GatewayOpts & { probe?: boolean; json?: boolean },
): Promise<number> {
  const res = await gatewayCall(ctx, opts, "channels.status", { probe: opts.probe === true });
  const accounts = (res.accounts ?? []) as AccountRow[];
  if (opts.json) {
    ctx.io.out(JSON.stringify({ accounts }, null, 2));
    return accounts.some((a) => a.state === "fatal") ? 1 : 0;
  }
  if (accounts.length === 0) {
    ctx.io.out("No native channels configured (channels.telegram, channels.slack, channels.discord, channels.signal).");
    return 0;
  }
  const now = ctx.io.now();
  for (const a of accounts) {
    const parts = [
      `${a.channel}/${a.accountId}`,
      a.state,
      a.connected ? "connected" : "not connected",
      ...(a.mode ? [`mode ${a.mode}`] : []),
      `in ${ago(now, a.lastInboundAt)}`,
      `out ${ago(now, a.lastOutboundAt)}`,
      `queue ${a.queueDepth}`,
      ...(a.attempts ? [`attempts ${a.attempts}`] : []),
      ...(a.probe
        ? [
            a.probe.ok
              ? `probe ok${a.probe.identity ? ` (${a.probe.identity.name ?? a.probe.identity.id})` : ""}`
              : `probe failed: ${a.probe.error ?? "?"}`,
          ]
        : []),
      ...(a.error ? [`error: ${a.error}`] : []),
    ];
    ctx.io.out(parts.join("  "));
  }
  return accounts.some((a) => a.state === "fatal") ? 1 : 0;
}
