import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";
import { runStoreConformance } from "./store-conformance.ts";

runStoreConformance("fs", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-fs-"));
  const storePath = path.join(dir, "agents", "main", "sessions", "sessions.json");
  return {
    durable: true,
    create: (now) => FsSessionStore.open({ storePath, now, idleReleaseMs: 5 }),
    another: (now) => FsSessionStore.open({ storePath, now, idleReleaseMs: 5 }),
    async dispose() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
