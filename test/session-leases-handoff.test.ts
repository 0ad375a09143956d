/**
 * Issue 17 §3 on a real PostgreSQL and a real Redis: a session whose messages alternate between two
 * gateways hands its lease over without round trips of its own. The taker reads the row and the
 * lines the other gateway appended together with the lease; the holder's reply write frees the
 * lease, so nobody waits for a release after the answer. Counts come from the wire: Postgres round
 * trips and commits (bench/pg-wire-counter.ts), Redis commands as the client sends them.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPgWireCounter } from "../bench/pg-wire-counter.ts";
import { SessionManager } from "../src/session/manager.ts";
import { PostgresSessionStore } from "../src/store/postgres/postgres-store.ts";
import { RedisSessionStore } from "../src/store/redis/redis-store.ts";
import type { SessionStore } from "../src/store/types.ts";
import { countingStore } from "./helpers/counting-store.ts";
import { post, ScriptedProvider, startTestGateway, TOKEN } from "./helpers/gateway-harness.ts";
import { createTestDatabase, stopTestPostgres } from "./helpers/postgres-server.ts";
import { redisAvailable, startTestRedis, type TestRedis } from "./helpers/redis-server.ts";

let redis: TestRedis | null = null;
beforeAll(async () => {
  if (redisAvailable()) redis = await startTestRedis();
}, 30_000);
afterAll(async () => {
  await stopTestPostgres();
  await redis?.stop();
});

/** Two store instances (two gateways) on one backend, and what they sent on the wire so far. */
interface Pair {
  stores: [SessionStore, SessionStore];
  /** Postgres: round trips and commits; Redis: commands (a script call is one), as both count. */
  wire(): { roundTrips: number; commits: number };
  close(): Promise<void>;
}

async function postgresPair(): Promise<Pair> {
  const counter = await startPgWireCounter(await createTestDatabase());
  const stores = [
    await PostgresSessionStore.open({ url: counter.url, scope: "main" }),
    await PostgresSessionStore.open({ url: counter.url, scope: "main" }),
  ] as const;
  await Promise.all(stores.map((s) => s.eventsReady()));
  return {
    stores: [...stores],
    wire: () => counter.counts(),
    close: async () => {
      for (const s of stores) await s.close();
      await counter.close();
    },
  };
}

async function redisPair(): Promise<Pair> {
  const scope = `h-${randomUUID().slice(0, 8)}`;
  const stores = [
    await RedisSessionStore.open({ url: redis!.url, scope }),
    await RedisSessionStore.open({ url: redis!.url, scope }),
  ] as const;
  let sent = 0;
  for (const store of stores) {
    const client = (store as unknown as { redis: { sendCommand: (...a: unknown[]) => unknown } }).redis;
    const send = client.sendCommand;
    client.sendCommand = (...a: unknown[]) => (sent++, send.apply(client, a));
  }
  return {
    stores: [...stores],
    wire: () => ({ roundTrips: sent, commits: sent }),
    close: async () => {
      for (const s of stores) await s.close();
    },
  };
}

const KEY = "agent:main:telegram:direct:42";
const envelope = (text: string) => ({ channel: "telegram", chatType: "direct", peerId: "42", senderId: "42", text });

function gatewayManager(store: SessionStore): SessionManager {
  return new SessionManager({
    config: { session: { dmScope: "per-channel-peer" as const } },
    storeFor: async () => store,
    sharedSessions: { leaseTtlMs: 60_000, leaseWaitMs: 20_000 },
  });
}

/**
 * One turn as the runtime runs it: the message, then the reply as the run's last write (nothing
 * queued behind it). `afterReply` runs once the reply is written, before the hold is given back.
 */
async function turn(m: SessionManager, text: string, afterReply?: () => Promise<void>): Promise<void> {
  const hold = await m.leases!.acquire("main", KEY);
  try {
    const { sessionId } = await m.recordInbound(envelope(text));
    const reply = { role: "assistant", content: [{ type: "text", text: `echo: ${text}` }], timestamp: 0 };
    const written = await m.appendToSession(
      "main",
      KEY,
      sessionId,
      [{ type: "message", message: reply } as never],
      (cur, now) => ({ ...cur, updatedAt: now }),
      { last: true },
    );
    expect(written).toHaveLength(1);
    await afterReply?.();
  } finally {
    m.leases!.release(hold);
  }
}

describe.each([
  { backend: "postgres", pair: postgresPair, skip: false },
  { backend: "redis", pair: redisPair, skip: !redisAvailable() },
])("a session lease handed between gateways ($backend)", ({ pair, skip }) => {
  it.skipIf(skip)(
    "a turn on a session alternating between two gateways is 3 round trips (3 commits), with no release or tail read of its own",
    async () => {
      const p = await pair();
      const names = ["acquireLease", "acquireLeaseWithRow", "releaseLease", "readTranscript"];
      const ca = countingStore(p.stores[0], names);
      const cb = countingStore(p.stores[1], names);
      const a = gatewayManager(ca.store);
      const b = gatewayManager(cb.store);
      const sum = (name: string) => ca.count(name) + cb.count(name);
      try {
        // Both gateways have read the session once (their first holds read the whole transcript).
        await turn(a, "one");
        await turn(b, "two");
        await turn(a, "three");
        await turn(b, "four");
        const before = p.wire();
        const calls = new Map(names.map((n) => [n, sum(n)]));
        await turn(a, "five");
        await turn(b, "six");
        const after = p.wire();
        expect(after.roundTrips - before.roundTrips).toBe(6);
        expect(after.commits - before.commits).toBe(6);
        expect(sum("acquireLeaseWithRow") - calls.get("acquireLeaseWithRow")!).toBe(2);
        expect(sum("releaseLease") - calls.get("releaseLease")!).toBe(0);
        expect(sum("readTranscript") - calls.get("readTranscript")!).toBe(0);
        const texts = ["one", "two", "three", "four", "five", "six"].flatMap((t) => [t, `echo: ${t}`]);
        // Each gateway's cached transcript took on the other's lines: its history is complete.
        for (const m of [a, b]) {
          const hold = await m.leases!.acquire("main", KEY);
          expect((await m.history("main", KEY)).items.map((i) => i.text)).toEqual(texts);
          m.leases!.release(hold);
        }
      } finally {
        await a.leases!.releaseAll();
        await b.leases!.releaseAll();
        await p.close();
      }
    },
  );

  it.skipIf(skip)(
    "the reply's write frees the lease: another gateway takes it at once, before the holder gives its hold back",
    async () => {
      const p = await pair();
      const [sa, other] = p.stores;
      const a = gatewayManager(sa);
      try {
        await turn(a, "one", async () => {
          expect(a.leases!.current("main", KEY)).toBeNull();
          const lease = await other.acquireLease(`session:${KEY}`, { waitMs: 0 });
          await other.releaseLease(lease);
        });
        // The next turn here takes the lease again and sees the session as it was left.
        await turn(a, "two");
        expect((await a.history("main", KEY)).items.map((i) => i.text)).toEqual([
          "one",
          "echo: one",
          "two",
          "echo: two",
        ]);
      } finally {
        await a.leases!.releaseAll();
        await p.close();
      }
    },
  );

  it.skipIf(skip)("a reply that is not the last write keeps the lease (a held write never frees it)", async () => {
    const p = await pair();
    const [sa, other] = p.stores;
    const a = gatewayManager(sa);
    try {
      const hold = await a.leases!.acquire("main", KEY);
      const { sessionId } = await a.recordInbound(envelope("one"));
      const reply = { role: "assistant", content: [{ type: "text", text: "echo: one" }], timestamp: 0 };
      await a.appendToSession("main", KEY, sessionId, [{ type: "message", message: reply } as never], (cur, now) => ({
        ...cur,
        updatedAt: now,
      }));
      expect(a.leases!.isCurrent(hold)).toBe(true);
      await expect(other.acquireLease(`session:${KEY}`, { waitMs: 0 })).rejects.toThrow(/held by/);
      a.leases!.release(hold);
    } finally {
      await a.leases!.releaseAll();
      await p.close();
    }
  });
});

describe("a reply followed by a threshold compaction (postgres, a real gateway)", () => {
  it("keeps the lease through the compaction: the whole run is one hold, and the reply does not free it", async () => {
    const url = await createTestDatabase();
    const provider = new ScriptedProvider();
    provider.reply = () => [{ type: "text", text: "ok" }];
    // Every turn uses 110 tokens of a 105-token window: each reply is followed by a compaction.
    const agents = {
      defaults: {
        contextTokens: 105,
        compaction: { memoryFlush: { enabled: false }, reserveTokensFloor: 0, reserveTokens: 0 },
      },
    };
    const gw = await startTestGateway(
      { agents, session: { dmScope: "per-channel-peer", store: { backend: "postgres", url } } },
      { provider },
    );
    const reader = await PostgresSessionStore.open({ url, scope: "main" });
    try {
      const takesSoFar = async () => {
        const metrics = await (
          await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
        ).text();
        return Number(/^pincer_store_operation_seconds_count\{op="acquireLeaseWithRow"\} (\d+)$/m.exec(metrics)?.[1]);
      };
      // The first turn has nothing to compact yet (everything is the kept tail); the second compacts.
      expect((await post(`${gw.url}/v1/inbound`, envelope("one"))).status).toBe(200);
      // Another process takes the session in between (asking the gateway to let go of its kept
      // lease), so the gateway's next hold is not continuous and would not linger.
      const other = gatewayManager(reader);
      other.leases!.release(await other.leases!.acquire("main", KEY));
      await other.leases!.releaseAll();
      const before = await takesSoFar();
      expect((await post(`${gw.url}/v1/inbound`, envelope("two"))).status).toBe(200);
      const row = await reader.get(KEY);
      const { lines } = await reader.readTranscript(row!.sessionId);
      // The compaction came after the second reply.
      expect(lines.map((l) => l.type).slice(-2)).toEqual(["message", "compaction"]);
      // One hold for the message, the reply and the compaction (a freed lease would be taken again).
      expect((await takesSoFar()) - before).toBe(1);
    } finally {
      await reader.close();
      await gw.cleanup();
    }
  });
});
