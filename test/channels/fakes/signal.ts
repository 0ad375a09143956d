/**
 * A local signal-cli daemon (`signal-cli daemon --http`): `GET /api/v1/check`, the SSE stream
 * `GET /api/v1/events?account=…` (`event:receive` + `data:<json>`, `:` keep-alive comments) and
 * JSON-RPC `POST /api/v1/rpc` (`send`, `sendTyping`, `sendReceipt`, `version`). In-repo rather than
 * crabline's: the tests need raw envelopes (sync messages, receipts, typing, reactions, edits,
 * malformed data), a stream that can be cut, and signal-cli's rate-limit and group errors.
 * `test/channels/signal.test.ts` also runs the adapter once against crabline's Signal server.
 */
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { FakeSent, FakeUser, PlatformFake } from "../platform-fake.ts";
import { Waiters } from "./waiters.ts";

export interface SignalFake extends PlatformFake {
  readonly account: string;
  readonly httpUrl: string;
  readonly botUuid: string;
  /** Open event streams (a reconnect makes `streamsOpened` grow). */
  readonly streams: number;
  readonly streamsOpened: number;
  /** Sends one `receive` event with this envelope; resolves once written to a stream. */
  emitEnvelope(envelope: Record<string, unknown>): Promise<void>;
  /** Writes raw bytes to every open stream (malformed SSE, split chunks). */
  emitRaw(text: string): Promise<void>;
  waitForStreams(opened: number, timeoutMs?: number): Promise<void>;
  /** The bot left / was removed from the group: sends there fail as signal-cli answers. */
  removeBotFrom(groupId: string): void;
  /** JSON-RPC calls received, by method. */
  calls(method: string): Record<string, unknown>[];
  nextTimestamp(): number;
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return undefined;
  }
}

export async function startSignalFake(opts: { account?: string } = {}): Promise<SignalFake> {
  const account = opts.account ?? "+15550001111";
  const botUuid = "0f0e0d0c-0b0a-4998-8776-655443322110";
  const bot: FakeUser = { id: account, name: "pincer" };
  const sent: FakeSent[] = [];
  const calls = new Map<string, Record<string, unknown>[]>();
  const streams = new Set<http.ServerResponse>();
  const queued: string[] = [];
  const removed = new Set<string>();
  const sentWaiters = new Waiters();
  const streamWaiters = new Waiters();
  let opened = 0;
  let revoked = false;
  let rateLimit: number | undefined;
  let clock = Date.now();

  const nextTimestamp = (): number => (clock = Math.max(clock + 1, Date.now()));

  function write(frame: string): void {
    if (streams.size === 0) {
      queued.push(frame);
      return;
    }
    for (const s of streams) s.write(frame);
  }

  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };

  function rpc(body: unknown): { status: number; body?: unknown } {
    const req = body as { jsonrpc?: unknown; method?: unknown; params?: unknown; id?: unknown } | undefined;
    if (!req || req.jsonrpc !== "2.0" || typeof req.method !== "string") {
      return { status: 200, body: { jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid Request" } } };
    }
    const id = req.id ?? null;
    const params = (req.params ?? {}) as Record<string, unknown>;
    const list = calls.get(req.method) ?? [];
    list.push(params);
    calls.set(req.method, list);
    const err = (code: number, message: string, data?: unknown) => ({
      status: 200,
      body: { jsonrpc: "2.0", id, error: { code, message, ...(data ? { data } : {}) } },
    });
    if (params.account !== undefined && params.account !== account)
      return err(-32602, "Specified account does not exist");
    const recipients = Array.isArray(params.recipient) ? (params.recipient as unknown[]).map(String) : [];
    const groupId = typeof params.groupId === "string" ? params.groupId : undefined;
    switch (req.method) {
      case "version":
        return { status: 200, body: { jsonrpc: "2.0", id, result: { version: "0.13.fake" } } };
      case "sendTyping":
      case "sendReceipt":
        if (!groupId && recipients.length === 0) return err(-32602, "No recipients given");
        return { status: 200, body: { jsonrpc: "2.0", id, result: {} } };
      case "send": {
        if (rateLimit !== undefined) {
          const sec = rateLimit;
          rateLimit = undefined;
          return err(-5, "Failed to send message due to rate limiting", { retryAfterSeconds: sec });
        }
        const message = typeof params.message === "string" ? params.message : "";
        if (!message) return err(-32602, "No message given");
        if (!groupId && recipients.length === 0) return err(-32602, "No recipients given");
        if (groupId && removed.has(groupId)) return err(-1, "You are not a member of this group");
        const timestamp = nextTimestamp();
        const to = groupId ? `group:${groupId}` : (recipients[0] ?? "");
        sent.push({ to, text: message });
        sentWaiters.wake();
        const results = (groupId ? ["member"] : recipients).map((r) => ({
          recipientAddress: { number: r.startsWith("+") ? r : null, uuid: r.startsWith("+") ? null : r },
          type: "SUCCESS",
        }));
        return { status: 200, body: { jsonrpc: "2.0", id, result: { timestamp, results } } };
      }
      default:
        return err(-32601, `Method not implemented: ${req.method}`);
    }
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (revoked) {
      req.resume();
      return json(res, 401, { error: "unauthorized" });
    }
    if (req.method === "GET" && url.pathname === "/api/v1/check") {
      res.writeHead(200);
      return res.end();
    }
    if (req.method === "GET" && url.pathname === "/api/v1/events") {
      if (url.searchParams.get("account") !== account) return json(res, 400, { error: "unknown account" });
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      res.write(":\n");
      streams.add(res);
      opened++;
      res.on("close", () => streams.delete(res));
      for (const frame of queued.splice(0)) res.write(frame);
      streamWaiters.wake();
      return;
    }
    if (req.method === "POST" && url.pathname === "/api/v1/rpc") {
      void readJson(req).then((body) => {
        const r = rpc(body);
        json(res, r.status, r.body);
      });
      return;
    }
    req.resume();
    json(res, 404, { error: "not found" });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const httpUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const source = (from: FakeUser): Record<string, unknown> =>
    from.id.startsWith("uuid:")
      ? { source: from.id.slice(5), sourceUuid: from.id.slice(5), sourceNumber: null }
      : { source: from.id, sourceNumber: from.id, sourceUuid: `uuid-of-${from.id.slice(1)}` };

  const envelopeFor = (from: FakeUser, dataMessage: Record<string, unknown>, timestamp: number) => ({
    ...source(from),
    ...(from.name ? { sourceName: from.name } : {}),
    sourceDevice: 1,
    timestamp,
    serverReceivedTimestamp: timestamp,
    serverDeliveredTimestamp: timestamp,
    dataMessage: { timestamp, expiresInSeconds: 0, viewOnce: false, ...dataMessage },
  });

  const fake: SignalFake = {
    channel: "signal",
    bot,
    account,
    botUuid,
    httpUrl,
    maxChars: 4000,
    get streams() {
      return streams.size;
    },
    get streamsOpened() {
      return opened;
    },
    channelConfig(extra) {
      return { enabled: true, account, httpUrl, ...extra };
    },
    nextTimestamp,
    async emitEnvelope(envelope) {
      write(`event:receive\ndata:${JSON.stringify({ envelope, account })}\n\n`);
    },
    async emitRaw(text) {
      write(text);
    },
    async sendDirect(from, text) {
      const ts = nextTimestamp();
      await fake.emitEnvelope(envelopeFor(from, { message: text }, ts));
      return `${from.id}:${ts}`;
    },
    async sendGroup(group, from, text, o) {
      const ts = nextTimestamp();
      const message = o?.mention ? `\uFFFC ${text}` : text;
      await fake.emitEnvelope(
        envelopeFor(
          from,
          {
            message,
            groupInfo: { groupId: group.id, ...(group.name ? { groupName: group.name } : {}), type: "DELIVER" },
            ...(o?.mention
              ? { mentions: [{ name: account, number: account, uuid: botUuid, start: 0, length: 1 }] }
              : {}),
          },
          ts,
        ),
      );
      return `${from.id}:${ts}`;
    },
    sent: () => [...sent],
    async waitForSent(n, timeoutMs = 10_000) {
      await sentWaiters.until(
        () => sent.length >= n,
        timeoutMs,
        () => `signal fake: ${sent.length} of ${n} sends after ${timeoutMs} ms`,
      );
      return [...sent];
    },
    async waitForStreams(n, timeoutMs = 10_000) {
      await streamWaiters.until(
        () => opened >= n,
        timeoutMs,
        () => `signal fake: ${opened} of ${n} streams after ${timeoutMs} ms`,
      );
    },
    // What the adapter makes of a sender: `uuid:<id>` as is, a number in E.164 form.
    directPeer: (userId) => (userId.startsWith("uuid:") || userId.startsWith("+") ? userId : `+${userId}`),
    groupPeer: (groupId) => ({ chatType: "group", peer: groupId }),
    async dropConnection() {
      for (const s of streams) s.destroy();
      streams.clear();
    },
    rateLimitNextSend(sec) {
      rateLimit = sec;
    },
    revokeToken() {
      revoked = true;
      for (const s of streams) s.destroy();
      streams.clear();
    },
    removeBotFrom(groupId) {
      removed.add(groupId);
    },
    calls: (method) => [...(calls.get(method) ?? [])],
    async close() {
      for (const s of streams) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
