/**
 * Store locations for migration: a string naming where a whole multi-agent store lives, parsed
 * into something that lists its scopes (agent ids) and opens a `SessionStore` per scope.
 *
 *   fs:<home> | <home>       Pincer/OpenClaw state dir: <home>/agents/<id>/sessions/sessions.json
 *   sqlite:<home>            <home>/agents/<id>/sessions/sessions.sqlite
 *   postgres://... | postgresql://...   one database, a scope per agent
 *   redis://... | rediss://...          one server/database, a scope per agent
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { resolveStoreOptions, resolveStorePath } from "../config/resolve.ts";
import type { PincerConfig } from "../config/schema.ts";
import { isValidAgentId, normalizeAgentId } from "../keys/ids.ts";
import { FsSessionStore } from "./fs/fs-store.ts";
import { openSqliteStore } from "./sqlite/sqlite-store.ts";
import { StoreError, type SessionStore } from "./types.ts";
import { maskUrl } from "./url-mask.ts";

export type LocationKind = "fs" | "sqlite" | "postgres" | "redis";

export interface OpenScopeOptions {
  /** Open without creating or changing anything (a migration source, a dry run). */
  readOnly?: boolean;
}

export interface StoreLocation {
  kind: LocationKind;
  /** The location as given, with any password masked: safe to print. */
  display: string;
  /** Secrets (passwords) that must never appear in output; used to scrub error messages. */
  secrets: string[];
  /** Agent ids that have a store here (sorted). */
  listScopes(): Promise<string[]>;
  open(scope: string, options?: OpenScopeOptions): Promise<SessionStore>;
}

export class StoreLocationError extends StoreError {
  override readonly code = "store_location_invalid";
}

export const ACCEPTED_LOCATIONS = "fs:<dir> (or a bare path), sqlite:<dir>, postgres://user:pass@host:5432/db, postgresql://..., redis://host:6379";


function urlPassword(value: string): string[] {
  try {
    const pw = new URL(value).password;
    return pw ? [pw, decodeURIComponent(pw)] : [];
  } catch {
    return [];
  }
}

/** Replaces every secret of the given locations in `text` with `***`. */
export function scrubSecrets(text: string, locations: ReadonlyArray<StoreLocation | null | undefined>): string {
  let out = text;
  for (const loc of locations) {
    for (const s of loc?.secrets ?? []) if (s.length > 0) out = out.split(s).join("***");
  }
  return out;
}

/** Parses a location string; an unknown scheme is an error naming the value and the accepted forms. */
export function parseStoreLocation(value: string): StoreLocation {
  const raw = value.trim();
  if (!raw) throw new StoreLocationError(`empty store location; expected one of: ${ACCEPTED_LOCATIONS}`);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === "postgres" || scheme === "postgresql") return postgresLocation(raw);
  if (scheme === "redis" || scheme === "rediss") return redisLocation(raw);
  if (scheme === "fs") return fileLocation("fs", raw.slice(3));
  if (scheme === "sqlite") return fileLocation("sqlite", raw.slice(7));
  // A bare path: no scheme, or a Windows drive letter, or `file:`-less relative paths like `./x`.
  if (scheme === undefined || /^[a-z]:[\\/]/i.test(raw)) return fileLocation("fs", raw);
  throw new StoreLocationError(`unknown store location ${JSON.stringify(maskUrl(raw))} (scheme "${scheme}:"); expected one of: ${ACCEPTED_LOCATIONS}`);
}

function requireDir(kind: string, home: string): string {
  if (!home) throw new StoreLocationError(`${kind}: needs a directory, e.g. ${kind}:~/.pincer`);
  return path.resolve(home.startsWith("~/") ? path.join(process.env.HOME ?? "~", home.slice(2)) : home);
}

/** A state dir in the standard layout (`<home>/agents/<id>/sessions/<file>`). */
function fileLocation(kind: "fs" | "sqlite", rawHome: string): StoreLocation {
  const home = requireDir(kind, rawHome);
  const file = kind === "fs" ? "sessions.json" : "sessions.sqlite";
  return fileBackedLocation(kind, `${kind}:${home}`, (id) => path.join(home, "agents", id, "sessions", file), () => agentDirs(home));
}

/**
 * A file-backed location whose per-agent store path comes from `storePathFor` (the default layout
 * or a configured template); scopes are the candidates whose store is present, one per path.
 */
export function fileBackedLocation(kind: "fs" | "sqlite", display: string, storePathFor: (agentId: string) => string, candidates: () => string[]): StoreLocation {
  return {
    kind,
    display,
    secrets: [],
    async listScopes() {
      const seen = new Set<string>();
      const scopes: string[] = [];
      for (const id of [...new Set(candidates())].sort()) {
        const file = storePathFor(id);
        if (seen.has(file)) continue;
        const present = kind === "fs" ? isDir(path.dirname(file)) : fs.existsSync(file);
        if (!present) continue;
        seen.add(file);
        scopes.push(id);
      }
      return scopes;
    },
    async open(scope, options = {}) {
      const file = storePathFor(normalizeAgentId(scope));
      if (kind === "sqlite") return openSqliteStore({ file, readOnly: options.readOnly ?? false });
      return FsSessionStore.open({ storePath: file, readOnly: options.readOnly ?? false });
    },
  };
}

/** Subdirectories of `<home>/agents` that are valid agent ids. */
export function agentDirs(home: string): string[] {
  try {
    return fs
      .readdirSync(path.join(home, "agents"), { withFileTypes: true })
      .filter((d) => d.isDirectory() && isValidAgentId(d.name))
      .map((d) => d.name);
  } catch {
    return [];
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function postgresLocation(url: string): StoreLocation {
  return {
    kind: "postgres",
    display: maskUrl(url),
    secrets: urlPassword(url),
    async listScopes() {
      const { PostgresSessionStore } = await import("./postgres/postgres-store.ts");
      return [...(await PostgresSessionStore.scopes(url))].sort();
    },
    async open(scope) {
      const { PostgresSessionStore } = await import("./postgres/postgres-store.ts");
      return PostgresSessionStore.open({ url, scope: normalizeAgentId(scope) });
    },
  };
}

function redisLocation(url: string): StoreLocation {
  return {
    kind: "redis",
    display: maskUrl(url),
    secrets: urlPassword(url),
    async listScopes() {
      const { RedisSessionStore } = await import("./redis/redis-store.ts");
      return [...(await RedisSessionStore.scopes(url))].sort();
    },
    async open(scope) {
      const { RedisSessionStore } = await import("./redis/redis-store.ts");
      return RedisSessionStore.open({ url, scope: normalizeAgentId(scope) });
    },
  };
}

/**
 * The store a config selects (`session.store`), as a location: the fs/sqlite path template is
 * honoured per agent; postgres/redis use the configured URL. The memory backend has no location.
 */
export function configuredLocation(config: PincerConfig, home: string, configuredAgents: readonly string[]): StoreLocation {
  const opts = resolveStoreOptions(config);
  if (opts.backend === "memory") throw new StoreLocationError("the configured store (session.store.backend: memory) keeps nothing on disk; there is nothing to import into or export from");
  if (opts.backend === "postgres" || opts.backend === "redis") {
    if (!opts.url) throw new StoreLocationError(`session.store.url is required by backend "${opts.backend}"`);
    const loc = parseStoreLocation(opts.url);
    if (loc.kind !== opts.backend) throw new StoreLocationError(`session.store.url ${JSON.stringify(maskUrl(opts.url))} is not a ${opts.backend} URL`);
    return loc;
  }
  const kind = opts.backend;
  const store = config.session?.store;
  const template = typeof store === "string" ? store : store?.path;
  const display = template ? `${kind}:${template}` : `${kind}:${home}`;
  return fileBackedLocation(kind, display, (id) => resolveStorePath(config, id, home), () => [...configuredAgents, ...agentDirs(home)]);
}
