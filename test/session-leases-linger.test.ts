/**
 * Issue 17 §3 on a real PostgreSQL: a session this process held continuously keeps its lease while
 * idle (a steady-state turn takes and releases no lease), anyone else who wants it gets it without
 * waiting out the linger (another gateway, the CLI), shutdown lets it go; fenced writes renew the
 * lease as they go; events ride along with write commits. Counts come from the wire
 * (bench/pg-wire-counter.ts: round trips, commits), never from timings.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startPgWireCounter } from "../bench/pg-wire-counter.ts";
import { SessionManager } from "../src/session/manager.ts";
import { PostgresSessionStore } from "../src/store/postgres/postgres-store.ts";
import type { SessionEntry } from "../src/store/entry.ts";
import { FencedError, type SessionStore, type StoreEvent } from "../src/store/types.ts";
import { countingStore } from "./helpers/counting-store.ts";
import { inbound, startGatewayProcess } from "./helpers/gateway-process.ts";
import { createTestDatabase, stopTestPostgres } from "./helpers/postgres-server.ts";

afterAll(async () => {
  await stopTestPostgres();
});

const KEY = "agent:main:telegram:direct:42";
const SID = "0b6f6b1e-8d7e-4a43-9a55-6c8f0b2b3c11";
const envelope = (text: string, messageId?: string) => ({
  channel: "telegram",
  chatType: "direct",
  peerId: "42",
  senderId: "42",
  text,
  ...(messageId ? { messageId } : {}),
});

/** A manager as a gateway makes it: one store instance of its own, leases of a minute (so linger a minute). */
function gatewayManager(store: SessionStore, waitMs = 20_000): SessionManager {
  return new SessionManager({
    config: { session: { dmScope: "per-channel-peer" as const } },
    storeFor: async () => store,
    sharedSessions: { leaseTtlMs: 60_000, leaseWaitMs: waitMs },
  });
}

/**
 * Two gateways on one fresh database (a store instance and a manager each, B waiting `bWaitMs`
 * for a lease); both let go of everything and closed after `work`.
 */
async function withTwoGateways(
  work: (g: {
    a: SessionManager;
    b: SessionManager;
    sa: PostgresSessionStore;
    sb: PostgresSessionStore;
  }) => Promise<void>,
  bWaitMs?: number,
): Promise<void> {
  const url = await createTestDatabase();
  const sa = await PostgresSessionStore.open({ url, scope: "main" });
  const sb = await PostgresSessionStore.open({ url, scope: "main" });
  const a = gatewayManager(sa);
  const b = gatewayManager(sb, bWaitMs);
  try {
    await work({ a, b, sa, sb });
  } finally {
    await a.leases!.releaseAll();
    await b.leases!.releaseAll();
    await sa.close();
    await sb.close();
  }
}

async function turn(m: SessionManager, text: string): Promise<void> {
  const hold = await m.leases!.acquire("main", KEY);
  try {
    await m.recordInbound(envelope(text));
    await m.appendAssistant("main", KEY, { text: `echo: ${text}` });
  } finally {
    m.leases!.release(hold);
  }
}

describe("a session lease kept between turns (postgres)", () => {
  it("a turn on a session held continuously is its two fenced writes: 2 round trips, 2 commits, no lease call", async () => {
    const db = await createTestDatabase();
    const counter = await startPgWireCounter(db);
    const raw = await PostgresSessionStore.open({ url: counter.url, scope: "main" });
    const counted = countingStore(raw, ["acquireLease", "acquireLeaseWithRow", "renewLease", "releaseLease"]);
    const { store } = counted;
    const m = gatewayManager(store);
    try {
      // The LISTEN connection (requests to let go) opens once, not per turn.
      await raw.eventsReady();
      await turn(m, "one"); // first hold here: released at idle
      await turn(m, "two"); // continuous (epoch + 1): kept
      expect(m.leases!.isLingering("main", KEY)).toBe(true);
      const before = counter.counts();
      const callsBefore = counted.total();
      await turn(m, "three");
      const after = counter.counts();
      expect(counted.total() - callsBefore).toBe(0);
      // Each write in one round trip: the row is known (held), so the patch is a compare-and-set.
      expect(after.roundTrips - before.roundTrips).toBe(2);
      expect(after.commits - before.commits).toBe(2);
      expect((await m.history("main", KEY)).items.map((i) => i.text)).toEqual([
        "one",
        "echo: one",
        "two",
        "echo: two",
        "three",
        "echo: three",
      ]);
    } finally {
      await m.leases!.releaseAll();
      await raw.close();
      await counter.close();
    }
  });

  it("another gateway that wants a kept lease gets it at once, and the first takes it back with what was written", async () => {
    await withTwoGateways(async ({ a, b, sa }) => {
      await turn(a, "one");
      await turn(a, "two");
      expect(a.leases!.isLingering("main", KEY)).toBe(true);
      const stale = a.leases!.fence("main", KEY)!;
      // B waits up to 20 s; A would keep the lease for a minute unless asked.
      await turn(b, "three");
      expect(a.leases!.current("main", KEY)).toBeNull();
      await expect(sa.appendTranscript(SID, [{ type: "x" }], stale)).rejects.toBeInstanceOf(FencedError);
      // B's hold was not continuous: released at idle, so A takes it again at once and sees B's turn.
      expect(b.leases!.current("main", KEY)).toBeNull();
      await turn(a, "four");
      expect((await a.history("main", KEY)).items.map((i) => i.text)).toEqual([
        "one",
        "echo: one",
        "two",
        "echo: two",
        "three",
        "echo: three",
        "four",
        "echo: four",
      ]);
    });
  });

  it("a lease wanted while a turn runs is let go when the turn ends, not kept", async () => {
    await withTwoGateways(async ({ a, b, sa }) => {
      await turn(a, "one");
      await turn(a, "two");
      // Listeners run in order: once this one has seen the request, A's leases have too.
      const seen: StoreEvent[] = [];
      sa.events.subscribe((e) => seen.push(e));
      await sa.eventsReady();
      const hold = await a.leases!.acquire("main", KEY);
      let taken = false;
      const other = b.leases!.acquire("main", KEY).then((h) => ((taken = true), h));
      for (let i = 0; i < 1000 && !seen.some((e) => e.kind === "lease-wanted"); i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(taken).toBe(false);
      // The last holder lets go: released at once instead of kept for a minute.
      a.leases!.release(hold);
      expect(a.leases!.current("main", KEY)).toBeNull();
      const got = await other;
      b.leases!.release(got);
    });
  });

  it("shutdown (releaseAll) lets a kept lease go: another process takes it without waiting", async () => {
    await withTwoGateways(async ({ a, b }) => {
      await turn(a, "one");
      await turn(a, "two");
      expect(a.leases!.isLingering("main", KEY)).toBe(true);
      expect(await b.leases!.tryAcquire("main", KEY)).toBeNull();
      await a.leases!.releaseAll();
      const got = await b.leases!.tryAcquire("main", KEY);
      expect(got).not.toBeNull();
      b.leases!.release(got!);
    }, 0);
  });
});

describe("what rides along with a write (postgres)", () => {
  it("a fenced appendAndPatch that asks for it renews the lease in the same transaction", async () => {
    const url = await createTestDatabase();
    const s = await PostgresSessionStore.open({ url, scope: "main" });
    try {
      const lease = await s.acquireLease(`session:${KEY}`, { ttlMs: 1000 });
      const res = await s.appendAndPatch(SID, [{ type: "x" }], { ...lease, renewTtlMs: 600_000 }, KEY, () => ({
        sessionId: SID,
        updatedAt: 1,
      }));
      expect(res.leaseExpiresAt).toBeGreaterThan(lease.expiresAt + 500_000);
      // The lease now outlives its original ttl: another process still cannot take it.
      await new Promise((r) => setTimeout(r, 1100));
      const other = await PostgresSessionStore.open({ url, scope: "main" });
      try {
        await expect(other.acquireLease(`session:${KEY}`, { waitMs: 0 })).rejects.toThrow(/is held by/);
      } finally {
        await other.close();
      }
      // A stale fence renews nothing and writes nothing.
      await s.releaseLease(lease);
      await expect(
        s.appendAndPatch(SID, [{ type: "y" }], { ...lease, renewTtlMs: 600_000 }, KEY, () => ({
          sessionId: SID,
          updatedAt: 2,
        })),
      ).rejects.toBeInstanceOf(FencedError);
      expect((await s.readTranscript(SID)).lines).toHaveLength(1);
      expect((await s.get(KEY))?.updatedAt).toBe(1);
    } finally {
      await s.close();
    }
  });

  it("a write on the known row is one round trip; a row changed behind the holder's back falls back to read-modify-write", async () => {
    const db = await createTestDatabase();
    const counter = await startPgWireCounter(db);
    const s = await PostgresSessionStore.open({ url: counter.url, scope: "main" });
    const other = await PostgresSessionStore.open({ url: db, scope: "main" });
    try {
      const lease = await s.acquireLease(`session:${KEY}`, { ttlMs: 60_000 });
      const fence = { ...lease, renewTtlMs: 60_000 };
      const bump = (e: SessionEntry | undefined): SessionEntry => ({
        sessionId: SID,
        updatedAt: (e?.updatedAt ?? 0) + 1,
        ...(e?.label ? { label: e.label } : {}),
      });
      const first = await s.appendAndPatch(SID, [{ type: "a" }], fence, KEY, bump); // no row known: read, write
      const t0 = counter.counts().roundTrips;
      const second = await s.appendAndPatch(SID, [{ type: "b" }], fence, KEY, bump, { row: first.after });
      expect(counter.counts().roundTrips - t0).toBe(1);
      expect(second.before).toEqual(first.after);
      expect(second.after?.updatedAt).toBe(2);
      expect(second.leaseExpiresAt).toBeGreaterThan(0);
      // Someone writes the row without the lease: the known row is stale, the compare-and-set misses,
      // and the mutator runs on the stored row instead (nothing of the stale attempt is kept).
      await other.patch(KEY, (e) => ({ ...e!, updatedAt: 10, label: "theirs" }));
      const third = await s.appendAndPatch(SID, [{ type: "c" }], fence, KEY, bump, { row: second.after });
      expect(third.before).toMatchObject({ updatedAt: 10, label: "theirs" });
      expect(third.after).toMatchObject({ updatedAt: 11, label: "theirs" });
      expect((await other.get(KEY))?.updatedAt).toBe(11);
      expect((await other.readTranscript(SID)).lines.map((l) => l.type)).toEqual(["a", "b", "c"]);
      // A stale fence on the fast path: refused, nothing written.
      await s.releaseLease(lease);
      await expect(
        s.appendAndPatch(SID, [{ type: "d" }], fence, KEY, bump, { row: third.after }),
      ).rejects.toBeInstanceOf(FencedError);
      expect((await other.get(KEY))?.updatedAt).toBe(11);
      expect((await other.readTranscript(SID)).lines).toHaveLength(3);
    } finally {
      await s.close();
      await other.close();
      await counter.close();
    }
  });

  it("events given to publishSoon go out with the next write's commit, in order", async () => {
    const db = await createTestDatabase();
    const counter = await startPgWireCounter(db);
    const s = await PostgresSessionStore.open({ url: counter.url, scope: "main" });
    const listener = await PostgresSessionStore.open({ url: db, scope: "main" });
    const got: StoreEvent[] = [];
    listener.events.subscribe((e) => got.push(e));
    await listener.eventsReady();
    try {
      await s.patch(KEY, () => ({ sessionId: SID, updatedAt: 0 })); // prepared statements, warm pool
      const before = counter.counts();
      const sent: Array<Promise<void>> = [];
      for (let i = 1; i <= 5; i++) {
        sent.push(s.events.publishSoon!({ origin: "o", kind: "k", payload: i }));
        await s.patch(KEY, () => ({ sessionId: SID, updatedAt: i }));
      }
      await Promise.all(sent);
      // Five patches, five events: five commits, not ten.
      expect(counter.counts().commits - before.commits).toBe(5);
      for (let i = 0; i < 500 && got.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got.map((e) => e.payload)).toEqual([1, 2, 3, 4, 5]);
      // Without a write to ride along with, an event still goes out, by itself.
      await s.events.publishSoon!({ origin: "o", kind: "k", payload: 6 });
      for (let i = 0; i < 500 && got.length < 6; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got.map((e) => e.payload)).toEqual([1, 2, 3, 4, 5, 6]);
    } finally {
      await s.close();
      await listener.close();
      await counter.close();
    }
  });
});

describe("the CLI and a gateway keeping a session's lease", () => {
  it("`pincer sessions delete` of a session a gateway keeps returns without waiting out the linger", async () => {
    const url = await createTestDatabase();
    // Leases of two minutes: without the hand-off the CLI would wait two minutes (the test's bound is 30 s).
    const gw = await startGatewayProcess({
      session: { dmScope: "per-channel-peer", store: { backend: "postgres", url, leaseTtlMs: 120_000 } },
    });
    try {
      for (const [i, text] of ["one", "two", "three"].entries())
        expect((await inbound(gw.url, envelope(text, `m${i}`))).status).toBe(200);
      const bin = path.resolve(import.meta.dirname, "../bin/pincer.js");
      const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
        const child = spawn(process.execPath, [bin, "sessions", "delete", KEY, "--json"], {
          env: { ...process.env, PINCER_HOME: gw.home },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let text = "";
        child.stdout.on("data", (d: Buffer) => (text += d.toString()));
        child.stderr.on("data", (d: Buffer) => (text += d.toString()));
        child.on("exit", (code) => resolve({ code, text }));
      });
      expect(out.code, out.text).toBe(0);
      const check = await PostgresSessionStore.open({ url, scope: "main" });
      try {
        expect(await check.get(KEY)).toBeUndefined();
      } finally {
        await check.close();
      }
      // The gateway serves the session again afterwards (a new one).
      const again = await inbound(gw.url, envelope("four", "m3"));
      expect(again.status).toBe(200);
    } finally {
      await gw.kill();
      fs.rmSync(gw.home, { recursive: true, force: true });
    }
  }, 30_000);
});
