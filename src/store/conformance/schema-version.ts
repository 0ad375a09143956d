/** Schema version: a store written by a newer Pincer is refused with the command that migrates. */
import { describe, expect } from "vitest";
import { SchemaVersionError } from "../types.ts";
import { storeCase } from "./case.ts";
import { useFixture, type StoreHarness } from "./harness.ts";

export function schemaVersionCases(h: StoreHarness): void {
  const schema = h.schemaVersion;
  describe(`${h.name}: schema version`, () => {
    const f = useFixture(h);

    storeCase(
      h,
      "newer schema refused",
      "refuses a newer stored schema with the command to migrate, and opens again once it is back",
      async () => {
        if (!schema)
          throw new Error(`${h.name}: harness.schemaVersion is required by this case (or skip it, saying why)`);
        await f.store.patch("k", () => ({ sessionId: "s", updatedAt: 1 }));
        await schema.write(99);
        try {
          const err = await h.another(f.now).then(
            async (s) => {
              await s.close();
              return null;
            },
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(SchemaVersionError);
          const msg = (err as Error).message;
          expect(msg).toMatch(/schema version "?99\b.*is newer/);
          expect(msg).toMatch(/pincer store migrate/);
          if (schema.message) expect(msg).toMatch(schema.message);
          if (schema.hidden) expect(msg).not.toContain(schema.hidden);
        } finally {
          await schema.restore();
        }
        const again = await h.another(f.now);
        try {
          expect(await again.get("k")).toEqual({ sessionId: "s", updatedAt: 1 });
        } finally {
          await again.close();
        }
      },
    );
  });
}
