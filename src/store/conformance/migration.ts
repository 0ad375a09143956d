/**
 * Migration: a transcript exported exactly as stored and imported byte-identically (what
 * `pincer store migrate` relies on), and a durable store reopened with everything in it.
 */
import { describe, expect } from "vitest";
import { storeCase } from "./case.ts";
import { entry, useFixture, type StoreHarness } from "./harness.ts";

export function migrationCases(h: StoreHarness): void {
  describe(`${h.name}: migration`, () => {
    const f = useFixture(h);

    storeCase(
      h,
      "export and import",
      "exports what was imported byte for byte, appends after it, replaces on re-import, reports garbage lines",
      async () => {
        const { store } = f;
        const text =
          [
            '{"type":"session","version":3,"id":"rt-1"}',
            '{"a":1,  "b":2}',
            '{"text":"héllo wörld — 🦀 日本語"}',
            '{ "spaced" : true }',
          ].join("\n") + "\n";
        await store.appendTranscript("rt-1", [{ type: "old" }]);
        await store.importTranscript("rt-1", text);
        expect(await store.exportTranscript("rt-1")).toBe(text);
        const read = await store.readTranscript("rt-1");
        expect(read.lines).toHaveLength(4);
        expect(read.lines[2]).toEqual({ text: "héllo wörld — 🦀 日本語" });
        expect(await store.listTranscripts()).toContain("rt-1");
        await store.appendTranscript("rt-1", [{ type: "message", n: 5 }]);
        expect(await store.exportTranscript("rt-1")).toBe(text + '{"type":"message","n":5}\n');
        await store.importTranscript("rt-1", '{"x":1}\nnot json\n[1]\n');
        const again = await store.readTranscript("rt-1");
        expect(again.lines).toEqual([{ x: 1 }]);
        expect(again.issues.map((i) => i.line)).toEqual([2, 3]);
        expect(again.issues[0]?.reason).toMatch(/malformed JSON/);
        expect(again.issues[1]?.reason).toMatch(/not a JSON object/);
        expect(await store.exportTranscript("rt-1")).toBe('{"x":1}\nnot json\n[1]\n');
        expect(await store.exportTranscript("missing")).toBeNull();
        const other = await h.another(f.now);
        try {
          expect(await other.exportTranscript("rt-1")).toBe('{"x":1}\nnot json\n[1]\n');
        } finally {
          await other.close();
        }
      },
    );

    storeCase(h, "durable reopen", "keeps everything across close and reopen when durable", async () => {
      if (h.durable === false) return;
      await f.store.patch("k1", () => entry("s1", 5, { label: "x" }));
      await f.store.appendTranscript("s1", [{ type: "session", version: 3, id: "s1" }]);
      await f.store.close();
      f.reopen(await h.another(f.now));
      expect(await f.store.get("k1")).toEqual(entry("s1", 5, { label: "x" }));
      expect((await f.store.readTranscript("s1")).lines).toHaveLength(1);
    });
  });
}
