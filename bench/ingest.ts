/**
 * `ingest`: route + freshness + append user message + append assistant reply + index update, each
 * durable (written to the kernel) before the turn is acknowledged, against stores of growing size.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { SessionManager } from "../src/session/manager.ts";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";
import { PostgresSessionStore } from "../src/store/postgres/postgres-store.ts";
import { RedisSessionStore } from "../src/store/redis/redis-store.ts";
import { SqliteSessionStore } from "../src/store/sqlite/sqlite-store.ts";
import type { SessionStore } from "../src/store/types.ts";
import { makeStore, peerKey, realisticRow, tempHome } from "./fixtures.ts";

export interface IngestResult {
  backend: string;
  sessions: number;
  /** How many distinct sessions the turns go to (spread over the whole store). */
  activeSessions: number;
  turns: number;
  concurrency: number;
  fsync: boolean;
  seconds: number;
  turnsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  loadMs: number;
}

export type IngestBackend = "fs" | "sqlite" | "postgres" | "redis";

/** Rows are written in batches of this many: one `putMany` (one transaction / script) each. */
const SEED_BATCH = 5000;

async function seed(store: SessionStore, sessions: number, dir: string): Promise<void> {
  const now = Date.now();
  for (let from = 0; from < sessions; from += SEED_BATCH) {
    const to = Math.min(sessions, from + SEED_BATCH);
    await store.putMany(
      Array.from({ length: to - from }, (_, j) => ({
        key: peerKey(from + j),
        entry: realisticRow(from + j, now, dir),
      })),
    );
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

export async function benchIngest(
  sessions: number,
  turns: number,
  concurrency: number,
  fsync = false,
  activeSessions = sessions,
  backend: IngestBackend = "fs",
  url?: string,
): Promise<IngestResult> {
  const home = tempHome(`ingest-${backend}-${sessions}`);
  try {
    let store: SessionStore;
    let loadMs: number;
    if (backend === "fs") {
      const storePath = await makeStore(home, sessions);
      const t0 = performance.now();
      store = await FsSessionStore.open({ storePath, fsync });
      loadMs = performance.now() - t0;
    } else if (backend === "sqlite") {
      const file = path.join(home, "agents", "main", "sessions", "sessions.sqlite");
      const seeder = SqliteSessionStore.open({ file });
      await seed(seeder, sessions, path.dirname(file));
      await seeder.close();
      const t0 = performance.now();
      store = SqliteSessionStore.open({ file });
      loadMs = performance.now() - t0;
    } else {
      // Networked stores (url: an empty database of their own): seeded through one connection, then reopened (load = connect + schema check).
      const dir = path.join(home, "agents", "main", "sessions");
      if (!url) throw new Error(`the ${backend} ingest bench needs a server url (a fresh, empty database)`);
      const open = (): Promise<SessionStore> =>
        backend === "postgres"
          ? PostgresSessionStore.open({ url, scope: "main" })
          : RedisSessionStore.open({ url, scope: "main" });
      const seeder = await open();
      await seed(seeder, sessions, dir);
      await seeder.close();
      const t0 = performance.now();
      store = await open();
      loadMs = performance.now() - t0;
    }
    const config = {
      session: {
        dmScope: "per-channel-peer" as const,
        reset: { mode: "daily" as const, atHour: 4, idleMinutes: 10_080 },
      },
    };
    const manager = new SessionManager({ config, storeFor: async () => store, workspaceFor: () => home });
    const latencies: number[] = [];
    let next = 0;
    // The active sessions are spread evenly over the whole store; consecutive turns hit different ones.
    const stride = Math.max(1, Math.floor(sessions / activeSessions));
    const turn = async (i: number): Promise<void> => {
      const peer = `user${((i * 7919) % activeSessions) * stride}`;
      const start = performance.now();
      const res = await manager.recordInbound({
        channel: "telegram",
        chatType: "direct",
        peerId: peer,
        senderId: peer,
        text: `hello ${i}`,
        messageId: `m${i}`,
      });
      await manager.appendAssistant(res.agentId, res.sessionKey, {
        text: `echo: hello ${i}`,
        provider: "echo",
        model: "echo",
        usage: { input: 10, output: 5, totalTokens: 15 },
      });
      latencies.push(performance.now() - start);
    };
    const worker = async (): Promise<void> => {
      while (next < turns) await turn(next++);
    };
    // Warm up (JIT, file handles) before measuring.
    for (let i = 0; i < 200; i++) await turn(turns + i);
    latencies.length = 0;
    const begin = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - begin) / 1000;
    await store.close();
    latencies.sort((a, b) => a - b);
    return {
      backend,
      sessions,
      activeSessions,
      turns,
      concurrency,
      fsync,
      seconds: round(seconds),
      turnsPerSecond: Math.round(turns / seconds),
      p50Ms: round(percentile(latencies, 0.5)),
      p99Ms: round(percentile(latencies, 0.99)),
      loadMs: Math.round(loadMs),
    };
  } finally {
    if (!process.env.PINCER_BENCH_DIR) fs.rmSync(home, { recursive: true, force: true });
    else fs.rmSync(path.join(home, "agents"), { recursive: true, force: true });
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
