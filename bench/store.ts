/**
 * `store`: the durable backends side by side, and several gateways on one shared store.
 *
 * - `benchStoreIngest`: the session manager's per-turn cost (bench/ingest.ts) on fs, sqlite,
 *   postgres and redis, each at 100 and 100 000 sessions with the same 100 active sessions; the
 *   ratio 100k/100 says whether the cost of a message grows with the store (it must not).
 * - `benchSharedStores`: two `pincer gateway` processes on one PostgreSQL database and on one Redis,
 *   both run durable (`durable-servers.ts`: Postgres `fsync=on`, `synchronous_commit=on`; Redis
 *   `appendonly yes`, `appendfsync everysec`), every session's messages alternating between them
 *   (or all sent to one of them; or, on Postgres, each session to one of them: the no-hand-off
 *   ceiling), each session with one request in flight at a time; for this
 *   checkout and a baseline checkout (`PINCER_BENCH_BASELINE`) in the same run. Per turn it counts
 *   Postgres commits (pg_stat_database), statements and round trips (a short run through
 *   `pg-wire-counter.ts`) and Redis commands (INFO commandstats). Afterwards every transcript is
 *   read back and checked: the user messages exactly m0..m(k-1), each directly answered by
 *   `echo: m<i>`, and one linear parent chain.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import { Redis } from "ioredis";
import pg from "pg";
import { PostgresSessionStore } from "../src/store/postgres/postgres-store.ts";
import { RedisSessionStore } from "../src/store/redis/redis-store.ts";
import type { SessionStore, TranscriptLine } from "../src/store/types.ts";
import { startDurablePostgres, startDurableRedis } from "./durable-servers.ts";
import { startPgWireCounter, type WireCounts } from "./pg-wire-counter.ts";
import { startRedisWireCounter } from "./redis-wire-counter.ts";
import { PROCESS_TOKEN, startGatewayProcess, type GatewayProcess } from "../test/helpers/gateway-process.ts";
import { createTestDatabase, stopTestPostgres } from "../test/helpers/postgres-server.ts";
import { redisAvailable, startTestRedis } from "../test/helpers/redis-server.ts";
import { benchIngest, type IngestBackend, type IngestResult } from "./ingest.ts";
import { cpuMsBetween, cpuMsByName, cpuMsOf } from "./processes.ts";

const round = (v: number): number => Math.round(v * 1000) / 1000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

/** Stops the embedded PostgreSQL server (each Redis server is stopped after its own run). */
export async function stopStoreServers(): Promise<void> {
  await stopTestPostgres();
}

// ---------------------------------------------------------------- ingest on every backend

interface BackendIngest {
  backend: IngestBackend;
  runs?: IngestResult[];
  /** turns/s at 100 000 sessions divided by turns/s at 100 (1 = no growth with store size). */
  ratio100kTo100?: number;
  /** p50 at 100 000 divided by p50 at 100 (1 = no growth). */
  p50Ratio100kTo100?: number;
  skipped?: string;
  error?: string;
}

export async function benchStoreIngest(
  turns: number,
  sizes: readonly number[] = [100, 100_000],
): Promise<BackendIngest[]> {
  const out: BackendIngest[] = [];
  for (const backend of ["fs", "sqlite", "postgres", "redis"] as const) {
    if (backend === "redis" && !redisAvailableQuiet()) {
      out.push({ backend, skipped: "redis-server not found (apt-get install redis-server)" });
      continue;
    }
    const runs: IngestResult[] = [];
    try {
      for (const n of sizes) {
        if (backend === "postgres") {
          runs.push(await benchIngest(n, turns, 32, false, 100, backend, await createTestDatabase()));
        } else if (backend === "redis") {
          // A fresh server per run: nothing of the previous run stays in memory.
          const server = await startTestRedis();
          try {
            runs.push(await benchIngest(n, turns, 32, false, 100, backend, server.url));
          } finally {
            await server.stop();
          }
        } else {
          runs.push(await benchIngest(n, turns, 32, false, 100, backend));
        }
      }
    } catch (err) {
      out.push({ backend, runs, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      continue;
    }
    const small = runs[0]!;
    const large = runs[runs.length - 1]!;
    out.push({
      backend,
      runs,
      ratio100kTo100: round(large.turnsPerSecond / small.turnsPerSecond),
      p50Ratio100kTo100: round(large.p50Ms / small.p50Ms),
    });
  }
  return out;
}

function redisAvailableQuiet(): boolean {
  try {
    const warn = console.warn;
    console.warn = () => {};
    try {
      return redisAvailable();
    } finally {
      console.warn = warn;
    }
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- gateways on one postgres

interface Post {
  status: number;
  body: string;
}

interface CpuReading {
  gateways: number | null;
  database: Map<number, number> | null;
  client: NodeJS.CpuUsage;
}

/** CPU used so far by the gateways, the database server's processes and this process. */
function cpuReading(gws: readonly GatewayProcess[], backend: SharedBackend): CpuReading {
  const each = gws.map((g) => cpuMsOf(g.child.pid!));
  return {
    gateways: each.includes(null) ? null : (each as number[]).reduce((a, b) => a + b, 0),
    database: cpuMsByName(backend === "postgres" ? "postgres" : "redis-server"),
    client: process.cpuUsage(),
  };
}

function cpuSince(
  before: CpuReading,
  after: CpuReading,
): { gateways: number; database: number | null; client: number } | null {
  if (before.gateways === null || after.gateways === null) return null;
  const used = process.cpuUsage(before.client);
  return {
    gateways: after.gateways - before.gateways,
    database: before.database && after.database ? cpuMsBetween(before.database, after.database) : null,
    client: (used.user + used.system) / 1000,
  };
}

/** A bare keep-alive HTTP client: cheaper per request than fetch, so the client steals less CPU from the gateways. */
/**
 * SIGTERM, then SIGKILL if the gateway has not exited within `ms` (a checkout whose gateway stays
 * alive after shutdown, as 9f6007a's could on Redis, must not hang the bench); says so when it had to.
 */
async function stopWithin(g: GatewayProcess, ms: number): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), ms)));
  const how = await Promise.race([g.kill().then(() => "exited" as const), late]);
  clearTimeout(timer);
  if (how === "exited") return null;
  await g.kill("SIGKILL");
  return `gateway pid ${g.child.pid} did not exit within ${ms} ms of SIGTERM: killed`;
}

function makePoster(base: string, agent: http.Agent): (body: string) => Promise<Post> {
  const u = new URL("/v1/inbound", base);
  return (body) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: "POST",
          agent,
          headers: {
            "content-type": "application/json",
            authorization: `Bearer ${PROCESS_TOKEN}`,
            "content-length": Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
}

interface SessionState {
  /** Position in the session list (`partitioned` sends session j to gateway j % 2). */
  index: number;
  peer: string;
  /** Next message index. */
  next: number;
  /** Index of every message answered 200 (normally 0..next-1). */
  acked: number[];
  /** Indexes answered with another status or a transport error: may or may not be stored. */
  failed: number[];
}

interface OrderingReport {
  sessionsChecked: number;
  messagesChecked: number;
  /** Sessions whose transcript is not exactly the expected question/answer sequence. */
  sessionsWithViolations: number;
  missingRows: number;
  readIssues: number;
  /** User messages out of order, missing, or duplicated (counted per position). */
  orderViolations: number;
  /** A user message not directly followed by its own `echo: m<i>` reply. */
  replyViolations: number;
  /** Entries whose parentId is not the previous entry's id. */
  chainBreaks: number;
  /** Requests that failed but whose message was stored anyway (allowed; reported). */
  failedButStored: number;
  examples: string[];
}

type Line = TranscriptLine & { id?: string; parentId?: string | null; message?: { role: string; content: unknown } };

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((b: { text?: string }) => b.text ?? "").join("");
  return "";
}

async function verifyTranscripts(store: SessionStore, sessions: SessionState[]): Promise<OrderingReport> {
  const r: OrderingReport = {
    sessionsChecked: 0,
    messagesChecked: 0,
    sessionsWithViolations: 0,
    missingRows: 0,
    readIssues: 0,
    orderViolations: 0,
    replyViolations: 0,
    chainBreaks: 0,
    failedButStored: 0,
    examples: [],
  };
  const note = (s: string): void => {
    if (r.examples.length < 5) r.examples.push(s);
  };
  {
    for (const s of sessions) {
      if (s.next === 0) continue;
      const key = `agent:main:bench:direct:${s.peer}`;
      const row = await store.get(key);
      if (!row) {
        r.missingRows++;
        r.sessionsWithViolations++;
        note(`${key}: no row`);
        continue;
      }
      r.sessionsChecked++;
      const read = await store.readTranscript(row.sessionId);
      r.readIssues += read.issues.length;
      let prev: string | null = null;
      let chain = 0;
      const msgs: Array<{ role: string; text: string }> = [];
      for (const line of read.lines as Line[]) {
        if (line.type === "session") continue;
        if ((line.parentId ?? null) !== prev) chain++;
        prev = line.id ?? null;
        if (line.type === "message" && line.message)
          msgs.push({ role: line.message.role, text: textOf(line.message.content) });
      }
      // Expected: the acknowledged messages in order; a failed one may appear at its place.
      const failed = new Set(s.failed);
      const users = msgs.map((m, i) => ({ ...m, i })).filter((m) => m.role === "user");
      let order = 0;
      let replies = 0;
      let u = 0;
      for (let n = 0; n < s.next; n++) {
        const cur = users[u];
        if (cur && cur.text === `m${n}`) {
          if (failed.has(n)) r.failedButStored++;
          const reply = msgs[cur.i + 1];
          if (!reply || reply.role !== "assistant" || reply.text !== `echo: m${n}`) replies++;
          u++;
        } else if (!failed.has(n)) {
          order++;
          note(
            `${key}: expected user m${n} at user position ${u}, found ${cur ? JSON.stringify(cur.text) : "end of transcript"}`,
          );
        }
      }
      order += users.length - u; // extra (duplicated or unexpected) user messages
      if (users.length > u) note(`${key}: ${users.length - u} unexpected user message(s) after the expected ones`);
      if (replies) note(`${key}: ${replies} user message(s) not directly followed by their echo reply`);
      if (chain) note(`${key}: ${chain} parent chain break(s)`);
      r.orderViolations += order;
      r.replyViolations += replies;
      r.chainBreaks += chain;
      r.messagesChecked += users.length;
      if (order || replies || chain || read.issues.length) r.sessionsWithViolations++;
    }
  }
  return r;
}

/** Store-operation latency as the gateway's /metrics sees it: calls and mean ms per operation. */
async function storeMetrics(
  gw: GatewayProcess,
): Promise<Record<string, { calls: number; meanMs: number }> & { leaseWaits?: number }> {
  const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${PROCESS_TOKEN}` } });
  const text = await res.text();
  const ops: Record<string, { calls: number; sum: number }> = {};
  for (const m of text.matchAll(/^pincer_store_operation_seconds_(sum|count)\{op="(\w+)"\} ([\d.e+-]+)$/gm)) {
    const o = (ops[m[2]!] ??= { calls: 0, sum: 0 });
    if (m[1] === "sum") o.sum = Number(m[3]);
    else o.calls = Number(m[3]);
  }
  const out: Record<string, { calls: number; meanMs: number }> & { leaseWaits?: number } = {};
  for (const [op, o] of Object.entries(ops))
    out[op] = { calls: o.calls, meanMs: o.calls ? round((o.sum / o.calls) * 1000) : 0 };
  const waits = /^pincer_store_lease_waits_total(?:\{\})? ([\d.]+)$/m.exec(text);
  if (waits) out.leaseWaits = Number(waits[1]);
  return out;
}

async function dbCounters(url: string): Promise<{ commits: number; rollbacks: number }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ xact_commit: string; xact_rollback: string }>(
      "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = current_database()",
    );
    return { commits: Number(r.rows[0]!.xact_commit), rollbacks: Number(r.rows[0]!.xact_rollback) };
  } finally {
    await c.end();
  }
}

/** Redis commands executed so far, per command (INFO commandstats). */
async function redisCommandCounts(url: string): Promise<Record<string, number>> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  try {
    const text = await r.info("commandstats");
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]!] = Number(m[2]);
    return out;
  } finally {
    r.disconnect();
  }
}

function redisDelta(before: Record<string, number>, after: Record<string, number>, turns: number) {
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const [cmd, n] of Object.entries(after)) {
    // The INFO that read `before` is counted in `after`; the one reading `after` is not yet.
    const d = n - (before[cmd] ?? 0) - (cmd === "info" ? 1 : 0);
    if (d <= 0) continue;
    byCommand[cmd] = round(d / Math.max(1, turns));
    total += d;
  }
  return { commands: round(total / Math.max(1, turns)), byCommand };
}

export type SharedBackend = "postgres" | "redis";

/**
 * How messages reach the gateways: `alternating` — message i of a session goes to gateway A when i
 * is even, B when odd (every message hands the session over); `oneGateway` — all to A (B runs idle
 * on the same database); `partitioned` — session j always to gateway j % 2 (both busy, no hand-off:
 * the ceiling of any hand-off scheme, forwarding to the holder included, on this machine).
 */
export type GatewaysMode = "alternating" | "oneGateway" | "partitioned";

export interface GatewaysRunOptions {
  backend: SharedBackend;
  /** The database to use (fresh and empty). */
  url: string;
  mode: GatewaysMode;
  sessions: number;
  concurrency: number;
  durationS: number;
  /** The checkout whose bin/pincer.js runs the gateways (default: this one). */
  root?: string;
  leaseTtlMs?: number;
  /**
   * Postgres only: the gateways connect through this URL (a counting proxy in front of `url`);
   * `wire` reads its counters.
   */
  via?: { url: string; wire: () => WireCounts };
  /** Redis only: the gateways connect through this URL (a counting proxy); `commands` reads it. */
  viaRedis?: { url: string; commands: () => number };
  /** Messages every session gets before the measurement starts (default SETTLE_MESSAGES). */
  settleMessages?: number;
}

/**
 * A session's first two turns are not steady state (its row is created; its lease is taken afresh,
 * and kept only from a continuous second hold on): they run before the measured window.
 */
const SETTLE_MESSAGES = 3;

export interface GatewaysRun {
  backend: SharedBackend;
  checkout: string;
  mode: GatewaysMode;
  gateways: number;
  sessions: number;
  concurrency: number;
  durationS: number;
  turns: number;
  turnsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Messages sent per session (min / mean / max). */
  messagesPerSession: { min: number; mean: number; max: number };
  /** Messages that went to a different gateway than the session's previous message. */
  crossGatewayMessages: number;
  non200: number;
  transportErrors: number;
  statusCounts: Record<string, number>;
  /** Replies whose text was not `echo: m<i>` of the message sent. */
  wrongReplies: number;
  /**
   * What the store did per turn over the measured window, every gateway together (lease renewals,
   * event relays and all): Postgres commits and rollbacks from pg_stat_database, and, when run
   * through the counting proxy, statements and round trips from the wire; Redis commands from
   * INFO commandstats.
   */
  perTurn: Record<string, unknown>;
  /**
   * CPU time per turn of the measured window (Linux /proc): both gateways, the database server's
   * processes, this load generator (with the wire counter, when one runs: it is in this process);
   * and how many cores that kept busy. Null where /proc cannot be read.
   */
  cpuMsPerTurn: { gateways: number; database: number | null; client: number; coresBusy: number } | null;
  /** Per gateway: store operations as timed in the gateway (calls, mean ms). */
  storeOps: Array<Record<string, unknown>>;
  ordering: OrderingReport;
  firstErrors: string[];
}

/**
 * `sessions` sessions on one fresh database behind two gateways; `concurrency` client loops, each
 * taking the longest-idle session, sending its next message and putting it back: every session has
 * at most one request in flight, and messages of a session are sent strictly one after another.
 * `mode`: see GatewaysMode.
 */
export async function benchSharedGateways(o: GatewaysRunOptions): Promise<GatewaysRun> {
  const { backend, url, mode, concurrency, durationS } = o;
  const sessionCount = o.sessions;
  const config = {
    session: {
      dmScope: "per-channel-peer",
      reset: { mode: "none" },
      store: { backend, url: o.via?.url ?? o.viaRedis?.url ?? url, leaseTtlMs: o.leaseTtlMs ?? 5000 },
    },
    agents: { defaults: { compaction: { memoryFlush: { enabled: false } } } },
  };
  const gws = await Promise.all([
    startGatewayProcess(config, { root: o.root }),
    startGatewayProcess(config, { root: o.root }),
  ]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    const posts = gws.map((g) => makePoster(g.url, agent));
    const sessions: SessionState[] = Array.from({ length: sessionCount }, (_, i) => ({
      index: i,
      peer: `p${i}`,
      next: 0,
      acked: [],
      failed: [],
    }));
    // Warm up both gateways (JIT, pool connections) on sessions of their own, outside the measurement.
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 10; i++)
          await posts[(w + i) % 2]!(
            JSON.stringify({
              channel: "bench",
              chatType: "direct",
              peerId: `warm${w}`,
              senderId: `warm${w}`,
              text: `w${i}`,
            }),
          );
      }),
    );
    const idle = [...sessions];
    const latencies: number[] = [];
    const statusCounts: Record<string, number> = {};
    const firstErrors: string[] = [];
    let transportErrors = 0;
    let wrongReplies = 0;
    let stopAt = Infinity;
    let settling = true;
    const settleMessages = o.settleMessages ?? SETTLE_MESSAGES;
    const loop = async (): Promise<void> => {
      while (performance.now() < stopAt) {
        const s = idle.shift();
        if (!s) return; // more loops than sessions
        if (settling && s.next >= settleMessages) {
          idle.unshift(s); // every session is settled (the longest-idle one was the last to be)
          return;
        }
        const n = s.next++;
        const post = posts[mode === "alternating" ? n % 2 : mode === "partitioned" ? s.index % 2 : 0]!;
        const body = JSON.stringify({
          channel: "bench",
          chatType: "direct",
          peerId: s.peer,
          senderId: s.peer,
          text: `m${n}`,
          messageId: `${s.peer}-${n}`,
        });
        const t0 = performance.now();
        try {
          const res = await post(body);
          if (!settling) latencies.push(performance.now() - t0);
          if (!settling) statusCounts[res.status] = (statusCounts[res.status] ?? 0) + 1;
          if (res.status === 200) {
            s.acked.push(n);
            const reply = (JSON.parse(res.body) as { reply?: unknown }).reply;
            if (reply !== `echo: m${n}`) wrongReplies++;
          } else {
            s.failed.push(n);
            if (firstErrors.length < 5) firstErrors.push(`${res.status} ${res.body.slice(0, 300)}`);
          }
        } catch (err) {
          if (!settling) latencies.push(performance.now() - t0);
          transportErrors++;
          s.failed.push(n);
          if (firstErrors.length < 5) firstErrors.push(String(err));
        }
        idle.push(s);
      }
    };
    // Every session's first messages outside the measurement: a session's first turns create its
    // row and take its lease afresh; the figures are those of sessions already under way.
    await Promise.all(Array.from({ length: concurrency }, loop));
    settling = false;
    const pgBefore = backend === "postgres" ? await dbCounters(url) : null;
    const redisBefore = backend === "redis" ? await redisCommandCounts(url) : null;
    const wireBefore = o.via?.wire();
    const sentBefore = o.viaRedis?.commands();
    const cpuBefore = cpuReading(gws, backend);
    const begin = performance.now();
    stopAt = begin + durationS * 1000;
    await Promise.all(Array.from({ length: concurrency }, loop));
    const seconds = (performance.now() - begin) / 1000;
    const cpu = cpuSince(cpuBefore, cpuReading(gws, backend));
    const wireAfter = o.via?.wire();
    const sentAfter = o.viaRedis?.commands();
    const redisAfter = backend === "redis" ? await redisCommandCounts(url) : null;
    const storeOps = await Promise.all(gws.map((g) => storeMetrics(g)));

    latencies.sort((a, b) => a - b);
    const turns = latencies.length;
    const non200 = turns - (statusCounts["200"] ?? 0);
    // All gateways stopped before reading back: nothing is in flight any more, and their database
    // sessions have ended, which flushes their transaction statistics.
    const stuck = await Promise.all(gws.map((g) => stopWithin(g, 20_000)));
    for (const line of stuck) if (line) firstErrors.push(line);
    const perTurn: Record<string, unknown> = {};
    const per = (n: number): number => round(n / Math.max(1, turns));
    if (pgBefore) {
      const after = await dbCounters(url);
      perTurn.commits = per(after.commits - pgBefore.commits);
      perTurn.rollbacks = per(after.rollbacks - pgBefore.rollbacks);
    }
    if (wireBefore && wireAfter) {
      perTurn.statements = per(wireAfter.statements - wireBefore.statements);
      perTurn.roundTrips = per(wireAfter.roundTrips - wireBefore.roundTrips);
      // Counted on the wire, in the window itself (see pg-wire-counter.ts); pg_stat_database's
      // figure, which lags by seconds, stays as `commitsPgStat`.
      perTurn.commitsPgStat = perTurn.commits;
      perTurn.commits = per(wireAfter.commits - wireBefore.commits);
    }
    if (redisBefore && redisAfter) {
      // commandstats counts the commands a script runs too: reported, but not "commands sent".
      const d = redisDelta(redisBefore, redisAfter, turns);
      perTurn.serverCommandsInclScriptCalls = d.commands;
      perTurn.serverCommandsByName = d.byCommand;
    }
    if (sentBefore !== undefined && sentAfter !== undefined) perTurn.commands = per(sentAfter - sentBefore);
    const reader: SessionStore =
      backend === "postgres"
        ? await PostgresSessionStore.open({ url, scope: "main" })
        : await RedisSessionStore.open({ url, scope: "main" });
    let ordering: OrderingReport;
    try {
      ordering = await verifyTranscripts(reader, sessions);
    } finally {
      await reader.close();
    }
    const perSession = sessions.map((s) => s.next);
    return {
      backend,
      checkout: o.root ?? "current",
      mode,
      gateways: mode === "oneGateway" ? 1 : 2,
      sessions: sessionCount,
      concurrency,
      durationS: round(seconds),
      turns,
      turnsPerSecond: Math.round(turns / seconds),
      latencyMs: {
        p50: round(percentile(latencies, 0.5)),
        p90: round(percentile(latencies, 0.9)),
        p99: round(percentile(latencies, 0.99)),
        max: round(latencies[turns - 1] ?? 0),
      },
      messagesPerSession: {
        min: Math.min(...perSession),
        mean: round(turns / sessionCount),
        max: Math.max(...perSession),
      },
      crossGatewayMessages: mode === "alternating" ? perSession.reduce((a, k) => a + Math.max(0, k - 1), 0) : 0,
      non200,
      transportErrors,
      statusCounts,
      wrongReplies,
      perTurn,
      cpuMsPerTurn: cpu
        ? {
            gateways: round(cpu.gateways / Math.max(1, turns)),
            database: cpu.database === null ? null : round(cpu.database / Math.max(1, turns)),
            client: round(cpu.client / Math.max(1, turns)),
            coresBusy: round((cpu.gateways + (cpu.database ?? 0) + cpu.client) / (seconds * 1000)),
          }
        : null,
      storeOps,
      ordering,
      firstErrors,
    };
  } finally {
    agent.destroy();
    await Promise.all(gws.map((g) => g.kill().catch(() => undefined)));
    for (const g of gws) fs.rmSync(g.home, { recursive: true, force: true });
  }
}

export interface SharedStoreBench {
  durability: { postgres: Record<string, string>; redis?: Record<string, string> };
  baseline: string | null;
  runs: GatewaysRun[];
  /** current / baseline of turns/s per case (same run, same machine). */
  ratios: Record<string, number>;
  /**
   * Two gateways with no hand-off at all (`partitioned`), this checkout: how far the alternating
   * case could go on this machine, and that ceiling against the baseline's alternating case.
   */
  ceiling: { alternatingOverPartitioned?: number; partitionedOverBaselineAlternating?: number };
  targets: Record<string, unknown>;
  pass: Record<string, boolean>;
}

/**
 * Two gateways on one durable PostgreSQL (alternating, one gateway, partitioned) and on one durable Redis (alternating, one gateway), for
 * this checkout and, when given, the baseline checkout, interleaved; then short counting runs
 * through the wire counter (Postgres) for the per-turn statements and round trips.
 */
export async function benchSharedStores(opts: {
  sessions: number;
  concurrency: number;
  seconds: number;
  countSeconds: number;
  baseline?: string;
}): Promise<SharedStoreBench> {
  const checkouts: Array<string | undefined> = opts.baseline ? [undefined, opts.baseline] : [undefined];
  const pgServer = await startDurablePostgres();
  const redis = redisAvailableQuiet() ? await startDurableRedis() : null;
  const runs: GatewaysRun[] = [];
  const common = { sessions: opts.sessions, concurrency: opts.concurrency };
  try {
    // `partitioned` only on Postgres: the ceiling the alternating case is measured against.
    for (const mode of ["alternating", "oneGateway", "partitioned"] as const)
      for (const root of checkouts)
        runs.push(
          await benchSharedGateways({
            ...common,
            backend: "postgres",
            url: await pgServer.createDatabase(),
            mode,
            durationS: opts.seconds,
            root,
          }),
        );
    for (const mode of ["alternating", "oneGateway"] as const)
      for (const root of checkouts) {
        const url = await pgServer.createDatabase();
        const counter = await startPgWireCounter(url);
        try {
          const run = await benchSharedGateways({
            ...common,
            backend: "postgres",
            url,
            mode,
            durationS: opts.countSeconds,
            root,
            via: { url: counter.url, wire: counter.counts },
          });
          runs.push({ ...run, checkout: `${run.checkout} (through the wire counter)` });
        } finally {
          await counter.close();
        }
      }
    if (redis) {
      for (const mode of ["alternating", "oneGateway"] as const)
        for (const root of checkouts) {
          // One server for every run: each run uses a scope's keys afresh after FLUSHALL.
          const r = new Redis(redis.url);
          await r.flushall();
          r.disconnect();
          runs.push(
            await benchSharedGateways({
              ...common,
              backend: "redis",
              url: redis.url,
              mode,
              durationS: opts.seconds,
              root,
            }),
          );
        }
      for (const mode of ["alternating", "oneGateway"] as const)
        for (const root of checkouts) {
          const r = new Redis(redis.url);
          await r.flushall();
          r.disconnect();
          const counter = await startRedisWireCounter(redis.url);
          try {
            const run = await benchSharedGateways({
              ...common,
              backend: "redis",
              url: redis.url,
              mode,
              durationS: opts.countSeconds,
              root,
              viaRedis: { url: counter.url, commands: counter.commands },
            });
            runs.push({ ...run, checkout: `${run.checkout} (through the wire counter)` });
          } finally {
            await counter.close();
          }
        }
    }
  } finally {
    await redis?.stop();
    await pgServer.stop();
  }
  const find = (backend: SharedBackend, mode: string, baseline: boolean, counted = false) =>
    runs.find(
      (r) =>
        r.backend === backend &&
        r.mode === mode &&
        r.checkout.startsWith(baseline ? opts.baseline! : "current") &&
        r.checkout.includes("wire counter") === counted,
    );
  const ratios: Record<string, number> = {};
  if (opts.baseline)
    for (const backend of ["postgres", "redis"] as const)
      for (const mode of ["alternating", "oneGateway", "partitioned"]) {
        const cur = find(backend, mode, false);
        const base = find(backend, mode, true);
        if (cur && base) ratios[`${backend}.${mode}.turnsPerSecond`] = round(cur.turnsPerSecond / base.turnsPerSecond);
      }
  const two = find("postgres", "alternating", false);
  const oneCounted = find("postgres", "oneGateway", false, true);
  const redisOne = find("redis", "oneGateway", false, true);
  const num = (v: unknown): number => (typeof v === "number" ? v : Infinity);
  const pass: Record<string, boolean> = {
    postgresTwoGatewaysP99Under100ms: (two?.latencyMs.p99 ?? Infinity) < 100,
    postgresOneGatewayAtMost2CommitsPerTurn: num(oneCounted?.perTurn.commits) <= 2,
    postgresOneGatewayAtMost5RoundTripsPerTurn: num(oneCounted?.perTurn.roundTrips) <= 5,
    redisOneGatewayAtMost3CommandsPerTurn: num(redisOne?.perTurn.commands) <= 3,
    orderingClean: runs.every((r) => r.ordering.sessionsWithViolations === 0 && r.wrongReplies === 0),
  };
  if (opts.baseline)
    pass.postgresTwoGatewaysAtLeast2xBaseline = (ratios["postgres.alternating.turnsPerSecond"] ?? 0) >= 2;
  const partitioned = find("postgres", "partitioned", false);
  const baseTwo = opts.baseline ? find("postgres", "alternating", true) : undefined;
  const ceiling: SharedStoreBench["ceiling"] = {};
  if (two && partitioned) ceiling.alternatingOverPartitioned = round(two.turnsPerSecond / partitioned.turnsPerSecond);
  if (partitioned && baseTwo)
    ceiling.partitionedOverBaselineAlternating = round(partitioned.turnsPerSecond / baseTwo.turnsPerSecond);
  return {
    durability: { postgres: pgServer.settings, ...(redis ? { redis: redis.settings } : {}) },
    baseline: opts.baseline ?? null,
    runs,
    ratios,
    ceiling,
    targets: {
      postgresTwoGateways: { minRatioToBaseline: 2, maxP99Ms: 100 },
      postgresSteadyTurn: { maxCommits: 2, maxRoundTrips: 5 },
      redisSteadyTurn: { maxCommands: 3 },
    },
    pass,
  };
}
