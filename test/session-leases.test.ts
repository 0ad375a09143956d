/**
 * Cross-process session holds (session/session-leases.ts) on a real sqlite store, which (like
 * postgres and redis) hands a lease back to its current owner, with a slow release.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { SessionLeases } from "../src/session/session-leases.ts";
import { SqliteSessionStore } from "../src/store/sqlite/sqlite-store.ts";
import { FencedError, type Lease, type SessionStore } from "../src/store/types.ts";
import { TranscriptWriter } from "../src/transcript/writer.ts";
import { countingStore } from "./helpers/counting-store.ts";

/** A store whose lease release takes a while, as a round trip to a database does. */
function slowRelease(store: SqliteSessionStore, ms: number): SessionStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "releaseLease")
        return async (lease: Lease) => {
          await new Promise((r) => setTimeout(r, ms));
          return target.releaseLease(lease);
        };
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A store with an event channel (so idle holds are kept) whose lease renewals fail once `fail()` is called. */
function failingRenewals(store: SqliteSessionStore): { store: SessionStore; fail(): void } {
  let failing = false;
  const events = { publish: async () => undefined, subscribe: () => () => undefined };
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "capabilities") return { ...target.capabilities, events };
      if (prop === "renewLease" && failing) return async () => Promise.reject(new Error("database unreachable"));
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: proxy, fail: () => (failing = true) };
}

describe("SessionLeases", () => {
  it("a kept lease lost while idle is reported as idle; one lost under work as busy", async () => {
    const base = SqliteSessionStore.open({
      file: path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pincer-leases-")), "s.sqlite"),
    });
    const { store, fail } = failingRenewals(base);
    const lost: string[] = [];
    const leases = new SessionLeases({
      storeFor: async () => store,
      ttlMs: 300,
      waitMs: 1000,
      // Kept well past the lease time: the failed renewals, not the linger's end, let it go.
      lingerMs: 60_000,
      onAcquired: async () => undefined,
      onLost: (_a, key, _err, state) => void lost.push(`${key} ${state.idle ? "idle" : "busy"}`),
    });
    // Held twice in a row (continuous): the second hold is kept when it falls idle.
    leases.release(await leases.acquire("main", "agent:main:a"));
    leases.release(await leases.acquire("main", "agent:main:a"));
    expect(leases.isLingering("main", "agent:main:a")).toBe(true);
    const busy = await leases.acquire("main", "agent:main:b");
    fail();
    const deadline = Date.now() + 10_000;
    while (lost.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(lost.sort()).toEqual(["agent:main:a idle", "agent:main:b busy"]);
    leases.release(busy);
    base.close();
  });

  it("a hold taken right after a release is not freed by that release", async () => {
    const base = SqliteSessionStore.open({
      file: path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pincer-leases-")), "s.sqlite"),
    });
    const store = slowRelease(base, 30);
    const dropped: string[] = [];
    const leases = new SessionLeases({
      storeFor: async () => store,
      ttlMs: 5000,
      waitMs: 1000,
      onAcquired: async (_a, key, _s, continuous) => void dropped.push(`${key} ${continuous}`),
    });
    const first = await leases.acquire("main", "agent:main:main");
    leases.release(first);
    const second = await leases.acquire("main", "agent:main:main");
    await new Promise((r) => setTimeout(r, 60));
    const fence = leases.fence("main", "agent:main:main");
    expect(fence).toBeDefined();
    await base.appendTranscript("s-1", [{ type: "x" }], fence);
    expect((await base.readTranscript("s-1")).lines).toHaveLength(1);
    // Nobody held the session in between: the second acquisition keeps the caches.
    expect(dropped).toEqual(["agent:main:main false", "agent:main:main true"]);
    leases.release(second);
    await leases.releaseAll();
  });

  it("counts holds: the lease stays until the last holder lets go, then another owner can take it", async () => {
    const base = SqliteSessionStore.open({
      file: path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pincer-leases-")), "s.sqlite"),
    });
    const leases = new SessionLeases({
      storeFor: async () => base,
      ttlMs: 5000,
      waitMs: 1000,
      onAcquired: async () => {},
    });
    const a = await leases.acquire("main", "k");
    const b = leases.retain("main", "k");
    expect(b).not.toBeNull();
    const fence = leases.fence("main", "k")!;
    leases.release(a);
    await base.appendTranscript("s-2", [{ type: "x" }], fence);
    leases.release(b!);
    await new Promise((r) => setTimeout(r, 10));
    expect(leases.retain("main", "k")).toBeNull();
    await expect(base.appendTranscript("s-2", [{ type: "y" }], fence)).rejects.toBeInstanceOf(FencedError);
  });
});

describe("taking a session over from another process", () => {
  it("tells whether another owner held the session in between", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pincer-leases-")), "s.sqlite");
    const storeA = SqliteSessionStore.open({ file });
    const storeB = SqliteSessionStore.open({ file });
    const seen: string[] = [];
    const make = (name: string, store: SessionStore) =>
      new SessionLeases({
        storeFor: async () => store,
        ttlMs: 5000,
        waitMs: 2000,
        onAcquired: async (_a, _k, _s, continuous) => void seen.push(`${name}:${continuous}`),
      });
    const a = make("A", storeA);
    const b = make("B", storeB);
    await a.with("main", "k", async () => {});
    await a.with("main", "k", async () => {});
    await b.with("main", "k", async () => {});
    await a.with("main", "k", async () => {});
    expect(seen).toEqual(["A:false", "A:true", "B:false", "A:false"]);
    // tryAcquire gives up at once while the other process holds the session, and takes it when free.
    const held = await b.acquire("main", "k");
    expect(await a.tryAcquire("main", "k")).toBeNull();
    b.release(held);
    await new Promise((r) => setTimeout(r, 20));
    const mine = await a.tryAcquire("main", "k");
    expect(mine).not.toBeNull();
    a.release(mine!);
    await a.releaseAll();
    await storeA.close();
    await storeB.close();
  });

  it("a writer refreshed after another process appended continues the chain and sees every line", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pincer-refresh-")), "s.sqlite");
    const store = SqliteSessionStore.open({ file });
    const other = SqliteSessionStore.open({ file });
    const mine = new TranscriptWriter(store);
    const theirs = new TranscriptWriter(other);
    const sid = "0b6f6b1e-8d7e-4a43-9a55-6c8f0b2b3c11";
    const msg = (text: string) => ({
      type: "message" as const,
      message: { role: "user" as const, content: text, timestamp: 1 },
    });
    await mine.append(sid, [msg("one")], { now: 1, cwd: "/" });
    expect((await mine.readAll(sid)).lines).toHaveLength(2);
    await theirs.append(sid, [msg("two"), msg("three")], { now: 2, cwd: "/" });
    await mine.refresh(sid);
    const [four] = await mine.append(sid, [msg("four")], { now: 3, cwd: "/" });
    const stored = (await store.readTranscript(sid)).lines;
    expect(stored.map((l) => (l.message as { content?: string } | undefined)?.content ?? l.type)).toEqual([
      "session",
      "one",
      "two",
      "three",
      "four",
    ]);
    expect(four!.parentId).toBe(stored[3]!.id);
    expect((await mine.readAll(sid)).lines).toEqual(stored);
    await store.close();
    await other.close();
  });

  it("a refresh from a tail read with the lease reads nothing more when the leaf is in it, and more only when it is cut short", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pincer-refresh-tail-")), "s.sqlite");
    const raw = SqliteSessionStore.open({ file });
    const other = SqliteSessionStore.open({ file });
    const counted = countingStore(raw, ["readTranscript"]);
    let readsBefore = 0;
    const reads = () => counted.count("readTranscript") - readsBefore;
    const mine = new TranscriptWriter(counted.store);
    const theirs = new TranscriptWriter(other);
    const sid = "0b6f6b1e-8d7e-4a43-9a55-6c8f0b2b3c12";
    const msg = (text: string) => ({
      type: "message" as const,
      message: { role: "user" as const, content: text, timestamp: 1 },
    });
    const texts = async () =>
      (await mine.readAll(sid)).lines.map((l) => (l.message as { content?: string } | undefined)?.content ?? l.type);
    await mine.append(sid, [msg("one")], { now: 1, cwd: "/" });
    await texts();
    // The other process appends two lines: a 3-line tail holds the leaf.
    await theirs.append(sid, [msg("two"), msg("three")], { now: 2, cwd: "/" });
    readsBefore = counted.count("readTranscript");
    await mine.refresh(sid, await other.readTranscript(sid, { tail: 3 }));
    expect(reads()).toBe(0);
    expect(await texts()).toEqual(["session", "one", "two", "three"]);
    // Three more: a 2-line tail is cut short before the leaf, so the writer reads a longer one.
    await theirs.append(sid, [msg("four"), msg("five"), msg("six")], { now: 3, cwd: "/" });
    readsBefore = counted.count("readTranscript");
    await mine.refresh(sid, await other.readTranscript(sid, { tail: 2 }));
    expect(reads()).toBe(1);
    expect(await texts()).toEqual(["session", "one", "two", "three", "four", "five", "six"]);
    // A whole transcript that lacks the leaf (another file under the same id): forgotten, read afresh.
    const foreign = { lines: [{ type: "session", id: "x" }], issues: [], truncated: false };
    readsBefore = counted.count("readTranscript");
    await mine.refresh(sid, foreign);
    expect(reads()).toBe(0);
    expect(mine.knows(sid)).toBe(false);
    expect(await texts()).toEqual(["session", "one", "two", "three", "four", "five", "six"]);
    await raw.close();
    await other.close();
  });
});

describe("rows of held sessions", () => {
  it("are read once per hold, and never served stale after another process wrote", async () => {
    const { SessionManager } = await import("../src/session/manager.ts");
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pincer-heldrows-")), "s.sqlite");
    const rawA = SqliteSessionStore.open({ file });
    const storeB = SqliteSessionStore.open({ file });
    const counted = countingStore(rawA, ["get"]);
    const storeA = counted.store;
    const shared = { leaseTtlMs: 5000, leaseWaitMs: 5000 };
    const config = { session: { dmScope: "per-channel-peer" as const } };
    const a = new SessionManager({ config, storeFor: async () => storeA, sharedSessions: shared });
    const b = new SessionManager({ config, storeFor: async () => storeB, sharedSessions: shared });
    const key = "agent:main:telegram:direct:42";
    const envelope = (text: string) => ({
      channel: "telegram",
      chatType: "direct",
      peerId: "42",
      senderId: "42",
      text,
    });

    const hold = await a.leases!.acquire("main", key);
    const getsBefore = counted.count("get");
    const first = await a.recordInbound(envelope("one"));
    await a.appendAssistant("main", key, { text: "echo: one" });
    for (let i = 0; i < 3; i++) expect((await a.get("main", key))?.sessionId).toBe(first.sessionId);
    // The hold was taken before the session existed: its one read happened then, the rest are cached.
    expect(counted.count("get") - getsBefore).toBeLessThanOrEqual(1);
    a.leases!.release(hold);
    await new Promise((r) => setTimeout(r, 20));

    await b.recordInbound(envelope("two"));
    const reset = await b.reset("main", key);
    await new Promise((r) => setTimeout(r, 20));
    // A holds nothing now: it reads the row B wrote, and its next turn lands in B's new session.
    expect((await a.get("main", key))?.sessionId).toBe(reset.sessionId);
    const third = await a.recordInbound(envelope("three"));
    expect(third.sessionId).toBe(reset.sessionId);
    expect((await a.history("main", key)).items.map((i) => i.text)).toEqual(["three"]);
    await a.leases!.releaseAll();
    await b.leases!.releaseAll();
    await rawA.close();
    await storeB.close();
  });
});
