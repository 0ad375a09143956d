/**
 * A store location: where a whole multi-agent store lives, as something that lists its scopes
 * (agent ids) and opens a `SessionStore` per scope. Built by the backend descriptors (backends.ts)
 * from a location string or the config; used by migration and `pincer store`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isValidAgentId, normalizeAgentId } from "../keys/ids.ts";
import type { StoreBackend } from "./backends.ts";
import { StoreError, type SessionStore } from "./types.ts";
import { maskUrl } from "./url-mask.ts";

export interface OpenScopeOptions {
  /** Open without creating or changing anything (a migration source, a dry run). */
  readOnly?: boolean;
}

export interface StoreLocation {
  /** The backend's name (`fs`, `sqlite`, `postgres`, `redis`). */
  kind: string;
  /** The location as given, with any password masked: safe to print. */
  display: string;
  /** Secrets (passwords) that must never appear in output; used to scrub error messages. */
  secrets: string[];
  /** Agent ids that have a store here (sorted). */
  listScopes(): Promise<string[]>;
  open(scope: string, options?: OpenScopeOptions): Promise<SessionStore>;
}

export class StoreLocationError extends StoreError {
  override name = "StoreLocationError";
}

function urlPassword(value: string): string[] {
  try {
    const pw = new URL(value).password;
    return pw ? [pw, decodeURIComponent(pw)] : [];
  } catch {
    return [];
  }
}

/**
 * A file-backed location whose per-agent store path comes from `storePathFor` (the default layout
 * or a configured template); scopes are the candidates whose store is present, one per path.
 */
export function fileBackedLocation(
  backend: StoreBackend,
  display: string,
  storePathFor: (agentId: string) => string,
  candidates: () => string[],
): StoreLocation {
  const present = (file: string): boolean => backend.existsAt?.(file) ?? fs.existsSync(file);
  return {
    kind: backend.name,
    display,
    secrets: [],
    async listScopes() {
      const seen = new Set<string>();
      const scopes: string[] = [];
      for (const id of [...new Set(candidates())].sort()) {
        const file = storePathFor(id);
        if (seen.has(file) || !present(file)) continue;
        seen.add(file);
        scopes.push(id);
      }
      return scopes;
    },
    open(scope, options = {}) {
      const id = normalizeAgentId(scope);
      return backend.open({ scope: id, file: storePathFor(id), readOnly: options.readOnly ?? false });
    },
  };
}

/** A location in the standard layout of a state dir (`<home>/agents/<id>/sessions/<file>`). */
export function homeLocation(backend: StoreBackend & { storeFile: string }, rawHome: string): StoreLocation {
  const home = requireDir(backend.name, rawHome);
  return fileBackedLocation(
    backend,
    `${backend.name}:${home}`,
    (id) => path.join(home, "agents", id, "sessions", backend.storeFile),
    () => agentDirs(home),
  );
}

/** A database every agent shares, a scope per agent. */
export function sharedLocation(backend: StoreBackend, url: string): StoreLocation {
  return {
    kind: backend.name,
    display: maskUrl(url),
    secrets: urlPassword(url),
    async listScopes() {
      if (!backend.listScopes) throw new StoreLocationError(`the ${backend.name} backend cannot list its scopes`);
      return [...(await backend.listScopes(url))].sort();
    },
    open(scope) {
      return backend.open({ scope: normalizeAgentId(scope), file: "", url });
    },
  };
}

/** Replaces every secret of the given locations in `text` with `***`. */
export function scrubSecrets(text: string, locations: ReadonlyArray<StoreLocation | null | undefined>): string {
  let out = text;
  for (const loc of locations) {
    for (const s of loc?.secrets ?? []) if (s.length > 0) out = out.split(s).join("***");
  }
  return out;
}

function requireDir(kind: string, home: string): string {
  if (!home) throw new StoreLocationError(`${kind}: needs a directory, e.g. ${kind}:~/.pincer`);
  return path.resolve(home.startsWith("~/") ? path.join(process.env.HOME ?? "~", home.slice(2)) : home);
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
