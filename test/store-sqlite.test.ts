import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { SQLITE_SCHEMA_VERSION, SqliteSessionStore } from "../src/store/sqlite/sqlite-store.ts";
import type { SessionStore } from "../src/store/types.ts";
import { runStoreConformance } from "../src/store/conformance/index.ts";

let dir: string | null = null;
let file = "";
const opened: SessionStore[] = [];

runStoreConformance({
  name: "sqlite",
  async create(now) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-sqlite-"));
    file = path.join(dir, "sessions.sqlite");
    const s = SqliteSessionStore.open({ file, now });
    opened.push(s);
    return s;
  },
  // A second connection to the same file, as another process would open it.
  async another(now) {
    const s = SqliteSessionStore.open({ file, now });
    opened.push(s);
    return s;
  },
  async dispose() {
    for (const s of opened.splice(0)) await s.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = null;
  },
  schemaVersion: {
    async write(version) {
      const db = new DatabaseSync(file);
      db.exec(`PRAGMA user_version = ${version}`);
      db.close();
    },
    async restore() {
      const db = new DatabaseSync(file);
      db.exec(`PRAGMA user_version = ${SQLITE_SCHEMA_VERSION}`);
      db.close();
    },
  },
  skip: [{ reason: "a local file: no server to reach", cases: ["unreachable server"] }],
});

describe("sqlite backend specifics", () => {
  // Refusing a newer schema (PRAGMA user_version) is the kit's "newer schema refused" case.
  it("creates the file private, in WAL mode", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-sqlite-v-"));
    const file = path.join(dir, "s.sqlite");
    const s = SqliteSessionStore.open({ file });
    await s.patch("agent:main:main", () => ({ sessionId: "0b6f6b1e-8d7e-4a43-9a55-6c8f0b2b3c11", updatedAt: 1 }));
    await s.close();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const db = new DatabaseSync(file);
    expect((db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("a gateway on the sqlite backend", () => {
  it("runs turns and keeps the sessions across a restart", async () => {
    const { post, startTestGateway } = await import("./helpers/gateway-harness.ts");
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-sqlite-gw-"));
    const config = { session: { store: { backend: "sqlite" as const } } };
    const a = await startTestGateway(config, { home });
    const r = await post(`${a.url}/v1/inbound`, {
      channel: "telegram",
      chatType: "direct",
      peerId: "a",
      senderId: "a",
      text: "hello sqlite",
    });
    expect(r.json.reply).toBe("echo: hello sqlite");
    await a.stop();
    expect(fs.existsSync(path.join(home, "agents", "main", "sessions", "sessions.sqlite"))).toBe(true);
    const b = await startTestGateway(config, { home });
    const history = await b.runtime.manager.history("main", "agent:main:main");
    expect(history.items.map((i) => i.text)).toEqual(["hello sqlite", "echo: hello sqlite"]);
    await b.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }, 60_000);
});
