/** What every CLI command starts from: the loaded config and the stores it selects. */
import * as path from "node:path";
import { loadConfig } from "../config/load.ts";
import { resolveAgents, resolveStoreOptions, resolveStorePath } from "../config/resolve.ts";
import type { PincerConfig } from "../config/schema.ts";
import { normalizeAgentId } from "../keys/ids.ts";
import { openAgentStore, storeFileKind } from "../session/open-store.ts";
import { storeBackend } from "../store/backends.ts";
import { agentDirs, configuredLocation } from "../store/store-locator.ts";
import { maskUrl } from "../store/url-mask.ts";
import type { SessionStore } from "../store/types.ts";
import { CliError, type CliIO } from "./io.ts";

export interface CliContext {
  io: CliIO;
  config: PincerConfig;
  home: string;
  configPath: string | null;
  defaultAgentId: string;
  agentIds: string[];
}

export function loadContext(io: CliIO, configPath: string | undefined): CliContext {
  const loaded = loadConfig({ configPath, env: io.env });
  for (const w of loaded.warnings) io.err(`warning: ${w}`);
  const agents = resolveAgents(loaded.config);
  return {
    io,
    config: loaded.config,
    home: loaded.home,
    configPath: loaded.path,
    defaultAgentId: agents.defaultAgentId,
    agentIds: agents.ids,
  };
}

export type StoreKind = "fs" | "sqlite" | "postgres" | "redis";

export interface StoreTarget {
  agentId: string;
  /**
   * What output shows as the store's path: the store file (fs, sqlite), or the store's `location`
   * on a database backend (URL with the password masked, `#<scope>`), set from the store once opened.
   */
  path: string;
  kind: StoreKind;
  /** Given with --store: that file, whatever the configured backend. */
  explicit: boolean;
}

export interface StoreSelection {
  agent?: string;
  allAgents?: boolean;
  store?: string;
}

/** The kind of store the config selects (memory keeps nothing between processes: read as fs, as before). */
function configuredKind(ctx: CliContext): StoreKind {
  const backend = resolveStoreOptions(ctx.config).backend;
  return backend === "memory" ? "fs" : backend;
}

function configuredTarget(ctx: CliContext, agentId: string): StoreTarget {
  const kind = configuredKind(ctx);
  if (storeBackend(kind).shared) {
    const url = resolveStoreOptions(ctx.config).url ?? "";
    return { agentId, path: `${maskUrl(url)}#${normalizeAgentId(agentId)}`, kind, explicit: false };
  }
  return { agentId, path: resolveStorePath(ctx.config, agentId, ctx.home), kind, explicit: false };
}

/**
 * Resolves --agent / --all-agents / --store to stores (OpenClaw's rules: the default agent's store unless
 * told otherwise; `--all-agents` de-duplicated by store path; `--store` combines with neither), on the
 * configured backend. `--store <file>` is an fs sessions.json, or a SQLite file (`.sqlite`).
 */
export async function selectStores(
  ctx: CliContext,
  sel: StoreSelection,
): Promise<{ targets: StoreTarget[]; aggregate: boolean }> {
  if (sel.store && (sel.agent || sel.allAgents))
    throw new CliError("--store cannot be combined with --agent or --all-agents");
  if (sel.agent && sel.allAgents) throw new CliError("--agent and --all-agents cannot be used together");
  if (sel.store) {
    const file = path.resolve(sel.store);
    return {
      targets: [{ agentId: ctx.defaultAgentId, path: file, kind: storeFileKind(file), explicit: true }],
      aggregate: false,
    };
  }
  if (sel.agent) {
    const id = sel.agent.trim().toLowerCase();
    if (!ctx.agentIds.includes(id))
      throw new CliError(
        `Unknown agent id ${JSON.stringify(sel.agent)}. Configured agents: ${ctx.agentIds.join(", ")}.`,
      );
    return { targets: [configuredTarget(ctx, id)], aggregate: false };
  }
  if (sel.allAgents) {
    const ids = new Set(ctx.agentIds);
    // Agents that have state but are no longer configured are listed too: their directories on
    // disk, or their scopes in the database.
    const found = storeBackend(configuredKind(ctx)).shared
      ? await configuredLocation(ctx.config, ctx.home, ctx.agentIds).listScopes()
      : agentDirs(ctx.home);
    for (const id of found) ids.add(id);
    const seen = new Set<string>();
    const targets: StoreTarget[] = [];
    for (const id of ids) {
      const t = configuredTarget(ctx, id);
      if (seen.has(t.path)) continue;
      seen.add(t.path);
      targets.push(t);
    }
    return { targets, aggregate: true };
  }
  return { targets: [configuredTarget(ctx, ctx.defaultAgentId)], aggregate: false };
}

/**
 * Opens a selected store through the `SessionStore` interface. On a database backend the target's
 * `path` becomes the store's own `location` (what the gateway logs show).
 */
export async function openTarget(
  ctx: CliContext,
  target: StoreTarget,
  options: { readOnly: boolean },
): Promise<SessionStore> {
  const store = await openAgentStore(ctx.config, ctx.home, target.agentId, {
    readOnly: options.readOnly,
    onIssue: (i) => ctx.io.err(`warning: ${i.file}: ${i.reason}`),
    // --store names its file; the memory backend (nothing between processes) is read as fs files.
    ...(target.explicit || resolveStoreOptions(ctx.config).backend === "memory" ? { storePath: target.path } : {}),
  });
  if (store.capabilities.shared) target.path = store.location;
  return store;
}

/** Runs `work` with a target's store open, closing it afterwards. */
export async function withTargetStore<T>(
  ctx: CliContext,
  target: StoreTarget,
  options: { readOnly: boolean },
  work: (store: SessionStore) => Promise<T>,
): Promise<T> {
  const store = await openTarget(ctx, target, options);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
