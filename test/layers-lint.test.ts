/**
 * The layer table is enforced by lint (eslint/layers.js): an import a layer may not make is an
 * error naming both ends; a type-only import passes where the table admits types only.
 */
import * as path from "node:path";
import { ESLint } from "eslint";
import { expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");
const eslint = new ESLint({ cwd: ROOT });

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === "pincer/layers").map((m) => m.message);
}

it("refuses an import the layer table does not list, and admits what it lists", async () => {
  expect(
    await problems(
      "src/keys/probe.ts",
      `import { AgentRuntime } from "../runtime/runtime.ts";\nexport const x = AgentRuntime;\n`,
    ),
  ).toEqual([`keys/ may not import values from src/runtime/runtime.ts (ARCHITECTURE.md, "Who may import whom")`]);
  expect(
    await problems(
      "src/store/probe.ts",
      `import { SessionManager } from "../session/manager.ts";\nexport const x = SessionManager;\n`,
    ),
  ).toHaveLength(1);
  // maintenance/ may use store/ types only.
  expect(
    await problems(
      "src/maintenance/probe.ts",
      `import type { SessionStore } from "../store/types.ts";\nexport type X = SessionStore;\n`,
    ),
  ).toEqual([]);
  expect(
    await problems(
      "src/maintenance/probe.ts",
      `import { FsSessionStore } from "../store/fs/fs-store.ts";\nexport const x = FsSessionStore;\n`,
    ),
  ).toHaveLength(1);
  // Leaves (util/, errors.ts) are open to every layer.
  expect(
    await problems("src/keys/probe.ts", `import { PincerError } from "../errors.ts";\nexport const x = PincerError;\n`),
  ).toEqual([]);
  expect(
    await problems(
      "src/gateway/probe.ts",
      `import { AgentRuntime } from "../runtime/runtime.ts";\nexport const x = AgentRuntime;\n`,
    ),
  ).toEqual([]);
});
