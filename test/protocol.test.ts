/**
 * The wire protocol as data, against a real gateway over real HTTP and WebSocket clients:
 * `sessions.patch` refuses every badly typed field (naming the field, the value and what was
 * expected) and stores nothing; unknown methods and malformed params are refused the same way;
 * the route table answers 405 with `Allow` and labels the request metric; real answers and events
 * parse with the protocol's schemas, field for field; label/session-id lookups are bounded.
 *
 * The protocol module is imported inside the tests that need it, so the patch cases run (and
 * fail) on a checkout that predates it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, TOKEN, WsClient } from "./helpers/gateway-harness.ts";

type Gw = Awaited<ReturnType<typeof startTestGateway>>;
let gw: Gw;
let ws: WsClient;
beforeAll(async () => {
  gw = await startTestGateway();
  ws = await WsClient.connect(gw.url);
});
afterAll(async () => {
  ws.close();
  await gw.cleanup();
});

const KEY = "agent:main:main";
const row = () => gw.runtime.manager.get("main", KEY);

/** Every field `sessions.patch` accepts, each with values that must be refused. */
const BAD_PATCHES: Array<[field: string, value: unknown, expected: string]> = [
  ["label", "", "1-64 characters"],
  ["label", "   ", "1-64 characters"],
  ["label", "x".repeat(65), "1-64 characters"],
  ["label", 7, "1-64 characters"],
  ["thinkingLevel", 5, '"off", "minimal"'],
  ["thinkingLevel", "extreme", '"off", "minimal"'],
  ["fastMode", "yes", "true or false"],
  ["verboseLevel", 1, '"on", "off", "full"'],
  ["reasoningLevel", "loud", '"on", "off", "stream"'],
  ["responseUsage", 2, '"off", "tokens", "full"'],
  ["elevatedLevel", true, '"on", "off", "ask", "full"'],
  ["model", 42, "a non-empty string"],
  ["sendPolicy", "maybe", '"allow", "deny"'],
  ["groupActivation", "sometimes", '"mention", "always"'],
  ["queueMode", "fast", '"collect"'],
  ["queueDebounceMs", -1, "an integer 0-"],
  ["queueDebounceMs", 1.5, "an integer 0-"],
  ["queueCap", "lots", "an integer 1-"],
  ["queueCap", 0, "an integer 1-"],
  ["queueDrop", "all", '"old"'],
  ["pinned", "yes", "true or false"],
];
const PATCHABLE = [
  "label",
  "thinkingLevel",
  "fastMode",
  "verboseLevel",
  "reasoningLevel",
  "responseUsage",
  "elevatedLevel",
  "model",
  "sendPolicy",
  "groupActivation",
  "queueMode",
  "queueDebounceMs",
  "queueCap",
  "queueDrop",
  "pinned",
];

describe("sessions.patch type-checks every field", () => {
  beforeAll(async () => {
    await ws.call("sessions.patch", { key: KEY, label: "before" });
  });

  it("the table covers every patchable field", () => {
    expect(new Set(BAD_PATCHES.map(([f]) => f))).toEqual(new Set(PATCHABLE));
  });

  it.each(BAD_PATCHES)(
    "%s = %j is refused with INVALID_REQUEST naming it, and nothing is stored",
    async (field, value, expected) => {
      const before = await row();
      const r = await ws.request("sessions.patch", { key: KEY, [field]: value });
      expect(r).toMatchObject({ ok: false, error: { code: "INVALID_REQUEST" } });
      const message = (r.error as { message: string }).message;
      expect(message.startsWith(`${field}: got ${JSON.stringify(value).slice(0, 100)}`)).toBe(true);
      expect(message).toContain(`expected ${expected}`);
      expect(await row()).toEqual(before);
    },
  );

  it("an unknown field is refused, naming it and the allowed ones", async () => {
    const r = await ws.request("sessions.patch", { key: KEY, colour: "blue" });
    expect(r).toMatchObject({ ok: false, error: { code: "INVALID_REQUEST" } });
    expect((r.error as { message: string }).message).toMatch(
      /^colour: not a field of sessions\.patch \(allowed: key, label, .*pinned\)$/,
    );
  });

  it("good values are stored (labels trimmed), null clears, queue aliases stay accepted", async () => {
    const ok = await ws.call("sessions.patch", {
      key: KEY,
      label: "  Build  ",
      thinkingLevel: "high",
      fastMode: true,
      queueMode: "followups",
      queueCap: 5,
      queueDebounceMs: 0,
      queueDrop: "oldest",
      pinned: true,
      sendPolicy: "deny",
    });
    expect(ok.entry).toMatchObject({
      label: "Build",
      thinkingLevel: "high",
      fastMode: true,
      queueMode: "followups",
      queueCap: 5,
      queueDebounceMs: 0,
      queueDrop: "oldest",
      pinned: true,
      sendPolicy: "deny",
    });
    await ws.call("sessions.patch", { key: KEY, queueCap: null, sendPolicy: null, pinned: null });
    const after = await row();
    expect(after).not.toHaveProperty("queueCap");
    expect(after).not.toHaveProperty("sendPolicy");
    expect(after?.label).toBe("Build");
  });

  it("every queue mode and drop the protocol accepts is one the runtime understands", async () => {
    const { QUEUE_MODES, QUEUE_DROPS } = await import("../src/gateway/protocol.ts");
    const { normalizeQueueMode, normalizeQueueDrop } = await import("../src/runtime/queue-settings.ts");
    for (const m of QUEUE_MODES) expect(normalizeQueueMode(m), m).toBeDefined();
    for (const d of QUEUE_DROPS) expect(normalizeQueueDrop(d), d).toBeDefined();
  });
});

describe("methods and params", () => {
  it("an unknown method is refused", async () => {
    for (const method of ["nope", "__proto__", "toString", "connect.x"]) {
      expect(await ws.request(method, {})).toMatchObject({
        ok: false,
        error: { code: "INVALID_REQUEST", message: `unknown method ${JSON.stringify(method)}` },
      });
    }
  });

  it("params of the wrong shape are refused, naming the field, the value and what was expected", async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["sessions.list", { limit: "ten" }, 'limit: got "ten", expected an integer 1-10000'],
      ["sessions.list", { limit: null }, "limit: got null, expected an integer 1-10000"],
      [
        "chat.send",
        { sessionKey: 5, message: "hi" },
        "sessionKey: got 5, expected a non-empty string of at most 512 characters",
      ],
      ["chat.send", { sessionKey: KEY }, "message: required"],
      ["chat.history", {}, "sessionKey: required"],
      ["chat.history", { sessionKey: KEY, limit: 0 }, "limit: got 0, expected an integer 1-1000"],
      ["agent.wait", { runId: "r", timeoutMs: -5 }, "timeoutMs: got -5, expected an integer 0-600000"],
      ["sessions.reset", { key: null }, "key: required"],
      [
        "sessions.resolve",
        { label: "y".repeat(65) },
        `label: got "${"y".repeat(65)}", expected a non-empty string of at most 64 characters`,
      ],
    ];
    for (const [method, params, message] of cases) {
      expect(await ws.request(method, params), `${method} ${JSON.stringify(params)}`).toMatchObject({
        ok: false,
        error: { code: "INVALID_REQUEST", message },
      });
    }
    // Extra params of a method other than sessions.patch are ignored, as before.
    expect(await ws.call("sessions.list", { limit: 5, includeGlobal: true })).toHaveProperty("sessions");
  });
});

describe("the HTTP route table", () => {
  it("a known path with the wrong method is answered 405 with Allow", async () => {
    for (const [method, path, allow] of [
      ["GET", "/v1/inbound", "POST"],
      ["POST", "/healthz", "GET"],
      ["DELETE", "/hooks/ci", "POST"],
      ["POST", "/", "GET"],
      ["PUT", "/v1/runs/abc", "GET"],
    ] as const) {
      const res = await fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
      expect(await res.json()).toEqual({ error: { code: "method_not_allowed", message: `use ${allow}` } });
    }
    const unknown = await fetch(`${gw.url}/nowhere`);
    expect(unknown.status).toBe(404);
    await unknown.arrayBuffer();
  });

  it("labels the request metric with the route's pattern, never an id", async () => {
    for (const path of ["/v1/runs/some-run-id", "/hooks/ci", "/index.html", "/nowhere/at/all"]) {
      await (
        await fetch(`${gw.url}${path}`, {
          method: path.startsWith("/hooks") ? "POST" : "GET",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
          body: path.startsWith("/hooks") ? "{}" : undefined,
        })
      ).arrayBuffer();
    }
    const text = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const routes = new Set([...text.matchAll(/^pincer_http_requests_total\{route="([^"]*)"/gm)].map((m) => m[1]));
    expect(routes).toContain("GET /v1/runs/:id");
    expect(routes).toContain("POST /hooks/:id");
    expect(routes).toContain("GET /index.html");
    expect(routes).toContain("other");
    expect([...routes].some((r) => r?.includes("some-run-id") || r?.includes("nowhere"))).toBe(false);
  });

  it("the router refuses ambiguous tables and matches only its own patterns", async () => {
    const { Router } = await import("../src/gateway/router.ts");
    expect(
      () =>
        new Router([
          { method: "GET", path: "/a" },
          { method: "GET", path: "/a" },
        ]),
    ).toThrow(/registered twice/);
    expect(() => new Router([{ method: "GET", path: "/a/:x/b" }])).toThrow(/last segment/);
    const r = new Router([
      { method: "GET", path: "/runs/:id" },
      { method: "POST", path: "/runs/:id" },
      { method: "GET", path: "/x" },
    ]);
    expect(r.match("GET", "/runs/a%2Fb")).toMatchObject({ kind: "found", params: { id: "a%2Fb" } });
    expect(r.match("PUT", "/runs/1")).toEqual({ kind: "wrong-method", allow: ["GET", "POST"] });
    expect(r.match("GET", "/x/")).toEqual({ kind: "none" });
    expect(r.label("BREW", "/x")).toBe("other");
    expect(r.label("DELETE", "/runs/7")).toBe("DELETE /runs/:id");
  });
});

describe("answers and events match the protocol schemas field for field", () => {
  it("every method's answer and the chat/session events parse to themselves", async () => {
    const p = await import("../src/gateway/protocol.ts");
    const same = (schema: { parse(v: unknown): unknown }, value: unknown) => expect(schema.parse(value)).toEqual(value);
    const key = "agent:main:telegram:direct:schema";
    const sent = await ws.call("chat.send", { sessionKey: key, message: "hello", idempotencyKey: "schema-1" });
    same(p.ChatSendResult, sent);
    same(p.AgentWaitResult, await ws.call("agent.wait", { runId: "schema-1" }));
    same(
      p.ChatSendResult,
      await ws.call("chat.send", { sessionKey: key, message: "hello", idempotencyKey: "schema-1" }),
    );
    await ws.call("chat.send", { sessionKey: key, message: "/status", idempotencyKey: "schema-2" });
    const command = await ws.waitForEvent((e) => e.runId === "schema-2" && e.state === "final");
    expect(command.status).toBe("command");
    same(p.ChatEventSchema, command);
    same(p.ChatEventSchema, await ws.waitForEvent((e) => e.runId === "schema-1" && e.state === "final"));
    const list = await ws.call("sessions.list", {});
    same(p.SessionsListResult, list);
    same(p.ChatHistoryResult, await ws.call("chat.history", { sessionKey: key }));
    same(p.SessionsPatchResult, await ws.call("sessions.patch", { key, label: "schema" }));
    same(p.SessionsResolveResult, await ws.call("sessions.resolve", { label: "schema" }));
    same(p.SessionsStatusResult, await ws.call("sessions.status", { key }));
    same(p.SessionsCompactResult, await ws.call("sessions.compact", { key }));
    same(p.ChatAbortResult, await ws.call("chat.abort", { sessionKey: key }));
    same(p.SessionsResetResult, await ws.call("sessions.reset", { key }));
    same(p.SessionEventSchema, await ws.waitForEvent((e) => e.change === "reset" && e.sessionKey === key));
    same(p.SessionsDeleteResult, await ws.call("sessions.delete", { key }));
    const login = await fetch(`${gw.url}/healthz`);
    expect(await login.json()).toMatchObject({ ok: true, version: expect.any(String), uptimeMs: expect.any(Number) });
  });
});

describe("label and session-id lookups (SessionManager.findSessions)", () => {
  it("finds by label or session id, stops at the limit, and applies the caller's filter, across store pages", async () => {
    const { SessionManager } = await import("../src/session/manager.ts");
    const { MemorySessionStore } = await import("../src/store/memory-store.ts");
    const store = new MemorySessionStore();
    const manager = new SessionManager({ config: {}, storeFor: async () => store, workspaceFor: () => "/work/agent" });
    // More rows than one page of the scan, the label on rows both sides of the page boundary.
    for (let i = 0; i < 1200; i++) {
      await store.patch(`agent:main:k${i}`, () => ({
        sessionId: `id-${i}`,
        updatedAt: 1_000_000 - i,
        ...(i % 400 === 7 ? { label: "shared" } : {}),
      }));
    }
    expect((await manager.findSessions("main", { label: "shared" }, 10)).map((r) => r.key)).toEqual([
      "agent:main:k7",
      "agent:main:k407",
      "agent:main:k807",
    ]);
    expect((await manager.findSessions("main", { label: "shared" }, 2)).map((r) => r.key)).toEqual([
      "agent:main:k7",
      "agent:main:k407",
    ]);
    expect(
      (await manager.findSessions("main", { label: "shared", accept: (k) => k !== "agent:main:k7" }, 1)).map(
        (r) => r.key,
      ),
    ).toEqual(["agent:main:k407"]);
    expect((await manager.findSessions("main", { sessionId: "id-1150" }, 1)).map((r) => r.key)).toEqual([
      "agent:main:k1150",
    ]);
    expect(await manager.findSessions("main", { label: "nobody" }, 5)).toEqual([]);
    expect(await manager.findSessions("main", {}, 5)).toEqual([]);
  });

  it("sessions.resolve and the label clash check use it", async () => {
    await ws.call("sessions.patch", { key: "agent:main:telegram:direct:one", label: "unique" });
    expect(await ws.call("sessions.resolve", { label: "unique" })).toEqual({
      ok: true,
      key: "agent:main:telegram:direct:one",
    });
    const clash = await ws.request("sessions.patch", { key: "agent:main:telegram:direct:two", label: "unique" });
    expect(clash).toMatchObject({
      ok: false,
      error: { code: "INVALID_REQUEST", message: "label already in use: unique" },
    });
    // Re-setting a session's own label is no clash.
    await ws.call("sessions.patch", { key: "agent:main:telegram:direct:one", label: "unique" });
    const id = (await row())?.sessionId;
    expect(await ws.call("sessions.resolve", { sessionId: id })).toEqual({ ok: true, key: KEY });
  });
});
