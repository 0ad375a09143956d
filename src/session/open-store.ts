/** Opens the configured store backend for one agent (through its descriptor in store/backends.ts). */
import type { PincerConfig } from "../config/schema.ts";
import { resolveStoreOptions, resolveStorePath } from "../config/resolve.ts";
import { backendForFile, storeBackend, type StoreBackend } from "../store/backends.ts";
import { StoreError, type ReadIssue, type SessionStore } from "../store/types.ts";
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
  return backendForFile(file).name === "sqlite" ? "sqlite" : "fs";
}

/** The backend one agent's store is opened with, and where: an explicit file wins over the config. */
function agentStoreTarget(
  config: PincerConfig,
  home: string,
  agentId: string,
  options: OpenStoreOptions,
): { backend: StoreBackend; file: string } {
  if (options.storePath) return { backend: backendForFile(options.storePath), file: options.storePath };
  return { backend: storeBackend(resolveStoreOptions(config).backend), file: resolveStorePath(config, agentId, home) };
}

export async function openAgentStore(
  config: PincerConfig,
  home: string,
  agentId: string,
  options: OpenStoreOptions = {},
): Promise<SessionStore> {
  const opts = resolveStoreOptions(config);
  const { backend, file } = agentStoreTarget(config, home, agentId, options);
  return backend.open({
    scope: normalizeAgentId(agentId),
    file,
    ...(opts.url !== undefined ? { url: opts.url } : {}),
    ...(opts.poolSize !== undefined ? { poolSize: opts.poolSize } : {}),
    fsync: opts.fsync,
    leaseTtlMs: opts.leaseTtlMs,
    readOnly: options.readOnly,
    onIssue: options.onIssue,
    now: options.now,
  });
}

/** Agent ids come from configuration and session keys: the memo of their store keys stays small. */
const MAX_AGENT_TARGETS = 1024;

/** One store per agent (or per store path when agents share one), opened on first use. */
export class StoreRegistry {
  private readonly stores = new Map<string, Promise<SessionStore>>();
  /** Agent id as asked → the key of its store in `stores`. */
  private readonly whereOf = new Map<string, string>();
  private readonly config: PincerConfig;
  private readonly home: string;
  private readonly options: OpenStoreOptions;
  private closed = false;

  constructor(config: PincerConfig, home: string, options: OpenStoreOptions = {}) {
    this.config = config;
    this.home = home;
    this.options = options;
  }

  storeFor = (agentId: string): Promise<SessionStore> => {
    // Where an agent's store lives depends only on the registry's config: worked out once per agent
    // (storeFor runs several times per turn).
    let where = this.whereOf.get(agentId);
    if (where === undefined) {
      const { backend, file } = agentStoreTarget(this.config, this.home, agentId, this.options);
      // File-backed stores are one per file (a path template may give agents one); others one per agent.
      where = backend.storeFile ? file : `${backend.name}:${normalizeAgentId(agentId)}`;
      if (this.whereOf.size >= MAX_AGENT_TARGETS) this.whereOf.clear();
      this.whereOf.set(agentId, where);
    }
    let store = this.stores.get(where);
    // A store opened after closeAll would never be closed (an open Redis socket or pool keeps the
    // process alive on shutdown): late callers get an error instead.
    if (!store && this.closed) return Promise.reject(new StoreError(`the store of agent ${agentId} is closed`));
    if (!store) {
      store = openAgentStore(this.config, this.home, agentId, this.options);
      this.stores.set(where, store);
      store.catch(() => this.stores.delete(where));
    }
    return store;
  };

  async closeAll(): Promise<void> {
    this.closed = true;
    const all = [...this.stores.values()];
    this.stores.clear();
    // Every store is closed even when another failed to open or to close; the first failure is thrown.
    const failed = (await Promise.allSettled(all.map(async (s) => (await s).close()))).find(
      (r) => r.status === "rejected",
    );
    if (failed) throw failed.reason;
  }
}
