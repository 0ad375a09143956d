/**
 * The gateway's HTTP routes as one table: `{ method, path, auth, handle }` per route. The server
 * dispatches from it, answers a known path with the wrong method 405 + `Allow`, and labels its
 * request metric with the route's pattern (router.ts). `auth` says who may call: `caller` routes
 * get the authenticated principal before their handler runs; the others authenticate themselves
 * (a hook's own token, the login cookie) or are public.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AgentRuntime } from "../runtime/runtime.ts";
import type { ChannelManager } from "../channels/manager.ts";
import { canAccessKey, ownerOf, type Authenticator, type Principal } from "./auth.ts";
import { decodePathSegment, HttpError, readJson, sendJson } from "./http-util.ts";
import { handleHook, handleInbound, outcomeBody, type HookEndpoint } from "./inbound-routes.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { handleChatCompletions, handleModel, handleModels } from "./openai-route.ts";
import { handleResponses } from "./openai-responses.ts";
import { LoginBody, type AuthSessionResult, type HealthzResult, type LoginResult } from "./protocol.ts";
import type { RunRegistry } from "./run-registry.ts";
import type { GatewaySettings } from "./settings.ts";
import { serveWebAsset, WEB_ASSET_PATHS } from "./webchat.ts";
import { cookieSessionId, type WebSessions } from "./web-sessions.ts";

/** The WebSocket endpoint: upgrades are taken before routing; a plain request is answered 404. */
export const WS_PATH = "/ws";

export interface RouteCall {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The `:name` captured by the route's pattern, undecoded. */
  params: Record<string, string>;
}

type Handler<Args extends unknown[]> = (call: RouteCall, ...args: Args) => Promise<void> | void;

export type HttpRoute = { method: "GET" | "POST"; path: string } & (
  | { auth: "caller"; handle: Handler<[principal: Principal]> }
  /** Public, or checked by the handler itself: a hook's token (`hook`), the login cookie (`login`). */
  | { auth: "public" | "hook" | "login"; handle: Handler<[]> }
);

export interface RouteDeps {
  rt: AgentRuntime;
  settings: GatewaySettings;
  metrics: GatewayMetrics;
  auth: Authenticator;
  runs: RunRegistry;
  webSessions: WebSessions;
  hooks: HookEndpoint[];
  startedAt: number;
  /** The native channel layer: its access gate also applies to bridged envelopes of its channels. */
  channels?: ChannelManager;
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === "string" ? v : undefined;
}

export function gatewayRoutes(d: RouteDeps): HttpRoute[] {
  const { rt, settings } = d;
  const limit = settings.maxBodyBytes;
  return [
    {
      method: "GET",
      path: "/healthz",
      auth: "public",
      handle: ({ res }) => {
        const answer: HealthzResult = { ok: true, version: rt.version, uptimeMs: Date.now() - d.startedAt };
        sendJson(res, 200, answer);
      },
    },
    {
      method: "GET",
      path: "/metrics",
      auth: "caller",
      handle: ({ res }) => {
        d.metrics.queueDepth.set({}, rt.queueDepthTotal());
        const text = d.metrics.render();
        res.writeHead(200, {
          "content-type": "text/plain; version=0.0.4; charset=utf-8",
          "content-length": Buffer.byteLength(text),
        });
        res.end(text);
      },
    },
    {
      method: "POST",
      path: "/v1/inbound",
      auth: "caller",
      handle: ({ req, res, url }, principal) =>
        handleInbound(req, res, {
          rt,
          principal,
          limit,
          runs: d.runs,
          url,
          ...(d.channels ? { gate: d.channels } : {}),
        }),
    },
    {
      method: "GET",
      path: "/v1/runs/:id",
      auth: "caller",
      handle: ({ res, params }, principal) => {
        const runId = decodePathSegment(params.id ?? "", "run id");
        // The caller's own run first: run ids from chat.send are idempotency keys, which callers may share.
        const rec = d.runs.find(
          runId,
          ownerOf(principal),
          (r) => principal.kind === "operator" || canAccessKey(principal, r.sessionKey),
        );
        if (!rec || (principal.kind !== "operator" && !canAccessKey(principal, rec.sessionKey)))
          throw new HttpError(404, "run_not_found", "no such run");
        if (!rec.outcome) sendJson(res, 200, { status: "running", sessionKey: rec.sessionKey });
        else sendJson(res, 200, outcomeBody(rec.outcome));
      },
    },
    {
      method: "POST",
      path: "/v1/chat/completions",
      auth: "caller",
      handle: ({ req, res }, principal) => handleChatCompletions(req, res, { rt, principal, limit }),
    },
    {
      method: "POST",
      path: "/v1/responses",
      auth: "caller",
      handle: ({ req, res }, principal) => handleResponses(req, res, { rt, principal, limit }),
    },
    { method: "GET", path: "/v1/models", auth: "caller", handle: ({ res }) => handleModels(res, rt) },
    {
      method: "GET",
      path: "/v1/models/:id",
      auth: "caller",
      handle: ({ res, params }) => handleModel(res, rt, params.id ?? ""),
    },
    {
      method: "POST",
      path: "/hooks/:id",
      auth: "hook",
      handle: ({ req, res, url, params }) =>
        handleHook(req, res, { rt, hooks: d.hooks, hookId: params.id ?? "", limit, runs: d.runs, url }),
    },
    {
      method: "POST",
      path: "/auth/login",
      auth: "public",
      handle: async ({ req, res }) => {
        const address = req.socket.remoteAddress ?? "unknown";
        if (d.webSessions.limited(address))
          throw new HttpError(429, "too_many_attempts", "too many failed logins from this address; wait a minute");
        const body = LoginBody.safeParse(await readJson(req, 4096));
        const token = body.success ? body.data.token : null;
        const p = d.auth.principalFor(token);
        if (!p || p.kind !== "operator" || token === null) {
          d.webSessions.recordFailure(address);
          throw new HttpError(401, "unauthorized", "invalid token");
        }
        const login = d.webSessions.login(cookieSessionId(req));
        const answer: LoginResult = { ok: true, csrfToken: login.csrf };
        sendJson(res, 200, answer, { "set-cookie": d.webSessions.cookieHeader(login.id, settings.tls !== null) });
      },
    },
    {
      method: "POST",
      path: "/auth/logout",
      auth: "login",
      handle: ({ req, res }) => {
        const id = cookieSessionId(req);
        const login = d.webSessions.check(id);
        if (login && !d.webSessions.csrfMatches(login.csrf, header(req, "x-csrf-token")))
          throw new HttpError(403, "csrf_required", "missing or wrong x-csrf-token for this login");
        d.webSessions.logout(id);
        sendJson(res, 200, { ok: true }, { "set-cookie": d.webSessions.clearCookieHeader(settings.tls !== null) });
      },
    },
    {
      method: "GET",
      path: "/auth/session",
      auth: "login",
      handle: ({ req, res }) => {
        const login = d.webSessions.check(cookieSessionId(req));
        const answer: AuthSessionResult = login ? { loggedIn: true, csrfToken: login.csrf } : { loggedIn: false };
        sendJson(res, 200, answer);
      },
    },
    {
      method: "GET",
      path: WS_PATH,
      auth: "public",
      handle: ({ req, url }) => {
        throw new HttpError(404, "not_found", `no route for ${req.method ?? "GET"} ${url.pathname}`);
      },
    },
    ...WEB_ASSET_PATHS.map((path): HttpRoute => ({
      method: "GET",
      path,
      auth: "public",
      handle: async ({ res }) => void (await serveWebAsset(path, res)),
    })),
  ];
}
