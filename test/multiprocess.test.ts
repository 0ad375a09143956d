/** Two real processes read-modify-write the same fs store: no update may be lost, no line torn. */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";

const CHILD = path.join(import.meta.dirname, "fixtures", "counter-child.ts");

function run(storePath: string, n: number, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, storePath, String(n), name], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${name} exited ${code}: ${err}`))));
  });
}

describe("two processes on one store", () => {
  it("never lose an update and keep every transcript line whole", { timeout: 120_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-mp-"));
    const storePath = path.join(dir, "sessions.json");
    try {
      const N = 300;
      await Promise.all([run(storePath, N, "a"), run(storePath, N, "b"), run(storePath, N, "c")]);
      const store = await FsSessionStore.open({ storePath, readOnly: true });
      expect((await store.get("counter"))?.inputTokens).toBe(3 * N);
      const read = await store.readTranscript("counter-1");
      expect(read.issues).toEqual([]);
      expect(read.lines).toHaveLength(3 * N);
      for (const who of ["a", "b", "c"])
        expect(read.lines.filter((l) => l.by === who).map((l) => l.i)).toEqual(Array.from({ length: N }, (_, i) => i));
      await store.close();
      // Closed cleanly by every writer: sessions.json alone holds the whole index (OpenClaw can read it).
      expect(
        (JSON.parse(fs.readFileSync(storePath, "utf8")) as Record<string, { inputTokens: number }>).counter!
          .inputTokens,
      ).toBe(3 * N);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
