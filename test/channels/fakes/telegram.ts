/**
 * The Telegram platform fake: `@openclaw/crabline`'s Bot API server (getMe, getUpdates, sendMessage,
 * forum topics, webhooks, its admin inbound endpoint) behind a thin loopback proxy that adds what
 * crabline cannot do: a 429 or any other error on the next call of a method, a revoked token (401
 * for every call), a dropped long poll, and updates crabline's admin endpoint will not build
 * (replies to the bot, edits, stickers, service messages, bot senders, malformed updates). Those
 * "raw" updates live in the proxy and are merged into getUpdates answers in update-id order; the
 * proxy hands out every update id (crabline's injections get theirs explicitly), so both sources
 * share one sequence. The proxy also records every call, which is how tests see what was posted.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { startTelegramServer, type StartedTelegramServer } from "@openclaw/crabline";
import type { FakeSent, FakeUser, PlatformFake } from "../platform-fake.ts";
import { Waiters } from "./waiters.ts";

export interface TelegramCall {
  method: string;
  body: Record<string, unknown>;
  status: number;
  response: Record<string, unknown>;
}

interface RawUpdate {
  seq: number;
  payload: unknown;
}

interface Poll {
  req: http.IncomingMessage;
  upstream: AbortController;
  woken: boolean;
}

type Json = Record<string, unknown>;

const MAX_INBOUND_TEXT = 4096;

/** Message ids for raw updates: far above crabline's per-chat counters, so they never collide. */
const RAW_MESSAGE_IDS = 1_000_000;

function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export class TelegramFake implements PlatformFake {
  readonly channel = "telegram" as const;
  readonly maxChars = 4096;
  readonly bot: FakeUser;
  readonly calls: TelegramCall[] = [];
  private readonly crabline: StartedTelegramServer;
  private readonly proxy: http.Server;
  private readonly dir: string;
  private readonly proxyUrl: string;
  private readonly botUsername: string;
  private nextUpdateId = 1;
  private nextRawMessageId = RAW_MESSAGE_IDS;
  private readonly raw: RawUpdate[] = [];
  private readonly polls = new Set<Poll>();
  private readonly posts: FakeSent[] = [];
  private readonly waiters = new Waiters();
  private readonly faults: Array<{ method: string; status: number; body: Json }> = [];
  private readonly forums = new Set<number>();
  private readonly titled = new Set<number>();
  private revoked = false;
  private webhook: { url: string; secret?: string } | undefined;

  constructor(
    crabline: StartedTelegramServer,
    proxy: http.Server,
    proxyUrl: string,
    dir: string,
    botId: number,
    botUsername: string,
  ) {
    this.crabline = crabline;
    this.proxy = proxy;
    this.proxyUrl = proxyUrl;
    this.dir = dir;
    this.botUsername = botUsername;
    this.bot = { id: String(botId), name: botUsername };
  }

  get token(): string {
    return this.crabline.manifest.botToken;
  }

  get apiRoot(): string {
    return this.proxyUrl;
  }

  channelConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { botToken: this.token, apiRoot: this.proxyUrl, ...extra };
  }

  directPeer(userId: string): string {
    return String(this.userNumber(userId));
  }

  groupPeer(groupId: string, threadId?: string): { chatType: "group"; peer: string } {
    const chat = this.groupNumber(groupId);
    return { chatType: "group", peer: threadId === undefined ? String(chat) : `${chat}:topic:${threadId}` };
  }

  /** Telegram user ids are positive integers: numeric ids are kept, others get a stable number. */
  userNumber(id: string): number {
    return /^\d{1,12}$/.test(id) && Number(id) > 0 ? Number(id) : 5_000_000_000 + (fnv(id) % 1_000_000_000);
  }

  /** Group ids are negative: `-…` is kept, anything else becomes a stable supergroup id (-100…). */
  groupNumber(id: string): number {
    if (/^-\d{1,15}$/.test(id)) return Number(id);
    return -(1_000_000_000_000 + (fnv(id) % 1_000_000_000));
  }

  async sendDirect(from: FakeUser, text: string, extra: Json = {}): Promise<string> {
    const uid = this.userNumber(from.id);
    const admin = {
      chatId: uid,
      chatType: "private",
      fromId: uid,
      fromName: from.name ?? `user${uid}`,
      text,
      ...extra,
    };
    return this.injectOrRaw(admin, { id: uid, type: "private" });
  }

  async sendGroup(
    group: { id: string; name?: string; threadId?: string },
    from: FakeUser,
    text: string,
    opts: { mention?: boolean } = {},
  ): Promise<string> {
    const chatId = this.groupNumber(group.id);
    if (group.threadId !== undefined) this.forums.add(chatId);
    const forum = this.forums.has(chatId);
    if (group.name && !this.titled.has(chatId)) await this.registerChat(chatId, group.name, forum);
    const uid = this.userNumber(from.id);
    const handle = `@${this.botUsername}`;
    const body = opts.mention ? `${handle} ${text}` : text;
    const admin = {
      chatId,
      chatType: "supergroup",
      isForum: forum,
      fromId: uid,
      fromName: from.name ?? `user${uid}`,
      text: body,
      // In a forum the General topic's messages carry no thread id.
      ...(group.threadId !== undefined && group.threadId !== "1" ? { messageThreadId: Number(group.threadId) } : {}),
      ...(opts.mention ? { entities: [{ type: "mention", offset: 0, length: handle.length }] } : {}),
    };
    if (body.length > MAX_INBOUND_TEXT && !this.titled.has(chatId)) {
      await this.registerChat(chatId, group.name ?? `group ${chatId}`, forum);
    }
    const chat = {
      id: chatId,
      type: "supergroup",
      ...(forum ? { is_forum: true } : {}),
      ...(group.name ? { title: group.name } : {}),
    };
    return this.injectOrRaw(admin, chat);
  }

  /**
   * Through crabline's admin endpoint; a text over 4 096 characters (which crabline, like Telegram,
   * refuses inbound) goes the raw way instead, so a scenario can still send one.
   */
  private async injectOrRaw(admin: Json, chat: Json): Promise<string> {
    const text = String(admin.text);
    if (text.length <= MAX_INBOUND_TEXT) {
      const update = await this.inject(admin);
      return String((update.message as Json).message_id);
    }
    const message: Json = {
      chat,
      from: { id: admin.fromId, is_bot: false, first_name: admin.fromName },
      text,
      ...(admin.messageThreadId !== undefined
        ? { message_thread_id: admin.messageThreadId, is_topic_message: true }
        : {}),
      ...(admin.entities !== undefined ? { entities: admin.entities } : {}),
    };
    this.sendRaw({ message });
    return String(message.message_id);
  }

  /**
   * An update crabline's admin endpoint cannot build, delivered as is (its `update_id` is set
   * here unless `noUpdateId`). A `message` without `message_id` gets one. Returns the update id.
   */
  sendRaw(update: Json, opts: { noUpdateId?: boolean } = {}): number {
    const seq = this.nextUpdateId++;
    const msg = update.message as Json | undefined;
    if (msg && typeof msg === "object" && msg.message_id === undefined) {
      msg.message_id = this.nextRawMessageId++;
      msg.date ??= Math.floor(Date.now() / 1000);
    }
    const payload = opts.noUpdateId ? update : { ...update, update_id: seq };
    if (this.webhook) void this.postWebhook(payload);
    else {
      this.raw.push({ seq, payload });
      for (const poll of this.polls) {
        poll.woken = true;
        poll.upstream.abort();
      }
    }
    return seq;
  }

  /** Any payload at all (not even an object) in a getUpdates answer: the malformed-update case. */
  sendGarbage(payload: unknown): void {
    const seq = this.nextUpdateId++;
    this.raw.push({ seq, payload });
    for (const poll of this.polls) {
      poll.woken = true;
      poll.upstream.abort();
    }
  }

  sent(): FakeSent[] {
    return [...this.posts];
  }

  async waitForSent(n: number, timeoutMs = 10_000): Promise<FakeSent[]> {
    await this.waiters.until(
      () => this.posts.length >= n,
      timeoutMs,
      () => `telegram fake: ${this.posts.length} of ${n} posts after ${timeoutMs} ms`,
      200,
    );
    return this.sent();
  }

  /** Calls of one Bot API method (case-insensitive), in order. */
  callsOf(method: string): TelegramCall[] {
    return this.calls.filter((c) => c.method.toLowerCase() === method.toLowerCase());
  }

  async dropConnection(): Promise<void> {
    for (const poll of this.polls) {
      poll.upstream.abort();
      poll.req.socket.destroy();
    }
    this.polls.clear();
  }

  rateLimitNextSend(retryAfterSec: number): void {
    this.failNext("sendMessage", 429, {
      ok: false,
      error_code: 429,
      description: `Too Many Requests: retry after ${retryAfterSec}`,
      parameters: { retry_after: retryAfterSec },
    });
  }

  /** The next call of `method` answers `status` with `body` (a Bot API error object). */
  failNext(method: string, status: number, body: Json): void {
    this.faults.push({ method: method.toLowerCase(), status, body });
  }

  revokeToken(): void {
    this.revoked = true;
    void this.dropConnection();
  }

  /** Number of long polls currently held open by the proxy. */
  get activePolls(): number {
    return this.polls.size;
  }

  async close(): Promise<void> {
    await this.dropConnection();
    this.proxy.closeAllConnections();
    await new Promise<void>((resolve) => this.proxy.close(() => resolve()));
    await this.crabline.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  // --- internals -------------------------------------------------------------------------------

  private async inject(body: Json): Promise<Json> {
    const res = await fetch(this.crabline.manifest.endpoints.adminInboundUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-crabline-admin-token": this.crabline.manifest.adminToken },
      body: JSON.stringify({ ...body, updateId: this.nextUpdateId++ }),
    });
    const json = (await res.json()) as Json;
    if (!res.ok || json.ok !== true) throw new Error(`crabline refused the inbound message: ${JSON.stringify(json)}`);
    return json.update as Json;
  }

  /** Gives crabline the chat's title (an ignored update registers chats without queueing anything). */
  private async registerChat(chatId: number, title: string, forum: boolean): Promise<void> {
    const res = await fetch(this.crabline.manifest.endpoints.adminInboundUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-crabline-admin-token": this.crabline.manifest.adminToken },
      body: JSON.stringify({
        updateId: this.nextUpdateId++,
        message: {
          message_id: 0,
          chat: { id: chatId, type: "supergroup", title, ...(forum ? { is_forum: true } : {}) },
        },
      }),
    });
    if (!res.ok) throw new Error(`crabline refused the chat registration: ${await res.text()}`);
    this.titled.add(chatId);
  }

  private async postWebhook(payload: unknown): Promise<void> {
    const hook = this.webhook!;
    await fetch(hook.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(hook.secret ? { "x-telegram-bot-api-secret-token": hook.secret } : {}),
      },
      body: JSON.stringify(payload),
    }).catch(() => undefined);
  }

  private upstream(pathname: string, body: string, signal?: AbortSignal): Promise<Response> {
    return fetch(`${this.crabline.manifest.baseUrl}${pathname}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      ...(signal ? { signal } : {}),
    });
  }

  async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const text = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const m = /^\/bot([^/]+)\/(\w+)$/.exec(url.pathname);
    let body: Json = {};
    try {
      body = text ? (JSON.parse(text) as Json) : Object.fromEntries(url.searchParams);
    } catch {
      body = {};
    }
    const method = m?.[2] ?? "";
    const send = (status: number, response: Json) => {
      this.calls.push({ method, body, status, response });
      if (!res.headersSent) res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(response));
    };
    if (!m) return void res.writeHead(404).end("not found");
    if (this.revoked && m[1] === this.token) {
      return send(401, { ok: false, error_code: 401, description: "Unauthorized" });
    }
    const fault = this.faults.findIndex((f) => f.method === method.toLowerCase());
    if (fault !== -1) {
      const f = this.faults.splice(fault, 1)[0]!;
      return send(f.status, f.body);
    }
    if (method.toLowerCase() === "getupdates") return this.getUpdates(req, url.pathname, body, send);
    const up = await this.upstream(url.pathname, JSON.stringify(body));
    const response = (await up.json().catch(() => ({ ok: false }))) as Json;
    if (response.ok === true) this.observe(method.toLowerCase(), body);
    send(up.status, response);
  }

  private observe(method: string, body: Json): void {
    if (method === "setwebhook") {
      this.webhook = body.url
        ? { url: String(body.url), ...(body.secret_token ? { secret: String(body.secret_token) } : {}) }
        : undefined;
    } else if (method === "deletewebhook") this.webhook = undefined;
    else if (method === "sendmessage") {
      const reply = body.reply_parameters as Json | undefined;
      this.posts.push({
        to: String(body.chat_id),
        ...(body.message_thread_id !== undefined ? { threadId: String(body.message_thread_id) } : {}),
        text: String(body.text),
        ...(reply?.message_id !== undefined ? { replyTo: String(reply.message_id) } : {}),
      });
      this.waiters.wake();
    }
  }

  /** A long poll through to crabline, answered early (with the raw updates merged in) when one arrives. */
  private async getUpdates(
    req: http.IncomingMessage,
    pathname: string,
    body: Json,
    send: (status: number, response: Json) => void,
  ): Promise<void> {
    const offset = typeof body.offset === "number" ? body.offset : undefined;
    const limit = typeof body.limit === "number" ? body.limit : 100;
    if (offset !== undefined) {
      for (let i = this.raw.length - 1; i >= 0; i--) if (this.raw[i]!.seq < offset) this.raw.splice(i, 1);
    }
    const merge = (fromUpstream: unknown[]) => {
      const mine = this.raw.map((r) => ({ seq: r.seq, payload: r.payload }));
      // Garbage without an update id is handed out once.
      for (let i = this.raw.length - 1; i >= 0; i--) {
        const p = this.raw[i]!.payload as Json | null;
        if (typeof p !== "object" || p === null || typeof p.update_id !== "number") this.raw.splice(i, 1);
      }
      const theirs = fromUpstream.map((u) => ({ seq: (u as Json).update_id as number, payload: u }));
      return [...theirs, ...mine]
        .sort((a, b) => a.seq - b.seq)
        .slice(0, limit)
        .map((u) => u.payload);
    };
    const quick = async () => {
      const up = await this.upstream(pathname, JSON.stringify({ ...body, timeout: 0 }));
      const json = (await up.json()) as Json;
      if (json.ok !== true) return send(up.status, json);
      send(200, { ok: true, result: merge(json.result as unknown[]) });
    };
    if (this.raw.length > 0) return quick();
    const poll: Poll = { req, upstream: new AbortController(), woken: false };
    this.polls.add(poll);
    req.socket.once("close", () => poll.upstream.abort());
    try {
      const up = await this.upstream(pathname, JSON.stringify(body), poll.upstream.signal);
      const json = (await up.json()) as Json;
      if (json.ok !== true) return send(up.status, json);
      send(200, { ok: true, result: merge(json.result as unknown[]) });
    } catch {
      if (poll.woken && !req.socket.destroyed) await quick();
    } finally {
      this.polls.delete(poll);
    }
  }
}

export async function startTelegramFake(opts: { botUsername?: string; botId?: number } = {}): Promise<TelegramFake> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-tg-fake-"));
  const botId = opts.botId ?? 424242;
  const botUsername = opts.botUsername ?? "pincer_test_bot";
  const crabline = await startTelegramServer({
    botId,
    botUsername,
    botToken: `${botId}:pincer-fake-token`,
    recorderPath: path.join(dir, "telegram.jsonl"),
  });
  const proxy = http.createServer();
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", () => resolve()));
  const port = (proxy.address() as { port: number }).port;
  const fake = new TelegramFake(crabline, proxy, `http://127.0.0.1:${port}`, dir, botId, botUsername);
  proxy.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    void fake.serve(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  return fake;
}
