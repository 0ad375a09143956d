/**
 * Issue 11, gateway items: no frame or request from the network can end the gateway process
 * (item 1, in a real child process so an uncaught error would kill it), unauthenticated sockets
 * are closed at a deadline (1), idempotency keys are per caller and session (8), the OpenAI
 * endpoint picks sessions as OpenClaw does (9), unknown agents are 404 for everyone (10), and
 * malformed input is always a 4xx with a code (13).
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { post, startTestGateway, TOKEN, WsClient } from "./helpers/gateway-harness.ts";
import { PROCESS_TOKEN, startGatewayProcess, type GatewayProcess } from "./helpers/gateway-process.ts";

const TG = "telegram-bridge-token-0123456789";
const OPENAI_CLIENT = "openai-bridge-token-0123456789";
const HOOK_TOKEN = "ghost-hook-token-0123456789abcdef";

/** Opens `/ws` by hand (no auth) and resolves with the socket once the 101 has arrived. */
function rawUpgrade(
  port: number,
  target = "/ws",
): Promise<{ sock: net.Socket; received: () => Buffer; closed: Promise<void>; status: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    let headerEnd = -1;
    const closed = new Promise<void>((r) => sock.on("close", () => r()));
    sock.on("error", () => undefined);
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (headerEnd < 0 && (headerEnd = buf.indexOf("\r\n\r\n")) >= 0) {
        resolve({
          sock,
          received: () => buf.subarray(headerEnd + 4),
          closed,
          status: buf.subarray(0, buf.indexOf("\r\n")).toString(),
        });
      }
    });
    sock.on("close", () =>
      headerEnd < 0 ? reject(new Error(`closed before a response: ${buf.toString()}`)) : undefined,
    );
    sock.write(
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

/** A masked client frame; `declaredLength` lets the header lie about the payload. */
function frame(firstByte: number, payload: Buffer, declaredLength = payload.length): Buffer {
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  let header: Buffer;
  if (declaredLength < 126) header = Buffer.from([firstByte, 0x80 | declaredLength]);
  else {
    header = Buffer.alloc(10);
    header[0] = firstByte;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(declaredLength), 2);
  }
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([header, mask, masked]);
}

/** The status code of the close frame the server sent, if any. */
function closeCode(data: Buffer): number | null {
  for (let i = 0; i + 3 < data.length; i++) if (data[i] === 0x88 && data[i + 1]! >= 2) return data.readUInt16BE(i + 2);
  return null;
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`)).status === 200;
  } catch {
    return false;
  }
}

/** A raw HTTP/1.1 request (for request targets fetch would normalise); resolves with status and body. */
function rawRequest(port: number, head: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1", () => sock.write(head));
    let buf = "";
    sock.on("error", reject);
    sock.on("data", (d: Buffer) => {
      buf += d.toString();
      const end = buf.indexOf("\r\n\r\n");
      const len = /content-length: (\d+)/i.exec(buf)?.[1];
      if (end >= 0 && len !== undefined && buf.length >= end + 4 + Number(len)) {
        sock.destroy();
        resolve({ status: Number(buf.slice(9, 12)), body: buf.slice(end + 4, end + 4 + Number(len)) });
      }
    });
    sock.on("close", () => reject(new Error(`no complete response: ${JSON.stringify(buf)}`)));
  });
}

describe("item 1: no WebSocket frame ends the gateway process", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await startGatewayProcess({});
  }, 60_000);
  afterAll(async () => {
    await gw?.kill();
    if (gw) fs.rmSync(gw.home, { recursive: true, force: true });
  });

  const cases: Array<[string, Buffer, number]> = [
    ["a declared length over maxPayload", frame(0x81, Buffer.alloc(16), 2 ** 30), 1009],
    ["a text frame with invalid UTF-8", frame(0x81, Buffer.from([0xff, 0xfe, 0xfd])), 1007],
    ["a reserved opcode (0x3)", frame(0x83, Buffer.alloc(0)), 1002],
    ["an unmasked frame", Buffer.from([0x81, 0x02, 0x68, 0x69]), 1002],
  ];
  for (const [name, bytes, code] of cases) {
    it(`${name}: the socket is closed with ${code}, the gateway keeps serving`, async () => {
      const port = Number(new URL(gw.url).port);
      const c = await rawUpgrade(port);
      expect(c.status).toBe("HTTP/1.1 101 Switching Protocols");
      c.sock.write(bytes);
      await Promise.race([c.closed, new Promise((r) => setTimeout(r, 3000))]);
      expect(closeCode(c.received())).toBe(code);
      c.sock.destroy();
      await new Promise((r) => setTimeout(r, 100));
      expect(gw.child.exitCode, gw.stderr()).toBeNull();
      expect(await healthy(gw.url)).toBe(true);
    }, 20_000);
  }

  it("upgrade and HTTP requests with an unparseable target, and peers that reset mid-upgrade, do not end it either", async () => {
    const port = Number(new URL(gw.url).port);
    const upgrade = await rawUpgrade(port, "//[");
    expect(upgrade.status).toMatch(/^HTTP\/1\.1 400/);
    upgrade.sock.destroy();
    const plain = await rawRequest(port, "GET //[ HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(plain.status).toBe(400);
    expect((JSON.parse(plain.body) as { error: { code: string } }).error.code).toBe("invalid_url");
    for (let i = 0; i < 20; i++) {
      const s = net.connect(port, "127.0.0.1", () => {
        s.write(
          `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
        s.resetAndDestroy();
      });
      s.on("error", () => undefined);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(gw.child.exitCode, gw.stderr()).toBeNull();
    expect(await healthy(gw.url)).toBe(true);
    const metrics = await (
      await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${PROCESS_TOKEN}` } })
    ).text();
    expect(metrics).toMatch(/pincer_ws_errors_total\{reason="WS_ERR_INVALID_UTF8"\} 1/);
    expect(metrics).toMatch(/pincer_ws_errors_total\{reason="WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"\} 1/);
  }, 20_000);
});

let gw: Awaited<ReturnType<typeof startTestGateway>> | null = null;
afterEach(async () => {
  await gw?.cleanup();
  gw = null;
});

describe("item 1: unauthenticated WebSockets are closed at gateway.timeouts.authMs", () => {
  it("closes sockets that never authenticate with 4408 and a reason naming the setting; authenticated ones stay", async () => {
    // A deadline with room for a loaded 2-core machine: the clients that authenticate do so first.
    const AUTH_MS = 1500;
    gw = await startTestGateway({ gateway: { timeouts: { authMs: AUTH_MS } } } as never);
    const wsUrl = gw.url.replace(/^http/, "ws") + "/ws";
    const open = (headers: Record<string, string> = {}) =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(wsUrl, { headers });
        ws.once("open", () => resolve(ws));
        ws.once("error", reject);
      });
    const closeOf = (ws: WebSocket) =>
      new Promise<{ code: number; reason: string; at: number }>((r) =>
        ws.once("close", (code, reason) => r({ code, reason: reason.toString(), at: Date.now() })),
      );
    const bearer = await WsClient.connect(gw.url);
    // Authenticates with a connect frame before the deadline: stays open.
    const lateClient = await open();
    const connected = new Promise<Record<string, unknown>>((r) =>
      lateClient.once("message", (d) => r(JSON.parse(String(d)) as Record<string, unknown>)),
    );
    lateClient.send(JSON.stringify({ type: "req", id: 1, method: "connect", params: { token: TOKEN } }));
    expect(await connected).toMatchObject({ ok: true });
    const started = Date.now();
    const idle = await Promise.all(Array.from({ length: 500 }, () => open()));
    const closes = idle.map(closeOf);
    const results = await Promise.all(closes);
    for (const r of results) {
      expect(r.code).toBe(4408);
      expect(r.reason).toMatch(/gateway\.timeouts\.authMs/);
      expect(r.at - started).toBeLessThan(AUTH_MS + 8000);
    }
    expect(lateClient.readyState).toBe(WebSocket.OPEN);
    expect(bearer.ws.readyState).toBe(WebSocket.OPEN);
    expect((await bearer.call("sessions.list", {})).sessions).toBeDefined();
    lateClient.close();
    bearer.close();
  }, 20_000);
});

describe("item 8: WebSocket idempotency keys are scoped by caller and session", () => {
  it("another caller's reuse is its own new message; a reuse on another session is a CONFLICT, never a silent drop", async () => {
    gw = await startTestGateway({
      session: { dmScope: "per-channel-peer" },
      gateway: { clients: [{ id: "tg-bridge", token: TG, channels: ["telegram"] }] },
    } as never);
    const op = await WsClient.connect(gw.url);
    const bridge = await WsClient.connect(gw.url, TG);
    const first = await op.call("chat.send", {
      sessionKey: "agent:main:main",
      message: "operator secret",
      idempotencyKey: "k1",
    });
    expect(first).toMatchObject({ runId: "k1", status: "started" });
    expect(await op.call("agent.wait", { runId: "k1" })).toMatchObject({
      status: "ok",
      result: { sessionKey: "agent:main:main", reply: "echo: operator secret" },
    });

    // The bridge reusing the operator's key gets a run of its own, in its own session.
    const mine = await bridge.call("chat.send", {
      sessionKey: "agent:main:telegram:direct:al",
      message: "bridge text",
      idempotencyKey: "k1",
    });
    expect(mine).toMatchObject({ status: "started", sessionKey: "agent:main:telegram:direct:al" });
    const waited = await bridge.call("agent.wait", { runId: "k1" });
    expect(waited).toMatchObject({
      status: "ok",
      result: { sessionKey: "agent:main:telegram:direct:al", reply: "echo: bridge text" },
    });
    expect(JSON.stringify(waited)).not.toContain("operator secret");
    // A retry by the same caller on the same session is still recognised.
    expect(
      await bridge.call("chat.send", {
        sessionKey: "agent:main:telegram:direct:al",
        message: "bridge text",
        idempotencyKey: "k1",
      }),
    ).toMatchObject({ status: "ok", result: { reply: "echo: bridge text" } });

    // The operator reusing its key on another session: a clear CONFLICT, and nothing recorded as if it were.
    const reuse = await op.request("chat.send", {
      sessionKey: "agent:main:discord:direct:bob",
      message: "to bob",
      idempotencyKey: "k1",
    });
    expect(reuse).toMatchObject({ ok: false, error: { code: "CONFLICT" } });
    expect((reuse.error as { message: string }).message).toMatch(/agent:main:main/);

    // Two callers using one key on one session (the operator may write Telegram sessions): both recorded.
    await op.call("chat.send", {
      sessionKey: "agent:main:telegram:direct:al",
      message: "operator into al",
      idempotencyKey: "shared",
    });
    await op.call("agent.wait", { runId: "shared" });
    await bridge.call("chat.send", {
      sessionKey: "agent:main:telegram:direct:al",
      message: "bridge into al",
      idempotencyKey: "shared",
    });
    expect(await bridge.call("agent.wait", { runId: "shared" })).toMatchObject({
      result: { reply: "echo: bridge into al" },
    });
    const history = await gw.runtime.manager.history("main", "agent:main:telegram:direct:al");
    expect(history.items.filter((i) => i.role === "user").map((i) => i.text)).toEqual([
      "bridge text",
      "operator into al",
      "bridge into al",
    ]);
    op.close();
    bridge.close();
  }, 30_000);
});

describe("item 9: the OpenAI endpoint selects sessions as OpenClaw does", () => {
  const ask = (url: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    post(
      `${url}/v1/chat/completions`,
      { model: "pincer", messages: [{ role: "user", content: "hello" }], ...body },
      headers,
    );
  const keyOf = async (url: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}`, ...headers },
      body: JSON.stringify({ model: "pincer", messages: [{ role: "user", content: "hello" }], ...body }),
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    return res.headers.get("x-pincer-session-key");
  };

  for (const dmScope of ["main", "per-channel-peer"] as const) {
    it(`dmScope ${dmScope}: user → openai-user:<user>, no user → a fresh openai:<uuid> each time, telegram unaffected`, async () => {
      gw = await startTestGateway({ session: { dmScope } });
      expect(await keyOf(gw.url, { user: "a" })).toBe("agent:main:openai-user:a");
      expect(await keyOf(gw.url, { user: "b" })).toBe("agent:main:openai-user:b");
      expect(await keyOf(gw.url, { user: "a" })).toBe("agent:main:openai-user:a");
      const anon1 = await keyOf(gw.url, {});
      const anon2 = await keyOf(gw.url, {});
      expect(anon1).toMatch(/^agent:main:openai:[0-9a-f-]{36}$/);
      expect(anon2).toMatch(/^agent:main:openai:[0-9a-f-]{36}$/);
      expect(anon2).not.toBe(anon1);
      const tg = await post(`${gw.url}/v1/inbound`, {
        channel: "telegram",
        chatType: "direct",
        peerId: "7",
        senderId: "7",
        text: "from telegram",
      });
      expect(tg.json.sessionKey).toBe(dmScope === "main" ? "agent:main:main" : "agent:main:telegram:direct:7");
      const a = await gw.runtime.manager.history("main", "agent:main:openai-user:a");
      expect(a.items.filter((i) => i.role === "user")).toHaveLength(2);
      // The explicit override still wins: continue the anonymous session by its key.
      expect(await keyOf(gw.url, {}, { "x-pincer-session-key": anon1! })).toBe(anon1);
    }, 30_000);
  }

  it("`model: pincer:<agent>` picks the agent; an openai-scoped client may use its sessions, others may not", async () => {
    gw = await startTestGateway({
      agents: { list: [{ id: "main" }, { id: "ops" }] },
      gateway: {
        clients: [
          { id: "oa", token: OPENAI_CLIENT, channels: ["openai"] },
          { id: "tg", token: TG, channels: ["telegram"] },
        ],
      },
    } as never);
    expect(await keyOf(gw.url, { user: "carol", model: "pincer:ops" })).toBe("agent:ops:openai-user:carol");
    const viaClient = await ask(
      gw.url,
      { user: "carol" },
      { authorization: `Bearer ${OPENAI_CLIENT}`, "x-pincer-session-key": "agent:ops:openai-user:carol" },
    );
    expect(viaClient.status).toBe(200);
    expect(
      (
        await ask(
          gw.url,
          { user: "carol" },
          { authorization: `Bearer ${TG}`, "x-pincer-session-key": "agent:ops:openai-user:carol" },
        )
      ).status,
    ).toBe(403);
  }, 30_000);
});

describe("item 10: unknown agents are 404 agent_not_found for every caller, and nothing is created", () => {
  it("WebSocket, OpenAI endpoint and hooks refuse unconfigured agents", async () => {
    gw = await startTestGateway({
      session: { dmScope: "per-channel-peer" },
      gateway: { clients: [{ id: "tg-bridge", token: TG, channels: ["telegram", "openai"] }] },
      hooks: { endpoints: [{ id: "ghost", token: HOOK_TOKEN, agent: "ghost" }] },
    } as never);
    const bridge = await WsClient.connect(gw.url, TG);
    const op = await WsClient.connect(gw.url);
    const notFound = { ok: false, error: { code: "NOT_FOUND" } };
    for (const ws of [bridge, op]) {
      expect(
        await ws.request("chat.send", {
          sessionKey: "agent:zzz2:telegram:direct:al",
          message: "x",
          idempotencyKey: "z1",
        }),
      ).toMatchObject(notFound);
      expect(await ws.request("sessions.patch", { key: "agent:zzz2:telegram:direct:al", label: "x" })).toMatchObject(
        notFound,
      );
      expect(await ws.request("chat.history", { sessionKey: "agent:zzz2:telegram:direct:al" })).toMatchObject(notFound);
      expect(await ws.request("chat.abort", { sessionKey: "agent:zzz2:telegram:direct:al" })).toMatchObject(notFound);
      expect(await ws.request("sessions.list", { agentId: "zzz2" })).toMatchObject(notFound);
    }
    const body = { model: "pincer", messages: [{ role: "user", content: "x" }] };
    for (const auth of [TOKEN, TG]) {
      const byKey = await post(`${gw.url}/v1/chat/completions`, body, {
        authorization: `Bearer ${auth}`,
        "x-pincer-session-key": "agent:zzz2:telegram:direct:al",
      });
      expect(byKey).toMatchObject({ status: 404, json: { error: { code: "agent_not_found" } } });
      const byModel = await post(
        `${gw.url}/v1/chat/completions`,
        { ...body, model: "pincer:zzz2" },
        { authorization: `Bearer ${auth}` },
      );
      expect(byModel).toMatchObject({ status: 404, json: { error: { code: "agent_not_found" } } });
    }
    const hook = await post(`${gw.url}/hooks/ghost`, { text: "x" }, { authorization: `Bearer ${HOOK_TOKEN}` });
    expect(hook).toMatchObject({ status: 404, json: { error: { code: "agent_not_found" } } });
    // The runtime refuses too, whichever surface forgets to check.
    await expect(
      gw.runtime.submit(
        { channel: "telegram", chatType: "direct", peerId: "al", senderId: "al", text: "x" },
        { surface: "internal", target: { agentId: "zzz3", sessionKey: "agent:zzz3:main" } },
      ),
    ).rejects.toThrow(/unknown agent "zzz3"/);
    const agentsDir = path.join(gw.home, "agents");
    expect((fs.existsSync(agentsDir) ? fs.readdirSync(agentsDir) : []).filter((d) => d !== "main")).toEqual([]);
    bridge.close();
    op.close();
  }, 30_000);
});

describe("item 13: malformed input is always a 4xx with a code", () => {
  it("bad escapes in /v1/runs and deeply nested bodies on every JSON route", async () => {
    gw = await startTestGateway({ hooks: { endpoints: [{ id: "ci", token: "ci-hook-token-0123456789abcdef" }] } });
    const get = async (p: string) => {
      const r = await fetch(`${gw!.url}${p}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return { status: r.status, json: (await r.json()) as { error?: { code?: string } } };
    };
    expect(await get("/v1/runs/%")).toMatchObject({ status: 400, json: { error: { code: "invalid_path" } } });
    expect(await get("/v1/runs/%E0%A4%A")).toMatchObject({ status: 400, json: { error: { code: "invalid_path" } } });
    const deep = (n: number) => `{"text":"x","extra":${"[".repeat(n)}${"]".repeat(n)}}`;
    for (const [route, headers] of [
      ["/hooks/ci", { authorization: "Bearer ci-hook-token-0123456789abcdef" }],
      ["/v1/inbound", {}],
      ["/v1/chat/completions", {}],
    ] as const) {
      const r = await post(`${gw.url}${route}`, deep(20_000), headers);
      expect(r, route).toMatchObject({ status: 400, json: { error: { code: "json_too_deep" } } });
    }
    // A hook body that is only nesting (the text becomes the JSON itself): a 400, not a RangeError.
    const bare = await post(`${gw.url}/hooks/ci`, "[".repeat(5000) + "]".repeat(5000), {
      authorization: "Bearer ci-hook-token-0123456789abcdef",
    });
    expect(bare).toMatchObject({ status: 400, json: { error: { code: "json_too_deep" } } });
    // The same limit over the WebSocket: an error frame, and the socket keeps working.
    const ws = await WsClient.connect(gw.url);
    const answered = new Promise<Record<string, unknown>>((r) =>
      ws.ws.once("message", (d) => r(JSON.parse(String(d)) as Record<string, unknown>)),
    );
    ws.ws.send(
      `{"type":"req","id":"deep","method":"sessions.patch","params":{"key":"agent:main:main","fastMode":${"[".repeat(100)}${"]".repeat(100)}}}`,
    );
    expect(await answered).toMatchObject({ ok: false, error: { code: "INVALID_REQUEST" } });
    expect((await ws.call("sessions.list", {})).sessions).toBeDefined();
    ws.close();
  }, 30_000);

  it("fuzz: random paths, escapes, headers and bodies on every route never answer 5xx, and every 4xx has a code", async () => {
    gw = await startTestGateway({ hooks: { endpoints: [{ id: "ci", token: "ci-hook-token-0123456789abcdef" }] } });
    const escapeish = fc.oneof(
      fc.constantFrom("%", "%E0%A4%A", "%zz", "%00", "%2e%2e%2f", "%C0%AF", "%ED%A0%80", "%FF", "..", "[", "]"),
      fc.string({ maxLength: 8 }).map(encodeURIComponent),
    );
    const segment = fc.array(escapeish, { minLength: 1, maxLength: 4 }).map((a) => a.join(""));
    const nested = fc
      .integer({ min: 1, max: 3000 })
      .chain((n) => fc.constantFrom(`${"[".repeat(n)}${"]".repeat(n)}`, `${'{"a":'.repeat(n)}1${"}".repeat(n)}`));
    const body = fc.oneof(
      fc.string(),
      fc.json(),
      nested,
      nested.map(
        (v) => `{"channel":"telegram","chatType":"direct","peerId":"a","senderId":"a","text":"x","messageId":${v}}`,
      ),
      nested.map((v) => `{"messages":[{"role":"user","content":${v}}]}`),
      nested.map((v) => `{"messages":[{"role":"user","content":"x"}],"user":${v}}`),
    );
    const route = fc.oneof(
      segment.map((s) => ({ method: "GET", path: `/v1/runs/${s}` })),
      segment.map((s) => ({ method: "POST", path: `/hooks/${s}` })),
      fc
        .constantFrom("/v1/inbound", "/v1/chat/completions", "/hooks/ci", "/auth/login", "/auth/logout")
        .map((p) => ({ method: "POST", path: p })),
      segment.map((s) => ({ method: "GET", path: `/${s}` })),
    );
    const headerValue = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom("agent:main:%", "agent:zzz:main", "agent::x", "%", "agent:main:openai-user:%zz"),
      fc.string({ maxLength: 20 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
    );
    await fc.assert(
      fc.asyncProperty(route, body, headerValue, async (r, b, sessionHeader) => {
        const headers: Record<string, string> = {
          "content-type": "application/json",
          authorization: r.path.startsWith("/hooks/") ? "Bearer ci-hook-token-0123456789abcdef" : `Bearer ${TOKEN}`,
        };
        if (sessionHeader !== undefined) headers["x-pincer-session-key"] = sessionHeader;
        const res = await fetch(`${gw!.url}${r.path}`, {
          method: r.method,
          headers,
          body: r.method === "POST" ? b : undefined,
        });
        const text = await res.text();
        expect(res.status, `${r.method} ${r.path} ${text}`).toBeLessThan(500);
        if (res.status >= 400 && !(r.method === "GET" && res.headers.get("content-type")?.startsWith("text/"))) {
          expect(
            typeof (JSON.parse(text) as { error?: { code?: unknown } }).error?.code,
            `${r.method} ${r.path} ${text}`,
          ).toBe("string");
        }
      }),
      { numRuns: 300 },
    );
  }, 120_000);
});
