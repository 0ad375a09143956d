/**
 * The conformance suite every SessionStore backend must pass. A backend's test file calls
 * `runStoreConformance` with a harness that opens instances sharing one underlying store.
 */
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import type { SessionEntry } from "../src/store/entry.ts";
import { FencedError, LeaseTimeoutError, type SessionStore } from "../src/store/types.ts";

export interface StoreHarness {
  /** Opens an instance on a fresh store. `now` drives lease expiry. */
  create(now: () => number): Promise<SessionStore>;
  /** Opens another instance (another writer, as another process would) on the same store. */
  another(now: () => number): Promise<SessionStore>;
  /** Whether `another` after `close` sees everything (durable backends). */
  durable: boolean;
  dispose(): Promise<void>;
}

const entry = (sessionId: string, updatedAt: number, extra: Partial<SessionEntry> = {}): SessionEntry => ({ sessionId, updatedAt, ...extra });

export function runStoreConformance(name: string, makeHarness: () => StoreHarness): void {
  describe(`SessionStore conformance: ${name}`, () => {
    let h: StoreHarness;
    let store: SessionStore;
    let clock = 1_800_000_000_000;
    const now = (): number => clock;

    beforeEach(async () => {
      clock = 1_800_000_000_000;
      h = makeHarness();
      store = await h.create(now);
    });
    afterEach(async () => {
      await store.close();
      await h.dispose();
    });

    it("returns undefined for a missing key and round-trips a row through patch", async () => {
      expect(await store.get("agent:main:main")).toBeUndefined();
      const res = await store.patch("agent:main:main", (cur) => {
        expect(cur).toBeUndefined();
        return entry("s1", 10, { label: "home", origin: { provider: "telegram" } });
      });
      expect(res.changed).toBe(true);
      expect(res.before).toBeUndefined();
      expect(res.after).toEqual(entry("s1", 10, { label: "home", origin: { provider: "telegram" } }));
      expect(await store.get("agent:main:main")).toEqual(res.after);
    });

    it("passes the current row to the mutator; undefined leaves it, null deletes it", async () => {
      await store.patch("k", () => entry("s1", 1));
      const same = await store.patch("k", (cur) => {
        expect(cur?.sessionId).toBe("s1");
        return undefined;
      });
      expect(same.changed).toBe(false);
      expect(await store.get("k")).toEqual(entry("s1", 1));
      const del = await store.patch("k", () => null);
      expect(del.changed).toBe(true);
      expect(del.before?.sessionId).toBe("s1");
      expect(await store.get("k")).toBeUndefined();
      expect(await store.count()).toBe(0);
    });

    it("hands out copies: mutating a returned row does not change the store", async () => {
      await store.patch("k", () => entry("s1", 1, { origin: { label: "a" } }));
      const got = await store.get("k");
      got!.origin!.label = "changed";
      expect((await store.get("k"))?.origin?.label).toBe("a");
    });

    it("never loses an update under concurrent read-modify-write", async () => {
      await store.patch("counter", () => entry("s", 0, { inputTokens: 0 }));
      await Promise.all(
        Array.from({ length: 200 }, () => store.patch("counter", (cur) => ({ ...cur!, inputTokens: (cur!.inputTokens ?? 0) + 1 }))),
      );
      expect((await store.get("counter"))?.inputTokens).toBe(200);
    });

    it("never loses an update between two writers on the same store", async () => {
      const other = await h.another(now);
      try {
        await store.patch("counter", () => entry("s", 0, { inputTokens: 0 }));
        const bump = (s: SessionStore) => s.patch("counter", (cur) => ({ ...cur!, inputTokens: (cur!.inputTokens ?? 0) + 1 }));
        const work: Promise<unknown>[] = [];
        for (let i = 0; i < 50; i++) work.push(bump(store), bump(other));
        await Promise.all(work);
        expect((await store.get("counter"))?.inputTokens).toBe(100);
        expect((await other.get("counter"))?.inputTokens).toBe(100);
      } finally {
        await other.close();
      }
    });

    it("lists newest first with key tie-break, filters, and pages without gaps or repeats", async () => {
      const rows: Array<[string, number]> = [];
      for (let i = 0; i < 57; i++) rows.push([`agent:main:telegram:direct:${String(i).padStart(3, "0")}`, 1000 + (i % 10)]);
      await store.putMany(rows.map(([key, u], i) => ({ key, entry: entry(`s${i}`, u) })));
      expect(await store.count()).toBe(57);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await store.list({}, { cursor, limit: 10 });
        seen.push(...page.rows.map((r) => r.key));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 20);
      expect(pages).toBe(6);
      const expected = [...rows].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
      expect(seen).toEqual(expected);
      const active = await store.list({ activeSince: 1009 });
      expect(active.rows.every((r) => r.entry.updatedAt >= 1009)).toBe(true);
      expect(active.rows).toHaveLength(5);
      const prefixed = await store.list({ keyPrefix: "agent:main:telegram:direct:00" });
      expect(prefixed.rows.map((r) => r.key).sort()).toEqual(rows.slice(0, 10).map(([k]) => k));
    });

    it("applies putMany as a batch, including deletes", async () => {
      await store.putMany([
        { key: "a", entry: entry("s1", 1) },
        { key: "b", entry: entry("s2", 2) },
      ]);
      await store.putMany([
        { key: "a", entry: null },
        { key: "c", entry: entry("s3", 3) },
      ]);
      expect((await store.all()).map((r) => r.key).sort()).toEqual(["b", "c"]);
    });

    it("appends and reads transcripts, with a bounded tail", async () => {
      const header = { type: "session", version: 3, id: "abc-1", timestamp: new Date(0).toISOString(), cwd: "/tmp" };
      await store.appendTranscript("abc-1", [header]);
      for (let i = 0; i < 30; i++) await store.appendTranscript("abc-1", [{ type: "message", id: `e${i}`, parentId: i ? `e${i - 1}` : null, n: i }]);
      const all = await store.readTranscript("abc-1");
      expect(all.lines).toHaveLength(31);
      expect(all.lines[0]).toEqual(header);
      expect(all.issues).toEqual([]);
      const tail = await store.readTranscript("abc-1", { tail: 5 });
      expect(tail.lines.map((l) => l.n)).toEqual([25, 26, 27, 28, 29]);
      expect(tail.truncated).toBe(true);
      expect(await store.transcriptExists("abc-1")).toBe(true);
      expect(await store.transcriptExists("nope")).toBe(false);
      expect((await store.readTranscript("nope")).lines).toEqual([]);
      expect(await store.transcriptHeader("abc-1")).toEqual(header);
      expect(await store.transcriptHeader("nope")).toBeNull();
    });

    it("archives a transcript under an OpenClaw-style name", async () => {
      await store.appendTranscript("abc-2", [{ type: "session", version: 3, id: "abc-2" }]);
      const name = await store.archiveTranscript("abc-2", "reset", Date.UTC(2026, 2, 14, 10, 0, 0));
      expect(name).toBe("abc-2.jsonl.reset.2026-03-14T10-00-00.000Z");
      expect(await store.transcriptExists("abc-2")).toBe(false);
      expect(await store.archiveTranscript("abc-2", "deleted")).toBeNull();
    });

    it("rejects unsafe session ids before touching anything", async () => {
      for (const bad of ["../escape", "a/b", "/etc/passwd", "", ".hidden", "x\u0000y", "%2e%2e%2f"]) {
        await expect(store.appendTranscript(bad, [{ type: "x" }])).rejects.toThrow(/session id/i);
        await expect(store.readTranscript(bad)).rejects.toThrow(/session id/i);
        await expect(store.archiveTranscript(bad, "deleted")).rejects.toThrow(/session id/i);
      }
    });

    it("fences leases: one holder at a time, takeover after expiry bumps the epoch, stale fences cannot write", async () => {
      const other = await h.another(now);
      try {
        const a = await store.acquireLease("session:agent:main:main", { ttlMs: 1000 });
        expect(a.epoch).toBe(1);
        await store.appendTranscript("s-lease", [{ type: "x", n: 1 }], a);
        await expect(other.acquireLease("session:agent:main:main", { ttlMs: 1000, waitMs: 0 })).rejects.toBeInstanceOf(LeaseTimeoutError);
        clock += 1500; // a's lease expires (its holder stalled)
        const b = await other.acquireLease("session:agent:main:main", { ttlMs: 1000, waitMs: 0 });
        expect(b.epoch).toBe(2);
        expect(b.owner).not.toBe(a.owner);
        await expect(store.appendTranscript("s-lease", [{ type: "x", n: 2 }], a)).rejects.toBeInstanceOf(FencedError);
        await expect(store.renewLease(a)).rejects.toBeInstanceOf(FencedError);
        await other.appendTranscript("s-lease", [{ type: "x", n: 3 }], b);
        await other.releaseLease(b);
        const c = await store.acquireLease("session:agent:main:main", { ttlMs: 1000, waitMs: 0 });
        expect(c.epoch).toBe(3);
        const read = await store.readTranscript("s-lease");
        expect(read.lines.map((l) => l.n)).toEqual([1, 3]);
      } finally {
        await other.close();
      }
    });

    it("keeps everything across close and reopen when durable", async () => {
      if (!h.durable) return;
      await store.patch("k1", () => entry("s1", 5, { label: "x" }));
      await store.appendTranscript("s1", [{ type: "session", version: 3, id: "s1" }]);
      await store.close();
      store = await h.another(now);
      expect(await store.get("k1")).toEqual(entry("s1", 5, { label: "x" }));
      expect((await store.readTranscript("s1")).lines).toHaveLength(1);
    });
  });
}
