/** Two writers on one store (two processes): read-modify-write loses no update, inserts included. */
import { describe, expect } from "vitest";
import { storeCase } from "./case.ts";
import { bump, entry, useFixture, type StoreHarness } from "./harness.ts";

export function twoWriterCases(h: StoreHarness): void {
  describe(`${h.name}: two writers`, () => {
    const f = useFixture(h);

    storeCase(h, "two writers on one row", "never loses an update between two writers on the same store", async () => {
      const other = await h.another(f.now);
      try {
        await f.store.patch("counter", () => entry("s", 0, { inputTokens: 0 }));
        const work: Promise<unknown>[] = [];
        for (let i = 0; i < 50; i++) work.push(bump(f.store), bump(other));
        await Promise.all(work);
        expect((await f.store.get("counter"))?.inputTokens).toBe(100);
        expect((await other.get("counter"))?.inputTokens).toBe(100);
      } finally {
        await other.close();
      }
    });

    storeCase(
      h,
      "two writers inserting one row",
      "200 concurrent bumps from two instances, starting with no row, add up to 200",
      async () => {
        const other = await h.another(f.now);
        try {
          await Promise.all(Array.from({ length: 200 }, (_, i) => bump(i % 2 ? f.store : other)));
          expect((await f.store.get("counter"))?.inputTokens).toBe(200);
          expect((await other.get("counter"))?.inputTokens).toBe(200);
        } finally {
          await other.close();
        }
      },
      30_000,
    );
  });
}
