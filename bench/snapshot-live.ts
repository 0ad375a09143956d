/**
 * `snapshot`: the fs store's background `sessions.json` rewrite under a steady ingest, at 100 and
 * 100 000 sessions, with the rewrite on (default) and off. Runs for a fixed time (the rewrite is
 * timed, so a turn count that ends in a second would never see one) and reports the per-turn cost,
 * the worst event-loop stall, how many rewrites happened and how far behind `sessions.json` was.
 */
import * as fs from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { SessionManager } from "../src/session/manager.ts";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";
import { makeStore, tempHome } from "./fixtures.ts";

export interface SnapshotLiveResult {
  sessions: number;
  backgroundSnapshot: boolean;
  seconds: number;
  turns: number;
  turnsPerSecond: number;
  /** Wall time per turn across all workers (1 / throughput), the per-message cost. */
  usPerTurn: number;
  /** CPU time of the process per turn, the background rewrite included. */
  cpuUsPerTurn: number;
  p50Ms: number;
  p99Ms: number;
  eventLoopDelayMaxMs: number;
  snapshotsWritten: number;
  /** Longest time `sessions.json` went without a rewrite while turns kept arriving. */
  maxSnapshotGapMs: number;
  snapshotBytes: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

export async function benchSnapshotLive(
  sessions: number,
  seconds: number,
  backgroundSnapshot: boolean,
  concurrency = 32,
  activeSessions = 100,
): Promise<SnapshotLiveResult> {
  const home = tempHome(`snapshot-${sessions}`);
  try {
    const storePath = await makeStore(home, sessions);
    const store = await FsSessionStore.open({ storePath, snapshotIntervalMs: backgroundSnapshot ? 2000 : 0 });
    const config = {
      session: {
        dmScope: "per-channel-peer" as const,
        reset: { mode: "daily" as const, atHour: 4, idleMinutes: 10_080 },
      },
    };
    const manager = new SessionManager({ config, storeFor: async () => store, workspaceFor: () => home });
    const stride = Math.max(1, Math.floor(sessions / activeSessions));
    let seq = 0;
    const turn = async (): Promise<number> => {
      const i = seq++;
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
      return performance.now() - start;
    };
    for (let i = 0; i < 200; i++) await turn();

    const initialMtime = fs.statSync(storePath).mtimeMs;
    let lastMtime = initialMtime;
    let lastChangeAt = performance.now();
    let snapshotsWritten = 0;
    let maxGap = 0;
    const watch = setInterval(() => {
      const m = fs.statSync(storePath).mtimeMs;
      const now = performance.now();
      if (m !== lastMtime) {
        snapshotsWritten++;
        lastMtime = m;
        lastChangeAt = now;
      }
      maxGap = Math.max(maxGap, now - lastChangeAt);
    }, 25);
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const latencies: number[] = [];
    const cpuBefore = process.cpuUsage();
    const begin = performance.now();
    const end = begin + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          latencies.push(await turn());
          // Turns arrive as I/O does in a gateway: timers (the rewrite's) get their turn between them.
          await new Promise((r) => setImmediate(r));
        }
      }),
    );
    const elapsed = (performance.now() - begin) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    loop.disable();
    clearInterval(watch);
    await store.close();
    latencies.sort((a, b) => a - b);
    return {
      sessions,
      backgroundSnapshot,
      seconds: round(elapsed),
      turns: latencies.length,
      turnsPerSecond: Math.round(latencies.length / elapsed),
      usPerTurn: round((elapsed * 1e6) / latencies.length),
      cpuUsPerTurn: round((cpu.user + cpu.system) / latencies.length),
      p50Ms: round(percentile(latencies, 0.5)),
      p99Ms: round(percentile(latencies, 0.99)),
      eventLoopDelayMaxMs: round(loop.max / 1e6),
      snapshotsWritten,
      maxSnapshotGapMs: Math.round(maxGap),
      snapshotBytes: fs.statSync(storePath).size,
    };
  } finally {
    if (!process.env.PINCER_BENCH_DIR) fs.rmSync(home, { recursive: true, force: true });
    else fs.rmSync(`${home}/agents`, { recursive: true, force: true });
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
