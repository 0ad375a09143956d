/**
 * The `postgres` backend: one database shared by every agent and every gateway process. Each store
 * instance is one `scope` (the agent id) and every query filters on it. Writes are short
 * transactions; writers of one session key (or one transcript) are serialised across processes by
 * transaction-scoped advisory locks plus row locks, so a missing row is covered too.
 *
 * Round trips: pool connections run in pg's pipeline mode, and a transaction is two round trips
 * in the common case. The first sends BEGIN, `pg_current_xact_id()`, the advisory locks and the
 * transaction's reads together (nothing in it writes, so if BEGIN itself failed no write ran
 * outside the transaction, and the error is seen before anything else is sent); the last sends the
 * final writes together with COMMIT (a failing write turns that COMMIT into a rollback). The
 * transaction id is therefore known before COMMIT is sent. Lock keys are still hashed by the server
 * with the same expression as before, so older and newer processes exclude each other.
 *
 * Robustness: a connection-level failure (server restart, dropped socket, terminated backend) or a
 * serialization failure aborts the transaction and the whole transaction is retried with backoff;
 * nothing is ever half-written. When the connection dies during COMMIT itself the outcome is
 * ambiguous, so the transaction id is looked up (`pg_xact_status`) before deciding whether to
 * retry: a committed transaction is never applied twice. Requires PostgreSQL 13 or newer.
 *
 * Lease clock: when the caller injects `now` (tests, a fake clock), lease expiry uses it; otherwise
 * the database server's clock decides, so gateways on hosts with skewed clocks still agree.
 *
 * Events use LISTEN/NOTIFY on channel `pincer_events`. NOTIFY payloads are limited (8000 bytes); an
 * event whose JSON is larger is delivered with `payload: null` and `truncated: true`, so listeners
 * learn that something happened and can re-read the store. Events published while a listener's
 * connection is down are lost (it reconnects with backoff).
 */
import { createHash, randomUUID } from "node:crypto";
import pg from "pg";
import type { PoolClient, QueryConfig, QueryResult, QueryResultRow } from "pg";
import { PincerError } from "../../errors.ts";
import { assertValidSessionId } from "../../keys/ids.ts";
import type { SessionEntry } from "../entry.ts";
import { decodeCursor, encodeCursor } from "../list-order.ts";
import { archiveName, parseStoredLines, splitLines } from "../transcript-codec.ts";
import {
  FencedError,
  LeaseTimeoutError,
  SchemaVersionError,
  StoreError,
  StoreUnavailableError,
  type ArchiveReason,
  type Fence,
  type Lease,
  type LeaseWithRow,
  type TailHint,
  type ListFilter,
  type ListOptions,
  type ListPage,
  type PatchMutator,
  type PatchResult,
  type ReadIssue,
  type SessionRow,
  type SessionStore,
  type StoreCapabilities,
  type StoreEvent,
  type StoreEvents,
  type TranscriptLine,
  type TranscriptRead,
} from "../types.ts";
import { RideAlongQueue, type Rider } from "../ride-along.ts";
import { copyRow } from "../row-copy.ts";
import { migrate } from "./postgres-schema.ts";
import { maskUrl } from "../url-mask.ts";

export { POSTGRES_SCHEMA_VERSION } from "./postgres-schema.ts";
export { SchemaVersionError } from "../types.ts";

export interface PostgresStoreOptions {
  /** `postgres://user:pass@host:5432/db`. */
  url: string;
  /** The agent id: every row this instance reads or writes carries it. */
  scope: string;
  /** Clock for lease expiry (default: the database server's clock) and archive names. */
  now?: () => number;
  leaseTtlMs?: number;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** How long `open` keeps retrying an unreachable database (default 10 000 ms). */
  connectTimeoutMs?: number;
  /** Retries of a transaction after a connection or serialization failure (default 5 attempts, 100 ms base). */
  retry?: { attempts: number; baseDelayMs: number };
}

export const EVENTS_CHANNEL = "pincer_events";
/** NOTIFY refuses payloads of 8000 bytes or more; stay clear of the limit. */
const MAX_NOTIFY_BYTES = 7900;

/** A transaction lost a race that its locks could not prevent; run it again. */
class RetryTransaction extends PincerError {
  override readonly code = "retry_transaction";
}

interface PgLikeError {
  code?: unknown;
  message?: unknown;
  errors?: unknown;
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "57P01",
  "57P02",
  "57P03",
]);
const CONNECTION_MESSAGES =
  /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|terminating connection/i;

/** A failure of the connection itself (the statement may not have run): safe to retry a transaction. */
export function isConnectionError(err: unknown): boolean {
  if (!err || typeof err !== "object") return false;
  const e = err as PgLikeError;
  if (typeof e.code === "string" && (CONNECTION_CODES.has(e.code) || e.code.startsWith("08"))) return true;
  if (typeof e.message === "string" && CONNECTION_MESSAGES.test(e.message)) return true;
  return Array.isArray(e.errors) && e.errors.some(isConnectionError);
}

function isSerializationError(err: unknown): boolean {
  const code = err && typeof err === "object" ? (err as PgLikeError).code : undefined;
  return code === "40001" || code === "40P01";
}

function describeError(err: unknown): string {
  if (!err || typeof err !== "object") return String(err);
  const e = err as PgLikeError;
  let msg = typeof e.message === "string" && e.message ? e.message : "";
  if (!msg && Array.isArray(e.errors) && e.errors.length) msg = describeError(e.errors[0]);
  const code = typeof e.code === "string" ? e.code : "";
  if (!msg) return code || String(err);
  return code && !msg.includes(code) ? `${msg} (${code})` : msg;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `host:port/database` of a connection URL (never the credentials). */
export function endpointOf(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get("host") || "localhost";
    return `${host}:${u.port || "5432"}/${decodeURIComponent(u.pathname.replace(/^\//, "")) || "postgres"}`;
  } catch {
    return "postgres";
  }
}

interface LeaseRow {
  owner: string;
  epoch: string;
  expires_at: string;
  free: boolean;
}

/** One statement of a pipelined batch. */
interface Stmt {
  sql: string;
  params?: unknown[];
}

type LockKind = "row" | "transcript";

/** What a transaction reads in its first round trip, after BEGIN and its advisory locks. */
interface TxPlan {
  /** Transaction-scoped advisory locks, taken in this order before `reads` run. */
  locks?: ReadonlyArray<readonly [LockKind, string]>;
  /** Statements that write nothing (or only idempotently): they are sent before BEGIN is confirmed. */
  reads?: Stmt[];
}

/** What a transaction's work hands back: its result, and the writes sent together with COMMIT. */
interface TxDone<T> {
  value: T;
  writes?: Stmt[];
  /** A unique violation by `writes` means a row appeared concurrently: run the transaction again. */
  retryOnConflict?: boolean;
}

const SERVER_CLOCK_SQL = "SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS n";
/** The advisory lock of one key: the same expression (hashed by the server) as every earlier version. */
const lockExpr = (p: number) =>
  `pg_advisory_xact_lock(hashtextextended($${p}::text || chr(31) || $${p + 1}::text || chr(31) || $${p + 2}::text, 0))`;

/**
 * One statement taking `locks` in order (the server evaluates a select list left to right) and,
 * with `leaseName`, then locking that lease's row: one statement instead of one each, so the
 * statement after it still runs with a snapshot taken once every lock is held.
 */
function lockStatement(
  scope: string,
  locks: ReadonlyArray<readonly [LockKind, string]>,
  leaseName?: string,
): Stmt | null {
  const exprs: string[] = [];
  const params: unknown[] = [];
  for (const [kind, id] of locks) {
    exprs.push(lockExpr(params.length + 1));
    params.push(kind, scope, id);
  }
  if (leaseName !== undefined) {
    exprs.push(
      `(SELECT 1 FROM leases WHERE scope = $${params.length + 1} AND name = $${params.length + 2} FOR UPDATE) AS lease`,
    );
    params.push(scope, leaseName);
  }
  return exprs.length ? { sql: `SELECT ${exprs.join(", ")}`, params } : null;
}

/** One NOTIFY per waiting event, to be sent inside a transaction (delivered at its COMMIT). */
function notifyStatements(riders: readonly Rider[]): Stmt[] {
  return riders.map((r) => ({ sql: "SELECT pg_notify($1, $2)", params: [EVENTS_CHANNEL, r.text] }));
}

const statementNames = new Map<string, string>();

/**
 * A statement with parameters as a named prepared statement: the server parses and plans it once
 * per connection instead of on every call (pg remembers which connection has prepared which name).
 */
function prepared(sql: string, params: readonly unknown[] | undefined): QueryConfig {
  if (!params || params.length === 0) return { text: sql };
  let name = statementNames.get(sql);
  if (!name) {
    name = `pincer_${createHash("sha256").update(sql).digest("hex").slice(0, 24)}`;
    statementNames.set(sql, name);
  }
  return { name, text: sql, values: params as unknown[] };
}

/**
 * Gives back a client whose transaction failed with `err`: one whose connection was lost is
 * discarded; otherwise the transaction is rolled back first (a client that cannot even do that is
 * discarded). Returns whether the connection was lost.
 */
async function releaseFailed(client: PoolClient, err: unknown): Promise<boolean> {
  if (isConnectionError(err)) {
    client.release(err as Error);
    return true;
  }
  try {
    await client.query("ROLLBACK");
    client.release();
  } catch (rollbackErr) {
    client.release(rollbackErr as Error);
  }
  return false;
}

/**
 * Sends `stmts` back to back on a pipelined connection (one round trip) and waits for every reply.
 * Throws the first failure in statement order: a later one is only its consequence ("current
 * transaction is aborted").
 */
async function pipelined(c: PoolClient, stmts: readonly Stmt[]): Promise<QueryResult[]> {
  // One socket write for the whole batch: pg corks each query on its own, and on this path the
  // write system calls (each waking the server) cost more than everything else in the client.
  const stream = (c as unknown as { connection?: { stream?: { cork?: () => void; uncork?: () => void } } }).connection
    ?.stream;
  stream?.cork?.();
  let pending: Array<Promise<QueryResult>>;
  try {
    pending = stmts.map((st) => c.query(prepared(st.sql, st.params)));
  } finally {
    stream?.uncork?.();
  }
  const settled = await Promise.allSettled(pending);
  const results: QueryResult[] = [];
  for (const r of settled) {
    if (r.status === "rejected") throw r.reason;
    results.push(r.value);
  }
  return results;
}

export class PostgresSessionStore implements SessionStore {
  readonly backend = "postgres";
  readonly location: string;
  readonly scope: string;
  readonly events: StoreEvents;
  readonly capabilities: StoreCapabilities;
  private readonly url: string;
  private readonly endpoint: string;
  private readonly pool: pg.Pool;
  private readonly injectedNow: (() => number) | undefined;
  private readonly leaseTtlMs: number;
  private readonly connectTimeoutMs: number;
  private readonly retry: { attempts: number; baseDelayMs: number };
  private readonly owner = `pg-${process.pid}-${randomUUID().slice(0, 8)}`;
  private closed = false;
  private ended: Promise<void> | null = null;

  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private listenClient: pg.Client | null = null;
  private listenStarting: Promise<void> | null = null;
  private relistenTimer: NodeJS.Timeout | null = null;
  private relistenDelay = 100;
  /** Events waiting for a write transaction's COMMIT (`publishSoon`), in order; sent alone if no write comes. */
  private readonly riding = new RideAlongQueue((riders) => this.sendRiders(riders));

  private constructor(options: PostgresStoreOptions) {
    this.url = options.url;
    this.scope = options.scope;
    this.endpoint = endpointOf(options.url);
    this.location = `${maskUrl(options.url)}#${options.scope}`;
    this.injectedNow = options.now;
    this.leaseTtlMs = options.leaseTtlMs ?? 5000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.retry = options.retry ?? { attempts: 5, baseDelayMs: 100 };
    // Pipeline mode: queries issued without awaiting the previous one share a round trip.
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: this.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      pipeline: true,
    });
    // An idle client whose server connection dies is removed by the pool and reported here; a
    // checked-out one reports through its query's rejection. Neither may crash the process.
    this.pool.on("error", () => {});
    this.pool.on("connect", (client) => client.on("error", () => {}));
    this.events = {
      publish: (event) => this.publish(event),
      publishSoon: (event) => this.publishSoon(event),
      subscribe: (listener) => this.subscribe(listener),
    };
    this.capabilities = { shared: true, events: this.events };
  }

  static async open(opts: PostgresStoreOptions): Promise<PostgresSessionStore> {
    const store = new PostgresSessionStore(opts);
    try {
      await store.connectAndMigrate();
    } catch (err) {
      store.closed = true;
      await store.pool.end().catch(() => {});
      throw err;
    }
    return store;
  }

  /** The scopes (agent ids) having session rows or transcripts in the database, sorted. */
  static async scopes(url: string): Promise<string[]> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    client.on("error", () => {});
    try {
      await client.connect();
    } catch (err) {
      throw new StoreUnavailableError(`postgres at ${endpointOf(url)} is unreachable: ${describeError(err)}`, {
        cause: err,
      });
    }
    try {
      const exists = await client.query<{ t: string | null }>("SELECT to_regclass('sessions')::text AS t");
      if (!exists.rows[0]?.t) return [];
      const r = await client.query<{ scope: string }>(
        "SELECT scope FROM sessions UNION SELECT scope FROM transcript_lines ORDER BY 1",
      );
      return r.rows.map((row) => row.scope);
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** Connects (retrying an unreachable server with backoff until the deadline) and migrates. */
  private async connectAndMigrate(): Promise<void> {
    const started = Date.now();
    let attempts = 0;
    let delay = 100;
    for (;;) {
      attempts++;
      let client: PoolClient | undefined;
      try {
        client = await this.pool.connect();
        await migrate(client, this.location);
        client.release();
        return;
      } catch (err) {
        client?.release(isConnectionError(err) ? (err as Error) : undefined);
        if (err instanceof SchemaVersionError) throw err;
        const code = (err as PgLikeError).code;
        if (typeof code === "string" && (code.startsWith("28") || code === "3D000")) {
          throw new StoreUnavailableError(
            `postgres at ${this.endpoint} refused the connection: ${describeError(err)}`,
            { cause: err },
          );
        }
        if (!isConnectionError(err) && !isSerializationError(err)) throw err;
        const elapsed = Date.now() - started;
        if (elapsed >= this.connectTimeoutMs) {
          throw new StoreUnavailableError(
            `postgres at ${this.endpoint} is unreachable: gave up after ${attempts} attempt${attempts === 1 ? "" : "s"} over ${elapsed} ms: ${describeError(err)}`,
            { cause: err },
          );
        }
        await sleep(Math.min(delay, this.connectTimeoutMs - elapsed));
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  private backoff(attempt: number): Promise<void> {
    const base = this.retry.baseDelayMs * 2 ** (attempt - 1);
    return sleep(Math.min(base, 5000) * (0.75 + Math.random() * 0.5));
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError(`${this.location}: the store is closed`);
  }

  private gaveUp(attempts: number, err: unknown): StoreUnavailableError {
    return new StoreUnavailableError(
      `postgres at ${this.endpoint} is unavailable: gave up after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${describeError(err)}`,
      { cause: err },
    );
  }

  /** One statement outside a transaction (reads, idempotent writes), retried on connection loss. */
  private async q<R extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<QueryResult<R>> {
    let last: unknown;
    for (let attempt = 1; attempt <= this.retry.attempts; attempt++) {
      this.assertOpen();
      try {
        return await this.pool.query<R>(prepared(sql, params));
      } catch (err) {
        if (!isConnectionError(err) && !isSerializationError(err)) throw err;
        last = err;
        if (attempt < this.retry.attempts) await this.backoff(attempt);
      }
    }
    throw this.gaveUp(this.retry.attempts, last);
  }

  /**
   * Runs `work` in a transaction; on a connection or serialization failure the transaction is
   * rolled back (or dies with its connection) and run again from the start. `work` must therefore
   * have no effects outside the transaction.
   *
   * Round trip 1: BEGIN, the transaction id, `plan.locks`, `plan.reads` (their results are handed
   * to `work`). `work` may run further statements itself. Last round trip: `writes` and COMMIT.
   */
  private async tx<T>(
    plan: TxPlan,
    work: (c: PoolClient, reads: QueryResult[]) => Promise<TxDone<T>> | TxDone<T>,
  ): Promise<T> {
    const first: Stmt[] = [{ sql: "BEGIN" }, { sql: "SELECT pg_current_xact_id()::text AS x" }];
    const locks = lockStatement(this.scope, plan.locks ?? []);
    if (locks) first.push(locks);
    const nHead = first.length;
    first.push(...(plan.reads ?? []));
    let last: unknown;
    for (let attempt = 1; attempt <= this.retry.attempts; attempt++) {
      const client = await this.connectFor(attempt, (err) => (last = err));
      if (!client) continue;
      let done: TxDone<T> | null = null;
      let xid: string | null = null;
      let committing = false;
      let riders: Rider[] = [];
      try {
        const results = await pipelined(client, first);
        xid = (results[1] as QueryResult<{ x: string }>).rows[0]!.x;
        done = await work(client, results.slice(nHead));
        committing = true;
        // Waiting events go out with this COMMIT: NOTIFY is delivered at commit, so it costs no commit of its own.
        riders = this.riding.take();
        const end = await pipelined(client, [...(done.writes ?? []), ...notifyStatements(riders), { sql: "COMMIT" }]);
        // A COMMIT that found the transaction aborted answers ROLLBACK; the failure itself was thrown above.
        if (end[end.length - 1]!.command !== "COMMIT")
          throw new StoreError(`${this.location}: the transaction was rolled back at COMMIT`);
        client.release();
        for (const r of riders) r.sent();
        return done.value;
      } catch (err) {
        // Not sent with this transaction (unless it turns out committed, below): back to the front, in order.
        const unsent = riders;
        riders = [];
        const requeue = (): void => {
          this.riding.putBack(unsent);
        };
        const lost = await releaseFailed(client, err);
        if (lost && committing && done && xid) {
          // The connection died while the final writes and COMMIT were on the wire: the
          // transaction may or may not have committed. Ask. (A failing write aborts it, so
          // "committed" means every write of `done` took effect.)
          const outcome = await this.commitOutcome(xid);
          if (outcome === "committed") {
            for (const r of unsent) r.sent();
            return done.value;
          }
          requeue();
          if (outcome === "unknown")
            throw new StoreUnavailableError(
              `postgres at ${this.endpoint}: the connection was lost during COMMIT and the outcome could not be determined: ${describeError(err)}`,
              { cause: err },
            );
        } else requeue();
        const conflict = committing && done?.retryOnConflict === true && (err as PgLikeError).code === "23505";
        if (!lost && !conflict && !isSerializationError(err) && !(err instanceof RetryTransaction)) throw err;
        last = err;
        if (attempt < this.retry.attempts) await this.backoff(attempt);
      }
    }
    throw this.gaveUp(this.retry.attempts, last);
  }

  /** Whether a transaction whose COMMIT reply was lost committed. */
  private async commitOutcome(xid: string): Promise<"committed" | "aborted" | "unknown"> {
    const deadline = Date.now() + Math.max(this.connectTimeoutMs, 5000);
    let attempt = 0;
    while (Date.now() < deadline && !this.closed) {
      attempt++;
      try {
        const r = await this.pool.query<{ s: string | null }>("SELECT pg_xact_status($1::xid8) AS s", [xid]);
        const s = r.rows[0]?.s ?? null;
        if (s === "committed") return "committed";
        if (s === "aborted") return "aborted";
        if (s === null) return "unknown";
        await sleep(20); // "in progress": the old backend has not finished yet
      } catch (err) {
        if (!isConnectionError(err)) return "unknown";
        await this.backoff(Math.min(attempt, 5));
      }
    }
    return "unknown";
  }

  /**
   * Reads of the lease `name` (locked FOR `lock`) and of the lease clock, in that order: the server's
   * clock is read by a statement of its own, after the row lock is held. Parse with `leaseAndClock`.
   */
  private leaseReads(name: string, lock: "SHARE" | "UPDATE"): Stmt[] {
    const row = {
      sql: `SELECT owner, epoch, expires_at, free FROM leases WHERE scope = $1 AND name = $2 FOR ${lock}`,
      params: [this.scope, name],
    };
    return this.injectedNow ? [row] : [row, { sql: SERVER_CLOCK_SQL }];
  }

  /** The lease row (if any) and the lease clock (the injected one, or the database server's). */
  private leaseAndClock(reads: QueryResult[]): { cur: LeaseRow | undefined; now: number } {
    const cur = (reads[0] as QueryResult<LeaseRow>).rows[0];
    const now = this.injectedNow ? this.injectedNow() : Number((reads[1] as QueryResult<{ n: string }>).rows[0]!.n);
    return { cur, now };
  }

  /**
   * The fence check that also renews: the lease row locked, then extended to now + `ttlMs` only if
   * `fence` still holds it (its clock read after the lock, as in `renewLease`). No row back means
   * fenced. Sent before BEGIN is confirmed: extending one's own live lease is harmless even alone.
   */
  private leaseExtension(fence: Fence, ttlMs: number): Stmt[] {
    const clock = "COALESCE($5::bigint, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)";
    const now = this.injectedNow ? this.injectedNow() : null;
    return [
      { sql: "SELECT 1 FROM leases WHERE scope = $1 AND name = $2 FOR UPDATE", params: [this.scope, fence.name] },
      {
        sql: `UPDATE leases SET expires_at = ${clock} + $6
              WHERE scope = $1 AND name = $2 AND owner = $3 AND epoch = $4 AND NOT free AND expires_at > ${clock}
              RETURNING expires_at`,
        params: [this.scope, fence.name, fence.owner, fence.epoch, now, ttlMs],
      },
    ];
  }

  private fenceHolds(fence: Fence, reads: QueryResult[]): boolean {
    const { cur, now } = this.leaseAndClock(reads);
    if (!cur || cur.free || cur.owner !== fence.owner || Number(cur.epoch) !== fence.epoch) return false;
    return now < Number(cur.expires_at);
  }

  // ---- session rows ----

  async get(key: string): Promise<SessionEntry | undefined> {
    const r = await this.q<{ entry: string }>("SELECT entry FROM sessions WHERE scope = $1 AND key = $2", [
      this.scope,
      key,
    ]);
    const row = r.rows[0];
    return row ? (JSON.parse(row.entry) as SessionEntry) : undefined;
  }

  async patch(key: string, mutator: PatchMutator): Promise<PatchResult> {
    return this.tx({ locks: [["row", key]], reads: [this.rowRead(key)] }, (_c, [r]) =>
      this.patchWrites(key, r!, mutator),
    );
  }

  /**
   * A fenced transcript append and a row patch in one transaction, so one commit (one WAL flush)
   * and two round trips instead of two of each: the lease check, both locks and the row read in the
   * first, both writes with COMMIT in the second. Locks are always taken transcript first, then row.
   */
  async appendAndPatch(
    sessionId: string,
    lines: readonly TranscriptLine[],
    fence: Fence | undefined,
    key: string,
    mutator: PatchMutator,
    known?: { row: SessionEntry | undefined },
  ): Promise<PatchResult> {
    assertValidSessionId(sessionId);
    const texts = lines.map((l) => JSON.stringify(l));
    // A fence asking for renewal is checked by extending the lease (no separate renewal later).
    const renew = fence?.renewTtlMs !== undefined && fence.renewTtlMs > 0 ? fence : null;
    if (renew && known?.row) {
      const atOnce = await this.appendAndPatchAtOnce(sessionId, texts, renew, key, known.row, mutator);
      if (atOnce) return atOnce;
    }
    const lease = renew
      ? this.leaseExtension(renew, renew.renewTtlMs!)
      : fence
        ? this.leaseReads(fence.name, "SHARE")
        : [];
    return this.tx(
      {
        locks: [
          ["transcript", sessionId],
          ["row", key],
        ],
        reads: [...lease, this.rowRead(key)],
      },
      (_c, reads): TxDone<PatchResult> => {
        const extended = renew ? (reads[1] as QueryResult<{ expires_at: string }>).rows[0] : undefined;
        if (renew ? !extended : fence && !this.fenceHolds(fence, reads))
          throw new FencedError(`lease epoch ${fence!.epoch} of ${fence!.owner} is no longer current`);
        const done = this.patchWrites(key, reads[lease.length]!, mutator);
        if (texts.length) done.writes = [this.insertLines(sessionId, texts), ...(done.writes ?? [])];
        if (extended) done.value.leaseExpiresAt = Number(extended.expires_at);
        return done;
      },
    );
  }

  /**
   * `appendAndPatch` in one round trip, for a caller that knows the row (it holds the lease, and
   * wrote or read the row last): the mutator runs on that row here, and one statement renews the
   * lease if the fence holds, updates the row only if it is still the known one (compared by hash)
   * and inserts the lines only if the row was updated. So either all of it happened or none
   * (beyond the renewal of a lease we hold). Null when the row was not the known one, or the
   * mutator does not change it: the caller reads and writes as usual.
   *
   * A connection lost on the way leaves the outcome open and this round trip carries no
   * transaction id to ask about; the row tells: it is the new text only if this committed.
   */
  private async appendAndPatchAtOnce(
    sessionId: string,
    texts: string[],
    fence: Fence,
    key: string,
    known: SessionEntry,
    mutator: PatchMutator,
  ): Promise<PatchResult | null> {
    const knownText = JSON.stringify(known);
    // A copy sharing the known row's frozen parts (mutators replace those whole): cheaper than a clone.
    const next = mutator(copyRow(known));
    if (!next) return null;
    const nextText = JSON.stringify(next);
    if (nextText === knownText) return null;
    const clock = "COALESCE($5::bigint, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)";
    // `k`: the row is the known one. The lease is freed (`Fence.release`) only together with the write.
    const write: Stmt = {
      sql: `WITH k AS (SELECT 1 FROM sessions WHERE scope = $1 AND key = $7 AND md5(entry) = $8),
            f AS (
              UPDATE leases SET expires_at = ${clock} + $6, free = ($13 AND EXISTS (SELECT 1 FROM k))
              WHERE scope = $1 AND name = $2 AND owner = $3 AND epoch = $4 AND NOT free AND expires_at > ${clock}
              RETURNING expires_at, free),
            s AS (
              UPDATE sessions SET entry = $9, updated_at = $10
              WHERE scope = $1 AND key = $7 AND md5(entry) = $8 AND EXISTS (SELECT 1 FROM f) AND EXISTS (SELECT 1 FROM k)
              RETURNING 1),
            t AS (
              INSERT INTO transcript_lines (scope, session_id, seq, line)
              SELECT $1, $11, (SELECT COALESCE(MAX(seq), -1) FROM transcript_lines WHERE scope = $1 AND session_id = $11) + o, l
              FROM unnest($12::text[]) WITH ORDINALITY AS u(l, o) WHERE EXISTS (SELECT 1 FROM s)
              RETURNING 1)
            SELECT (SELECT expires_at FROM f) AS expires_at, (SELECT free FROM f) AS released,
                   (SELECT count(*) FROM s)::int AS patched, (SELECT count(*) FROM t)::int AS inserted`,
      params: [
        this.scope,
        fence.name,
        fence.owner,
        fence.epoch,
        this.injectedNow ? this.injectedNow() : null,
        fence.renewTtlMs,
        key,
        createHash("md5").update(knownText).digest("hex"),
        nextText,
        Number.isFinite(next.updatedAt) ? next.updatedAt : 0,
        sessionId,
        texts,
        fence.release === true,
      ],
    };
    const done = (expiresAt: number | undefined, released: boolean): PatchResult => ({
      before: known,
      // Nothing here keeps `next` (it was stored as text): the caller may have it as it is.
      after: next,
      changed: true,
      ...(expiresAt !== undefined ? { leaseExpiresAt: expiresAt } : {}),
      ...(released ? { leaseReleased: true } : {}),
    });
    let unsent: Rider[] = [];
    const client = await this.connectFor(this.retry.attempts, () => {});
    if (!client) return null; // no connection: the usual path retries with backoff
    try {
      unsent = this.riding.take();
      const res = await pipelined(client, [
        { sql: "BEGIN" },
        lockStatement(
          this.scope,
          [
            ["transcript", sessionId],
            ["row", key],
          ],
          fence.name,
        )!,
        write,
        ...notifyStatements(unsent),
        { sql: "COMMIT" },
      ]);
      if (res[res.length - 1]!.command !== "COMMIT")
        throw new StoreError(`${this.location}: the transaction was rolled back at COMMIT`);
      client.release();
      for (const r of unsent) r.sent();
      unsent = [];
      const out = (res[2] as QueryResult<{ expires_at: string | null; released: boolean | null; patched: number }>)
        .rows[0]!;
      if (out.expires_at === null)
        throw new FencedError(`lease epoch ${fence.epoch} of ${fence.owner} is no longer current`);
      return out.patched === 1 ? done(Number(out.expires_at), out.released === true) : null;
    } catch (err) {
      if (err instanceof FencedError) throw err;
      if (!(await releaseFailed(client, err))) {
        this.riding.putBack(unsent);
        throw err;
      }
      // Committed or not? Only a committed write makes the row the new text (the lease is held).
      let stored: string | undefined;
      try {
        stored = (
          await this.q<{ entry: string }>("SELECT entry FROM sessions WHERE scope = $1 AND key = $2", [this.scope, key])
        ).rows[0]?.entry;
      } catch (readErr) {
        this.riding.putBack(unsent);
        throw new StoreUnavailableError(
          `postgres at ${this.endpoint}: the connection was lost during a write and its outcome could not be read: ${describeError(readErr)}`,
          { cause: err },
        );
      }
      if (stored !== nextText) {
        this.riding.putBack(unsent);
        return null;
      }
      for (const r of unsent) r.sent();
      // Committed: a release asked for went with it (the holder releasing again later is harmless).
      return done(undefined, fence.release === true);
    }
  }

  private rowRead(key: string): Stmt {
    return { sql: "SELECT entry FROM sessions WHERE scope = $1 AND key = $2 FOR UPDATE", params: [this.scope, key] };
  }

  /** The mutator applied to the row as read by `rowRead`: the result and the writes that store it. */
  private patchWrites(key: string, r: QueryResult, mutator: PatchMutator): TxDone<PatchResult> {
    const row = (r as QueryResult<{ entry: string }>).rows[0];
    const before = row ? (JSON.parse(row.entry) as SessionEntry) : undefined;
    const next = mutator(before ? structuredClone(before) : undefined);
    if (next === undefined) return { value: { before, after: before, changed: false } };
    if (next === null) {
      const value = { before, after: undefined, changed: before !== undefined };
      return before
        ? {
            value,
            writes: [{ sql: "DELETE FROM sessions WHERE scope = $1 AND key = $2", params: [this.scope, key] }],
          }
        : { value };
    }
    const params = [this.scope, key, JSON.stringify(next), Number.isFinite(next.updatedAt) ? next.updatedAt : 0];
    const value = { before, after: structuredClone(next), changed: true };
    if (before)
      return {
        value,
        writes: [{ sql: "UPDATE sessions SET entry = $3, updated_at = $4 WHERE scope = $1 AND key = $2", params }],
      };
    // putMany does not take the advisory lock: if it inserted this key meanwhile, the mutator saw a
    // stale "missing" and must run again. A plain INSERT (no ON CONFLICT) makes that conflict abort
    // the transaction, so a COMMIT whose reply is lost and turns out committed did insert the row.
    return {
      value,
      writes: [{ sql: "INSERT INTO sessions (scope, key, entry, updated_at) VALUES ($1, $2, $3, $4)", params }],
      retryOnConflict: true,
    };
  }

  async putMany(changes: ReadonlyArray<{ key: string; entry: SessionEntry | null }>): Promise<void> {
    // The last change of a key wins, as if applied one by one; sorted keys keep lock order stable.
    const last = new Map<string, SessionEntry | null>();
    for (const { key, entry } of changes) last.set(key, entry);
    const keys = [...last.keys()].sort();
    const deletes: string[] = [];
    const putKeys: string[] = [];
    const putEntries: string[] = [];
    const putUpdated: number[] = [];
    for (const key of keys) {
      const entry = last.get(key);
      if (!entry) deletes.push(key);
      else {
        putKeys.push(key);
        putEntries.push(JSON.stringify(entry));
        putUpdated.push(Number.isFinite(entry.updatedAt) ? entry.updatedAt : 0);
      }
    }
    if (keys.length === 0) return;
    const writes: Stmt[] = [];
    if (deletes.length)
      writes.push({
        sql: "DELETE FROM sessions WHERE scope = $1 AND key = ANY($2::text[])",
        params: [this.scope, deletes],
      });
    if (putKeys.length) {
      writes.push({
        sql: `INSERT INTO sessions (scope, key, entry, updated_at)
              SELECT $1, k, e, u FROM unnest($2::text[], $3::text[], $4::float8[]) AS t(k, e, u)
              ON CONFLICT (scope, key) DO UPDATE SET entry = excluded.entry, updated_at = excluded.updated_at`,
        params: [this.scope, putKeys, putEntries, putUpdated],
      });
    }
    await this.tx({}, () => ({ value: undefined, writes }));
  }

  async list(filter: ListFilter = {}, options: ListOptions = {}): Promise<ListPage> {
    const args: unknown[] = [this.scope];
    const p = (v: unknown): string => {
      args.push(v);
      return `$${args.length}`;
    };
    const where = ["scope = $1"];
    if (filter.activeSince !== undefined) where.push(`updated_at >= ${p(filter.activeSince)}`);
    if (filter.keyPrefix !== undefined) {
      // A range on the primary key instead of LIKE: prefixes may contain % or _.
      where.push(`key >= ${p(filter.keyPrefix)} AND key < ${p(`${filter.keyPrefix}\u{10FFFF}`)}`);
    }
    if (options.cursor) {
      const cur = decodeCursor(options.cursor);
      const u = p(cur.u);
      where.push(`(updated_at < ${u} OR (updated_at = ${u} AND key > ${p(cur.k)}))`);
    }
    const limit = options.limit;
    const sql = `SELECT key, entry FROM sessions WHERE ${where.join(" AND ")} ORDER BY updated_at DESC, key ASC${limit !== undefined ? ` LIMIT ${p(limit + 1)}` : ""}`;
    const got = (await this.q<{ key: string; entry: string }>(sql, args)).rows;
    const more = limit !== undefined && got.length > limit;
    const rows: SessionRow[] = (more ? got.slice(0, limit) : got).map((r) => ({
      key: r.key,
      entry: JSON.parse(r.entry) as SessionEntry,
    }));
    const lastRow = rows[rows.length - 1];
    return { rows, nextCursor: more && lastRow ? encodeCursor(lastRow) : null };
  }

  async count(): Promise<number> {
    const r = await this.q<{ n: string }>("SELECT count(*) AS n FROM sessions WHERE scope = $1", [this.scope]);
    return Number(r.rows[0]?.n ?? 0);
  }

  async all(): Promise<SessionRow[]> {
    return (await this.list()).rows;
  }

  // ---- transcripts ----

  async appendTranscript(sessionId: string, lines: readonly TranscriptLine[], fence?: Fence): Promise<void> {
    assertValidSessionId(sessionId);
    const texts = lines.map((l) => JSON.stringify(l));
    // FOR SHARE keeps a takeover from slipping between the fence check and the insert.
    await this.tx(
      { locks: [["transcript", sessionId]], reads: fence ? this.leaseReads(fence.name, "SHARE") : [] },
      (_c, reads): TxDone<void> => {
        if (fence && !this.fenceHolds(fence, reads))
          throw new FencedError(`lease epoch ${fence.epoch} of ${fence.owner} is no longer current`);
        if (texts.length === 0) return { value: undefined };
        return { value: undefined, writes: [this.insertLines(sessionId, texts)] };
      },
    );
  }

  /** Appends `texts` after the transcript's last line (the transcript lock must be held). */
  private insertLines(sessionId: string, texts: string[]): Stmt {
    return {
      sql: `INSERT INTO transcript_lines (scope, session_id, seq, line)
              SELECT $1, $2, (SELECT COALESCE(MAX(seq), -1) FROM transcript_lines WHERE scope = $1 AND session_id = $2) + o, l
              FROM unnest($3::text[]) WITH ORDINALITY AS t(l, o)`,
      params: [this.scope, sessionId, texts],
    };
  }

  private parseLines(
    sessionId: string,
    rows: Array<{ seq: string; line: string }>,
  ): { lines: TranscriptLine[]; issues: ReadIssue[] } {
    return parseStoredLines(
      `${this.location}#${sessionId}`,
      rows.map((r) => ({ text: r.line, line: Number(r.seq) + 1 })),
    );
  }

  /** The last `tail` lines of a transcript, and one more to tell whether there are more (see `tailOf`). */
  private tailRead(sessionId: string, tail: number): Stmt {
    return {
      sql: "SELECT seq, line FROM transcript_lines WHERE scope = $1 AND session_id = $2 ORDER BY seq DESC LIMIT $3",
      params: [this.scope, sessionId, tail + 1],
    };
  }

  private tailOf(sessionId: string, tail: number, r: QueryResult<{ seq: string; line: string }>): TranscriptRead {
    const rows = r.rows.reverse();
    const truncated = rows.length > tail;
    return { ...this.parseLines(sessionId, truncated ? rows.slice(1) : rows), truncated };
  }

  async readTranscript(sessionId: string, options: { tail?: number } = {}): Promise<TranscriptRead> {
    assertValidSessionId(sessionId);
    if (options.tail !== undefined) {
      const { sql, params } = this.tailRead(sessionId, options.tail);
      return this.tailOf(sessionId, options.tail, await this.q<{ seq: string; line: string }>(sql, params));
    }
    const r = await this.q<{ seq: string; line: string }>(
      "SELECT seq, line FROM transcript_lines WHERE scope = $1 AND session_id = $2 ORDER BY seq",
      [this.scope, sessionId],
    );
    return { ...this.parseLines(sessionId, r.rows), truncated: false };
  }

  async transcriptExists(sessionId: string): Promise<boolean> {
    assertValidSessionId(sessionId);
    const r = await this.q("SELECT 1 AS x FROM transcript_lines WHERE scope = $1 AND session_id = $2 LIMIT 1", [
      this.scope,
      sessionId,
    ]);
    return r.rows.length > 0;
  }

  async transcriptHeader(sessionId: string): Promise<TranscriptLine | null> {
    assertValidSessionId(sessionId);
    const r = await this.q<{ seq: string; line: string }>(
      "SELECT seq, line FROM transcript_lines WHERE scope = $1 AND session_id = $2 ORDER BY seq LIMIT 1",
      [this.scope, sessionId],
    );
    return r.rows[0] ? (this.parseLines(sessionId, [r.rows[0]]).lines[0] ?? null) : null;
  }

  async archiveTranscript(
    sessionId: string,
    reason: ArchiveReason,
    now = (this.injectedNow ?? Date.now)(),
  ): Promise<string | null> {
    assertValidSessionId(sessionId);
    const name = archiveName(sessionId, reason, now);
    return this.tx({ locks: [["transcript", sessionId]] }, async (c): Promise<TxDone<string | null>> => {
      const ins = await c.query(
        `INSERT INTO archives (scope, name, session_id, reason, archived_at, content)
         SELECT $1::text, $3::text, $2::text, $4::text, $5::bigint, string_agg(line, E'\\n' ORDER BY seq) || E'\\n'
         FROM transcript_lines WHERE scope = $1 AND session_id = $2 HAVING count(*) > 0
         ON CONFLICT (scope, name) DO UPDATE SET session_id = excluded.session_id, reason = excluded.reason, archived_at = excluded.archived_at, content = excluded.content`,
        [this.scope, sessionId, name, reason, now],
      );
      if (!ins.rowCount) return { value: null };
      return {
        value: name,
        writes: [
          { sql: "DELETE FROM transcript_lines WHERE scope = $1 AND session_id = $2", params: [this.scope, sessionId] },
        ],
      };
    });
  }

  async listTranscripts(): Promise<string[]> {
    const r = await this.q<{ session_id: string }>(
      "SELECT DISTINCT session_id FROM transcript_lines WHERE scope = $1 ORDER BY session_id",
      [this.scope],
    );
    return r.rows.map((row) => row.session_id);
  }

  async exportTranscript(sessionId: string): Promise<string | null> {
    assertValidSessionId(sessionId);
    const r = await this.q<{ t: string | null }>(
      "SELECT string_agg(line, E'\\n' ORDER BY seq) AS t FROM transcript_lines WHERE scope = $1 AND session_id = $2",
      [this.scope, sessionId],
    );
    const t = r.rows[0]?.t;
    return t === null || t === undefined ? null : `${t}\n`;
  }

  async importTranscript(sessionId: string, text: string): Promise<void> {
    assertValidSessionId(sessionId);
    const pieces = splitLines(text);
    const writes: Stmt[] = [
      { sql: "DELETE FROM transcript_lines WHERE scope = $1 AND session_id = $2", params: [this.scope, sessionId] },
    ];
    if (pieces.length)
      writes.push({
        sql: "INSERT INTO transcript_lines (scope, session_id, seq, line) SELECT $1, $2, o - 1, l FROM unnest($3::text[]) WITH ORDINALITY AS t(l, o)",
        params: [this.scope, sessionId, pieces],
      });
    await this.tx({ locks: [["transcript", sessionId]] }, () => ({ value: undefined, writes }));
  }

  // ---- leases ----

  async acquireLease(name: string, options: { ttlMs?: number; waitMs?: number } = {}): Promise<Lease> {
    return (await this.acquire(name, null, options, undefined)).lease;
  }

  /** The lease, the row `key` and the `tail` asked for, read in the acquiring transaction's one round trip. */
  async acquireLeaseWithRow(
    name: string,
    key: string,
    options: { ttlMs?: number; waitMs?: number } = {},
    tail?: TailHint,
  ): Promise<LeaseWithRow> {
    return this.acquire(name, key, options, tail);
  }

  /**
   * One round trip, one commit: BEGIN, a conditional upsert that takes the lease when it is free or
   * expired (judged by the clock read after the lease row is locked: `ON CONFLICT DO UPDATE` locks
   * the row before its WHERE and SET run), the lease as it now stands with the row, the transcript
   * tail asked for, COMMIT. Row and tail are read by statements after the upsert, so with a fresh
   * snapshot: every fenced write of
   * an earlier holder committed before the lock was granted, and later ones fail their fence. The
   * lock is held to COMMIT. Retrying after a lost connection is safe: a take that did commit is
   * found again as this owner's live lease.
   */
  private async acquire(
    name: string,
    rowKey: string | null,
    options: { ttlMs?: number; waitMs?: number },
    tail: TailHint | undefined,
  ): Promise<LeaseWithRow> {
    if (tail) assertValidSessionId(tail.sessionId);
    const ttl = options.ttlMs ?? this.leaseTtlMs;
    // The wait is a local duration; expiry itself is judged by the lease clock.
    const deadline = Date.now() + (options.waitMs ?? 10_000);
    for (;;) {
      const now = this.injectedNow ? this.injectedNow() : null;
      const clock = "COALESCE($4::bigint, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)";
      const stmts: Stmt[] = [
        { sql: "BEGIN" },
        {
          sql: `INSERT INTO leases AS l (scope, name, owner, epoch, expires_at, free) VALUES ($1, $2, $3, 1, ${clock} + $5, false)
                ON CONFLICT (scope, name) DO UPDATE SET owner = $3, epoch = l.epoch + 1, expires_at = ${clock} + $5, free = false
                WHERE l.free OR l.expires_at <= ${clock} RETURNING epoch, expires_at`,
          params: [this.scope, name, this.owner, now, ttl],
        },
        // The lease as it now stands and, in the same statement, the row it guards.
        rowKey === null
          ? {
              sql: `SELECT owner, epoch, expires_at, free, ${clock.replace("$4", "$3")} AS n FROM leases WHERE scope = $1 AND name = $2`,
              params: [this.scope, name, now],
            }
          : {
              sql: `SELECT owner, epoch, expires_at, free, ${clock.replace("$4", "$3")} AS n,
                           (SELECT entry FROM sessions WHERE scope = $1 AND key = $4) AS entry
                    FROM leases WHERE scope = $1 AND name = $2`,
              params: [this.scope, name, now, rowKey],
            },
      ];
      if (rowKey !== null && tail) stmts.push(this.tailRead(tail.sessionId, tail.lines));
      stmts.push({ sql: "COMMIT" });
      const res = await this.oneTrip(stmts);
      const taken = (res[1] as QueryResult<{ epoch: string; expires_at: string }>).rows[0];
      const cur = (res[2] as QueryResult<LeaseRow & { n: string; entry?: string | null }>).rows[0]!;
      const live = !cur.free && Number(cur.n) < Number(cur.expires_at);
      if (taken || (live && cur.owner === this.owner)) {
        const epoch = Number(taken?.epoch ?? cur.epoch);
        const expiresAt = Number(taken?.expires_at ?? cur.expires_at);
        const row = cur.entry ? (JSON.parse(cur.entry) as SessionEntry) : undefined;
        const lease = { name, owner: this.owner, epoch, expiresAt };
        if (rowKey === null || !tail) return { lease, row };
        const lines = this.tailOf(tail.sessionId, tail.lines, res[3] as QueryResult<{ seq: string; line: string }>);
        return { lease, row, tail: { ...lines, sessionId: tail.sessionId } };
      }
      if (!live) continue; // freed between the upsert and the read: try again at once
      if (Date.now() >= deadline) {
        throw new LeaseTimeoutError(
          `${this.location}: lease ${JSON.stringify(name)} is held by ${cur.owner} (epoch ${cur.epoch}) until ${new Date(Number(cur.expires_at)).toISOString()}`,
        );
      }
      await sleep(5 + Math.random() * 10);
    }
  }

  /**
   * A pooled connection for one attempt of a retried transaction; null after a connection error
   * (handed to `failed`, backed off when attempts remain). Any other error is thrown.
   */
  private async connectFor(attempt: number, failed: (err: unknown) => void): Promise<PoolClient | null> {
    this.assertOpen();
    try {
      return await this.pool.connect();
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      failed(err);
      if (attempt < this.retry.attempts) await this.backoff(attempt);
      return null;
    }
  }

  /**
   * `stmts` (BEGIN … COMMIT) in one round trip, run again from the start on a connection or
   * serialization failure: only for transactions whose repetition is harmless.
   */
  private async oneTrip(stmts: readonly Stmt[]): Promise<QueryResult[]> {
    let last: unknown;
    for (let attempt = 1; attempt <= this.retry.attempts; attempt++) {
      const client = await this.connectFor(attempt, (err) => (last = err));
      if (!client) continue;
      try {
        const res = await pipelined(client, stmts);
        if (res[res.length - 1]!.command !== "COMMIT")
          throw new StoreError(`${this.location}: the transaction was rolled back at COMMIT`);
        client.release();
        return res;
      } catch (err) {
        const lost = await releaseFailed(client, err);
        if (!lost && !isSerializationError(err)) throw err;
        last = err;
        if (attempt < this.retry.attempts) await this.backoff(attempt);
      }
    }
    throw this.gaveUp(this.retry.attempts, last);
  }

  /**
   * One round trip: BEGIN, the lease row locked, the conditional extension (its clock read after the
   * lock is held, as a statement of its own), COMMIT. Repeating it after a lost connection is harmless.
   */
  async renewLease(lease: Lease, ttlMs = this.leaseTtlMs): Promise<Lease> {
    const clock = "COALESCE($5::bigint, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)";
    const params = [
      this.scope,
      lease.name,
      lease.owner,
      lease.epoch,
      this.injectedNow ? this.injectedNow() : null,
      ttlMs,
    ];
    const res = await this.oneTrip([
      { sql: "BEGIN" },
      { sql: "SELECT 1 FROM leases WHERE scope = $1 AND name = $2 FOR UPDATE", params: [this.scope, lease.name] },
      {
        sql: `UPDATE leases SET expires_at = ${clock} + $6
              WHERE scope = $1 AND name = $2 AND owner = $3 AND epoch = $4 AND NOT free AND expires_at > ${clock}
              RETURNING expires_at`,
        params,
      },
      { sql: "COMMIT" },
    ]);
    const row = (res[2] as QueryResult<{ expires_at: string }>).rows[0];
    if (!row) throw new FencedError(`lease ${JSON.stringify(lease.name)} epoch ${lease.epoch} was lost`);
    return { ...lease, expiresAt: Number(row.expires_at) };
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.q("UPDATE leases SET free = true WHERE scope = $1 AND name = $2 AND owner = $3 AND epoch = $4", [
      this.scope,
      lease.name,
      lease.owner,
      lease.epoch,
    ]);
  }

  // ---- events ----

  /** The NOTIFY payload of `event`: without its payload (`truncated`) when it would not fit. */
  private notifyText(event: StoreEvent): string {
    const text = JSON.stringify({ origin: event.origin, kind: event.kind, payload: event.payload, scope: this.scope });
    if (Buffer.byteLength(text, "utf8") <= MAX_NOTIFY_BYTES) return text;
    return JSON.stringify({
      origin: event.origin,
      kind: event.kind,
      payload: null,
      truncated: true,
      scope: this.scope,
    });
  }

  private async publish(event: StoreEvent): Promise<void> {
    await this.q("SELECT pg_notify($1, $2)", [EVENTS_CHANNEL, this.notifyText(event)]);
  }

  /**
   * Queues the event for the COMMIT of the next write transaction of this store (any session): a
   * busy gateway's events then cost no commit. If no write comes within a few ms (ride-along.ts), they are
   * sent by themselves, all in one transaction. Order is kept: the queue is drained front first.
   */
  private publishSoon(event: StoreEvent): Promise<void> {
    this.assertOpen();
    return this.riding.add(this.notifyText(event));
  }

  /** The waiting events in one transaction of their own (no write came to carry them). */
  private async sendRiders(riders: Rider[]): Promise<void> {
    try {
      await this.oneTrip([{ sql: "BEGIN" }, ...notifyStatements(riders), { sql: "COMMIT" }]);
      for (const r of riders) r.sent();
    } catch (err) {
      for (const r of riders) r.failed(err);
    }
  }

  private subscribe(listener: (event: StoreEvent) => void): () => void {
    this.assertOpen();
    this.listeners.add(listener);
    this.ensureListening().catch(() => {}); // failures schedule a reconnect
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Resolves once this instance's LISTEN connection is established (tests await it before publishing). */
  eventsReady(): Promise<void> {
    return this.ensureListening();
  }

  private ensureListening(): Promise<void> {
    if (this.listenClient) return Promise.resolve();
    this.listenStarting ??= this.startListening().finally(() => {
      this.listenStarting = null;
    });
    return this.listenStarting;
  }

  private async startListening(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: this.connectTimeoutMs });
    client.on("error", () => this.listenerLost(client));
    client.on("end", () => this.listenerLost(client));
    client.on("notification", (msg) => {
      if (msg.channel === EVENTS_CHANNEL && msg.payload) this.deliver(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => {});
      this.scheduleRelisten();
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.listenClient = client;
    this.relistenDelay = 100;
  }

  private listenerLost(client: pg.Client): void {
    if (this.listenClient !== client) return;
    this.listenClient = null;
    client.end().catch(() => {});
    this.scheduleRelisten();
  }

  private scheduleRelisten(): void {
    if (this.closed || this.relistenTimer || this.listeners.size === 0) return;
    const delay = this.relistenDelay;
    this.relistenDelay = Math.min(delay * 2, 5000);
    this.relistenTimer = setTimeout(() => {
      this.relistenTimer = null;
      this.ensureListening().catch(() => {});
    }, delay);
    this.relistenTimer.unref();
  }

  private deliver(payload: string): void {
    let msg: { origin?: unknown; kind?: unknown; payload?: unknown; truncated?: unknown; scope?: unknown };
    try {
      msg = JSON.parse(payload) as typeof msg;
    } catch {
      return;
    }
    if (msg.scope !== this.scope || typeof msg.origin !== "string" || typeof msg.kind !== "string") return;
    const event: StoreEvent & { truncated?: true } = {
      origin: msg.origin,
      kind: msg.kind,
      payload: msg.payload ?? null,
    };
    if (msg.truncated === true) event.truncated = true;
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch {
        // one listener's failure must not starve the others
      }
    }
  }

  async close(): Promise<void> {
    if (this.ended) return this.ended;
    // Events still waiting for a write go out before the pool closes.
    await this.riding.flush();
    if (this.ended) return this.ended;
    this.closed = true;
    if (this.relistenTimer) clearTimeout(this.relistenTimer);
    this.relistenTimer = null;
    this.listeners.clear();
    const listen = this.listenClient;
    this.listenClient = null;
    this.ended = (async () => {
      await this.listenStarting?.catch(() => {});
      await listen?.end().catch(() => {});
      await this.pool.end().catch(() => {});
    })();
    return this.ended;
  }
}
