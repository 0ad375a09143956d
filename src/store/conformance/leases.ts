/**
 * Leases: one holder at a time, takeover after expiry with a new epoch, stale fences refused,
 * renewal keeping a holder past its first expiry, and a waiter taking a released lease.
 */
import { describe, expect } from "vitest";
import { FencedError, LeaseTimeoutError } from "../types.ts";
import { storeCase } from "./case.ts";
import { useFixture, type StoreHarness } from "./harness.ts";

const NAME = "session:agent:main:main";

export function leaseCases(h: StoreHarness): void {
  describe(`${h.name}: leases`, () => {
    const f = useFixture(h);

    storeCase(
      h,
      "fencing and takeover",
      "one holder at a time; takeover after expiry bumps the epoch; stale fences cannot write",
      async () => {
        const { store } = f;
        const other = await h.another(f.now);
        try {
          const a = await store.acquireLease(NAME, { ttlMs: 1000 });
          expect(a.epoch).toBe(1);
          await store.appendTranscript("s-lease", [{ type: "x", n: 1 }], a);
          await expect(other.acquireLease(NAME, { ttlMs: 1000, waitMs: 0 })).rejects.toBeInstanceOf(LeaseTimeoutError);
          f.clock += 1500; // a's lease expires (its holder stalled)
          const b = await other.acquireLease(NAME, { ttlMs: 1000, waitMs: 0 });
          expect(b.epoch).toBe(2);
          expect(b.owner).not.toBe(a.owner);
          await expect(store.appendTranscript("s-lease", [{ type: "x", n: 2 }], a)).rejects.toBeInstanceOf(FencedError);
          await expect(store.renewLease(a)).rejects.toBeInstanceOf(FencedError);
          await other.appendTranscript("s-lease", [{ type: "x", n: 3 }], b);
          await other.releaseLease(b);
          const c = await store.acquireLease(NAME, { ttlMs: 1000, waitMs: 0 });
          expect(c.epoch).toBe(3);
          const read = await store.readTranscript("s-lease");
          expect(read.lines.map((l) => l.n)).toEqual([1, 3]);
        } finally {
          await other.close();
        }
      },
    );

    storeCase(
      h,
      "renewal",
      "a renewed lease outlives its first expiry, keeps its epoch and fence, then expires from the renewal",
      async () => {
        const { store } = f;
        const other = await h.another(f.now);
        try {
          const a = await store.acquireLease(NAME, { ttlMs: 1000 });
          f.clock += 800;
          const renewed = await store.renewLease(a, 1000);
          expect(renewed.epoch).toBe(a.epoch);
          expect(renewed.owner).toBe(a.owner);
          expect(renewed.expiresAt).toBe(f.clock + 1000);
          f.clock += 800; // past a's first expiry, within the renewal
          await expect(other.acquireLease(NAME, { ttlMs: 1000, waitMs: 0 })).rejects.toBeInstanceOf(LeaseTimeoutError);
          await store.appendTranscript("s-renew", [{ type: "x", n: 1 }], renewed);
          const again = await store.renewLease(renewed, 1000);
          expect(again.epoch).toBe(a.epoch);
          f.clock += 1500; // the renewal ran out too
          const b = await other.acquireLease(NAME, { ttlMs: 1000, waitMs: 0 });
          expect(b.epoch).toBe(a.epoch + 1);
          await expect(store.renewLease(again, 1000)).rejects.toBeInstanceOf(FencedError);
          await expect(store.appendTranscript("s-renew", [{ type: "x", n: 2 }], again)).rejects.toBeInstanceOf(
            FencedError,
          );
          expect((await store.readTranscript("s-renew")).lines.map((l) => l.n)).toEqual([1]);
        } finally {
          await other.close();
        }
      },
    );

    storeCase(
      h,
      "waiting out a release",
      "a writer waiting for a held lease gets it soon after the holder releases it, not before",
      async () => {
        const { store } = f;
        const other = await h.another(f.now);
        try {
          const a = await store.acquireLease(NAME, { ttlMs: 60_000 });
          let got: { epoch: number; owner: string } | null = null;
          const waiting = other.acquireLease(NAME, { ttlMs: 1000, waitMs: 20_000 }).then((l) => (got = l));
          await new Promise((r) => setTimeout(r, 150));
          expect(got).toBeNull(); // still held: the waiter keeps waiting
          const releasedAt = Date.now();
          await store.releaseLease(a);
          const b = await waiting;
          const waitedMs = Date.now() - releasedAt;
          expect(b.epoch).toBe(a.epoch + 1);
          expect(b.owner).not.toBe(a.owner);
          expect(waitedMs).toBeLessThan(2000);
          await other.appendTranscript("s-wait", [{ type: "x" }], b);
          await expect(store.appendTranscript("s-wait", [{ type: "y" }], a)).rejects.toBeInstanceOf(FencedError);
        } finally {
          await other.close();
        }
      },
    );
  });
}
