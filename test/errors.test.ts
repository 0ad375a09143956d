/**
 * One error taxonomy: every Pincer error class extends PincerError, is named after its class, and
 * maps through `toWire` to one HTTP status/code, one WebSocket code and one `retryable` flag. The
 * gateway cases check the mapping where it is used: a store outage answers the same on HTTP (503,
 * Retry-After) and on the WebSocket (UNAVAILABLE, retryable), which used to be an opaque
 * "internal error".
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exitCodeFor, PincerError } from "../src/errors.ts";
import { ConfigError } from "../src/config/load.ts";
import { CliError } from "../src/cli/io.ts";
import { GatewaySettingsError } from "../src/gateway/settings.ts";
import { HttpError } from "../src/gateway/http-util.ts";
import { startGateway, type RunningGateway } from "../src/gateway/start.ts";
import { INTERNAL_MESSAGE, STORAGE_FULL_MESSAGE, toWire, type RpcCode } from "../src/gateway/wire-errors.ts";
import { RpcError } from "../src/gateway/ws-methods.ts";
import { EnvelopeError } from "../src/keys/envelope-schema.ts";
import { SessionKeyError } from "../src/keys/errors.ts";
import { InvalidSessionIdError } from "../src/keys/ids.ts";
import { RoutingConfigError } from "../src/keys/routing-config.ts";
import { MaintenancePlanConflictError } from "../src/maintenance/apply.ts";
import { ContextOverflowError, ProviderError } from "../src/providers/types.ts";
import { MessageTooLargeError } from "../src/runtime/message-limits.ts";
import { UnknownAgentError } from "../src/runtime/unknown-agent.ts";
import { SessionNotFoundError } from "../src/session/session-not-found.ts";
import { HomeInUseError } from "../src/store/fs/home-lock.ts";
import { MemorySessionStore } from "../src/store/memory-store.ts";
import { MigrationError } from "../src/store/migrate.ts";
import { StoreLocationError } from "../src/store/store-locator.ts";
import {
  CorruptStoreError,
  FencedError,
  LeaseTimeoutError,
  SchemaVersionError,
  StorageFullError,
  StoreError,
  StoreUnavailableError,
  type SessionStore,
} from "../src/store/types.ts";
import { SpawnError } from "../src/tools/subagents.ts";
import { TOKEN, WsClient } from "./helpers/gateway-harness.ts";

interface Row {
  err: PincerError;
  cls: abstract new (...args: never[]) => PincerError;
  status: number;
  code: string;
  rpcCode: RpcCode;
  retryable: boolean;
  retryAfter?: number;
}

const internal = { status: 500, code: "internal_error", rpcCode: "UNAVAILABLE", retryable: false } as const;
const outage = {
  status: 503,
  code: "store_unavailable",
  rpcCode: "UNAVAILABLE",
  retryable: true,
  retryAfter: 1,
} as const;

const ROWS: Row[] = [
  {
    err: new SessionKeyError("bad key"),
    cls: SessionKeyError,
    status: 400,
    code: "invalid_session_key",
    rpcCode: "INVALID_REQUEST",
    retryable: false,
  },
  {
    err: new EnvelopeError(["channel: is required"]),
    cls: EnvelopeError,
    status: 400,
    code: "invalid_envelope",
    rpcCode: "INVALID_REQUEST",
    retryable: false,
  },
  {
    err: new InvalidSessionIdError("../x"),
    cls: InvalidSessionIdError,
    status: 400,
    code: "invalid_session_id",
    rpcCode: "INVALID_REQUEST",
    retryable: false,
  },
  {
    err: new MessageTooLargeError(10, 5),
    cls: MessageTooLargeError,
    status: 413,
    code: "message_too_large",
    rpcCode: "PAYLOAD_TOO_LARGE",
    retryable: false,
  },
  {
    err: new UnknownAgentError("ghost"),
    cls: UnknownAgentError,
    status: 404,
    code: "agent_not_found",
    rpcCode: "NOT_FOUND",
    retryable: false,
  },
  {
    err: new SessionNotFoundError("main", "agent:main:gone"),
    cls: SessionNotFoundError,
    status: 404,
    code: "session_not_found",
    rpcCode: "NOT_FOUND",
    retryable: false,
  },
  {
    err: new HomeInUseError("/h", null),
    cls: HomeInUseError,
    status: 409,
    code: "home_in_use",
    rpcCode: "CONFLICT",
    retryable: false,
  },
  {
    err: new MaintenancePlanConflictError("changed"),
    cls: MaintenancePlanConflictError,
    status: 409,
    code: "maintenance_plan_conflict",
    rpcCode: "CONFLICT",
    retryable: false,
  },
  {
    err: new SpawnError("depth"),
    cls: SpawnError,
    status: 400,
    code: "spawn_refused",
    rpcCode: "INVALID_REQUEST",
    retryable: false,
  },
  {
    err: new HttpError(413, "payload_too_large", "too big"),
    cls: HttpError,
    status: 413,
    code: "payload_too_large",
    rpcCode: "PAYLOAD_TOO_LARGE",
    retryable: false,
  },
  {
    err: new HttpError(503, "shutting_down", "bye"),
    cls: HttpError,
    status: 503,
    code: "shutting_down",
    rpcCode: "UNAVAILABLE",
    retryable: false,
  },
  {
    err: new HttpError(405, "method_not_allowed", "use POST"),
    cls: HttpError,
    status: 405,
    code: "method_not_allowed",
    rpcCode: "INVALID_REQUEST",
    retryable: false,
  },
  ...(["INVALID_REQUEST", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "PAYLOAD_TOO_LARGE"] as const).map(
    (c, i) => ({
      err: new RpcError(c, "m"),
      cls: RpcError,
      status: [400, 401, 403, 404, 409, 413][i]!,
      code: c,
      rpcCode: c,
      retryable: false,
    }),
  ),
  {
    err: new ProviderError("upstream 500", 500),
    cls: ProviderError,
    status: 502,
    code: "model_error",
    rpcCode: "UNAVAILABLE",
    retryable: true,
  },
  {
    err: new ProviderError("bad api key", 401),
    cls: ProviderError,
    status: 502,
    code: "model_error",
    rpcCode: "UNAVAILABLE",
    retryable: false,
  },
  {
    err: new ContextOverflowError("too long"),
    cls: ContextOverflowError,
    status: 502,
    code: "context_overflow",
    rpcCode: "UNAVAILABLE",
    retryable: false,
  },
  { err: new StoreUnavailableError("postgres unreachable"), cls: StoreUnavailableError, ...outage },
  { err: new LeaseTimeoutError("busy"), cls: LeaseTimeoutError, ...outage },
  { err: new FencedError("taken over"), cls: FencedError, ...outage },
  {
    err: new StorageFullError("/h/s.jsonl", "ENOSPC"),
    cls: StorageFullError,
    status: 507,
    code: "insufficient_storage",
    rpcCode: "UNAVAILABLE",
    retryable: true,
  },
  { err: new StoreError("x"), cls: StoreError, ...internal },
  { err: new SchemaVersionError("newer"), cls: SchemaVersionError, ...internal },
  { err: new CorruptStoreError("/h/s.jsonl", 3, "bad line"), cls: CorruptStoreError, ...internal },
  { err: new StoreLocationError("bad location"), cls: StoreLocationError, ...internal },
  { err: new MigrationError("checksum"), cls: MigrationError, ...internal },
  { err: new ConfigError("/h/pincer.json5", ["gateway.port: bad"]), cls: ConfigError, ...internal },
  { err: new RoutingConfigError("ambiguous"), cls: RoutingConfigError, ...internal },
  { err: new GatewaySettingsError("bad tls"), cls: GatewaySettingsError, ...internal },
  { err: new CliError("usage"), cls: CliError, ...internal },
];

describe("error taxonomy", () => {
  it.each(ROWS.map((r) => [r.err.name, r.err.code, r] as const))(
    "%s (%s): instanceof, name, toWire",
    (_name, _code, row) => {
      const { err, cls } = row;
      expect(err).toBeInstanceOf(cls);
      expect(err).toBeInstanceOf(PincerError);
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe(cls.name);
      expect(String(err).startsWith(`${cls.name}: `)).toBe(true);
      const wire = toWire(err);
      expect({
        status: wire.status,
        code: wire.code,
        rpcCode: wire.rpcCode,
        retryable: wire.retryable,
        retryAfter: wire.retryAfter,
      }).toEqual({
        status: row.status,
        code: row.code,
        rpcCode: row.rpcCode,
        retryable: row.retryable,
        retryAfter: row.retryAfter,
      });
      if (row.status === 500) {
        expect(wire.message).toBe(INTERNAL_MESSAGE);
        expect(wire.logLevel).toBe("error");
      } else if (row.status === 507) {
        expect(wire.message).toBe(STORAGE_FULL_MESSAGE);
        expect(wire.logLevel).toBe("error");
      } else {
        expect(wire.message).toBe(err.message);
        expect(wire.logLevel).toBe(row.status >= 500 ? "warn" : "debug");
      }
    },
  );

  it("every PincerError class in the table declares a code of its own or inherits one deliberately", () => {
    for (const row of ROWS) expect(row.err.code, row.err.name).toMatch(/^([a-z][a-z0-9_]*|[A-Z][A-Z_]*)$/);
  });

  it("an error Pincer did not raise on purpose is a 500 whose message stays in the log", () => {
    for (const err of [new Error("password=hunter2"), new TypeError("x is undefined"), "a thrown string", null]) {
      expect(toWire(err)).toEqual({
        status: 500,
        code: "internal_error",
        rpcCode: "UNAVAILABLE",
        message: INTERNAL_MESSAGE,
        retryable: false,
        logLevel: "error",
      });
    }
  });

  it("a raw ENOSPC (fs) or SQLITE_FULL is a full disk, answered without the path", () => {
    const enospc = Object.assign(new Error("ENOSPC: no space left on device, write '/secret/path'"), {
      code: "ENOSPC",
    });
    const sqliteFull = Object.assign(new Error("database or disk is full"), { code: "ERR_SQLITE_ERROR", errcode: 13 });
    for (const err of [enospc, sqliteFull]) {
      const wire = toWire(err);
      expect([wire.status, wire.code, wire.rpcCode, wire.retryable, wire.message]).toEqual([
        507,
        "insufficient_storage",
        "UNAVAILABLE",
        true,
        STORAGE_FULL_MESSAGE,
      ]);
    }
  });

  it("MessageTooLargeError carries its sizes as details", () => {
    expect(toWire(new MessageTooLargeError(10, 5)).details).toEqual({ bytes: 10, limit: 5 });
  });

  it("the CLI exit code: a CliError's own, 1 for anything else", () => {
    expect(exitCodeFor(new CliError("x", 3))).toBe(3);
    expect(exitCodeFor(new CliError("x"))).toBe(1);
    expect(exitCodeFor(new StoreUnavailableError("down"))).toBe(1);
    expect(exitCodeFor(new Error("boom"))).toBe(1);
  });
});

/** A memory store that throws `failure()` from every operation while it returns an error. */
function failingStore(failure: () => Error | null): SessionStore {
  const inner = new MemorySessionStore();
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || prop === "close") return value;
      return (...args: unknown[]) => {
        const err = failure();
        if (err) return Promise.reject(err);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe("a store outage on every surface", () => {
  let gw: RunningGateway;
  let home: string;
  let failure: Error | null = null;

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-errors-test-"));
    const store = failingStore(() => failure);
    gw = await startGateway({
      config: { gateway: { auth: { token: TOKEN } } },
      home,
      port: 0,
      env: { PINCER_HOME: home },
      logger: pino({ level: "silent" }),
      storeFor: async () => store,
    });
  });

  afterAll(async () => {
    failure = null;
    await gw.stop(2000);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it.each([
    ["StoreUnavailableError", () => new StoreUnavailableError("postgres://db:5432 unreachable after 3 attempts")],
    ["LeaseTimeoutError", () => new LeaseTimeoutError("lease index held by another gateway for 5000 ms")],
    ["FencedError", () => new FencedError("fence 7 of lease index is stale")],
  ])("WS: %s answers UNAVAILABLE, retryable, with the store's message", async (_name, make) => {
    const ws = await WsClient.connect(gw.url);
    try {
      failure = make();
      const res = await ws.request("sessions.list", {});
      expect(res.ok).toBe(false);
      expect(res.error).toEqual({ code: "UNAVAILABLE", message: failure.message, retryable: true });
    } finally {
      failure = null;
      ws.close();
    }
  });

  it("HTTP: a store outage answers 503 store_unavailable with Retry-After", async () => {
    failure = new StoreUnavailableError("postgres://db:5432 unreachable after 3 attempts");
    try {
      const res = await fetch(`${gw.url}/v1/inbound`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({
          channel: "webchat",
          chatType: "direct",
          peerId: "u1",
          senderId: "u1",
          text: "hi",
          messageId: "m-outage-1",
        }),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(await res.json()).toEqual({ error: { code: "store_unavailable", message: failure.message } });
    } finally {
      failure = null;
    }
  });

  /** The `error` of a streamed chat completion's last event, with `failure` set while it runs. */
  async function streamedError(err: Error): Promise<unknown> {
    failure = err;
    try {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ model: "pincer:main", stream: true, messages: [{ role: "user", content: "hi" }] }),
      });
      expect(res.status).toBe(200);
      const events = (await res.text())
        .split("\n\n")
        .filter((e) => e.startsWith("data: {"))
        .map((e) => JSON.parse(e.slice(6)) as { error?: unknown });
      return events.find((e) => e.error !== undefined)?.error;
    } finally {
      failure = null;
    }
  }

  it("SSE: a store outage mid-stream is the stream's last event, with its code and retryable", async () => {
    const outageError = new StoreUnavailableError("redis://cache:6379 unreachable");
    expect(await streamedError(outageError)).toEqual({
      code: "store_unavailable",
      message: outageError.message,
      retryable: true,
    });
  });

  it("SSE: an unknown failure mid-stream does not reach the client", async () => {
    expect(await streamedError(new Error("password=hunter2 in a driver message"))).toEqual({
      code: "internal_error",
      message: INTERNAL_MESSAGE,
    });
  });

  it("WS: an unknown failure stays opaque and not retryable", async () => {
    const ws = await WsClient.connect(gw.url);
    try {
      failure = new Error("password=hunter2 in a driver message");
      const res = await ws.request("sessions.list", {});
      expect(res.error).toEqual({ code: "UNAVAILABLE", message: INTERNAL_MESSAGE });
    } finally {
      failure = null;
      ws.close();
    }
  });
});
