/**
 * A local Slack: the Web API methods the adapter calls (`auth.test`, `apps.connections.open`,
 * `chat.postMessage`, `conversations.info`) and a Socket Mode WebSocket speaking Slack's frames
 * (`hello`, `events_api` envelopes with `retry_attempt`, `disconnect`), recording every envelope
 * ack. Crabline's Slack server has no Socket Mode, hence this one; for HTTP Events mode
 * `postHttpEvent` signs and POSTs an event callback the way Slack does.
 */
import { createHmac, randomUUID } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import type { FakeSent, FakeUser, PlatformFake } from "../platform-fake.ts";
import { Waiters } from "./waiters.ts";

export interface SlackEnvelope {
  envelope_id: string;
  type: "events_api";
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  retry_attempt: number;
  retry_reason: string;
}

export interface SlackFake extends PlatformFake {
  readonly botToken: string;
  readonly appToken: string;
  readonly signingSecret: string;
  readonly botId: string;
  readonly teamId: string;
  readonly apiUrl: string;
  /** Socket Mode connections opened so far (a reconnect makes it grow). */
  readonly connections: number;
  /** Delivers one event over the socket (queued until a socket is up); resolves with the envelope. */
  pushEvent(
    event: Record<string, unknown>,
    opts?: { retryAttempt?: number; envelopeId?: string; payload?: Record<string, unknown> },
  ): SlackEnvelope;
  /** The same event callback again, as Slack retries an envelope: new envelope id, `retry_attempt` + 1. */
  redeliver(env: SlackEnvelope): SlackEnvelope;
  /** Raw text frame on the live socket (malformed input). */
  pushRaw(frame: string): void;
  /** Resolves when the envelope was acked (ms since it was pushed), rejects after `timeoutMs`. */
  waitForAck(envelopeId: string, timeoutMs?: number): Promise<number>;
  acked(envelopeId: string): boolean;
  /** Sends Slack's `disconnect` frame (the client closes and dials again). */
  sendDisconnect(reason?: string): void;
  waitForConnections(n: number, timeoutMs?: number): Promise<void>;
  /** The bot was removed: posts there answer `not_in_channel`. */
  removeBotFrom(channelId: string): void;
  setConversation(id: string, conv: { type: "im" | "mpim" | "channel" | "group"; name?: string }): void;
  /** Builds a user message event as Slack sends it. */
  messageEvent(fields: Record<string, unknown>): Record<string, unknown>;
  /** POSTs an event callback to an HTTP Events endpoint with Slack's signature headers. */
  postHttpEvent(
    url: string,
    event: Record<string, unknown>,
    opts?: { retryNum?: number; secret?: string; body?: string },
  ): Promise<{ status: number; ms: number }>;
  /** Web API calls received, by method. */
  calls(method: string): Record<string, unknown>[];
  nextTs(): string;
}

interface Conversation {
  type: "im" | "mpim" | "channel" | "group";
  name?: string;
}

async function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString("utf8");
  const type = String(req.headers["content-type"] ?? "");
  if (type.includes("application/json")) return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  return Object.fromEntries(new URLSearchParams(raw));
}

export async function startSlackFake(): Promise<SlackFake> {
  const bot: FakeUser = { id: "UBOT0001", name: "pincer" };
  const botId = "BBOT0001";
  const teamId = "T0000TEAM";
  const botToken = `xoxb-fake-${randomUUID()}`;
  const appToken = `xapp-fake-${randomUUID()}`;
  const signingSecret = randomUUID().replace(/-/g, "");
  const sent: FakeSent[] = [];
  const calls = new Map<string, Record<string, unknown>[]>();
  const conversations = new Map<string, Conversation>();
  const removed = new Set<string>();
  const tickets = new Set<string>();
  const pending: SlackEnvelope[] = [];
  const pushedAt = new Map<string, number>();
  const acks = new Map<string, number>();
  const ackWaiters = new Map<string, Array<() => void>>();
  const sentWaiters = new Waiters();
  const connWaiters = new Waiters();
  let socket: WebSocket | undefined;
  let connections = 0;
  let revoked = false;
  let rateLimit: number | undefined;
  let tsCounter = 0;
  const tsBase = Math.floor(Date.now() / 1000);

  const nextTs = (): string => `${tsBase + Math.floor(tsCounter / 1000)}.${String(++tsCounter).padStart(6, "0")}`;

  const conv = (id: string): Conversation =>
    conversations.get(id) ?? { type: id.startsWith("D") ? "im" : id.startsWith("G") ? "mpim" : "channel" };

  const json = (
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };

  function authorized(req: http.IncomingMessage, body: Record<string, unknown>, token: string): boolean {
    const header = String(req.headers.authorization ?? "");
    const given = header.startsWith("Bearer ") ? header.slice(7) : String(body.token ?? "");
    return given === token && !revoked;
  }

  async function api(method: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const list = calls.get(method) ?? [];
    list.push(body);
    calls.set(method, list);
    if (method === "apps.connections.open") {
      if (!authorized(req, body, appToken))
        return json(res, 200, { ok: false, error: revoked ? "token_revoked" : "invalid_auth" });
      const ticket = randomUUID();
      tickets.add(ticket);
      return json(res, 200, { ok: true, url: `ws://127.0.0.1:${port}/link/?ticket=${ticket}` });
    }
    if (!authorized(req, body, botToken))
      return json(res, 200, { ok: false, error: revoked ? "token_revoked" : "invalid_auth" });
    switch (method) {
      case "auth.test":
        return json(res, 200, {
          ok: true,
          url: "https://fake.slack.test/",
          team: "Fake Team",
          user: bot.name,
          team_id: teamId,
          user_id: bot.id,
          bot_id: botId,
        });
      case "conversations.info": {
        const id = String(body.channel ?? "");
        if (!id) return json(res, 200, { ok: false, error: "channel_not_found" });
        const c = conv(id);
        return json(res, 200, {
          ok: true,
          channel: {
            id,
            ...(c.name ? { name: c.name } : {}),
            is_channel: c.type === "channel",
            is_group: c.type === "group",
            is_im: c.type === "im",
            is_mpim: c.type === "mpim",
            is_private: c.type !== "channel",
            is_member: !removed.has(id),
          },
        });
      }
      case "chat.postMessage": {
        if (rateLimit !== undefined) {
          const after = rateLimit;
          rateLimit = undefined;
          return json(res, 429, { ok: false, error: "ratelimited" }, { "retry-after": String(after) });
        }
        const channel = String(body.channel ?? "");
        const text = typeof body.text === "string" ? body.text : "";
        if (!channel) return json(res, 200, { ok: false, error: "channel_not_found" });
        if (removed.has(channel)) return json(res, 200, { ok: false, error: "not_in_channel" });
        if (!text) return json(res, 200, { ok: false, error: "no_text" });
        if (text.length > 40_000) return json(res, 200, { ok: false, error: "msg_too_long" });
        const ts = nextTs();
        const threadTs = typeof body.thread_ts === "string" && body.thread_ts ? body.thread_ts : undefined;
        sent.push({ to: channel, text, ...(threadTs ? { threadId: threadTs } : {}) });
        sentWaiters.wake();
        return json(res, 200, {
          ok: true,
          channel,
          ts,
          message: { type: "message", user: bot.id, bot_id: botId, text, ts },
        });
      }
      default:
        return json(res, 200, { ok: false, error: "unknown_method" });
    }
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const m = /^\/api\/([\w.]+)$/.exec(url.pathname);
    if (req.method !== "POST" || !m?.[1]) return json(res, 404, { ok: false, error: "not_found" });
    api(m[1], req, res).catch((err: unknown) => json(res, 500, { ok: false, error: String(err) }));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, sock, head) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const ticket = url.searchParams.get("ticket") ?? "";
    if (!url.pathname.startsWith("/link") || !tickets.delete(ticket)) {
      sock.end("HTTP/1.1 401 Unauthorized\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, sock, head, (ws) => onSocket(ws));
  });

  function flush(): void {
    while (socket && socket.readyState === socket.OPEN && pending.length > 0) {
      const env = pending.shift() as SlackEnvelope;
      pushedAt.set(env.envelope_id, Date.now());
      socket.send(JSON.stringify(env));
    }
  }

  function onSocket(ws: WebSocket): void {
    socket?.terminate();
    socket = ws;
    connections++;
    connWaiters.wake();
    const ping = setInterval(() => ws.ping(), 5000);
    ping.unref();
    ws.on("close", () => {
      clearInterval(ping);
      if (socket === ws) socket = undefined;
    });
    ws.on("message", (data) => {
      let msg: { envelope_id?: unknown };
      try {
        msg = JSON.parse(String(data)) as { envelope_id?: unknown };
      } catch {
        return;
      }
      if (typeof msg.envelope_id !== "string" || acks.has(msg.envelope_id)) return;
      acks.set(msg.envelope_id, Date.now());
      for (const w of ackWaiters.get(msg.envelope_id) ?? []) w();
      ackWaiters.delete(msg.envelope_id);
    });
    ws.send(
      JSON.stringify({
        type: "hello",
        num_connections: 1,
        debug_info: { host: "fake-slack", approximate_connection_time: 18060 },
        connection_info: { app_id: "A0000APP" },
      }),
    );
    flush();
  }

  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const apiUrl = `http://127.0.0.1:${port}/api/`;

  function callback(event: Record<string, unknown>, extra?: Record<string, unknown>): Record<string, unknown> {
    return {
      token: "verification-token",
      team_id: teamId,
      api_app_id: "A0000APP",
      event,
      type: "event_callback",
      event_id: `Ev${randomUUID().replace(/-/g, "").slice(0, 10).toUpperCase()}`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: teamId, user_id: bot.id, is_bot: true, is_enterprise_install: false }],
      ...extra,
    };
  }

  function pushEnvelope(env: SlackEnvelope): SlackEnvelope {
    pending.push(env);
    flush();
    return env;
  }

  const fake: SlackFake = {
    channel: "slack",
    bot,
    botToken,
    appToken,
    signingSecret,
    botId,
    teamId,
    apiUrl,
    maxChars: 4000,
    get connections() {
      return connections;
    },
    channelConfig(extra) {
      return { enabled: true, botToken, appToken, apiUrl, ...extra };
    },
    nextTs,
    messageEvent(fields) {
      const channel = String(fields.channel ?? "");
      const ts = typeof fields.ts === "string" ? fields.ts : nextTs();
      return { type: "message", channel_type: conv(channel).type, team: teamId, ts, event_ts: ts, ...fields, channel };
    },
    pushEvent(event, opts) {
      return pushEnvelope({
        envelope_id: opts?.envelopeId ?? randomUUID(),
        type: "events_api",
        payload: opts?.payload ?? callback(event),
        accepts_response_payload: false,
        retry_attempt: opts?.retryAttempt ?? 0,
        retry_reason: opts?.retryAttempt ? "timeout" : "",
      });
    },
    redeliver(env) {
      return pushEnvelope({
        ...env,
        envelope_id: randomUUID(),
        retry_attempt: env.retry_attempt + 1,
        retry_reason: "timeout",
      });
    },
    pushRaw(frame) {
      socket?.send(frame);
    },
    acked: (id) => acks.has(id),
    waitForAck(id, timeoutMs = 10_000) {
      const done = (): number => (acks.get(id) ?? 0) - (pushedAt.get(id) ?? 0);
      if (acks.has(id)) return Promise.resolve(done());
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`envelope ${id} not acked within ${timeoutMs} ms`)), timeoutMs);
        const list = ackWaiters.get(id) ?? [];
        list.push(() => {
          clearTimeout(t);
          resolve(done());
        });
        ackWaiters.set(id, list);
      });
    },
    async sendDirect(from, text) {
      const channel = `D${from.id.replace(/^U/, "")}`;
      conversations.set(channel, { type: "im" });
      const ev = fake.messageEvent({
        channel,
        user: from.id,
        text,
        ...(from.name ? { user_profile: { display_name: from.name } } : {}),
      });
      await fake.waitForAck(fake.pushEvent(ev).envelope_id);
      return String(ev.ts);
    },
    async sendGroup(group, from, text, opts) {
      if (group.name && !conversations.get(group.id)?.name)
        conversations.set(group.id, { ...conv(group.id), name: group.name });
      const body = opts?.mention ? `<@${bot.id}> ${text}` : text;
      const ev = fake.messageEvent({
        channel: group.id,
        user: from.id,
        text: body,
        ...(group.threadId ? { thread_ts: group.threadId, parent_user_id: "UPARENT01" } : {}),
      });
      await fake.waitForAck(fake.pushEvent(ev).envelope_id);
      return String(ev.ts);
    },
    sent: () => [...sent],
    async waitForSent(n, timeoutMs = 10_000) {
      await sentWaiters.until(
        () => sent.length >= n,
        timeoutMs,
        () => `slack fake: ${sent.length} of ${n} posts after ${timeoutMs} ms`,
      );
      return [...sent];
    },
    directPeer: (userId) => userId.toLowerCase(),
    groupPeer(groupId, threadId) {
      const type = conv(groupId).type;
      return {
        chatType: type === "mpim" ? "group" : "channel",
        peer: groupId.toLowerCase(),
        ...(threadId ? { threadSuffix: `:thread:${threadId.toLowerCase()}` } : {}),
      };
    },
    async dropConnection() {
      socket?.terminate();
      socket = undefined;
    },
    sendDisconnect(reason = "refresh_requested") {
      socket?.send(JSON.stringify({ type: "disconnect", reason, debug_info: { host: "fake-slack" } }));
    },
    async waitForConnections(n, timeoutMs = 10_000) {
      await connWaiters.until(
        () => connections >= n,
        timeoutMs,
        () => `slack fake: ${connections} of ${n} connections after ${timeoutMs} ms`,
      );
    },
    rateLimitNextSend(sec) {
      rateLimit = sec;
    },
    revokeToken() {
      revoked = true;
      socket?.close(1000);
    },
    removeBotFrom(id) {
      removed.add(id);
    },
    setConversation(id, c) {
      conversations.set(id, c);
    },
    calls: (method) => [...(calls.get(method) ?? [])],
    async postHttpEvent(url, event, opts) {
      const body = opts?.body ?? JSON.stringify(callback(event));
      const timestamp = String(Math.floor(Date.now() / 1000));
      const sig = createHmac("sha256", opts?.secret ?? signingSecret)
        .update(`v0:${timestamp}:${body}`)
        .digest("hex");
      const started = Date.now();
      const res = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-slack-request-timestamp": timestamp,
          "x-slack-signature": `v0=${sig}`,
          ...(opts?.retryNum
            ? { "x-slack-retry-num": String(opts.retryNum), "x-slack-retry-reason": "http_timeout" }
            : {}),
        },
        body,
      });
      await res.arrayBuffer();
      return { status: res.status, ms: Date.now() - started };
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
