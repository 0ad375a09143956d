/** Archives: a transcript moved aside under OpenClaw's name, gone from the live set. */
import { describe, expect } from "vitest";
import { storeCase } from "./case.ts";
import { useFixture, type StoreHarness } from "./harness.ts";

export function archiveCases(h: StoreHarness): void {
  describe(`${h.name}: archive`, () => {
    const f = useFixture(h);

    storeCase(h, "archive name", "archives a transcript under an OpenClaw-style name", async () => {
      const { store } = f;
      await store.appendTranscript("abc-2", [{ type: "session", version: 3, id: "abc-2" }]);
      const name = await store.archiveTranscript("abc-2", "reset", Date.UTC(2026, 2, 14, 10, 0, 0));
      expect(name).toBe("abc-2.jsonl.reset.2026-03-14T10-00-00.000Z");
      expect(await store.transcriptExists("abc-2")).toBe(false);
      expect(await store.listTranscripts()).not.toContain("abc-2");
      expect(await store.archiveTranscript("abc-2", "deleted")).toBeNull();
    });
  });
}
