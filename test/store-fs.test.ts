import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";
import { runStoreConformance } from "../src/store/conformance/index.ts";

let dir: string | null = null;
let storePath = "";

runStoreConformance({
  name: "fs",
  create(now) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-fs-"));
    storePath = path.join(dir, "agents", "main", "sessions", "sessions.json");
    return FsSessionStore.open({ storePath, now, idleReleaseMs: 5 });
  },
  another: (now) => FsSessionStore.open({ storePath, now, idleReleaseMs: 5 }),
  async dispose() {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = null;
  },
  skip: [
    {
      reason: "the files are OpenClaw's formats, which carry no schema version (see test/fs-snapshot-format.test.ts)",
      cases: ["newer schema refused"],
    },
    { reason: "no server to reach", cases: ["unreachable server"] },
  ],
});
