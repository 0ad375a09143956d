/** Listing: newest first with a key tie-break, filters, and cursor pages without gaps or repeats. */
import { describe, expect } from "vitest";
import { storeCase } from "./case.ts";
import { entry, useFixture, type StoreHarness } from "./harness.ts";

export function listCases(h: StoreHarness): void {
  describe(`${h.name}: list`, () => {
    const f = useFixture(h);

    storeCase(
      h,
      "order, filters and pages",
      "newest first with key tie-break, filters, pages without gaps or repeats",
      async () => {
        const { store } = f;
        const rows: Array<[string, number]> = [];
        for (let i = 0; i < 57; i++)
          rows.push([`agent:main:telegram:direct:${String(i).padStart(3, "0")}`, 1000 + (i % 10)]);
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
      },
    );
  });
}
