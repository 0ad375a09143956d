/** Opens the configured store backend for one agent. */
import type { PincerConfig } from "../config/schema.ts";
import { isSharedBackend, resolveStoreOptions, resolveStorePath } from "../config/resolve.ts";
import { FsSessionStore } from "../store/fs/fs-store.ts";
import { MemorySessionStore } from "../store/memory-store.ts";
import { openSqliteStore } from "../store/sqlite/sqlite-store.ts";
import type { ReadIssue, SessionStore } from "../store/types.ts";
import { normalizeAgentId } from "../keys/ids.ts";

export interface OpenStoreOptions {
  readOnly?: boolean;
  onIssue?: (issue: ReadIssue) => void;
  now?: () => number;
  /**
   * An explicit store file instead of the configured store (the CLI's --store): a SQLite database
   * when it ends in `.sqlite`, `.sqlite3` or `.db`, otherwise an fs `sessions.json`, whatever the
   * configured backend.
   */
  storePath?: string;
}

/** The backend an explicit store file (`--store`) is read with. */
export function storeFileKind(file: string): "fs" | "sqlite" {
  return /\.(sqlite3?|db)$/i.test(file) ? "sqlite" : "fs";
}

function openSqlite(file: string, options: OpenStoreOptions, leaseTtlMs: number): SessionStore {
  return openSqliteStore({ file, now: options.now, leaseTtlMs, readOnly: options.readOnly });
}

export async function openAgentStore(config: PincerConfig, home: string, agentId: string, options: OpenStoreOptions = {}): Promise<SessionStore> {
  const opts = resolveStoreOptions(config);
  if (options.storePath && storeFileKind(options.storePath) === "sqlite") return openSqlite(options.storePath, options, opts.leaseTtlMs);
  if (opts.backend === "memory" && !options.storePath) return new MemorySessionStore({ now: options.now, leaseTtlMs: opts.leaseTtlMs });
  if (opts.backend === "postgres" && !options.storePath) {
    // Loaded on demand: installs that never use Postgres do not pay for `pg` at start.
    const { PostgresSessionStore } = await import("../store/postgres/postgres-store.ts");
    return PostgresSessionStore.open({ url: opts.url!, scope: normalizeAgentId(agentId), now: options.now, leaseTtlMs: opts.leaseTtlMs, poolSize: opts.poolSize });
  }
  if (opts.backend === "redis" && !options.storePath) {
    const { RedisSessionStore } = await import("../store/redis/redis-store.ts");
    return RedisSessionStore.open({ url: opts.url!, scope: normalizeAgentId(agentId), now: options.now, leaseTtlMs: opts.leaseTtlMs });
  }
  if (opts.backend === "sqlite" && !options.storePath) return openSqlite(resolveStorePath(config, agentId, home), options, opts.leaseTtlMs);
  return FsSessionStore.open({
    storePath: options.storePath ?? resolveStorePath(config, agentId, home),
    fsync: opts.fsync,
    leaseTtlMs: opts.leaseTtlMs,
    readOnly: options.readOnly,
    onIssue: options.onIssue,
    now: options.now,
  });
}

/** One store per agent (or per store path when agents share one), opened on first use. */
export class StoreRegistry {
  private readonly stores = new Map<string, Promise<SessionStore>>();
  private readonly config: PincerConfig;
  private readonly home: string;
  private readonly options: OpenStoreOptions;

  constructor(config: PincerConfig, home: string, options: OpenStoreOptions = {}) {
    this.config = config;
    this.home = home;
    this.options = options;
  }

  storeFor = (agentId: string): Promise<SessionStore> => {
    const opts = resolveStoreOptions(this.config);
    const where =
      this.options.storePath ??
      (opts.backend === "memory" ? `memory:${agentId}` : isSharedBackend(opts.backend) ? `${opts.backend}:${normalizeAgentId(agentId)}` : resolveStorePath(this.config, agentId, this.home));
    let store = this.stores.get(where);
    if (!store) {
      store = openAgentStore(this.config, this.home, agentId, this.options);
      this.stores.set(where, store);
      store.catch(() => this.stores.delete(where));
    }
    return store;
  };

  async closeAll(): Promise<void> {
    const all = [...this.stores.values()];
    this.stores.clear();
    for (const s of all) await (await s).close();
  }
}
