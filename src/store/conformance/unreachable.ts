/** Unreachable server: `open` gives up after its timeout, naming where and why, never the password. */
import { describe, expect } from "vitest";
import { StoreUnavailableError } from "../types.ts";
import { storeCase } from "./case.ts";
import type { StoreHarness } from "./harness.ts";

export function unreachableCases(h: StoreHarness): void {
  const target = h.unreachable;
  describe(`${h.name}: unreachable`, () => {
    storeCase(
      h,
      "unreachable server",
      "gives up on an unreachable server with where, how long and why, never the password",
      async () => {
        if (!target)
          throw new Error(`${h.name}: harness.unreachable is required by this case (or skip it, saying why)`);
        const started = Date.now();
        const err = await target.open().then(
          async (s) => {
            await s.close();
            return null;
          },
          (e: unknown) => e,
        );
        const took = Date.now() - started;
        expect(err).toBeInstanceOf(StoreUnavailableError);
        const msg = (err as Error).message;
        expect(msg).toContain(target.address);
        expect(msg).toMatch(/ECONNREFUSED/);
        expect(msg).not.toContain(target.secret);
        if (target.message) expect(msg).toMatch(target.message);
        expect(took).toBeGreaterThanOrEqual(target.timeoutMs - 100);
        expect(took).toBeLessThan(target.timeoutMs + 3500);
      },
    );
  });
}
