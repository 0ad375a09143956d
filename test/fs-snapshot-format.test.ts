/**
 * `sessions.json` is written in slices, each slice's rows in one JSON.stringify call; the text
 * must be exactly what `JSON.stringify(store, null, 2)` of the rows in list order gives (OpenClaw
 * reads and writes that format), including keys a JS object would reorder or treat specially.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect, it } from "vitest";
import { writeSnapshot } from "../src/store/fs/snapshot.ts";
import { compareRows } from "../src/store/list-order.ts";
import type { SessionRow } from "../src/store/types.ts";

const perRow = (k: string, v: unknown) =>
  `  ${JSON.stringify(k)}: ${JSON.stringify(v, null, 2).replaceAll("\n", "\n  ")}`;

it("writes exactly JSON.stringify(store, null, 2) across slice boundaries, odd keys included", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-snapfmt-"));
  try {
    const file = path.join(dir, "sessions.json");
    const rows: SessionRow[] = [];
    for (let i = 0; i < 4500; i++)
      rows.push({
        key: `agent:main:telegram:direct:${i}`,
        entry: { sessionId: `s${i}`, updatedAt: i % 7, origin: { label: 'é "q"\n\u2028' }, extra: [1, null, {}] },
      });
    rows.push({ key: "__proto__", entry: { sessionId: "p", updatedAt: 3 } });
    rows.push({ key: "42", entry: { sessionId: "n", updatedAt: 3 } });
    const invalid = new Map<string, unknown>([
      ["12", { weird: true }],
      ["x", "str"],
    ]);
    await writeSnapshot(file, rows, invalid);
    const sorted = [...rows].sort(compareRows);
    const expected =
      "{\n" +
      [...sorted.map((r) => perRow(r.key, r.entry)), ...[...invalid].map(([k, v]) => perRow(k, v))].join(",\n") +
      "\n}";
    expect(fs.readFileSync(file, "utf8")).toBe(expected);
    await writeSnapshot(file, [], new Map());
    expect(fs.readFileSync(file, "utf8")).toBe("{}");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
