/**
 * What a turn costs on Redis once its session's lease is held (issue 17 §3: at most 3 commands):
 * the two durable writes (the message with its row, the reply with its row) and nothing else — the
 * lease renewal and the waiting events ride along inside those scripts, and a lingering lease is
 * handed to another process that asks for it.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { RedisSessionStore } from "../src/store/redis/redis-store.ts";
import { FencedError, type StoreEvent } from "../src/store/types.ts";
import { redisAvailable } from "./helpers/redis-server.ts";
import { redisForSuite } from "./helpers/redis-suite.ts";

const available = redisAvailable();
const scopeName = (): string => `c-${randomUUID().slice(0, 8)}`;

/** Commands the store's client sent during `work` (a script call is one command). */
async function commandsDuring(store: RedisSessionStore, work: () => Promise<unknown>): Promise<string[]> {
  const client = (store as unknown as { redis: { sendCommand: (...a: unknown[]) => unknown } }).redis;
  const send = client.sendCommand;
  const names: string[] = [];
  client.sendCommand = (...a: unknown[]) => {
    names.push(String((a[0] as { name?: unknown }).name));
    return send.apply(client, a);
  };
  try {
    await work();
  } finally {
    client.sendCommand = send;
  }
  return names;
}

/** Resolves with the first `n` events of `kind` another store instance hears. */
function hear(store: RedisSessionStore, kind: string, n: number): Promise<StoreEvent[]> {
  const got: StoreEvent[] = [];
  return new Promise((resolve) => {
    const stop = store.capabilities.events!.subscribe((e) => {
      if (e.kind !== kind) return;
      got.push(e);
      if (got.length === n) {
        stop();
        resolve(got);
      }
    });
  });
}

/** Gives the subscriber connection time to be subscribed: publishes until an event arrives. */
async function subscribed(listener: RedisSessionStore, publisher: RedisSessionStore): Promise<void> {
  let heard = false;
  const stop = listener.capabilities.events!.subscribe((e) => {
    if (e.kind === "ping") heard = true;
  });
  for (let i = 0; i < 200 && !heard; i++) {
    await publisher.capabilities.events!.publish({ origin: "t", kind: "ping", payload: null });
    await new Promise((r) => setTimeout(r, 25));
  }
  stop();
  expect(heard).toBe(true);
}

describe.skipIf(!available)("redis: the cost of a turn on a held session", () => {
  const redis = redisForSuite();

  it("renews the fence's lease inside the fenced write and reports the new expiry; a stale fence renews nothing", async () => {
    const scope = scopeName();
    const store = await RedisSessionStore.open({ url: redis.server.url, scope });
    try {
      const lease = await store.acquireLease("session:k", { ttlMs: 1000, waitMs: 0 });
      await store.patch("k", () => ({ sessionId: "s-1", updatedAt: 1 }));
      const fence = { name: lease.name, owner: lease.owner, epoch: lease.epoch, renewTtlMs: 600_000 };
      // The script's first use loads it (EVALSHA, then EVAL): not counted.
      await store.appendAndPatch("s-0", [], undefined, "k0", () => ({ sessionId: "s-0", updatedAt: 1 }));
      let result: Awaited<ReturnType<RedisSessionStore["appendAndPatch"]>> | undefined;
      const sent = await commandsDuring(store, async () => {
        result = await store.appendAndPatch("s-1", [{ type: "message" }], fence, "k", (cur) => ({
          ...cur!,
          updatedAt: 2,
        }));
      });
      expect(sent).toHaveLength(1);
      const stored = Number(await redis.admin.hget(`pincer:{${scope}}:lease:session:k`, "expiresAt"));
      expect(result!.leaseExpiresAt).toBe(stored);
      // Ten minutes from the server's now, not the one second the lease was taken for.
      expect(stored).toBeGreaterThan(lease.expiresAt + 60_000);
      // Without renewTtlMs the lease is left as it is.
      const plain = await store.appendAndPatch("s-1", [], { ...fence, renewTtlMs: undefined }, "k", (cur) => ({
        ...cur!,
        updatedAt: 3,
      }));
      expect(plain.leaseExpiresAt).toBeUndefined();
      // A stale fence: refused, and the lease keeps its expiry.
      await expect(
        store.appendAndPatch("s-1", [{ type: "message" }], { ...fence, epoch: fence.epoch - 1 }, "k", (cur) => cur),
      ).rejects.toBeInstanceOf(FencedError);
      expect(Number(await redis.admin.hget(`pincer:{${scope}}:lease:session:k`, "expiresAt"))).toBe(stored);
      expect((await store.readTranscript("s-1")).lines).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it("reads the row with the lease in one command (none when absent), and the next write needs no read", async () => {
    const scope = scopeName();
    const store = await RedisSessionStore.open({ url: redis.server.url, scope });
    const other = await RedisSessionStore.open({ url: redis.server.url, scope });
    try {
      const absent = await store.acquireLeaseWithRow("session:none", "none", { waitMs: 0 });
      expect(absent.row).toBeUndefined();
      expect(absent.lease.epoch).toBe(1);
      await other.patch("k", () => ({ sessionId: "s-3", updatedAt: 5, label: "x" }));
      let got: Awaited<ReturnType<RedisSessionStore["acquireLeaseWithRow"]>> | undefined;
      const taking = await commandsDuring(store, async () => {
        got = await store.acquireLeaseWithRow("session:k", "k", { waitMs: 0 });
      });
      expect(taking).toHaveLength(1);
      expect(got!.row).toEqual({ sessionId: "s-3", updatedAt: 5, label: "x" });
      // Another process holds it now: the taker waits, then gives up naming the holder.
      await expect(other.acquireLeaseWithRow("session:k", "k", { waitMs: 50 })).rejects.toThrow(/held by/);
      // Loads the script (another key: the version of "k" stays the one the acquire read).
      await store.appendAndPatch("s-9", [], undefined, "k9", () => ({ sessionId: "s-9", updatedAt: 1 }));
      const writing = await commandsDuring(store, () =>
        store.appendAndPatch("s-3", [{ type: "message" }], got!.lease, "k", (cur) => ({ ...cur!, updatedAt: 6 })),
      );
      expect(writing).toEqual(["evalsha"]);
      expect(await other.get("k")).toEqual({ sessionId: "s-3", updatedAt: 6, label: "x" });
    } finally {
      await other.close();
      await store.close();
    }
  });

  it("publishes events given to publishSoon inside the next write, in order; alone when no write comes", async () => {
    const scope = scopeName();
    const store = await RedisSessionStore.open({ url: redis.server.url, scope });
    const other = await RedisSessionStore.open({ url: redis.server.url, scope });
    try {
      await subscribed(other, store);
      const events = store.capabilities.events!;
      expect(events.publishSoon).toBeTypeOf("function");
      // The scope's first write and the scripts' first use (loading them) are not counted.
      await store.appendAndPatch("s-0", [], undefined, "k0", () => ({ sessionId: "s-0", updatedAt: 1 }));
      await events.publishSoon!({ origin: "warm", kind: "warm", payload: 0 });
      const heard = hear(other, "e", 3);
      let published: Promise<unknown> = Promise.resolve();
      const sent = await commandsDuring(store, async () => {
        published = Promise.all([
          events.publishSoon!({ origin: "a", kind: "e", payload: 1 }),
          events.publishSoon!({ origin: "a", kind: "e", payload: 2 }),
        ]);
        // The row this store wrote last: the write needs no read first.
        await store.appendAndPatch("s-0", [{ type: "message" }], undefined, "k0", (cur) => ({ ...cur!, updatedAt: 2 }));
        await published;
        // No write follows this one: it goes out by itself.
        await events.publishSoon!({ origin: "a", kind: "e", payload: 3 });
      });
      await published;
      expect(sent).toEqual(["evalsha", "evalsha"]);
      expect((await heard).map((e) => e.payload)).toEqual([1, 2, 3]);
    } finally {
      await other.close();
      await store.close();
    }
  });

  it("runs a turn on a session whose lease it keeps in two commands: message and reply, each with its row", async () => {
    const { SessionManager } = await import("../src/session/manager.ts");
    const scope = scopeName();
    const store = (await RedisSessionStore.open({ url: redis.server.url, scope })) as RedisSessionStore;
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
    };
    try {
      // The first hold of the session is not continuous (nothing was held here before): released.
      await turn("one");
      await turn("two");
      const leaseKey = `pincer:{${scope}}:lease:session:${key}`;
      const before = Number(await redis.admin.hget(leaseKey, "expiresAt"));
      const sent = await commandsDuring(store, () => turn("three"));
      expect(sent).toEqual(["evalsha", "evalsha"]);
      // The writes renewed the lease (no renewal command of its own).
      expect(Number(await redis.admin.hget(leaseKey, "expiresAt"))).toBeGreaterThanOrEqual(before);
      expect((await manager.history("main", key)).items.map((i) => i.text)).toEqual([
        "one",
        "echo: one",
        "two",
        "echo: two",
        "three",
        "echo: three",
      ]);
    } finally {
      await manager.leases!.releaseAll();
      await store.close();
    }
  });

  it("hands a lingering lease to another process that asks for it, long before the linger ends", async () => {
    const { SessionLeases } = await import("../src/session/session-leases.ts");
    const scope = scopeName();
    const storeA = await RedisSessionStore.open({ url: redis.server.url, scope });
    const storeB = await RedisSessionStore.open({ url: redis.server.url, scope });
    const leasesFor = (store: RedisSessionStore, waitMs: number) =>
      new SessionLeases({
        storeFor: async () => store,
        // An hour of lease and of linger: B gets the session only if A lets go when asked.
        ttlMs: 3_600_000,
        lingerMs: 3_600_000,
        waitMs,
        onAcquired: async () => undefined,
      });
    const a = leasesFor(storeA, 5000);
    const b = leasesFor(storeB, 30_000);
    try {
      // Two holds in a row on A: the second is continuous, so when it ends A keeps the lease.
      a.release(await a.acquire("main", "k"));
      a.release(await a.acquire("main", "k"));
      expect(a.isLingering("main", "k")).toBe(true);
      const held = await b.acquire("main", "k");
      expect(b.isCurrent(held)).toBe(true);
      expect(a.current("main", "k")).toBeNull();
      b.release(held);
    } finally {
      await b.releaseAll();
      await a.releaseAll();
      await storeB.close();
      await storeA.close();
    }
  }, 40_000);
});
