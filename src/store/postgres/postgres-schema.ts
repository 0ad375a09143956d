/**
 * The `postgres` backend's schema: versioned migrations applied by Pincer itself. One database
 * holds every agent, so every table carries a `scope` column (the agent id) leading its keys.
 * Identifier columns use the "C" collation so the database orders them exactly as JavaScript's
 * string comparison does (keyset cursors depend on it).
 */
import type { ClientBase } from "pg";
import { SchemaVersionError } from "../types.ts";

export const POSTGRES_SCHEMA_VERSION = 1;

/** Arbitrary constant key of the advisory lock serialising migrations (and nothing else). */
const MIGRATION_LOCK_KEY = "7203948117724590161";

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE sessions (
      scope text COLLATE "C" NOT NULL,
      key text COLLATE "C" NOT NULL,
      entry text NOT NULL,
      updated_at double precision NOT NULL,
      PRIMARY KEY (scope, key)
    );
    CREATE INDEX sessions_by_update ON sessions (scope, updated_at DESC, key ASC);
    CREATE TABLE transcript_lines (
      scope text COLLATE "C" NOT NULL,
      session_id text COLLATE "C" NOT NULL,
      seq bigint NOT NULL,
      line text NOT NULL,
      PRIMARY KEY (scope, session_id, seq)
    );
    CREATE TABLE archives (
      scope text COLLATE "C" NOT NULL,
      name text COLLATE "C" NOT NULL,
      session_id text COLLATE "C" NOT NULL,
      reason text NOT NULL,
      archived_at bigint NOT NULL,
      content text NOT NULL,
      PRIMARY KEY (scope, name)
    );
    CREATE TABLE leases (
      scope text COLLATE "C" NOT NULL,
      name text COLLATE "C" NOT NULL,
      owner text NOT NULL,
      epoch bigint NOT NULL,
      expires_at bigint NOT NULL,
      free boolean NOT NULL DEFAULT false,
      PRIMARY KEY (scope, name)
    );
  `,
};

/** The schema version recorded in the database (0 when Pincer never ran there). */
export async function schemaVersion(client: ClientBase): Promise<number> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass('pincer_schema_version')::text AS t");
  if (!exists.rows[0]?.t) return 0;
  const r = await client.query<{ v: number | null }>("SELECT MAX(version) AS v FROM pincer_schema_version");
  return Number(r.rows[0]?.v ?? 0);
}

export function newerSchemaError(where: string, found: number): SchemaVersionError {
  return new SchemaVersionError(
    `${where}: schema version ${found} is newer than this Pincer understands (${POSTGRES_SCHEMA_VERSION}); upgrade Pincer, or copy the data with \`pincer store migrate --from <this postgres:// URL> --to <location>\` using the newer version`,
  );
}

/**
 * Brings the database to `POSTGRES_SCHEMA_VERSION` in one transaction under a transaction-scoped
 * advisory lock, so two processes starting together never both run a migration. Refuses a newer
 * schema with `SchemaVersionError`.
 */
export async function migrate(client: ClientBase, where: string): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await client.query(
      "CREATE TABLE IF NOT EXISTS pincer_schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const found = await schemaVersion(client);
    if (found > POSTGRES_SCHEMA_VERSION) throw newerSchemaError(where, found);
    for (let v = found + 1; v <= POSTGRES_SCHEMA_VERSION; v++) {
      await client.query(MIGRATIONS[v]!);
      await client.query("INSERT INTO pincer_schema_version (version) VALUES ($1)", [v]);
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  }
}
