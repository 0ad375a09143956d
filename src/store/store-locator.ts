/**
 * Store locations for migration: a string naming where a whole multi-agent store lives, parsed
 * by the backend descriptors (backends.ts) into something that lists its scopes (agent ids) and
 * opens a `SessionStore` per scope.
 *
 *   fs:<home> | <home>       Pincer/OpenClaw state dir: <home>/agents/<id>/sessions/sessions.json
 *   sqlite:<home>            <home>/agents/<id>/sessions/sessions.sqlite
 *   postgres://... | postgresql://...   one database, a scope per agent
 *   redis://... | rediss://...          one server/database, a scope per agent
 */
import { resolveStoreOptions, resolveStorePath } from "../config/resolve.ts";
import type { PincerConfig } from "../config/schema.ts";
import { DEFAULT_FILE_BACKEND, STORE_BACKENDS, storeBackend } from "./backends.ts";
import { agentDirs, fileBackedLocation, homeLocation, StoreLocationError, type StoreLocation } from "./location.ts";
import { maskUrl } from "./url-mask.ts";

export {
  agentDirs,
  fileBackedLocation,
  scrubSecrets,
  StoreLocationError,
  type OpenScopeOptions,
  type StoreLocation,
} from "./location.ts";

export const ACCEPTED_LOCATIONS =
  "fs:<dir> (or a bare path), sqlite:<dir>, postgres://user:pass@host:5432/db, postgresql://..., redis://host:6379";

/** Parses a location string; an unknown scheme is an error naming the value and the accepted forms. */
export function parseStoreLocation(value: string): StoreLocation {
  const raw = value.trim();
  if (!raw) throw new StoreLocationError(`empty store location; expected one of: ${ACCEPTED_LOCATIONS}`);
  for (const backend of Object.values(STORE_BACKENDS)) {
    const location = backend.parseLocation?.(raw);
    if (location) return location;
  }
  // A bare path: no scheme, or a Windows drive letter, or `file:`-less relative paths like `./x`.
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined || /^[a-z]:[\\/]/i.test(raw)) return homeLocation(DEFAULT_FILE_BACKEND, raw);
  throw new StoreLocationError(
    `unknown store location ${JSON.stringify(maskUrl(raw))} (scheme "${scheme}:"); expected one of: ${ACCEPTED_LOCATIONS}`,
  );
}

/**
 * The store a config selects (`session.store`), as a location: the fs/sqlite path template is
 * honoured per agent; postgres/redis use the configured URL. The memory backend has no location.
 */
export function configuredLocation(
  config: PincerConfig,
  home: string,
  configuredAgents: readonly string[],
): StoreLocation {
  const opts = resolveStoreOptions(config);
  const backend = storeBackend(opts.backend);
  if (backend.shared) {
    if (!opts.url) throw new StoreLocationError(`session.store.url is required by backend "${opts.backend}"`);
    const loc = backend.parseLocation?.(opts.url.trim());
    if (!loc)
      throw new StoreLocationError(
        `session.store.url ${JSON.stringify(maskUrl(opts.url))} is not a ${opts.backend} URL`,
      );
    return loc;
  }
  if (!backend.storeFile)
    throw new StoreLocationError(
      `the configured store (session.store.backend: ${backend.name}) keeps nothing on disk; there is nothing to import into or export from`,
    );
  const store = config.session?.store;
  const template = typeof store === "string" ? store : store?.path;
  const display = template ? `${backend.name}:${template}` : `${backend.name}:${home}`;
  return fileBackedLocation(
    backend,
    display,
    (id) => resolveStorePath(config, id, home),
    () => [...configuredAgents, ...agentDirs(home)],
  );
}
