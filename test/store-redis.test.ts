import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it, vi } from "vitest";
import {
  REDIS_SCHEMA_VERSION,
  RedisSessionStore,
  SCHEMA_VERSION_KEY,
  invertedTime,
} from "../src/store/redis/redis-store.ts";
import { maskUrl } from "../src/store/url-mask.ts";
import { FencedError, LeaseTimeoutError, type SessionStore, type StoreEvent } from "../src/store/types.ts";
import { freePort } from "./helpers/postgres-server.ts";
import { redisAvailable, startTestRedis, startTestRedisOnPort } from "./helpers/redis-server.ts";
import { redisForSuite } from "./helpers/redis-suite.ts";
import { runStoreConformance } from "../src/store/conformance/index.ts";

const available = redisAvailable();
const scopeName = (): string => `t-${randomUUID().slice(0, 8)}`;

describe.skipIf(!available)("redis backend", () => {
  const redis = redisForSuite();

  let scope = "";
  let unreachablePort = 0;
  const opened: SessionStore[] = [];
  const track = (s: SessionStore): SessionStore => (opened.push(s), s);
  runStoreConformance({
    name: "redis",
    async create(now) {
      scope = scopeName();
      return track(await RedisSessionStore.open({ url: redis.server.url, scope, now }));
    },
    // A second connection, as another process would open it.
    another: async (now) => track(await RedisSessionStore.open({ url: redis.server.url, scope, now })),
    async dispose() {
      for (const s of opened.splice(0)) await s.close();
    },
    // The schema version is the server's, shared by every scope: restored right after.
    schemaVersion: {
      write: async (version) => void (await redis.admin.set(SCHEMA_VERSION_KEY, String(version))),
      restore: async () => void (await redis.admin.set(SCHEMA_VERSION_KEY, String(REDIS_SCHEMA_VERSION))),
      message: /newer.*\(1\).*pincer store migrate/,
    },
    unreachable: {
      async open() {
        unreachablePort = await freePort();
        return RedisSessionStore.open({
          url: `redis://:hunter2@127.0.0.1:${unreachablePort}`,
          scope: "x",
          connectTimeoutMs: 600,
        });
      },
      get address() {
        return `127.0.0.1:${unreachablePort}`;
      },
      secret: "hunter2",
      timeoutMs: 600,
    },
  });

  describe("redis specifics", () => {
    const row = (n: number) => ({ sessionId: "0b6f6b1e-8d7e-4a43-9a55-6c8f0b2b3c11", updatedAt: 1, n });
    const bump = (s: SessionStore, key = "agent:main:main") =>
      s.patch(key, (cur) => row(((cur?.n as number | undefined) ?? 0) + 1));

    it("encodes updatedAt so lexical order is time-descending", () => {
      const times = [-1e15, -5, -0.5, 0, 1e-300, 0.5, 1, 1000, 1_800_000_000_000, 1e300];
      const enc = times.map(invertedTime);
      expect([...enc].sort()).toEqual([...enc].reverse());
      expect(invertedTime(-0)).toBe(invertedTime(0));
    });

    it("keeps scopes apart and lists the scopes holding data", async () => {
      const s1 = scopeName();
      const s2 = scopeName();
      const a = await RedisSessionStore.open({ url: redis.server.url, scope: s1 });
      const b = await RedisSessionStore.open({ url: redis.server.url, scope: s2 });
      const empty = await RedisSessionStore.open({ url: redis.server.url, scope: scopeName() });
      try {
        expect(a.location).toBe(`${redis.server.url}#${s1}`);
        await a.patch("agent:main:main", () => row(1));
        await b.appendTranscript("sess-b", [{ type: "session", id: "sess-b" }]);
        expect(await b.get("agent:main:main")).toBeUndefined();
        expect(await b.count()).toBe(0);
        expect(await a.transcriptExists("sess-b")).toBe(false);
        expect(await a.listTranscripts()).toEqual([]);
        expect(await b.listTranscripts()).toEqual(["sess-b"]);
        const scopes = await RedisSessionStore.scopes(redis.server.url);
        expect(scopes).toContain(s1);
        expect(scopes).toContain(s2);
        expect(scopes).toEqual([...scopes].sort());
        // Opened but never written: not a scope with data.
        expect(scopes).not.toContain(empty.location.split("#")[1]);
      } finally {
        await a.close();
        await b.close();
        await empty.close();
      }
    });

    it("masks the password in its location", async () => {
      // The test server has no password; Redis answers the AUTH with a warning and lets us in.
      const url = `redis://:s3cret@127.0.0.1:${redis.server.port}`;
      const s = await RedisSessionStore.open({ url, scope: "masked" });
      await s.close();
      expect(s.location).toBe(`redis://:***@127.0.0.1:${redis.server.port}#masked`);
      expect(maskUrl("redis://user:p%40ss@db.example:6380/2")).toBe("redis://user:***@db.example:6380/2");
    });

    it("judges lease expiry by the server's clock when no clock is injected", async () => {
      const scope = scopeName();
      const name = "session:agent:main:main";
      const realNow = Date.now.bind(Date);
      const serverNow = async (): Promise<number> => {
        const [sec, usec] = (await redis.admin.call("TIME")) as [string, string];
        return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
      };
      const a = await RedisSessionStore.open({ url: redis.server.url, scope });
      let ahead: RedisSessionStore | undefined;
      let behind: RedisSessionStore | undefined;
      try {
        const before = await serverNow();
        const lease = await a.acquireLease(name, { ttlMs: 2000 });
        // expiresAt is server time.
        expect(lease.expiresAt).toBeGreaterThanOrEqual(before + 2000);
        expect(lease.expiresAt).toBeLessThanOrEqual((await serverNow()) + 2000);
        // A gateway whose host clock runs a minute ahead: by its clock the lease ran out long ago,
        // but the server's clock decides, so it is refused and cannot write under a stale fence.
        const spy = vi.spyOn(Date, "now").mockImplementation(() => realNow() + 60_000);
        try {
          ahead = await RedisSessionStore.open({ url: redis.server.url, scope });
          await expect(ahead.acquireLease(name, { ttlMs: 300, waitMs: 0 })).rejects.toBeInstanceOf(LeaseTimeoutError);
        } finally {
          spy.mockRestore();
        }
        await a.appendTranscript("s-skew", [{ type: "x", n: 1 }], lease);
        // Renewed to a short lease, so the takeover below need not wait long.
        const beforeRenew = await serverNow();
        const renewed = await a.renewLease(lease, 300);
        expect(renewed.expiresAt).toBeGreaterThanOrEqual(beforeRenew + 300);
        expect(renewed.expiresAt).toBeLessThanOrEqual((await serverNow()) + 300);
        // A gateway whose clock runs a minute behind still takes over once the server says the
        // lease has expired (by its own clock the lease would be valid for another minute).
        await new Promise((r) => setTimeout(r, 450));
        const spyBehind = vi.spyOn(Date, "now").mockImplementation(() => realNow() - 60_000);
        let taken;
        try {
          behind = await RedisSessionStore.open({ url: redis.server.url, scope });
          taken = await behind.acquireLease(name, { ttlMs: 5000, waitMs: 0 });
        } finally {
          spyBehind.mockRestore();
        }
        expect(taken.epoch).toBe(lease.epoch + 1);
        await expect(a.appendTranscript("s-skew", [{ type: "x", n: 2 }], renewed)).rejects.toBeInstanceOf(FencedError);
        await expect(a.renewLease(renewed)).rejects.toBeInstanceOf(FencedError);
        expect((await a.readTranscript("s-skew")).lines).toEqual([{ type: "x", n: 1 }]);
      } finally {
        await a.close();
        await ahead?.close();
        await behind?.close();
      }
    });

    it("survives killed connections mid-traffic without losing or duplicating an update", async () => {
      const scope = scopeName();
      const a = await RedisSessionStore.open({ url: redis.server.url, scope });
      const b = await RedisSessionStore.open({ url: redis.server.url, scope });
      try {
        const work: Promise<unknown>[] = [];
        let killed = 0;
        for (let i = 0; i < 100; i++) {
          work.push(bump(i % 2 ? a : b));
          work.push(a.appendTranscript("sess-k", [{ type: "x", n: i }]));
          if (i === 30 || i === 70) {
            // Let some commands reach the server, kill every client connection (ours are in flight).
            await new Promise((r) => setTimeout(r, 2));
            killed += Number(await redis.admin.call("CLIENT", "KILL", "TYPE", "normal"));
            // Keep queueing while the clients reconnect, then let them come back for the second kill.
            if (i === 30) await new Promise((r) => setTimeout(r, 500));
          }
        }
        expect(killed).toBeGreaterThanOrEqual(4);
        await Promise.all(work);
        expect((await a.get("agent:main:main"))?.n).toBe(100);
        const lines = (await b.readTranscript("sess-k")).lines.map((l) => l.n as number);
        expect(lines).toHaveLength(100);
        expect([...lines].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
        // And after the kills, plain operations work on both.
        await bump(b);
        expect((await a.get("agent:main:main"))?.n).toBe(101);
      } finally {
        await a.close();
        await b.close();
      }
    }, 30_000);

    it("reconnects after the server restarts on the same port", async () => {
      let own = await startTestRedis();
      const s = await RedisSessionStore.open({ url: own.url, scope: "restart" });
      try {
        for (let i = 0; i < 10; i++) await bump(s);
        expect((await s.get("agent:main:main"))?.n).toBe(10);
        await own.stop();
        // Issued while the server is down: queued, then sent once the client is back.
        const pending = Promise.all([bump(s), s.appendTranscript("sess-r", [{ type: "x" }])]);
        await new Promise((r) => setTimeout(r, 300));
        own = await startTestRedisOnPort(own.port);
        await pending;
        // No persistence on the test server: the restart lost the earlier rows; the queued writes landed once.
        expect((await s.get("agent:main:main"))?.n).toBe(1);
        expect((await s.readTranscript("sess-r")).lines).toEqual([{ type: "x" }]);
        await bump(s);
        expect((await s.get("agent:main:main"))?.n).toBe(2);
      } finally {
        await s.close();
        await own.stop();
      }
    }, 30_000);

    // Delivery between instances and unsubscribing are the kit's "events" case; this is the scopes.
    it("keeps one scope's events away from another scope's listeners", async () => {
      const scope = scopeName();
      const a = await RedisSessionStore.open({ url: redis.server.url, scope });
      const b = await RedisSessionStore.open({ url: redis.server.url, scope });
      const other = await RedisSessionStore.open({ url: redis.server.url, scope: scopeName() });
      try {
        const got: StoreEvent[] = [];
        const leaked: StoreEvent[] = [];
        b.events.subscribe((e) => got.push(e));
        other.events.subscribe((e) => leaked.push(e));
        // Subscribing is asynchronous: publish until the subscription is live.
        for (let i = 0; i < 100 && got.length === 0; i++) {
          await a.events.publish({ origin: "gw-a", kind: "ping", payload: { i } });
          await new Promise((r) => setTimeout(r, 20));
        }
        expect(got.length).toBeGreaterThan(0);
        await a.events.publish({ origin: "gw-a", kind: "chat", payload: null });
        await expect.poll(() => got.some((e) => e.kind === "chat")).toBe(true);
        await new Promise((r) => setTimeout(r, 50));
        expect(leaked).toEqual([]);
      } finally {
        await a.close();
        await b.close();
        await other.close();
      }
    });

    it("exports exactly what was imported, replaces atomically and reports garbage lines", async () => {
      const scope = scopeName();
      const s = await RedisSessionStore.open({ url: redis.server.url, scope });
      try {
        const text =
          [
            '{"type":"session","version":3,"id":"imp-1"}',
            '{ "type" : "message",  "text": "héllo 🦀 \\u00e9\\t" }',
            '{"type":"message","text":"  trailing  "}   ',
          ].join("\n") + "\n";
        await s.appendTranscript("imp-1", [{ type: "old" }]);
        await s.importTranscript("imp-1", text);
        expect(await s.exportTranscript("imp-1")).toBe(text);
        expect((await s.readTranscript("imp-1")).lines).toHaveLength(3);
        expect(await s.listTranscripts()).toEqual(["imp-1"]);
        await s.importTranscript("imp-2", '{"type":"session"}\nnot json\n[1]\n{"n":4}\n');
        const read = await s.readTranscript("imp-2");
        expect(read.lines).toEqual([{ type: "session" }, { n: 4 }]);
        expect(read.issues.map((i) => [i.line, i.reason])).toEqual([
          [2, "malformed JSON"],
          [3, "not a JSON object"],
        ]);
        const tail = await s.readTranscript("imp-2", { tail: 2 });
        expect(tail.truncated).toBe(true);
        expect(tail.issues.map((i) => i.line)).toEqual([3]);
        expect(await s.exportTranscript("nope")).toBeNull();
        const name = await s.archiveTranscript("imp-1", "deleted", Date.UTC(2026, 0, 2, 3, 4, 5));
        expect(name).toBe("imp-1.jsonl.deleted.2026-01-02T03-04-05.000Z");
        expect(await s.listTranscripts()).toEqual(["imp-2"]);
        expect(await redis.admin.lrange(`pincer:{${scope}}:archive:${name}`, 0, -1)).toHaveLength(3);
      } finally {
        await s.close();
      }
    });
  });

  describe("commands per write", () => {
    /** Commands the store's client sent during `work` (a script call is one command). */
    const commandsDuring = async (store: RedisSessionStore, work: () => Promise<unknown>): Promise<number> => {
      const client = (store as unknown as { redis: { sendCommand: (...a: unknown[]) => unknown } }).redis;
      const send = client.sendCommand;
      let n = 0;
      client.sendCommand = (...a: unknown[]) => (n++, send.apply(client, a));
      try {
        await work();
      } finally {
        client.sendCommand = send;
      }
      return n;
    };

    it("sends a steady-state turn's writes as one command each: the row it wrote last is not read again", async () => {
      const store = (await RedisSessionStore.open({ url: redis.server.url, scope: scopeName() })) as RedisSessionStore;
      try {
        const lease = await store.acquireLease("session:k", { waitMs: 0 });
        const row = { sessionId: "s-1", updatedAt: 1 };
        await store.patch("k", () => row); // first write of the key (and of the scope)
        await store.appendTranscript("s-1", [{ type: "session" }], lease);
        expect(await commandsDuring(store, () => store.patch("k", (cur) => ({ ...cur!, updatedAt: 2 })))).toBe(1);
        expect(
          await commandsDuring(store, () =>
            store.appendAndPatch("s-1", [{ type: "message" }], lease, "k", (cur) => ({ ...cur!, updatedAt: 3 })),
          ),
        ).toBe(1);
        // Another writer moved the row: one failed compare-and-set, one read, one write; never a lost update.
        const other = await RedisSessionStore.open({
          url: redis.server.url,
          scope: (store as unknown as { scope: string }).scope,
        });
        try {
          await other.patch("k", (cur) => ({ ...cur!, label: "other" }));
        } finally {
          await other.close();
        }
        expect(
          await commandsDuring(store, () =>
            store.appendAndPatch("s-1", [{ type: "message" }], lease, "k", (cur) => ({ ...cur!, updatedAt: 4 })),
          ),
        ).toBe(3);
        expect(await store.get("k")).toMatchObject({ label: "other", updatedAt: 4 });
        expect((await store.readTranscript("s-1")).lines).toHaveLength(3);
      } finally {
        await store.close();
      }
    });
    it("records an inbound message on a held session as one command", async () => {
      const { SessionManager } = await import("../src/session/manager.ts");
      const store = (await RedisSessionStore.open({ url: redis.server.url, scope: scopeName() })) as RedisSessionStore;
      const manager = new SessionManager({
        config: { session: { dmScope: "per-channel-peer" as const } },
        storeFor: async () => store,
        sharedSessions: { leaseTtlMs: 60_000, leaseWaitMs: 5000 },
      });
      const key = "agent:main:telegram:direct:42";
      const envelope = (text: string) => ({
        channel: "telegram",
        chatType: "direct",
        peerId: "42",
        senderId: "42",
        text,
      });
      try {
        const hold = await manager.leases!.acquire("main", key);
        const first = await manager.recordInbound(envelope("one"));
        await manager.appendAssistant("main", key, { text: "echo: one" });
        // The fenced append and the row's compare-and-set in one script.
        const second = await commandsDuring(store, () => manager.recordInbound(envelope("two")));
        expect(second).toBe(1);
        manager.leases!.release(hold);
        await manager.leases!.releaseAll();
        const texts = (await store.readTranscript(first.sessionId)).lines.filter((l) => l.type === "message");
        expect(texts).toHaveLength(3);
      } finally {
        await store.close();
      }
    });
    it("runs a whole turn on a session it held last in four commands: the row comes with the lease", async () => {
      const { SessionManager } = await import("../src/session/manager.ts");
      const store = (await RedisSessionStore.open({ url: redis.server.url, scope: scopeName() })) as RedisSessionStore;
      const manager = new SessionManager({
        config: { session: { dmScope: "per-channel-peer" as const } },
        storeFor: async () => store,
        sharedSessions: { leaseTtlMs: 60_000, leaseWaitMs: 5000 },
      });
      const key = "agent:main:telegram:direct:42";
      const turn = async (text: string) => {
        const hold = await manager.leases!.acquire("main", key);
        await manager.recordInbound({ channel: "telegram", chatType: "direct", peerId: "42", senderId: "42", text });
        await manager.appendAssistant("main", key, { text: `echo: ${text}` });
        manager.leases!.release(hold);
        await manager.leases!.releaseAll();
      };
      try {
        await turn("one");
        // Lease with the row, message with its row, reply with its row, release (releaseAll: no linger).
        expect(await commandsDuring(store, () => turn("two"))).toBe(4);
        expect((await manager.history("main", key)).items.map((i) => i.text)).toEqual([
          "one",
          "echo: one",
          "two",
          "echo: two",
        ]);
      } finally {
        await store.close();
      }
    });
  });

  describe("a gateway on the redis backend", () => {
    it("runs turns and keeps the sessions across a restart", async () => {
      const { post, startTestGateway } = await import("./helpers/gateway-harness.ts");
      const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-redis-gw-"));
      await redis.admin.flushdb();
      const config = { session: { store: { backend: "redis" as const, url: redis.server.url } } };
      const a = await startTestGateway(config, { home });
      const r = await post(`${a.url}/v1/inbound`, {
        channel: "telegram",
        chatType: "direct",
        peerId: "a",
        senderId: "a",
        text: "hello redis",
      });
      expect(r.json.reply).toBe("echo: hello redis");
      await a.stop();
      expect(await RedisSessionStore.scopes(redis.server.url)).toEqual(["main"]);
      const b = await startTestGateway(config, { home });
      const history = await b.runtime.manager.history("main", "agent:main:main");
      expect(history.items.map((i) => i.text)).toEqual(["hello redis", "echo: hello redis"]);
      await b.stop();
      fs.rmSync(home, { recursive: true, force: true });
    }, 60_000);
  });
});
