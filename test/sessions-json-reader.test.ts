/**
 * The unparsed reading of a Pincer-written sessions.json (RowScanner through the disk index) against
 * the parsed one, on random rows: unicode and escapes in keys and values (newlines, quotes,
 * backslashes, U+2028, lone surrogates), nested values, fields of the wrong type, array-index keys
 * and unusable rows. Same rows in the same order, same issues, each field's text parsing to the
 * parsed value, and the listing row printed from the text byte for byte as from the parsed row.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  projectRawRowJson,
  projectRowJson,
  RAW_ROW_FIELDS,
  rawUpdatedAt,
  rawUsageTotals,
} from "../src/cli/session-rows.ts";
import type { SessionEntry } from "../src/store/entry.ts";
import { openDiskIndex } from "../src/store/fs/disk-index.ts";
import { RowScanner, type RawRow } from "../src/store/fs/sessions-json-reader.ts";
import { writeSnapshot } from "../src/store/fs/snapshot.ts";
import type { ReadIssue, SessionRow } from "../src/store/types.ts";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-json-reader-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let dirs = 0;

const char = fc.oneof(
  fc.constantFrom("\n", '"', "\\", "\u2028", "\u0000", "\t", "é", "🦀", "\ud800", "\udfff", ":", "{", "}", "  "),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.string({ unit: "grapheme-ascii", maxLength: 3 }),
);
const text = fc.array(char, { maxLength: 12 }).map((a) => a.join(""));
const scalar = fc.oneof(
  text,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom("", 0, "group", "channel", "false"),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    scalar,
    fc.array(tie("v"), { maxLength: 3 }),
    fc.dictionary(text, tie("v"), { maxKeys: 3 }),
  ),
})).v;
const validId = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/);
const entryArb = fc
  .record({
    sessionId: fc.oneof({ weight: 8, arbitrary: validId }, { weight: 1, arbitrary: value }),
    updatedAt: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 2e12 }) }, { weight: 1, arbitrary: scalar }),
    fields: fc.dictionary(fc.constantFrom(...RAW_ROW_FIELDS.slice(2), "origin", "provider", "x"), value, {
      maxKeys: 10,
    }),
    usageTotals: fc.option(
      fc.record({ input: fc.nat(), output: fc.nat(), cost: fc.double({ min: 0, max: 1, noNaN: true }) }),
      { nil: undefined },
    ),
  })
  .map(({ sessionId, updatedAt, fields, usageTotals }) => {
    const e: Record<string, unknown> = { sessionId, updatedAt, ...fields };
    if (usageTotals) e.usageTotals = usageTotals;
    return e;
  });
const keyArb = fc.oneof(text, fc.constantFrom("12345", "0", "global", "unknown", "__proto__"), fc.nat().map(String));

function read(rows: SessionRow[], invalid: Map<string, unknown>): Promise<string> {
  const dir = path.join(root, String(dirs++));
  fs.mkdirSync(dir, { mode: 0o700 });
  const storePath = path.join(dir, "sessions.json");
  return writeSnapshot(storePath, rows, invalid).then(() => storePath);
}

describe("RowScanner over a written snapshot", () => {
  it("reads the rows the parser reads, and the listing prints the same bytes from their text", async () => {
    const now = 1_800_000_000_000;
    const defaults = { model: "echo", contextTokens: 200_000 };
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(keyArb, entryArb), { selector: ([k]) => k, maxLength: 25 }),
        fc.array(fc.tuple(keyArb, value), { maxLength: 3 }),
        async (pairs, odd) => {
          const rows = pairs.map(([key, entry]) => ({ key, entry: entry as unknown as SessionEntry }));
          const taken = new Set(pairs.map(([k]) => k));
          const invalid = new Map(odd.filter(([k]) => !taken.has(k)));
          const storePath = await read(rows, invalid);
          const parsedIssues: ReadIssue[] = [];
          const rawIssues: ReadIssue[] = [];
          const parsed = [...openDiskIndex(storePath, (i) => parsedIssues.push(i))!.snapshotRows()];
          const raws: RawRow[] = [
            ...openDiskIndex(storePath, (i) => rawIssues.push(i))!.snapshotRawRows(new RowScanner(RAW_ROW_FIELDS)),
          ];
          // The same issues (their order may differ: a parsed batch lists array-index keys first).
          const reasons = (l: ReadIssue[]) => l.map((i) => i.reason).sort();
          expect(reasons(rawIssues)).toEqual(reasons(parsedIssues));
          expect(raws.map((r) => r.key)).toEqual(parsed.map((r) => r.key));
          for (const [i, raw] of raws.entries()) {
            const row = parsed[i]!;
            expect(raw.keyJson).toBe(JSON.stringify(row.key));
            const e = row.entry as unknown as Record<string, unknown>;
            RAW_ROW_FIELDS.forEach((f, at) => {
              const t = raw.values[at];
              if (f === "updatedAt") return;
              expect(t === undefined ? undefined : JSON.parse(t)).toEqual(e[f]);
            });
            expect(rawUpdatedAt(raw)).toBe(row.entry.updatedAt);
            const totals = rawUsageTotals(raw);
            if (totals !== undefined) expect(totals).toEqual(e.usageTotals);
            expect(projectRawRowJson(raw, now, "main", defaults, "    ")).toBe(
              projectRowJson(row.key, row.entry, now, "main", defaults, "    "),
            );
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
