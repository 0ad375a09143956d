/**
 * Appending a turn's lines and patching its row together (`appendAndPatch`): both take effect, the
 * mutator sees the row as another writer left it, and a stale fence refuses the lines and the row
 * change alike. Backends without the combined operation run the sequential default.
 */
import { describe, expect } from "vitest";
import { appendAndPatch, FencedError } from "../types.ts";
import { storeCase } from "./case.ts";
import { useFixture, type StoreHarness } from "./harness.ts";

const LEASE = "session:agent:main:ap";
const KEY = "agent:main:ap";

export function appendAndPatchCases(h: StoreHarness): void {
  describe(`${h.name}: append and patch`, () => {
    const f = useFixture(h);

    storeCase(
      h,
      "append and patch",
      "appends lines and patches the row as one write, on the row another writer left; a stale fence changes neither",
      async () => {
        const { store } = f;
        const other = await h.another(f.now);
        try {
          const a = await store.acquireLease(LEASE, { ttlMs: 1000 });
          const first = await appendAndPatch(store, "s-ap", [{ type: "x", n: 1 }], a, KEY, (cur) => ({
            ...(cur ?? { sessionId: "s-ap", updatedAt: 1 }),
            n: 1,
          }));
          expect(first.changed).toBe(true);
          expect(first.after?.n).toBe(1);
          // Another writer changes the row: the next combined write must build on its value.
          await other.patch(KEY, (cur) => ({ ...cur!, n: 10 }));
          const second = await appendAndPatch(store, "s-ap", [{ type: "x", n: 2 }], a, KEY, (cur) => ({
            ...cur!,
            n: (cur!.n as number) + 1,
          }));
          expect(second.before?.n).toBe(10);
          expect(second.after?.n).toBe(11);
          // No row change: the lines are still appended.
          const keep = await appendAndPatch(store, "s-ap", [{ type: "x", n: 3 }], a, KEY, () => undefined);
          expect(keep.changed).toBe(false);
          expect(keep.after?.n).toBe(11);
          f.clock += 1500; // a's lease expires; another holder takes over
          const b = await other.acquireLease(LEASE, { ttlMs: 1000, waitMs: 0 });
          await expect(
            appendAndPatch(store, "s-ap", [{ type: "x", n: 4 }], a, KEY, (cur) => ({ ...cur!, n: 99 })),
          ).rejects.toBeInstanceOf(FencedError);
          await appendAndPatch(other, "s-ap", [{ type: "x", n: 5 }], b, KEY, (cur) => ({ ...cur!, n: 12 }));
          expect((await store.readTranscript("s-ap")).lines.map((l) => l.n)).toEqual([1, 2, 3, 5]);
          expect((await store.get(KEY))?.n).toBe(12);
          // The first holder's own next write sees the takeover's row, not the one it wrote last.
          expect((await store.patch(KEY, (cur) => ({ ...cur!, n: (cur!.n as number) + 1 }))).after?.n).toBe(13);
        } finally {
          await other.close();
        }
      },
    );
  });
}
