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

/** A store whose lease release takes a while, as a round trip to a database does. */
function slowRelease(store: SqliteSessionStore, ms: number): SessionStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "releaseLease") return async (lease: Lease) => {
        await new Promise((r) => setTimeout(r, ms));
        return target.releaseLease(lease);
      };
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe("SessionLeases", () => {
  it("a hold taken right after a release is not freed by that release", async () => {
    const base = SqliteSessionStore.open({ file: path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pincer-leases-")), "s.sqlite") });
    const store = slowRelease(base, 30);
    const dropped: string[] = [];
    const leases = new SessionLeases({ storeFor: async () => store, ttlMs: 5000, waitMs: 1000, onAcquired: async (_a, key) => void dropped.push(key) });
    const first = await leases.acquire("main", "agent:main:main");
    leases.release(first);
    const second = await leases.acquire("main", "agent:main:main");
    await new Promise((r) => setTimeout(r, 60));
    const fence = leases.fence("main", "agent:main:main");
    expect(fence).toBeDefined();
    await base.appendTranscript("s-1", [{ type: "x" }], fence);
    expect((await base.readTranscript("s-1")).lines).toHaveLength(1);
    // Each fresh acquisition drops the caches (another process may have written in between).
    expect(dropped).toEqual(["agent:main:main", "agent:main:main"]);
    leases.release(second);
    await leases.releaseAll();
  });

  it("counts holds: the lease stays until the last holder lets go, then another owner can take it", async () => {
    const base = SqliteSessionStore.open({ file: path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pincer-leases-")), "s.sqlite") });
    const leases = new SessionLeases({ storeFor: async () => base, ttlMs: 5000, waitMs: 1000, onAcquired: async () => {} });
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
