/**
 * Hostile input: fuzzing (fast-check) of the envelope, the config, WebSocket frames, the session
 * key parser and the transcript reader — never a crash, never a write outside the home; path
 * traversal through every entry point; oversized and deeply nested JSON; slow clients cut off.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, validateConfig } from "../src/config/load.ts";
import { EnvelopeError, parseEnvelope } from "../src/keys/envelope-schema.ts";
import { SessionKeyError } from "../src/keys/errors.ts";
import { normalizeSessionKey } from "../src/keys/session-key-normalize.ts";
import { parseSessionKey } from "../src/keys/session-key.ts";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";
import { post, startTestGateway, TOKEN, WsClient } from "./helpers/gateway-harness.ts";

const expectOnly = (errorClass: new (...a: never[]) => Error, f: () => unknown) => {
  try {
    f();
  } catch (err) {
    if (!(err instanceof errorClass)) throw new Error(`unexpected ${(err as Error).name}: ${(err as Error).message}`);
  }
};

describe("fuzzing the parsers", () => {
  it("envelopes: anything is either a valid envelope or an EnvelopeError", () => {
    const fieldValue = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary" }),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string()),
      fc.object(),
    );
    const envelopeish = fc.record(
      {
        channel: fieldValue,
        chatType: fc.oneof(fc.constantFrom("direct", "group", "channel"), fieldValue),
        peerId: fieldValue,
        senderId: fieldValue,
        text: fieldValue,
        groupId: fieldValue,
        threadId: fieldValue,
        messageId: fieldValue,
        extra: fieldValue,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(envelopeish, fc.anything()), (input) =>
        expectOnly(EnvelopeError, () => parseEnvelope(input)),
      ),
      { numRuns: 2000 },
    );
  });

  it("config: anything is either a config or a ConfigError", () => {
    const section = fc.oneof(
      fc.anything(),
      fc.record(
        {
          dmScope: fc.anything(),
          reset: fc.anything(),
          store: fc.anything(),
          identityLinks: fc.anything(),
          sendPolicy: fc.anything(),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record(
            {
              session: section,
              gateway: fc.anything(),
              agents: fc.anything(),
              hooks: fc.anything(),
              cron: fc.anything(),
              messages: fc.anything(),
            },
            { requiredKeys: [] },
          ),
        ),
        (raw) => expectOnly(ConfigError, () => validateConfig(raw, "fuzz.json")),
      ),
      { numRuns: 1000 },
    );
  });

  it("session keys: any string parses or raises a SessionKeyError", () => {
    const keyish = fc.oneof(
      fc.string({ unit: "binary" }),
      fc
        .array(
          fc.oneof(
            fc.constantFrom(
              "agent",
              "main",
              "telegram",
              "direct",
              "group",
              "thread",
              "topic",
              "cron",
              "run",
              "hook",
              "subagent",
              "..",
              "%2e%2e",
              "%00",
              "",
              "A",
            ),
            fc.string(),
          ),
          { maxLength: 9 },
        )
        .map((p) => p.join(":")),
    );
    fc.assert(
      fc.property(keyish, (k) => {
        expectOnly(SessionKeyError, () => parseSessionKey(k));
        expectOnly(SessionKeyError, () => normalizeSessionKey(k));
      }),
      { numRuns: 3000 },
    );
  });

  it("the transcript reader reports torn or garbage lines and never throws", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-fuzz-tx-"));
    const store = await FsSessionStore.open({ storePath: path.join(home, "sessions.json") });
    try {
      const id = "0b6f6b1e-8d7e-4a43-9a55-6c8f0b2b3c11";
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ maxLength: 4096 }),
          fc.array(fc.oneof(fc.json(), fc.string()), { maxLength: 20 }),
          async (bytes, lines) => {
            fs.writeFileSync(
              path.join(home, `${id}.jsonl`),
              Buffer.concat([Buffer.from(lines.join("\n")), Buffer.from(bytes)]),
            );
            const read = await store.readTranscript(id);
            expect(Array.isArray(read.lines)).toBe(true);
            for (const l of read.lines) expect(typeof l).toBe("object");
            const tail = await store.readTranscript(id, { tail: 3 });
            expect(tail.lines.length).toBeLessThanOrEqual(3);
          },
        ),
        { numRuns: 300 },
      );
    } finally {
      await store.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("the running gateway under hostile input", () => {
  let gw: Awaited<ReturnType<typeof startTestGateway>>;
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-outside-"));
  beforeAll(async () => {
    gw = await startTestGateway({
      gateway: { maxBodyBytes: 256 * 1024, timeouts: { headersMs: 500, requestMs: 1500 } },
      hooks: { endpoints: [{ id: "ci", token: "ci-hook-token-0123456789abcdef" }] },
    } as never);
  }, 60_000);
  afterAll(async () => {
    await gw.cleanup();
    fs.rmSync(outside, { recursive: true, force: true });
  });

  /** Every file the gateway wrote is inside its home, and nothing appeared in the outside directory. */
  function assertNothingEscaped(): void {
    const home = fs.realpathSync(gw.home);
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        expect(fs.realpathSync(full).startsWith(home + path.sep)).toBe(true);
        if (e.isDirectory()) walk(full);
      }
    };
    walk(home);
    expect(fs.readdirSync(outside)).toEqual([]);
  }

  it("random WebSocket frames get error frames; the socket and the gateway keep working", async () => {
    const ws = await WsClient.connect(gw.url);
    // Fuzz ids are negative or strings, so their answers never collide with this client's own requests.
    const frames = fc.sample(
      fc.oneof(
        fc.string(),
        fc.json(),
        fc.jsonValue().map((v) => JSON.stringify({ type: "req", id: -7, method: "chat.send", params: v })),
        fc
          .record({
            type: fc.constant("req"),
            id: fc.oneof(fc.integer({ min: -1e9, max: -1 }), fc.string(), fc.constant(null)),
            method: fc.constantFrom(
              "sessions.list",
              "sessions.patch",
              "chat.history",
              "chat.send",
              "sessions.reset",
              "nope",
              "__proto__",
            ),
            params: fc.anything(),
          })
          .map((f) => JSON.stringify(f)),
      ),
      400,
    );
    for (const f of frames) ws.ws.send(typeof f === "string" ? f : JSON.stringify(f));
    const ok = await ws.call("sessions.list", {});
    expect(Array.isArray(ok.sessions)).toBe(true);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    ws.close();
    assertNothingEscaped();
  }, 60_000);

  it("random HTTP bodies are answered 2xx/4xx, never 5xx", async () => {
    const bodies = fc.sample(
      fc.oneof(
        fc.string(),
        fc.json(),
        fc.anything().map((v) => {
          try {
            return JSON.stringify(v) ?? "null";
          } catch {
            return "{}";
          }
        }),
      ),
      150,
    );
    for (const body of bodies) {
      const r = await fetch(`${gw.url}/v1/inbound`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        body,
      });
      expect(r.status).toBeLessThan(500);
      await r.arrayBuffer();
    }
  }, 120_000);

  it("path traversal through keys, ids, hooks and URLs stays inside the home", async () => {
    const evil = [
      "../../../../" + outside.slice(1) + "/x",
      "%2e%2e%2f%2e%2e%2fx",
      "..\\..\\x",
      outside + "/abs",
      "a\u0000b",
      "../",
      "%00",
      "....//....//x",
    ];
    const ws = await WsClient.connect(gw.url);
    for (const e of evil) {
      for (const [method, params] of [
        ["chat.send", { sessionKey: e, message: "x", idempotencyKey: "k" }],
        ["chat.send", { sessionKey: `agent:main:${e}`, message: "x", idempotencyKey: "k2" }],
        ["chat.history", { sessionKey: `agent:main:telegram:direct:${e}` }],
        ["sessions.patch", { key: `agent:${e}:main`, label: "x" }],
        ["sessions.resolve", { sessionId: e }],
      ] as const) {
        const r = await ws.request(method, params);
        expect(r.type).toBe("res");
      }
      // Peer and sender ids become key segments (percent-encoded), never paths.
      const r = await post(`${gw.url}/v1/inbound`, {
        channel: "telegram",
        chatType: "direct",
        peerId: e,
        senderId: e,
        text: "hi",
      });
      expect([200, 400]).toContain(r.status);
      const hook = await fetch(`${gw.url}/hooks/${encodeURIComponent(e)}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer ci-hook-token-0123456789abcdef" },
        body: JSON.stringify({ text: "x" }),
      });
      expect(hook.status).toBe(401);
      await hook.arrayBuffer();
    }
    for (const p of [
      "/..%2f..%2f..%2fetc%2fpasswd",
      "/%2e%2e/%2e%2e/etc/passwd",
      "/app.js/../../../package.json",
      "/..\\..\\package.json",
      "/index.html%00.js",
    ]) {
      const r = await fetch(`${gw.url}${p}`);
      expect([400, 404]).toContain(r.status);
      expect(await r.text()).not.toContain("root:");
    }
    ws.close();
    assertNothingEscaped();
  }, 120_000);

  it("oversized and deeply nested JSON are refused cleanly", async () => {
    const big = await post(`${gw.url}/v1/inbound`, {
      channel: "telegram",
      chatType: "direct",
      peerId: "a",
      senderId: "a",
      text: "x".repeat(300 * 1024),
    });
    expect(big.status).toBe(413);
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    const r = await fetch(`${gw.url}/v1/inbound`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: deep,
    });
    expect(r.status).toBe(400);
    const ws = await WsClient.connect(gw.url);
    ws.ws.send(
      `{"type":"req","id":1,"method":"sessions.list","params":${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}}`,
    );
    const ok = await ws.call("sessions.list", {});
    expect(Array.isArray(ok.sessions)).toBe(true);
    ws.close();
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  }, 60_000);

  it("slow-loris connections are cut off", async () => {
    const { port } = new URL(gw.url);
    const slow = (payload: string[], intervalMs: number) =>
      new Promise<number>((resolve) => {
        const started = Date.now();
        const sock = net.connect(Number(port), "127.0.0.1");
        let i = 0;
        const timer = setInterval(() => {
          if (i < payload.length && !sock.destroyed) sock.write(payload[i++]!);
        }, intervalMs);
        sock.on("error", () => undefined);
        sock.on("close", () => {
          clearInterval(timer);
          resolve(Date.now() - started);
        });
        sock.resume();
        setTimeout(() => sock.destroy(), 10_000);
      });
    // Headers one byte every 200 ms never finish: closed at the 500 ms header deadline (checked about every 250 ms).
    const headerMs = await slow(
      Array.from("POST /v1/inbound HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
      200,
    );
    expect(headerMs).toBeLessThan(3000);
    // Complete headers, then a body trickling in: closed at the 1.5 s request deadline.
    const bodyMs = await slow(
      [
        `POST /v1/inbound HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n`,
        ...Array.from("x".repeat(100)),
      ],
      100,
    );
    expect(bodyMs).toBeLessThan(5000);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  }, 30_000);
});
