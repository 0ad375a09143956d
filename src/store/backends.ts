/**
 * Every store backend as one descriptor: its name (the config's `session.store.backend`), whether
 * gateways may share it, how it opens one agent's store, and — where it has them — how it lists
 * the scopes of a database and parses a location string (`pincer store migrate`). Adding a backend
 * is one entry here; nothing else switches on a backend's name. The database drivers are loaded on
 * demand, so installs that never use Postgres or Redis do not pay for `pg` or `ioredis` at start.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { STORE_BACKENDS as CONFIG_BACKENDS, type StoreBackendName } from "../config/backends.ts";
import { FsSessionStore } from "./fs/fs-store.ts";
import { homeLocation, sharedLocation, type StoreLocation } from "./location.ts";
import { MemorySessionStore } from "./memory-store.ts";
import { openSqliteStore } from "./sqlite/sqlite-store.ts";
import type { ReadIssue, SessionStore } from "./types.ts";

/** The backend names the config accepts (its table in config/backends.ts is the one list). */
export type BackendName = StoreBackendName;

/** One agent's store, as the config or a location names it. */
export interface OpenRequest {
  /** The agent id: a scope of a shared database. */
  scope: string;
  /** The store file of a file-backed backend (`sessions.json`, `sessions.sqlite`); unused otherwise. */
  file: string;
  /** The database URL of a shared backend. */
  url?: string;
  readOnly?: boolean;
  onIssue?: (issue: ReadIssue) => void;
  now?: () => number;
  leaseTtlMs?: number;
  fsync?: boolean;
  poolSize?: number;
}

export interface StoreBackend {
  readonly name: BackendName;
  /** Several gateway processes may share it: sessions are leased across processes, events relayed. */
  readonly shared: boolean;
  /** File-backed backends: the store file's name in a state dir (`agents/<id>/sessions/<file>`). */
  readonly storeFile?: string;
  open(request: OpenRequest): Promise<SessionStore>;
  /** Whether a store is already at `file` (file-backed; default: the file exists). */
  existsAt?(file: string): boolean;
  /** The scopes (agent ids) holding data in the database at `url` (shared backends). */
  listScopes?(url: string): Promise<string[]>;
  /** This backend's location for `raw` (`sqlite:<dir>`, `redis://...`), or null when `raw` is not one. */
  parseLocation?(raw: string): StoreLocation | null;
}

function requireUrl(backend: string, request: OpenRequest): string {
  if (!request.url)
    throw new Error(
      `the ${backend} backend needs a URL (session.store.url); got none for scope ${JSON.stringify(request.scope)}`,
    );
  return request.url;
}

const schemeOf = (raw: string): string | undefined => /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1]?.toLowerCase();

const fsBackend: StoreBackend & { storeFile: string } = {
  name: "fs",
  shared: CONFIG_BACKENDS.fs.shared,
  storeFile: "sessions.json",
  open: (r) =>
    FsSessionStore.open({
      storePath: r.file,
      fsync: r.fsync,
      leaseTtlMs: r.leaseTtlMs,
      readOnly: r.readOnly,
      onIssue: r.onIssue,
      now: r.now,
    }),
  // A directory store: present once its sessions directory is.
  existsAt(file) {
    try {
      return fs.statSync(path.dirname(file)).isDirectory();
    } catch {
      return false;
    }
  },
  parseLocation: (raw) => (schemeOf(raw) === "fs" ? homeLocation(fsBackend, raw.slice(3)) : null),
};

const sqliteBackend: StoreBackend & { storeFile: string } = {
  name: "sqlite",
  shared: CONFIG_BACKENDS.sqlite.shared,
  storeFile: "sessions.sqlite",
  open: async (r) => openSqliteStore({ file: r.file, now: r.now, leaseTtlMs: r.leaseTtlMs, readOnly: r.readOnly }),
  parseLocation: (raw) => (schemeOf(raw) === "sqlite" ? homeLocation(sqliteBackend, raw.slice(7)) : null),
};

const memoryBackend: StoreBackend = {
  name: "memory",
  shared: CONFIG_BACKENDS.memory.shared,
  open: async (r) => new MemorySessionStore({ now: r.now, leaseTtlMs: r.leaseTtlMs }),
};

/** A database store class, loaded on first use so `pg`/`ioredis` load only when configured. */
interface DatabaseStoreClass {
  open(request: OpenRequest & { url: string }): Promise<SessionStore>;
  scopes(url: string): Promise<string[]>;
}

/** A shared database backend at URLs with one of `schemes`. */
function databaseBackend(
  name: "postgres" | "redis",
  schemes: string[],
  load: () => Promise<DatabaseStoreClass>,
): StoreBackend {
  const backend: StoreBackend = {
    name,
    shared: CONFIG_BACKENDS[name].shared,
    async open(r) {
      return (await load()).open({ ...r, url: requireUrl(name, r) });
    },
    async listScopes(url) {
      return (await load()).scopes(url);
    },
    parseLocation: (raw) => (schemes.includes(schemeOf(raw) ?? "") ? sharedLocation(backend, raw) : null),
  };
  return backend;
}

const postgresBackend = databaseBackend("postgres", ["postgres", "postgresql"], async () => {
  const { PostgresSessionStore } = await import("./postgres/postgres-store.ts");
  return {
    open: (r) =>
      PostgresSessionStore.open({
        url: r.url,
        scope: r.scope,
        now: r.now,
        leaseTtlMs: r.leaseTtlMs,
        poolSize: r.poolSize,
      }),
    scopes: (url) => PostgresSessionStore.scopes(url),
  };
});

const redisBackend = databaseBackend("redis", ["redis", "rediss"], async () => {
  const { RedisSessionStore } = await import("./redis/redis-store.ts");
  return {
    open: (r) => RedisSessionStore.open({ url: r.url, scope: r.scope, now: r.now, leaseTtlMs: r.leaseTtlMs }),
    scopes: (url) => RedisSessionStore.scopes(url),
  };
});

/** Every backend, keyed by the name the config uses. */
export const STORE_BACKENDS: Readonly<Record<BackendName, StoreBackend>> = {
  fs: fsBackend,
  memory: memoryBackend,
  sqlite: sqliteBackend,
  postgres: postgresBackend,
  redis: redisBackend,
};

export function storeBackend(name: BackendName): StoreBackend {
  return STORE_BACKENDS[name];
}

/** What a bare path (no scheme) is read as: a state dir of the fs backend. */
export const DEFAULT_FILE_BACKEND: StoreBackend & { storeFile: string } = fsBackend;

/**
 * The file-backed backend an explicit store file (the CLI's `--store`) is read with: SQLite when
 * it ends in `.sqlite`, `.sqlite3` or `.db`, otherwise an fs `sessions.json`.
 */
export function backendForFile(file: string): StoreBackend & { storeFile: string } {
  return /\.(sqlite3?|db)$/i.test(file) ? sqliteBackend : fsBackend;
}
