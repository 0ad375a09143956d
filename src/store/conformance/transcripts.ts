/** Transcripts: appends, bounded tail reads, headers, and session ids that could escape. */
import { describe, expect } from "vitest";
import { storeCase } from "./case.ts";
import { useFixture, type StoreHarness } from "./harness.ts";

export function transcriptCases(h: StoreHarness): void {
  describe(`${h.name}: transcripts`, () => {
    const f = useFixture(h);

    storeCase(h, "append and tail", "appends and reads transcripts, with a bounded tail", async () => {
      const { store } = f;
      const header = { type: "session", version: 3, id: "abc-1", timestamp: new Date(0).toISOString(), cwd: "/tmp" };
      await store.appendTranscript("abc-1", [header]);
      for (let i = 0; i < 30; i++)
        await store.appendTranscript("abc-1", [
          { type: "message", id: `e${i}`, parentId: i ? `e${i - 1}` : null, n: i },
        ]);
      const all = await store.readTranscript("abc-1");
      expect(all.lines).toHaveLength(31);
      expect(all.lines[0]).toEqual(header);
      expect(all.issues).toEqual([]);
      const tail = await store.readTranscript("abc-1", { tail: 5 });
      expect(tail.lines.map((l) => l.n)).toEqual([25, 26, 27, 28, 29]);
      expect(tail.truncated).toBe(true);
      expect(await store.transcriptExists("abc-1")).toBe(true);
      expect(await store.transcriptExists("nope")).toBe(false);
      expect((await store.readTranscript("nope")).lines).toEqual([]);
      expect(await store.transcriptHeader("abc-1")).toEqual(header);
      expect(await store.transcriptHeader("nope")).toBeNull();
    });

    storeCase(h, "unsafe ids", "rejects unsafe session ids before touching anything", async () => {
      const { store } = f;
      for (const bad of ["../escape", "a/b", "/etc/passwd", "", ".hidden", "x\u0000y", "%2e%2e%2f"]) {
        await expect(store.appendTranscript(bad, [{ type: "x" }])).rejects.toThrow(/session id/i);
        await expect(store.readTranscript(bad)).rejects.toThrow(/session id/i);
        await expect(store.archiveTranscript(bad, "deleted")).rejects.toThrow(/session id/i);
      }
    });
  });
}
