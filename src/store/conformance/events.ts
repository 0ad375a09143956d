/**
 * Events: a shared store declares them and delivers what one instance publishes to the others'
 * listeners until they unsubscribe; a store no other process shares declares none.
 */
import { describe, expect } from "vitest";
import type { StoreEvent } from "../types.ts";
import { storeCase } from "./case.ts";
import { useFixture, type StoreHarness } from "./harness.ts";

export function eventCases(h: StoreHarness): void {
  describe(`${h.name}: events`, () => {
    const f = useFixture(h);

    storeCase(
      h,
      "events",
      "a shared store delivers events between instances until unsubscribed; others declare none",
      async () => {
        const { store } = f;
        const events = store.capabilities.events;
        if (!store.capabilities.shared) {
          expect(events).toBeUndefined();
          return;
        }
        expect(events).toBeDefined();
        const other = await h.another(f.now);
        try {
          const got: StoreEvent[] = [];
          const off = events!.subscribe((e) => got.push(e));
          // Subscribing may complete asynchronously (LISTEN, SUBSCRIBE): publish until it is live.
          for (let i = 0; i < 200 && got.length === 0; i++) {
            await other.capabilities.events!.publish({ origin: "gw-b", kind: "ping", payload: { i } });
            await new Promise((r) => setTimeout(r, 25));
          }
          expect(got.length).toBeGreaterThan(0);
          got.length = 0;
          await other.capabilities.events!.publish({
            origin: "gw-b",
            kind: "chat",
            payload: { text: "héllo 🦀", n: [1, 2] },
          });
          await expect.poll(() => got.filter((e) => e.kind === "chat").length, { timeout: 5000 }).toBe(1);
          expect(got.find((e) => e.kind === "chat")).toEqual({
            origin: "gw-b",
            kind: "chat",
            payload: { text: "héllo 🦀", n: [1, 2] },
          });
          off();
          await other.capabilities.events!.publish({ origin: "gw-b", kind: "after-off", payload: null });
          await new Promise((r) => setTimeout(r, 200));
          expect(got.some((e) => e.kind === "after-off")).toBe(false);
        } finally {
          await other.close();
        }
      },
    );
  });
}
