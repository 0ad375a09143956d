/** The backend descriptors and the capabilities stores declare: what replaced the name switches and duck typing. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isSharedBackend } from "../src/config/resolve.ts";
import { openAgentStore, StoreRegistry } from "../src/session/open-store.ts";
import { backendForFile, STORE_BACKENDS, storeBackend } from "../src/store/backends.ts";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";
import { MemorySessionStore } from "../src/store/memory-store.ts";
import { SqliteSessionStore } from "../src/store/sqlite/sqlite-store.ts";
import { parseStoreLocation } from "../src/store/store-locator.ts";

let home = "";
afterEach(() => {
  if (home) fs.rmSync(home, { recursive: true, force: true });
  home = "";
});
const freshHome = (): string => (home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-backends-")));

describe("store backend descriptors", () => {
  it("has one descriptor per configurable backend, named as the config names it, shared as the config says", () => {
    expect(Object.keys(STORE_BACKENDS).sort()).toEqual(["fs", "memory", "postgres", "redis", "sqlite"]);
    for (const [name, backend] of Object.entries(STORE_BACKENDS)) {
      expect(backend.name).toBe(name);
      expect(backend.shared).toBe(isSharedBackend(backend.name));
      // Shared backends list a database's scopes; file-backed ones name their store file.
      expect(typeof backend.listScopes === "function").toBe(backend.shared);
    }
    expect(storeBackend("sqlite").storeFile).toBe("sessions.sqlite");
    expect(storeBackend("fs").storeFile).toBe("sessions.json");
    expect(storeBackend("memory").storeFile).toBeUndefined();
    expect(backendForFile("/x/a.db").name).toBe("sqlite");
    expect(backendForFile("/x/sessions.json").name).toBe("fs");
  });

  it("parses locations through the descriptors", () => {
    expect(parseStoreLocation("sqlite:/tmp/h").kind).toBe("sqlite");
    expect(parseStoreLocation("fs:/tmp/h").kind).toBe("fs");
    expect(parseStoreLocation("/tmp/h").kind).toBe("fs");
    expect(parseStoreLocation("postgresql://u:pw@h/db").kind).toBe("postgres");
    expect(parseStoreLocation("rediss://h:6380").kind).toBe("redis");
    expect(() => parseStoreLocation("mysql://h/db")).toThrow(
      /unknown store location "mysql:\/\/h\/db" \(scheme "mysql:"\); expected one of/,
    );
  });

  it("every opened store declares its capabilities: disk operations on fs only, nothing shared locally", async () => {
    const h = freshHome();
    const fsStore = await openAgentStore({ session: { store: { backend: "fs" } } }, h, "main");
    const sqlite = await openAgentStore({ session: { store: { backend: "sqlite" } } }, h, "main");
    const memory = await openAgentStore({ session: { store: { backend: "memory" } } }, h, "main");
    try {
      expect(fsStore.capabilities.shared).toBe(false);
      expect(fsStore.capabilities.disk?.dir).toBe(path.join(h, "agents", "main", "sessions"));
      expect(fsStore.capabilities.events).toBeUndefined();
      for (const s of [sqlite, memory]) expect(s.capabilities).toEqual({ shared: false });
    } finally {
      for (const s of [fsStore, sqlite, memory]) await s.close();
    }
  });

  it("hands out the wrapper as the disk operations when a store is wrapped (metrics, fault injection)", async () => {
    const h = freshHome();
    const raw = await FsSessionStore.open({ storePath: path.join(h, "sessions.json") });
    const wrapped = new Proxy(raw, { get: (t, p, r) => Reflect.get(t, p, r) as unknown });
    try {
      expect(wrapped.capabilities.disk).toBe(wrapped);
    } finally {
      await raw.close();
    }
  });

  it("keeps one store per agent in the registry, keyed by file for file-backed backends", async () => {
    const h = freshHome();
    const reg = new StoreRegistry({ session: { store: { backend: "memory" } } }, h);
    try {
      expect(await reg.storeFor("main")).toBe(await reg.storeFor("main"));
      expect(await reg.storeFor("main")).not.toBe(await reg.storeFor("work"));
    } finally {
      await reg.closeAll();
    }
    const shared = new StoreRegistry(
      { session: { store: { backend: "sqlite", path: path.join(h, "all.sqlite") } } },
      h,
    );
    try {
      expect(await shared.storeFor("main")).toBe(await shared.storeFor("work"));
    } finally {
      await shared.closeAll();
    }
  });

  it("has no test-only hooks on the production classes", () => {
    for (const cls of [MemorySessionStore, SqliteSessionStore, FsSessionStore])
      expect("withOwner" in cls.prototype).toBe(false);
  });
});
