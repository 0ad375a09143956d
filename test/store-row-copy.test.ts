import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { copyRow, freezeShared } from "../src/store/row-copy.ts";
import type { SessionEntry } from "../src/store/entry.ts";

const roundTrip = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
const anyRow = fc.dictionary(
  fc.string(),
  fc.anything({ withDate: true, withNullPrototype: true, withMap: true, withSet: true, withObjectString: true }),
);

describe("file store row copies", () => {
  it("give exactly what a JSON round trip gives (values, key order, dropped keys)", () => {
    fc.assert(
      fc.property(anyRow, (row) => {
        const copy = copyRow(row as unknown as SessionEntry);
        expect(JSON.stringify(copy)).toBe(JSON.stringify(roundTrip(row)));
        expect(Object.keys(copy)).toEqual(Object.keys(roundTrip(row) as object));
        expect(copy).toStrictEqual(roundTrip(row));
      }),
      { numRuns: 2000 },
    );
  });

  it("share a stored row's report and totals, frozen, and copy everything else", () => {
    const row = {
      sessionId: "s",
      origin: { label: "x" },
      systemPromptReport: { source: "run", injectedWorkspaceFiles: [{ name: "AGENTS.md", rawChars: 3 }] },
      usageTotals: { input: 1, byModel: { "a/b": { input: 1 } } },
    } as unknown as SessionEntry;
    freezeShared(row);
    const copy = copyRow(row) as unknown as typeof row & Record<string, { [k: string]: unknown }>;
    expect(copy).toStrictEqual(row);
    expect(copy.systemPromptReport).toBe(row.systemPromptReport);
    expect(copy.usageTotals).toBe(row.usageTotals);
    expect(Object.isFrozen(row.systemPromptReport)).toBe(true);
    expect(copy.origin).not.toBe(row.origin);
    expect(copy).not.toBe(row);
  });

  it("does not share a report a JSON round trip would change, nor objects frozen elsewhere", () => {
    const odd = { systemPromptReport: { gone: undefined, n: Number.NaN }, origin: Object.freeze({ a: 1 }) };
    freezeShared(odd as unknown as SessionEntry);
    expect(Object.isFrozen(odd.systemPromptReport)).toBe(false);
    const copy = copyRow(odd as unknown as SessionEntry) as unknown as Record<string, unknown>;
    expect(copy).toStrictEqual(roundTrip(odd));
    expect(copy.origin).not.toBe(odd.origin);
  });
});
