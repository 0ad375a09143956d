/**
 * The gateway process: HTTP + WebSocket on one port. It wires the runtime (sessions, queue,
 * model calls) to its surfaces: the inbound API, webhooks, the OpenAI-compatible endpoint, the
 * WebSocket RPC, the WebChat page, /healthz and /metrics.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { Logger } from "pino";
import type { AgentRuntime } from "../runtime/runtime.ts";
import type { ChannelManager } from "../channels/manager.ts";
import { Authenticator, canAccessKey, type Principal } from "./auth.ts";
import { HttpError, jsonDepthExceeds, MAX_JSON_DEPTH, requestUrl, sendError } from "./http-util.ts";
import { gatewayRoutes, header, WS_PATH, type HttpRoute } from "./http-routes.ts";
import type { HookEndpoint } from "./inbound-routes.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { RunRegistry } from "./run-registry.ts";
import type { GatewaySettings } from "./settings.ts";
import { cookieSessionId, WebSessions } from "./web-sessions.ts";
import { callMethod } from "./ws-methods.ts";
import type { AdminSurface } from "./admin.ts";
import type { ServerFrame } from "./protocol.ts";
import { Router } from "./router.ts";
import { rpcErrorBody, toWire } from "./wire-errors.ts";

export interface GatewayServerOptions {
  /** Where browser logins are kept (null: memory only). */
  webSessionFile: string | null;
  now?: () => number;
  runtime: AgentRuntime;
  settings: GatewaySettings;
  metrics: GatewayMetrics;
  logger: Logger;
  hooks: HookEndpoint[];
  agentIds: () => string[];
  /** The native channel layer (gate for /v1/inbound, pairing and status methods), when configured. */
  channels?: ChannelManager;
  /** The Control UI's operator reads (logs, cron, config, audit). */
  admin?: AdminSurface;
}

const MAX_WS_FRAME = 1024 * 1024;
/** Close code for a socket that did not authenticate in time (4000-4999: application codes; 408 as in HTTP). */
export const WS_AUTH_TIMEOUT = 4408;

export class GatewayServer {
  readonly server: http.Server | https.Server;
  private readonly wss: WebSocketServer;
  private readonly opts: GatewayServerOptions;
  private readonly auth: Authenticator;
  readonly runs = new RunRegistry();
  readonly webSessions: WebSessions;
  private readonly startedAt = Date.now();
  private readonly router: Router<HttpRoute>;
  private closing = false;

  constructor(opts: GatewayServerOptions) {
    this.opts = opts;
    this.auth = new Authenticator(opts.settings.token, opts.settings.clients);
    this.webSessions = new WebSessions({
      idleMs: opts.settings.webSession.idleMs,
      absoluteMs: opts.settings.webSession.absoluteMs,
      now: opts.now,
      file: opts.webSessionFile ?? undefined,
    });
    this.router = new Router(
      gatewayRoutes({
        rt: opts.runtime,
        settings: opts.settings,
        metrics: opts.metrics,
        auth: this.auth,
        runs: this.runs,
        webSessions: this.webSessions,
        hooks: opts.hooks,
        startedAt: this.startedAt,
        ...(opts.channels ? { channels: opts.channels } : {}),
      }),
    );
    const serverOptions = {
      maxHeaderSize: 16 * 1024,
      headersTimeout: opts.settings.timeouts.headersMs,
      requestTimeout: opts.settings.timeouts.requestMs,
    };
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    this.server = opts.settings.tls
      ? https.createServer({ ...serverOptions, cert: opts.settings.tls.cert, key: opts.settings.tls.key }, handler)
      : http.createServer(serverOptions, handler);
    this.server.keepAliveTimeout = 30_000;
    // Node checks the header/request deadlines on this interval; keep it below the shortest one.
    (this.server as http.Server & { connectionsCheckingInterval?: number }).connectionsCheckingInterval = Math.min(
      1000,
      opts.settings.timeouts.headersMs / 2,
    );
    // Room for the largest message plus its frame, so an oversized message gets a clear error, not a close.
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: Math.max(MAX_WS_FRAME, opts.runtime.maxMessageBytes + 64 * 1024),
    });
    this.server.on("upgrade", (req, socket: Duplex, head) => {
      // Until ws takes the socket over, a reset from the peer must not reach the process.
      socket.on("error", (err) => this.countSocketError(err));
      try {
        this.upgrade(req, socket, head);
      } catch (err) {
        this.opts.logger.debug({ err }, "websocket upgrade refused");
        socket.destroy();
      }
    });
  }

  private countSocketError(err: Error & { code?: string }): void {
    this.opts.metrics.wsErrors.inc({ reason: wsErrorReason(err) });
    this.opts.logger.debug({ err }, "websocket error (socket closed)");
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    let url: URL;
    try {
      url = requestUrl(req.url);
    } catch {
      socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
      return;
    }
    if (url.pathname !== WS_PATH || this.closing) {
      socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
      return;
    }
    // Browsers send the login cookie; bridges a bearer token; others authenticate in the first frame.
    let principal: Principal | null =
      this.webSessions.check(cookieSessionId(req)) !== null ? { kind: "operator", id: "operator" } : null;
    if (!principal && req.headers.authorization) {
      principal = this.auth.principalFor(/^Bearer\s+(\S+)$/i.exec(req.headers.authorization)?.[1] ?? "");
      if (!principal) {
        socket.end("HTTP/1.1 401 Unauthorized\r\n\r\n");
        return;
      }
    }
    if (!this.sameOrigin(req)) {
      socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws, principal));
  }

  /** Cross-site pages must not drive the WebSocket with the operator's cookie. */
  private sameOrigin(req: http.IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (!origin) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  async listen(): Promise<{ host: string; port: number; url: string }> {
    const { host, port } = this.opts.settings;
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
    return {
      host: addr.address,
      port: addr.port,
      url: `${this.opts.settings.tls ? "https" : "http"}://${shown}:${addr.port}`,
    };
  }

  /** Stops accepting, lets in-flight turns finish (or aborts them at the deadline), closes sockets. */
  async close(drainMs = 10_000): Promise<void> {
    this.closing = true;
    const stopped = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeIdleConnections();
    await this.opts.runtime.drain(drainMs);
    for (const ws of this.wss.clients) ws.close(1001, "gateway shutting down");
    this.server.closeAllConnections();
    await stopped;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = requestUrl(req.url);
    } catch (err) {
      sendError(res, err as HttpError);
      return;
    }
    const method = req.method ?? "GET";
    // For the log: the route's pattern (no ids), or the raw request when no route has its path.
    const route = this.router.patternOf(method, url.pathname) ?? `${method} ${url.pathname}`;
    const label = this.router.label(method, url.pathname);
    res.on("finish", () => this.opts.metrics.httpRequests.inc({ route: label, status: String(res.statusCode) }));
    if (this.opts.settings.tls) res.setHeader("strict-transport-security", "max-age=31536000; includeSubDomains");
    try {
      if (this.closing) throw new HttpError(503, "shutting_down", "the gateway is shutting down");
      await this.dispatch(req, res, url);
    } catch (err) {
      // A full disk (507), the database down, a session busy on or taken over by another gateway
      // (503 + Retry-After): nothing was acknowledged, so the client may retry the same message (a
      // message already recorded is recognised by its messageId). Anything unexpected: 500, message in the log.
      const wire = toWire(err);
      this.opts.logger[wire.logLevel]({ err, route, code: wire.code }, "request failed");
      if (wire.retryAfter !== undefined && !res.headersSent) res.setHeader("retry-after", String(wire.retryAfter));
      sendError(res, new HttpError(wire.status, wire.code, wire.message));
    }
  }

  /**
   * The caller. A bearer token wins; otherwise a WebChat login cookie, which on a state-changing
   * request must come with the login's CSRF token (a cross-site form can send the cookie, not the token).
   */
  private principal(req: http.IncomingMessage): Principal {
    if (req.headers.authorization || req.headers["x-pincer-token"]) return this.auth.require(req);
    const login = this.webSessions.check(cookieSessionId(req));
    if (login) {
      const method = req.method ?? "GET";
      if (
        method !== "GET" &&
        method !== "HEAD" &&
        !this.webSessions.csrfMatches(login.csrf, header(req, "x-csrf-token"))
      ) {
        throw new HttpError(403, "csrf_required", "missing or wrong x-csrf-token for this login");
      }
      return { kind: "operator", id: "operator" };
    }
    return this.auth.require(req);
  }

  /** Dispatch from the route table: the route's auth first, then its handler. */
  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? "GET";
    const path = url.pathname;
    const match = this.router.match(method, path);
    if (match.kind === "wrong-method") {
      res.setHeader("allow", match.allow.join(", "));
      throw new HttpError(405, "method_not_allowed", `use ${match.allow.join(" or ")}`);
    }
    if (match.kind === "none") throw new HttpError(404, "not_found", `no route for ${method} ${path}`);
    const { route, params } = match;
    const call = { req, res, url, params };
    if (route.auth === "caller") await route.handle(call, this.principal(req));
    else await route.handle(call);
  }

  private onSocket(ws: WebSocket, initial: Principal | null): void {
    let principal = initial;
    let stopFollow: (() => void) | null = null;
    const follow = {
      start(stop: () => void) {
        stopFollow = stop;
      },
      stop() {
        stopFollow?.();
        stopFollow = null;
      },
    };
    const send = (frame: ServerFrame) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
    };
    const unsubscribe = this.opts.runtime.onChat((ev) => {
      if (principal && canAccessKey(principal, ev.sessionKey)) send({ type: "event", event: "chat", payload: ev });
    });
    const unsubscribeSession = this.opts.runtime.onSession((ev) => {
      if (principal && canAccessKey(principal, ev.sessionKey)) send({ type: "event", event: "session", payload: ev });
    });
    const unsubscribeOutbound = this.opts.runtime.onOutbound((msg) => {
      if (principal && canAccessKey(principal, msg.sessionKey))
        send({ type: "event", event: "outbound", payload: msg });
    });
    // A frame ws refuses (over maxPayload, invalid UTF-8, a reserved opcode, bad masking) is
    // reported here, then ws closes the socket with the matching code (1009, 1007, 1002): count it,
    // never let it reach the process.
    ws.on("error", (err) => this.countSocketError(err));
    // A socket that never authenticates is closed instead of being held open indefinitely.
    const authDeadline = principal
      ? null
      : setTimeout(() => {
          if (principal) return;
          this.opts.metrics.wsAuthTimeouts.inc();
          ws.close(
            WS_AUTH_TIMEOUT,
            `not authenticated within ${this.opts.settings.timeouts.authMs} ms (gateway.timeouts.authMs)`,
          );
        }, this.opts.settings.timeouts.authMs);
    ws.on("close", () => {
      if (authDeadline) clearTimeout(authDeadline);
      unsubscribe();
      unsubscribeOutbound();
      unsubscribeSession();
      follow.stop();
    });
    ws.on("message", (data, isBinary) => {
      void (async () => {
        let frame: { type?: unknown; id?: unknown; method?: unknown; params?: unknown };
        try {
          if (isBinary) throw new Error("binary frames are not supported");
          const text = String(data);
          if (jsonDepthExceeds(text))
            throw new Error(
              `nests arrays/objects more than ${MAX_JSON_DEPTH} levels deep (the limit is ${MAX_JSON_DEPTH})`,
            );
          frame = JSON.parse(text);
          if (!frame || typeof frame !== "object") throw new Error("expected a JSON object");
        } catch (err) {
          send({
            type: "res",
            id: null,
            ok: false,
            error: {
              code: "INVALID_REQUEST",
              message: `malformed frame: ${err instanceof Error ? err.message : String(err)}`,
            },
          });
          return;
        }
        const id = typeof frame.id === "string" || typeof frame.id === "number" ? frame.id : null;
        if (frame.type !== "req" || typeof frame.method !== "string" || id === null) {
          send({
            type: "res",
            id,
            ok: false,
            error: {
              code: "INVALID_REQUEST",
              message: 'expected {"type":"req","id":<string|number>,"method":<string>,"params":{...}}',
            },
          });
          return;
        }
        const params = (frame.params ?? {}) as Record<string, unknown>;
        if (typeof params !== "object" || Array.isArray(params)) {
          send({
            type: "res",
            id,
            ok: false,
            error: { code: "INVALID_REQUEST", message: "params: expected an object" },
          });
          return;
        }
        if (frame.method === "connect") {
          principal = this.auth.principalFor(typeof params.token === "string" ? params.token : "") ?? null;
          if (!principal) {
            send({ type: "res", id, ok: false, error: { code: "UNAUTHORIZED", message: "invalid token" } });
            ws.close(4401, "unauthorized");
            return;
          }
          send({
            type: "res",
            id,
            ok: true,
            payload: { principal: principal.kind, version: this.opts.runtime.version },
          });
          return;
        }
        if (!principal) {
          send({
            type: "res",
            id,
            ok: false,
            error: { code: "UNAUTHORIZED", message: "send a connect request with the gateway token first" },
          });
          return;
        }
        try {
          const payload = await callMethod(
            {
              rt: this.opts.runtime,
              principal,
              runs: this.runs,
              agentIds: this.opts.agentIds,
              ...(this.opts.channels ? { channels: this.opts.channels } : {}),
              ...(this.opts.admin ? { admin: this.opts.admin } : {}),
              follow,
            },
            frame.method,
            params,
            send,
          );
          send({ type: "res", id, ok: true, payload });
        } catch (err) {
          // The same mapping as HTTP: a store outage is UNAVAILABLE with retryable: true here too.
          const wire = toWire(err);
          this.opts.logger[wire.logLevel]({ err, method: frame.method, code: wire.code }, "rpc failed");
          send({ type: "res", id, ok: false, error: rpcErrorBody(wire) });
        }
      })();
    });
  }
}

/** A bounded metric label: ws's error codes (`WS_ERR_INVALID_UTF8`, ...) or the socket's errno code. */
function wsErrorReason(err: Error & { code?: string }): string {
  return typeof err.code === "string" && /^[A-Z0-9_]{1,64}$/.test(err.code) ? err.code : "other";
}
