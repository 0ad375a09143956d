/**
 * The session-store backends the config may name, as data: the schema's enum, the shared-backend
 * rule and the URL hint all come from this one table, so neither schema.ts nor resolve.ts has to
 * import the other.
 */
export const STORE_BACKENDS = {
  fs: { shared: false, urlExample: undefined },
  memory: { shared: false, urlExample: undefined },
  sqlite: { shared: false, urlExample: undefined },
  postgres: { shared: true, urlExample: "postgres://user:pass@host:5432/db" },
  redis: { shared: true, urlExample: "redis://host:6379" },
} as const satisfies Record<string, { shared: boolean; urlExample: string | undefined }>;

export type StoreBackendName = keyof typeof STORE_BACKENDS;

export const STORE_BACKEND_NAMES = Object.keys(STORE_BACKENDS) as [StoreBackendName, ...StoreBackendName[]];

/** Backends that several gateway processes can share: sessions are leased across processes. */
export function isSharedBackend(backend: StoreBackendName): boolean {
  return STORE_BACKENDS[backend].shared;
}
