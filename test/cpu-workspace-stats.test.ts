/**
 * A turn's workspace check: with no workspace directory at all, one stat of the file the turn
 * reads first and one of the directory stand for every file (not one per file); files appear at
 * the next load once the directory is made, and a workspace that exists is read as before.
 */
import * as fs from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BOOTSTRAP_FILES, ensureWorkspace } from "../src/workspace/layout.ts";
import { WorkspaceReader } from "../src/workspace/bootstrap-files.ts";

const dirs: string[] = [];
/** node:fs as a CommonJS object: writable, unlike the ESM namespace. */
const writableFs = createRequire(import.meta.url)("node:fs") as { statSync: typeof fs.statSync };
const realStat = writableFs.statSync;
afterEach(() => {
  writableFs.statSync = realStat;
  syncBuiltinESMExports();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Counts statSync calls (also through `import { statSync }`: the ESM binding is synced). */
function countStats(): { n: number } {
  const count = { n: 0 };
  writableFs.statSync = ((...args: Parameters<typeof realStat>) => {
    count.n++;
    return realStat(...args);
  }) as typeof realStat;
  syncBuiltinESMExports();
  return count;
}

describe("workspace stats per turn", () => {
  it("a missing workspace costs two stats, and its files are seen once it exists", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-cpu-ws-"));
    dirs.push(root);
    const ws = path.join(root, "workspace");
    const reader = new WorkspaceReader();
    const count = countStats();
    const files = await reader.load(ws);
    expect(count.n).toBe(2);
    expect(files.map((f) => [f.name, f.missing])).toEqual(
      BOOTSTRAP_FILES.filter((n) => n !== "BOOTSTRAP.md").map((n) => [n, true]),
    );
    expect(files[0]!.path).toBe(path.join(ws, "AGENTS.md"));

    await ensureWorkspace(ws);
    fs.writeFileSync(path.join(ws, "MEMORY.md"), "remember");
    const made = await reader.load(ws);
    expect(made.map((f) => f.name)).toEqual([...BOOTSTRAP_FILES, "MEMORY.md"]);
    expect(made.every((f) => !f.missing && typeof f.content === "string")).toBe(true);
    expect(made.at(-1)!.content).toBe("remember");

    // Gone again: nothing cached is served.
    fs.rmSync(ws, { recursive: true });
    const gone = await reader.load(ws);
    expect(gone.every((f) => f.missing)).toBe(true);
    expect(gone.map((f) => f.name)).not.toContain("MEMORY.md");
  });

  it("a workspace that exists costs one stat per file, and one of the directory only when its first file is missing", async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-cpu-ws-"));
    dirs.push(ws);
    fs.writeFileSync(path.join(ws, "TOOLS.md"), "tools");
    const reader = new WorkspaceReader();
    await reader.load(ws);
    const count = countStats();
    const files = await reader.load(ws);
    // 7 bootstrap files, MEMORY.md and memory.md, and the directory once (AGENTS.md is missing).
    expect(count.n).toBe(BOOTSTRAP_FILES.length + 2 + 1);
    expect(files.find((f) => f.name === "TOOLS.md")!.content).toBe("tools");
    expect(files.find((f) => f.name === "AGENTS.md")!.missing).toBe(true);
  });
});
