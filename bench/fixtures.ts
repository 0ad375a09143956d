/** Builds large stores for benchmarks: rows shaped like the ones real ingestion writes. */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import type { SessionEntry } from "../src/store/entry.ts";
import { writeSnapshot } from "../src/store/fs/snapshot.ts";
import { ensurePrivateDir } from "../src/store/fs/secure-fs.ts";

export function peerKey(i: number): string {
  return `agent:main:telegram:direct:user${i}`;
}

export function realisticRow(i: number, now: number, dir: string): SessionEntry {
  const sessionId = randomUUID();
  const to = `telegram:user${i}`;
  const t = now - (i % 5000) * 60_000;
  return {
    sessionId,
    updatedAt: t,
    sessionStartedAt: t - 3_600_000,
    lastInteractionAt: t,
    sessionFile: path.join(dir, `${sessionId}.jsonl`),
    chatType: "direct",
    origin: {
      label: `User ${i}`,
      provider: "telegram",
      surface: "telegram",
      chatType: "direct",
      from: to,
      to,
      accountId: "default",
    },
    deliveryContext: { channel: "telegram", to, accountId: "default" },
    lastChannel: "telegram",
    lastTo: to,
    lastAccountId: "default",
    model: "echo",
    modelProvider: "echo",
    inputTokens: 1200,
    outputTokens: 300,
    cacheRead: 0,
    cacheWrite: 0,
    totalTokens: 1200,
    totalTokensFresh: true,
    compactionCount: 0,
  };
}

/** Writes a store of `n` sessions at `<home>/agents/main/sessions/sessions.json`; returns its path. */
export async function makeStore(home: string, n: number, now = Date.now()): Promise<string> {
  const dir = path.join(home, "agents", "main", "sessions");
  ensurePrivateDir(dir);
  const storePath = path.join(dir, "sessions.json");
  const rows = Array.from({ length: n }, (_, i) => ({ key: peerKey(i), entry: realisticRow(i, now, dir) }));
  await writeSnapshot(storePath, rows, new Map());
  return storePath;
}

export function tempHome(label: string): string {
  const base =
    process.env.PINCER_BENCH_DIR ?? fs.mkdtempSync(path.join(process.env.TMPDIR ?? "/tmp", `pincer-bench-${label}-`));
  ensurePrivateDir(base);
  return base;
}
