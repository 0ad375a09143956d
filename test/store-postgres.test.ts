import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { SessionEntry } from "../src/store/entry.ts";
import { POSTGRES_SCHEMA_VERSION, PostgresSessionStore } from "../src/store/postgres/postgres-store.ts";
import { StoreUnavailableError, type SessionStore, type StoreEvent } from "../src/store/types.ts";
import { createTestDatabase, freePort, stopTestPostgres } from "./helpers/postgres-server.ts";
import { runStoreConformance } from "../src/store/conformance/index.ts";

afterAll(async () => {
  await stopTestPostgres();
});

let url: string | null = null;
let unreachablePort = 0;
const opened: SessionStore[] = [];
const track = (s: SessionStore): SessionStore => (opened.push(s), s);

runStoreConformance({
  name: "postgres",
  async create(now) {
    url = await createTestDatabase();
    return track(await PostgresSessionStore.open({ url, scope: "main", now }));
  },
  // A second pool on the same database and scope, as another gateway process would open it.
  another: async (now) => track(await PostgresSessionStore.open({ url: url!, scope: "main", now })),
  async dispose() {
    for (const s of opened.splice(0)) await s.close();
  },
  schemaVersion: {
    write: async (version) =>
      void (await withAdmin(url!, (c) =>
        c.query("INSERT INTO pincer_schema_version (version) VALUES ($1)", [version]),
      )),
    restore: async () =>
      void (await withAdmin(url!, (c) =>
        c.query("DELETE FROM pincer_schema_version WHERE version > $1", [POSTGRES_SCHEMA_VERSION]),
      )),
    // The version this Pincer has, and the URL with its password masked.
    message: /newer.*\(1\).*pincer store migrate/,
    hidden: "pincer-test",
  },
  unreachable: {
    async open() {
      const port = await freePort();
      unreachablePort = port;
      return PostgresSessionStore.open({
        url: `postgres://pincer:s3cret-pw@127.0.0.1:${port}/nowhere`,
        scope: "main",
        connectTimeoutMs: 1500,
      });
    },
    get address() {
      return `127.0.0.1:${unreachablePort}/nowhere`;
    },
    secret: "s3cret-pw",
    timeoutMs: 1500,
    message: /\d+ attempts over \d+ ms/,
  },
});

const SID = "0b6f6b1e-8d7e-4a43-9a55-6c8f0b2b3c11";
const entry = (updatedAt: number, extra: Partial<SessionEntry> = {}): SessionEntry => ({
  sessionId: SID,
  updatedAt,
  ...extra,
});

async function withAdmin<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** Resolves with the first event `accept` takes, or rejects after `ms`. */
function nextEvent(events: StoreEvent[], accept: (e: StoreEvent) => boolean, ms = 5000): Promise<StoreEvent> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      const hit = events.find(accept);
      if (hit) resolve(hit);
      else if (Date.now() > until)
        reject(new Error(`no matching event within ${ms} ms (got ${JSON.stringify(events)})`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

/** A TCP proxy in front of the server that can cut every connection through it. */
async function startProxy(targetPort: number): Promise<{
  port: number;
  cutAfter(bytes: number): Promise<void>;
  cutOnReply(marker: string): Promise<void>;
  cuts: number;
  close(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  let armed: { remaining: number; fired: () => void } | null = null;
  let replyArmed: { marker: Buffer; fired: () => void } | null = null;
  const state = { cuts: 0 };
  const cutAll = (): void => {
    state.cuts++;
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    client.on("data", (chunk: Buffer) => {
      if (!armed) return;
      armed.remaining -= chunk.length;
      if (armed.remaining <= 0) {
        const fired = armed.fired;
        armed = null;
        cutAll();
        fired();
      }
    });
    // Registered before the pipe: a matching reply is never forwarded.
    upstream.on("data", (chunk: Buffer) => {
      if (!replyArmed || !chunk.includes(replyArmed.marker)) return;
      const fired = replyArmed.fired;
      replyArmed = null;
      cutAll();
      fired();
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const done = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on("error", done);
      s.on("close", done);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get cuts() {
      return state.cuts;
    },
    cutAfter(bytes) {
      return new Promise<void>((fired) => {
        armed = { remaining: bytes, fired };
      });
    },
    cutOnReply(marker) {
      return new Promise<void>((fired) => {
        replyArmed = { marker: Buffer.from(marker), fired };
      });
    },
    async close() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const viaPort = (url: string, port: number): string => {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
};

describe("postgres backend specifics", () => {
  it("reads the row with the lease only once the lease row is locked: a fenced write still in flight is seen", async () => {
    const db = await createTestDatabase();
    let clock = 1_000;
    const a = await PostgresSessionStore.open({ url: db, scope: "main", now: () => clock });
    const b = await PostgresSessionStore.open({ url: db, scope: "main", now: () => clock });
    track(a);
    track(b);
    const old = await a.acquireLease("session:k", { ttlMs: 100 });
    // The old holder's fenced write in flight: lease row share-locked, row written, not yet committed.
    await withAdmin(db, async (c) => {
      await c.query("BEGIN");
      await c.query("SELECT 1 FROM leases WHERE scope = 'main' AND name = 'session:k' FOR SHARE");
      await c.query("INSERT INTO sessions (scope, key, entry, updated_at) VALUES ('main', 'k', $1, 1)", [
        JSON.stringify({ sessionId: "s-old", updatedAt: 1 }),
      ]);
      clock = 2_000; // the old lease has run out
      const taking = b.acquireLeaseWithRow("session:k", "k", { waitMs: 10_000 });
      // Commit only once the taker waits on the lease row: its reads must come after that wait.
      for (;;) {
        const w = await withAdmin(db, (d) =>
          d.query<{ n: string }>(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
          ),
        );
        if (Number(w.rows[0]!.n) > 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      await c.query("COMMIT");
      const got = await taking;
      expect(got.lease.epoch).toBe(old.epoch + 1);
      expect(got.row?.sessionId).toBe("s-old");
    });
  });

  it("keeps scopes apart in one database and lists them", async () => {
    const url = await createTestDatabase();
    const main = await PostgresSessionStore.open({ url, scope: "main" });
    const work = await PostgresSessionStore.open({ url, scope: "work" });
    try {
      expect(main.location).toMatch(/#main$/);
      expect(main.location).not.toContain("pincer-test");
      expect(main.backend).toBe("postgres");
      await main.patch("agent:main:main", () => entry(1, { label: "m" }));
      await work.patch("agent:work:main", () => entry(2, { label: "w" }));
      await main.appendTranscript("t-main", [{ type: "session", id: "t-main" }]);
      await work.appendTranscript("t-work", [{ type: "session", id: "t-work" }]);
      expect((await main.all()).map((r) => r.key)).toEqual(["agent:main:main"]);
      expect((await work.all()).map((r) => r.key)).toEqual(["agent:work:main"]);
      expect(await main.get("agent:work:main")).toBeUndefined();
      expect(await main.count()).toBe(1);
      expect(await main.listTranscripts()).toEqual(["t-main"]);
      expect(await work.listTranscripts()).toEqual(["t-work"]);
      expect(await main.transcriptExists("t-work")).toBe(false);
      // Leases of the same name in two scopes are two leases.
      const a = await main.acquireLease("index", { waitMs: 0 });
      const b = await work.acquireLease("index", { waitMs: 0 });
      expect([a.epoch, b.epoch]).toEqual([1, 1]);
      expect(await PostgresSessionStore.scopes(url)).toEqual(["main", "work"]);
    } finally {
      await main.close();
      await work.close();
    }
  });

  // Refusing a newer schema is the kit's "newer schema refused" case.
  it("migrates an older schema on open", async () => {
    const older = await createTestDatabase();
    await withAdmin(older, (c) =>
      c.query(
        "CREATE TABLE pincer_schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
      ),
    );
    // Several processes starting together on an unmigrated database: one migrates, none fails.
    const stores = await Promise.all(
      Array.from({ length: 4 }, () => PostgresSessionStore.open({ url: older, scope: "main" })),
    );
    try {
      await stores[0]!.patch("k", () => entry(1));
      expect(await stores[3]!.get("k")).toEqual(entry(1));
      const versions = await withAdmin(older, (c) =>
        c.query<{ version: number }>("SELECT version FROM pincer_schema_version ORDER BY version"),
      );
      expect(versions.rows.map((r) => r.version)).toEqual([1]);
    } finally {
      for (const s of stores) await s.close();
    }
  });

  // Giving up on an unreachable database is the kit's "unreachable server" case.
  it("retries a batch whose connection drops mid-transaction: all rows or none, never part", async () => {
    const url = await createTestDatabase();
    const proxy = await startProxy(Number(new URL(url).port));
    const rows = Array.from({ length: 5000 }, (_, i) => ({
      key: `agent:main:telegram:direct:${String(i).padStart(5, "0")}`,
      entry: entry(1000 + i, { label: `row ${i} ${"x".repeat(100)}` }),
    }));
    // Default retry budget: the cut connection is replaced and the whole batch lands.
    const store = await PostgresSessionStore.open({ url: viaPort(url, proxy.port), scope: "main" });
    try {
      await store.count(); // a pooled connection exists before the cut
      const cut = proxy.cutAfter(200_000);
      await store.putMany(rows);
      await cut;
      expect(proxy.cuts).toBe(1);
      expect(await store.count()).toBe(5000);
      expect(await store.get(rows[4321]!.key)).toEqual(rows[4321]!.entry);
    } finally {
      await store.close();
    }
    // No retry budget: the call fails, and nothing of the batch is visible.
    const strict = await PostgresSessionStore.open({
      url: viaPort(url, proxy.port),
      scope: "other",
      retry: { attempts: 1, baseDelayMs: 10 },
    });
    try {
      const cut = proxy.cutAfter(200_000);
      await expect(strict.putMany(rows)).rejects.toBeInstanceOf(StoreUnavailableError);
      await cut;
      expect(proxy.cuts).toBe(2);
      expect(await strict.count()).toBe(0);
    } finally {
      await strict.close();
      await proxy.close();
    }
  });

  it("does not apply a transaction twice when the COMMIT reply is lost", async () => {
    const url = await createTestDatabase();
    const proxy = await startProxy(Number(new URL(url).port));
    const store = await PostgresSessionStore.open({ url: viaPort(url, proxy.port), scope: "main" });
    try {
      await store.patch("counter", () => entry(1, { n: 0 }));
      const cut = proxy.cutOnReply("COMMIT\0"); // the server committed; the client never hears it
      let calls = 0;
      const res = await store.patch("counter", (cur) => {
        calls++;
        return { ...cur!, n: ((cur!.n as number | undefined) ?? 0) + 1 };
      });
      await cut;
      expect(proxy.cuts).toBe(1);
      expect(calls).toBe(1);
      expect(res.after?.n).toBe(1);
      expect((await store.get("counter"))?.n).toBe(1);
      // And one cut before its first statement reached the server is retried and applied once.
      const cut2 = proxy.cutAfter(1);
      await store.patch("counter", (cur) => ({ ...cur!, n: ((cur!.n as number | undefined) ?? 0) + 1 }));
      await cut2;
      expect((await store.get("counter"))?.n).toBe(2);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it("a one-round-trip append and patch (known row) whose COMMIT reply is lost is applied once", async () => {
    const url = await createTestDatabase();
    const proxy = await startProxy(Number(new URL(url).port));
    const store = await PostgresSessionStore.open({ url: viaPort(url, proxy.port), scope: "main" });
    try {
      const lease = await store.acquireLease("session:counter", { ttlMs: 60_000 });
      const fence = { ...lease, renewTtlMs: 60_000 };
      const bump = (cur: SessionEntry | undefined): SessionEntry => ({
        ...(cur ?? entry(1)),
        n: ((cur?.n as number | undefined) ?? 0) + 1,
      });
      const first = await store.appendAndPatch(SID, [{ i: 1 }], fence, "counter", bump);
      const cut = proxy.cutOnReply("COMMIT\0"); // committed; the client never hears it
      const res = await store.appendAndPatch(SID, [{ i: 2 }], fence, "counter", bump, { row: first.after });
      await cut;
      expect(proxy.cuts).toBe(1);
      expect(res.after?.n).toBe(2);
      // Cut before anything reached the server: not committed, written once by the usual path.
      const cut2 = proxy.cutAfter(1);
      const third = await store.appendAndPatch(SID, [{ i: 3 }], fence, "counter", bump, { row: res.after });
      await cut2;
      expect(third.after?.n).toBe(3);
      expect((await store.get("counter"))?.n).toBe(3);
      expect((await store.readTranscript(SID)).lines).toEqual([{ i: 1 }, { i: 2 }, { i: 3 }]);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it("keeps a write to two round trips: locks and reads in the first, the writes with COMMIT in the second", async () => {
    const url = await createTestDatabase();
    // Counts round trips: a burst from the client after the server last spoke.
    let trips = 0;
    const sockets = new Set<net.Socket>();
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(new URL(url).port), "127.0.0.1");
      sockets.add(client).add(upstream);
      let serverSpoke = true;
      client.on("data", (b: Buffer) => {
        if (serverSpoke) trips++;
        serverSpoke = false;
        upstream.write(b);
      });
      upstream.on("data", (b: Buffer) => {
        serverSpoke = true;
        client.write(b);
      });
      for (const s of [client, upstream]) s.on("error", () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const store = await PostgresSessionStore.open({
      url: viaPort(url, (server.address() as net.AddressInfo).port),
      scope: "main",
      poolSize: 1,
    });
    try {
      const lease = await store.acquireLease("index", { waitMs: 0 });
      const counted = async (work: () => Promise<unknown>): Promise<number> => {
        const before = trips;
        await work();
        return trips - before;
      };
      expect(await counted(() => store.patch("k", () => entry(1)))).toBe(2); // insert
      expect(await counted(() => store.patch("k", (cur) => ({ ...cur!, label: "x" })))).toBe(2); // update
      expect(await counted(() => store.patch("k", () => undefined))).toBe(2); // no change
      expect(await counted(() => store.appendTranscript(SID, [{ type: "message" }]))).toBe(2);
      expect(await counted(() => store.appendTranscript(SID, [{ type: "message" }], lease))).toBe(2);
      // Lease renewal and acquisition need no answer in between: BEGIN … COMMIT in one trip.
      expect(await counted(() => store.renewLease(lease))).toBe(1);
      expect(await counted(() => store.acquireLease("other", { waitMs: 0 }))).toBe(1);
      // A turn's reply: the fenced append and the row patch in one transaction, still two trips.
      expect(
        await counted(() =>
          store.appendAndPatch(SID, [{ type: "message" }], lease, "k", (cur) => ({ ...cur!, label: "y" })),
        ),
      ).toBe(2);
      expect(
        await counted(() =>
          store.putMany([
            { key: "a", entry: entry(2) },
            { key: "k", entry: null },
          ]),
        ),
      ).toBe(2);
      expect(await counted(() => store.get("a"))).toBe(1);
      expect((await store.readTranscript(SID)).lines).toHaveLength(3);
      expect(await store.get("k")).toBeUndefined();
    } finally {
      await store.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("takes the same advisory locks as earlier versions (rolling upgrades keep mutual exclusion)", async () => {
    const url = await createTestDatabase();
    const store = await PostgresSessionStore.open({ url, scope: "main" });
    try {
      await withAdmin(url, async (c) => {
        // The lock expression of schema version 1's first release, held by an "older process".
        const legacy =
          "SELECT pg_advisory_xact_lock(hashtextextended($1::text || chr(31) || $2::text || chr(31) || $3::text, 0))";
        await c.query("BEGIN");
        await c.query(legacy, ["row", "main", "k"]);
        await c.query(legacy, ["transcript", "main", SID]);
        let done = 0;
        const patched = store.patch("k", () => entry(1)).then(() => done++);
        const appended = store.appendTranscript(SID, [{ type: "message" }]).then(() => done++);
        await new Promise((r) => setTimeout(r, 300));
        expect(done).toBe(0);
        await c.query("COMMIT");
        await Promise.all([patched, appended]);
        expect(done).toBe(2);
      });
    } finally {
      await store.close();
    }
  });

  it("runs a patch again when its row is inserted concurrently by a writer that takes no advisory lock", async () => {
    const url = await createTestDatabase();
    const store = await PostgresSessionStore.open({ url, scope: "main" });
    try {
      await withAdmin(url, async (c) => {
        await c.query("BEGIN");
        await c.query("INSERT INTO sessions (scope, key, entry, updated_at) VALUES ('main', 'k', $1, 5)", [
          JSON.stringify(entry(5, { n: 10 })),
        ]);
        const seen: Array<number | undefined> = [];
        // The patch sees no row (the insert is uncommitted), then its own insert waits on the row.
        const patched = store.patch("k", (cur) => {
          seen.push(cur?.n as number | undefined);
          return entry(6, { n: ((cur?.n as number | undefined) ?? 0) + 1 });
        });
        await new Promise((r) => setTimeout(r, 300));
        await c.query("COMMIT");
        const res = await patched;
        expect(seen).toEqual([undefined, 10]);
        expect(res.after?.n).toBe(11);
      });
      expect((await store.get("k"))?.n).toBe(11);
    } finally {
      await store.close();
    }
  });

  it("recovers after the server terminates its connections (pool and event listener)", async () => {
    const url = await createTestDatabase();
    const a = await PostgresSessionStore.open({ url, scope: "main" });
    const b = await PostgresSessionStore.open({ url, scope: "main" });
    try {
      const got: StoreEvent[] = [];
      a.events.subscribe((e) => got.push(e));
      await a.eventsReady();
      await Promise.all(Array.from({ length: 8 }, (_, i) => a.patch(`k${i}`, () => entry(i))));
      const killed = await withAdmin(url, (c) =>
        c.query<{ ok: boolean }>(
          "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        ),
      );
      expect(killed.rows.length).toBeGreaterThanOrEqual(2);
      const res = await a.patch("k0", (cur) => ({ ...cur!, label: "after" }));
      expect(res.after?.label).toBe("after");
      expect((await b.get("k0"))?.label).toBe("after");
      // The listener reconnects by itself; events published while it was down may be lost.
      let n = 0;
      const until = Date.now() + 5000;
      while (!got.some((e) => e.kind === "ping") && Date.now() < until) {
        await b.events.publish({ origin: "b", kind: "ping", payload: n++ });
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(got.some((e) => e.kind === "ping")).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("delivers events between instances of one scope, truncating oversized payloads", async () => {
    const url = await createTestDatabase();
    const a = await PostgresSessionStore.open({ url, scope: "main" });
    const b = await PostgresSessionStore.open({ url, scope: "main" });
    const other = await PostgresSessionStore.open({ url, scope: "work" });
    try {
      const got: StoreEvent[] = [];
      const unsubscribe = a.events.subscribe((e) => got.push(e));
      await a.eventsReady();
      await other.events.publish({ origin: "other", kind: "chat", payload: { scope: "work" } });
      await b.events.publish({ origin: "b", kind: "chat", payload: { text: "héllo 🦀", n: 1 } });
      const e = await nextEvent(got, (x) => x.origin === "b");
      expect(e).toEqual({ origin: "b", kind: "chat", payload: { text: "héllo 🦀", n: 1 } });
      expect(got.some((x) => x.origin === "other")).toBe(false);

      await b.events.publish({ origin: "b", kind: "big", payload: { blob: "y".repeat(20_000) } });
      const big = await nextEvent(got, (x) => x.kind === "big");
      expect(big).toEqual({ origin: "b", kind: "big", payload: null, truncated: true });

      unsubscribe();
      await b.events.publish({ origin: "b", kind: "after-unsubscribe", payload: null });
      await new Promise((r) => setTimeout(r, 200));
      expect(got.some((x) => x.kind === "after-unsubscribe")).toBe(false);
    } finally {
      await a.close();
      await b.close();
      await other.close();
    }
  });

  it("exports and imports transcripts byte-identically", async () => {
    const url = await createTestDatabase();
    const s = await PostgresSessionStore.open({ url, scope: "main" });
    try {
      const text =
        [
          '{"type":"session","version":3,"id":"rt-1"}',
          '{"a":1,  "b":2}',
          '{"text":"héllo wörld — 🦀 日本語"}',
          '{ "spaced" : true }',
        ].join("\n") + "\n";
      await s.importTranscript("rt-1", text);
      expect(await s.exportTranscript("rt-1")).toBe(text);
      const read = await s.readTranscript("rt-1");
      expect(read.lines).toHaveLength(4);
      expect(read.lines[2]).toEqual({ text: "héllo wörld — 🦀 日本語" });
      // Appends continue after imported lines; a re-import replaces everything.
      await s.appendTranscript("rt-1", [{ type: "message", n: 5 }]);
      expect(await s.exportTranscript("rt-1")).toBe(text + '{"type":"message","n":5}\n');
      await s.importTranscript("rt-1", '{"x":1}\nnot json\n[1]\n');
      const again = await s.readTranscript("rt-1");
      expect(again.lines).toEqual([{ x: 1 }]);
      expect(again.issues.map((i) => [i.line, i.reason])).toEqual([
        [2, "malformed JSON"],
        [3, "not a JSON object"],
      ]);
      expect(await s.exportTranscript("rt-1")).toBe('{"x":1}\nnot json\n[1]\n');
      expect(await s.exportTranscript("missing")).toBeNull();
      const name = await s.archiveTranscript("rt-1", "deleted", Date.UTC(2026, 0, 2, 3, 4, 5));
      expect(name).toBe("rt-1.jsonl.deleted.2026-01-02T03-04-05.000Z");
      const archived = await withAdmin(url, (c) =>
        c.query<{ content: string }>("SELECT content FROM archives WHERE scope = 'main' AND name = $1", [name]),
      );
      expect(archived.rows[0]?.content).toBe('{"x":1}\nnot json\n[1]\n');
    } finally {
      await s.close();
    }
  });
});

describe("a gateway on the postgres backend", () => {
  it("runs turns and keeps the sessions across a restart", async () => {
    const { post, startTestGateway } = await import("./helpers/gateway-harness.ts");
    const url = await createTestDatabase();
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-pg-gw-"));
    const config = { session: { store: { backend: "postgres" as const, url } } };
    const a = await startTestGateway(config, { home });
    const r = await post(`${a.url}/v1/inbound`, {
      channel: "telegram",
      chatType: "direct",
      peerId: "a",
      senderId: "a",
      text: "hello postgres",
    });
    expect(r.json.reply).toBe("echo: hello postgres");
    await a.stop();
    expect(await PostgresSessionStore.scopes(url)).toEqual(["main"]);
    const b = await startTestGateway(config, { home });
    const history = await b.runtime.manager.history("main", "agent:main:main");
    expect(history.items.map((i) => i.text)).toEqual(["hello postgres", "echo: hello postgres"]);
    await b.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }, 60_000);
});

/** A TCP proxy that counts round trips: a burst from the client after the server last spoke. */
async function startTripCounter(url: string): Promise<{ url: string; trips(): number; close(): Promise<void> }> {
  let trips = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(new URL(url).port), "127.0.0.1");
    sockets.add(client).add(upstream);
    let serverSpoke = true;
    client.on("data", (b: Buffer) => {
      if (serverSpoke) trips++;
      serverSpoke = false;
      upstream.write(b);
    });
    upstream.on("data", (b: Buffer) => {
      serverSpoke = true;
      client.write(b);
    });
    for (const s of [client, upstream]) s.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: viaPort(url, (server.address() as net.AddressInfo).port),
    trips: () => trips,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("session manager turns on postgres", () => {
  const key = "agent:main:telegram:direct:42";
  const envelope = (text: string, messageId?: string) => ({
    channel: "telegram",
    chatType: "direct",
    peerId: "42",
    senderId: "42",
    text,
    ...(messageId ? { messageId } : {}),
  });

  it("records an inbound message on a held session in one transaction: one round trip", async () => {
    const { SessionManager } = await import("../src/session/manager.ts");
    const db = await createTestDatabase();
    const counter = await startTripCounter(db);
    const store = await PostgresSessionStore.open({ url: counter.url, scope: "main", poolSize: 1 });
    const config = { session: { dmScope: "per-channel-peer" as const } };
    const manager = new SessionManager({
      config,
      storeFor: async () => store,
      sharedSessions: { leaseTtlMs: 60_000, leaseWaitMs: 5000 },
    });
    try {
      const hold = await manager.leases!.acquire("main", key);
      const first = await manager.recordInbound(envelope("one", "m1"));
      await manager.appendAssistant("main", key, { text: "echo: one" });
      const before = counter.trips();
      const second = await manager.recordInbound(envelope("two", "m2"));
      // The fenced append and the row patch together, on the row the lease came with: BEGIN, locks,
      // lease renewal + compare-and-set patch + append in one statement, COMMIT.
      expect(counter.trips() - before).toBe(1);
      expect(second.sessionId).toBe(first.sessionId);
      expect(second.isNewSession).toBe(false);
      expect(second.messageEntry?.parentId).toBe((await manager.history("main", key)).items[1]!.id);
      // A retried delivery is still recognised, and costs nothing at the store.
      const retryAt = counter.trips();
      expect((await manager.recordInbound(envelope("two", "m2"))).duplicate).toBe(true);
      expect(counter.trips()).toBe(retryAt);
      manager.leases!.release(hold);
      await manager.leases!.releaseAll();
      const rows = await PostgresSessionStore.open({ url: db, scope: "main" });
      try {
        const texts = (await rows.readTranscript(first.sessionId)).lines
          .filter((l) => l.type === "message")
          .map((l) => (l as { message: { content: unknown } }).message.content);
        expect(texts).toEqual(["one", [{ type: "text", text: "echo: one" }], "two"]);
        expect((await rows.get(key))?.lastInteractionAt).toBe(second.entry.lastInteractionAt);
      } finally {
        await rows.close();
      }
    } finally {
      await store.close();
      await counter.close();
    }
  });

  it("runs a whole turn on a session it held last in four round trips: the row comes with the lease", async () => {
    const { SessionManager } = await import("../src/session/manager.ts");
    const db = await createTestDatabase();
    const counter = await startTripCounter(db);
    const store = await PostgresSessionStore.open({ url: counter.url, scope: "main", poolSize: 1 });
    const manager = new SessionManager({
      config: { session: { dmScope: "per-channel-peer" as const } },
      storeFor: async () => store,
      sharedSessions: { leaseTtlMs: 60_000, leaseWaitMs: 5000 },
    });
    const turn = async (text: string) => {
      const hold = await manager.leases!.acquire("main", key);
      const inbound = await manager.recordInbound(envelope(text));
      await manager.appendAssistant("main", key, { text: `echo: ${text}` });
      manager.leases!.release(hold);
      await manager.leases!.releaseAll();
      return inbound;
    };
    try {
      // The LISTEN connection (for requests to let a kept lease go) is not part of a turn.
      await store.eventsReady();
      const first = await turn("one");
      const before = counter.trips();
      const second = await turn("two");
      // Lease with the row (1: BEGIN, upsert, reads, COMMIT together), message with its row patch (1),
      // reply with its row patch (1), release (1).
      expect(counter.trips() - before).toBe(4);
      expect(second.sessionId).toBe(first.sessionId);
      expect((await manager.history("main", key)).items.map((i) => i.text)).toEqual([
        "one",
        "echo: one",
        "two",
        "echo: two",
      ]);
    } finally {
      await store.close();
      await counter.close();
    }
  });

  it("takes on what another gateway wrote when the row comes with the lease", async () => {
    const { SessionManager } = await import("../src/session/manager.ts");
    const url = await createTestDatabase();
    const stores = [
      await PostgresSessionStore.open({ url, scope: "main" }),
      await PostgresSessionStore.open({ url, scope: "main" }),
    ];
    const [a, b] = stores.map(
      (store) =>
        new SessionManager({
          config: { session: { dmScope: "per-channel-peer" as const } },
          storeFor: async () => store,
          sharedSessions: { leaseTtlMs: 60_000, leaseWaitMs: 5000 },
        }),
    ) as [InstanceType<typeof SessionManager>, InstanceType<typeof SessionManager>];
    const turn = async (m: typeof a, text: string) => {
      const hold = await m.leases!.acquire("main", key);
      const inbound = await m.recordInbound(envelope(text));
      await m.appendAssistant("main", key, { text: `echo: ${text}` });
      m.leases!.release(hold);
      await m.leases!.releaseAll();
      return inbound;
    };
    try {
      const one = await turn(a, "one");
      expect((await turn(b, "two")).sessionId).toBe(one.sessionId);
      // A's next turn chains onto B's reply, not onto its own last entry.
      const three = await turn(a, "three");
      const items = (await a.history("main", key)).items;
      expect(items.map((i) => i.text)).toEqual(["one", "echo: one", "two", "echo: two", "three", "echo: three"]);
      expect(three.messageEntry?.parentId).toBe(items[3]!.id);
      // B resets; A's next turn lands in B's new session.
      const reset = await b.reset("main", key);
      await b.leases!.releaseAll();
      const four = await turn(a, "four");
      expect(four.sessionId).toBe(reset.sessionId);
      expect(four.isNewSession).toBe(false);
      expect((await a.history("main", key)).items.map((i) => i.text)).toEqual(["four", "echo: four"]);
    } finally {
      for (const s of stores) await s.close();
    }
  });

  it("still resets when the stored row turned stale or changed while this gateway held it", async () => {
    const { SessionManager } = await import("../src/session/manager.ts");
    const url = await createTestDatabase();
    const store = await PostgresSessionStore.open({ url, scope: "main" });
    const other = await PostgresSessionStore.open({ url, scope: "main" });
    let now = Date.UTC(2026, 0, 5, 12);
    const config = {
      session: { dmScope: "per-channel-peer" as const, reset: { mode: "idle" as const, idleMinutes: 60 } },
    };
    const manager = new SessionManager({
      config,
      storeFor: async () => store,
      clock: { now: () => now },
      sharedSessions: { leaseTtlMs: 60_000, leaseWaitMs: 5000 },
    });
    try {
      const hold = await manager.leases!.acquire("main", key);
      const first = await manager.recordInbound(envelope("one"));
      // A writer outside the lease (a CLI, maintenance) points the row at another session id.
      const elsewhere = "9d1c7a52-3f0e-4b8e-8a53-1f7e2b6c4d90";
      await other.patch(key, (cur) => ({ ...cur!, sessionId: elsewhere }));
      const moved = await manager.recordInbound(envelope("two"));
      expect(moved.sessionId).toBe(elsewhere);
      expect(moved.isNewSession).toBe(false);
      // …and ages it past the idle limit: the turn resets, exactly once, archiving the old transcript.
      await other.patch(key, (cur) => ({
        ...cur!,
        updatedAt: now - 2 * 3_600_000,
        lastInteractionAt: now - 2 * 3_600_000,
      }));
      now += 1000;
      const reset = await manager.recordInbound(envelope("three"));
      expect(reset.isNewSession).toBe(true);
      expect(reset.previousSessionId).toBe(elsewhere);
      expect(reset.sessionId).not.toBe(elsewhere);
      expect((await store.get(key))?.sessionId).toBe(reset.sessionId);
      const textsOf = async (sid: string) =>
        (await store.readTranscript(sid)).lines.filter((l) => l.type === "message").length;
      expect(await textsOf(first.sessionId)).toBe(1);
      expect(await textsOf(reset.sessionId)).toBe(1);
      expect(await store.transcriptExists(elsewhere)).toBe(false); // archived
      manager.leases!.release(hold);
      await manager.leases!.releaseAll();
    } finally {
      await store.close();
      await other.close();
    }
  });
});
