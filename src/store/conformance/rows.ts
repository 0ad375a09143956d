/** Rows: get/patch round trips, the mutator's contract, copies, atomic read-modify-write, batches. */
import { describe, expect } from "vitest";
import { storeCase } from "./case.ts";
import { bump, entry, useFixture, type StoreHarness } from "./harness.ts";

export function rowCases(h: StoreHarness): void {
  describe(`${h.name}: rows`, () => {
    const f = useFixture(h);

    storeCase(h, "round trip", "undefined for a missing key; a row round-trips through patch", async () => {
      const { store } = f;
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

    storeCase(
      h,
      "mutator contract",
      "the mutator gets the current row; undefined leaves it, null deletes it",
      async () => {
        const { store } = f;
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
      },
    );

    storeCase(h, "copies", "mutating a returned row does not change the store", async () => {
      const { store } = f;
      await store.patch("k", () => entry("s1", 1, { origin: { label: "a" } }));
      const got = await store.get("k");
      got!.origin!.label = "changed";
      expect((await store.get("k"))?.origin?.label).toBe("a");
    });

    storeCase(h, "concurrent patches", "no update is lost under 200 concurrent read-modify-writes", async () => {
      const { store } = f;
      await store.patch("counter", () => entry("s", 0, { inputTokens: 0 }));
      await Promise.all(Array.from({ length: 200 }, () => bump(store)));
      expect((await store.get("counter"))?.inputTokens).toBe(200);
    });

    storeCase(h, "putMany", "putMany applies a batch, deletes included", async () => {
      const { store } = f;
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
  });
}
