import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { SchemaVersionError, SqliteSessionStore } from "../src/store/sqlite/sqlite-store.ts";
import type { SessionStore } from "../src/store/types.ts";
import { runStoreConformance } from "./store-conformance.ts";

runStoreConformance("sqlite", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-sqlite-"));
  const file = path.join(dir, "sessions.sqlite");
  const opened: SessionStore[] = [];
  return {
    durable: true,
    async create(now) {
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
      for (const s of opened) await s.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe("sqlite backend specifics", () => {
  it("creates the file private, in WAL mode, and refuses a newer schema with the command to migrate", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-sqlite-v-"));
    const file = path.join(dir, "s.sqlite");
    const s = SqliteSessionStore.open({ file });
    await s.patch("agent:main:main", () => ({ sessionId: "0b6f6b1e-8d7e-4a43-9a55-6c8f0b2b3c11", updatedAt: 1 }));
    await s.close();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const db = new DatabaseSync(file);
    expect((db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
    db.exec("PRAGMA user_version = 99");
    db.close();
    expect(() => SqliteSessionStore.open({ file })).toThrow(SchemaVersionError);
    expect(() => SqliteSessionStore.open({ file })).toThrow(/schema version 99 is newer.*pincer store migrate/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("two connections doing read-modify-write concurrently lose no update", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-sqlite-c-"));
    const file = path.join(dir, "s.sqlite");
    const a = SqliteSessionStore.open({ file });
    const b = SqliteSessionStore.open({ file });
    const bump = (s: SqliteSessionStore) => s.patch("agent:main:main", (cur) => ({ sessionId: "0b6f6b1e-8d7e-4a43-9a55-6c8f0b2b3c11", updatedAt: 1, n: ((cur?.n as number | undefined) ?? 0) + 1 }));
    await Promise.all(Array.from({ length: 200 }, (_, i) => bump(i % 2 ? a : b)));
    expect((await a.get("agent:main:main"))?.n).toBe(200);
    await a.close();
    await b.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("a gateway on the sqlite backend", () => {
  it("runs turns and keeps the sessions across a restart", async () => {
    const { post, startTestGateway } = await import("./helpers/gateway-harness.ts");
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-sqlite-gw-"));
    const config = { session: { store: { backend: "sqlite" as const } } };
    const a = await startTestGateway(config, { home });
    const r = await post(`${a.url}/v1/inbound`, { channel: "telegram", chatType: "direct", peerId: "a", senderId: "a", text: "hello sqlite" });
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
