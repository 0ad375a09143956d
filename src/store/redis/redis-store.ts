/**
 * The `redis` backend on ioredis. One scope (agent) lives under `pincer:{<scope>}:` — the braces are
 * a hash tag, so a scope's keys share one cluster slot and every script can touch them all:
 *
 * - `rows` hash key → the row's JSON text exactly as written; `vers` hash key → a unique version
 *   token (replaced on every write, so a compare-and-set cannot be fooled by ABA); `pos` hash
 *   key → the row's member in `idx`.
 * - `idx` sorted set, all scores 0, members `<16 hex>:<key>` where the hex is the row's `updatedAt`
 *   as an order-inverting encoding of the IEEE double: ZRANGEBYLEX then yields exactly
 *   `updatedAt` DESC, key ASC, and a cursor is just an exclusive lower bound.
 * - `t:<sessionId>` list of transcript lines (exact text), `transcripts` set of live ids,
 *   `archive:<name>` lists and the `archives` hash name → session id.
 * - `lease:<name>` hashes `{owner, epoch, expiresAt, free}`.
 *
 * `patch` is optimistic: read row + version, run the mutator, write through a Lua compare-and-set,
 * retry with jittered backoff on a lost race. Patches of one key inside one process queue locally
 * first, so only other processes cause retries.
 *
 * Lease clock: when the caller injects `now` (tests, a fake clock), lease expiry uses it; otherwise
 * the Redis server's clock (`TIME` inside the scripts) decides, so gateways on hosts with skewed
 * clocks still agree on who holds a lease. The `expiresAt` of a returned Lease is then server time.
 */
import { randomUUID } from "node:crypto";
import { Redis, type RedisOptions } from "ioredis";
import { assertValidSessionId } from "../../keys/ids.ts";
import type { SessionEntry } from "../entry.ts";
import { decodeCursor, encodeCursor } from "../list-order.ts";
import { archiveName, joinLines, numberedFrom, parseStoredLines, splitLines } from "../transcript-codec.ts";
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
import * as S from "./redis-scripts.ts";
import { maskUrl } from "../url-mask.ts";

export const REDIS_SCHEMA_VERSION = 1;
export const SCHEMA_VERSION_KEY = "pincer:schema-version";
export const SCOPES_KEY = "pincer:scopes";

export interface RedisStoreOptions {
  url: string;
  /** The agent (or other namespace) whose rows and transcripts this store holds. */
  scope: string;
  /** Injected clock (tests): lease expiry follows it. Without it, the server's clock decides. */
  now?: () => number;
  leaseTtlMs?: number;
  /** How long `open` keeps trying to reach the server before giving up (ms). */
  connectTimeoutMs?: number;
}

const MAX_PATCH_ATTEMPTS = 100;
/** Rows whose last known version is kept (see `rowState`). */
const KNOWN_ROWS = 4096;

function hostPort(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || "localhost"}:${u.port || "6379"}`;
  } catch {
    return maskUrl(url);
  }
}

function assertValidScope(scope: string): void {
  if (!scope || /[{}\s\u0000-\u001f]/.test(scope))
    throw new StoreError(`invalid redis store scope ${JSON.stringify(scope)}`);
}

/** `updatedAt` as 16 hex digits that sort ascending when the time sorts descending. */
export function invertedTime(updatedAt: number): string {
  const v = Number.isFinite(updatedAt) && updatedAt !== 0 ? updatedAt : 0;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const bits = view.getBigUint64(0);
  const inverted = bits & 0x8000000000000000n ? bits : bits ^ 0x7fffffffffffffffn;
  return inverted.toString(16).padStart(16, "0");
}

function sanitizedTime(updatedAt: unknown): number {
  return typeof updatedAt === "number" && Number.isFinite(updatedAt) ? updatedAt : 0;
}

function indexMember(key: string, entry: SessionEntry): string {
  return `${invertedTime(sanitizedTime(entry.updatedAt))}:${key}`;
}

/** Errors of the connection (not of a command the server refused). */
function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === "ReplyError") return false;
  return (
    err.name === "MaxRetriesPerRequestError" ||
    /Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Stream isn't writeable|connect/i.test(err.message)
  );
}

function parseRow(json: string | null): SessionEntry | undefined {
  return json === null ? undefined : (JSON.parse(json) as SessionEntry);
}

/** A changed patch's result whose `before` is parsed only when read (most callers never do). */
function changedResult(was: string | null, after: SessionEntry | undefined): PatchResult {
  let before: SessionEntry | undefined;
  let parsed = false;
  return {
    get before() {
      if (!parsed) {
        before = parseRow(was);
        parsed = true;
      }
      return before;
    },
    after,
    changed: true,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Creates a client and connects it, retrying until `timeoutMs`; the client then reconnects on its own. */
async function connectClient(url: string, timeoutMs: number): Promise<Redis> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let opening = true;
  let lastError: unknown = null;
  const options: RedisOptions = {
    lazyConnect: true,
    connectTimeout: Math.max(100, Math.min(timeoutMs, 10_000)),
    // While opening, no background retries (the loop below retries, bounded); afterwards,
    // exponential backoff with jitter, forever: queued commands wait and are re-sent.
    retryStrategy: (times) =>
      opening ? null : Math.min(50 * 2 ** Math.min(times, 6), 2000) + Math.floor(Math.random() * 100),
    // A command waits through this many reconnect attempts (about 20 s) before it fails.
    maxRetriesPerRequest: 15,
    enableAutoPipelining: false,
  };
  const client = new Redis(url, options);
  // Without a listener an 'error' event is printed; with one a dropped connection never throws.
  client.on("error", (err: unknown) => {
    lastError = err;
  });
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      await client.connect();
      opening = false;
      return client;
    } catch (err) {
      lastError = lastError ?? err;
      // The server answered and refused (wrong password, ...): retrying will not help.
      const refused = lastError instanceof Error && lastError.name === "ReplyError";
      if (refused || Date.now() >= deadline) {
        client.disconnect();
        const cause = lastError instanceof Error ? lastError.message : String(lastError);
        throw new StoreUnavailableError(
          `redis at ${hostPort(url)} ${refused ? "refused the connection" : "is unreachable"} (tried ${attempts} time${attempts === 1 ? "" : "s"} over ${Date.now() - started} ms): ${cause}`,
          { cause: lastError },
        );
      }
      if (client.status !== "end" && client.status !== "wait") client.disconnect();
      await sleep(Math.min(200, Math.max(0, deadline - Date.now())));
      lastError = null;
    }
  }
}

async function quitClient(client: Redis): Promise<void> {
  if (client.status === "end") return;
  if (client.status !== "ready") {
    client.disconnect();
    return;
  }
  // A server that does not answer QUIT within a second is cut off; the timer must not keep the
  // process alive once QUIT has answered.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), 1000);
  });
  const done = await Promise.race([client.quit().catch(() => "failed" as const), timeout]);
  clearTimeout(timer);
  if (done !== "OK") client.disconnect();
}

export class RedisSessionStore implements SessionStore {
  readonly backend = "redis";
  readonly location: string;
  readonly events: StoreEvents;
  readonly capabilities: StoreCapabilities;
  private readonly redis: Redis;
  private readonly url: string;
  private readonly scope: string;
  private readonly injectedNow: (() => number) | undefined;
  private readonly leaseTtlMs: number;
  private readonly owner = `redis-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly prefix: string;
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly known = new Map<string, { json: string | null; version: string | null }>();
  private scopeRegistered = false;
  private subscriber: Redis | null = null;
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private closed = false;
  /** Events waiting for the next write script (`publishSoon`), in order; sent alone if no write comes. */
  private readonly riding = new RideAlongQueue((riders) => this.sendRiders(riders));

  private constructor(redis: Redis, options: RedisStoreOptions) {
    this.redis = redis;
    this.url = options.url;
    this.scope = options.scope;
    this.injectedNow = options.now;
    this.leaseTtlMs = options.leaseTtlMs ?? 5000;
    this.location = `${maskUrl(options.url)}#${options.scope}`;
    this.prefix = `pincer:{${options.scope}}:`;
    this.events = {
      publish: (event) => this.publish(event),
      publishSoon: (event) => this.publishSoon(event),
      subscribe: (listener) => this.subscribe(listener),
    };
    this.capabilities = { shared: true, events: this.events };
  }

  static async open(opts: RedisStoreOptions): Promise<RedisSessionStore> {
    assertValidScope(opts.scope);
    const redis = await connectClient(opts.url, opts.connectTimeoutMs ?? 10_000);
    try {
      await redis.set(SCHEMA_VERSION_KEY, String(REDIS_SCHEMA_VERSION), "NX");
      const raw = await redis.get(SCHEMA_VERSION_KEY);
      const v = Number(raw);
      if (!Number.isInteger(v) || v !== REDIS_SCHEMA_VERSION) {
        const what = Number.isInteger(v) && v < REDIS_SCHEMA_VERSION ? "older than" : "newer than";
        throw new SchemaVersionError(
          `${maskUrl(opts.url)}: schema version ${JSON.stringify(raw)} (${SCHEMA_VERSION_KEY}) is ${what} this Pincer understands (${REDIS_SCHEMA_VERSION}); upgrade Pincer, or copy the data with \`pincer store migrate --from ${maskUrl(opts.url)} --to <location>\` using the newer version`,
        );
      }
    } catch (err) {
      redis.disconnect();
      throw err;
    }
    return new RedisSessionStore(redis, opts);
  }

  /** The scopes holding rows or transcripts, sorted (for migration). */
  static async scopes(url: string, connectTimeoutMs = 10_000): Promise<string[]> {
    const redis = await connectClient(url, connectTimeoutMs);
    try {
      const out: string[] = [];
      for (const scope of (await redis.smembers(SCOPES_KEY)).sort()) {
        const p = `pincer:{${scope}}:`;
        if ((await redis.hlen(`${p}rows`)) > 0 || (await redis.scard(`${p}transcripts`)) > 0) out.push(scope);
      }
      return out;
    } finally {
      await quitClient(redis);
    }
  }

  /** The local clock: the injected one, else this host's (read at each call). */
  private now(): number {
    return this.injectedNow ? this.injectedNow() : Date.now();
  }

  /** The `now` argument of the lease scripts: the injected time, or '' for the server's TIME. */
  private leaseNow(): string {
    return this.injectedNow ? String(this.injectedNow()) : "";
  }

  private k(name: string): string {
    return this.prefix + name;
  }

  private appliedKey(token: string): string {
    return this.k(`applied:${token}`);
  }

  private transcriptKey(sessionId: string): string {
    return this.k(`t:${sessionId}`);
  }

  /** Runs a script by SHA, loading it when the server does not know it (first use, restart). */
  private async eval(script: S.LuaScript, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("NOSCRIPT"))
        return this.redis.eval(script.lua, keys.length, ...keys, ...args);
      throw err;
    }
  }

  /** Maps a lost connection to StoreUnavailableError naming the server. */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError(`${this.location}: store is closed`);
    try {
      return await work();
    } catch (err) {
      if (isConnectionError(err))
        throw new StoreUnavailableError(`redis at ${hostPort(this.url)} is unreachable: ${(err as Error).message}`, {
          cause: err,
        });
      throw err;
    }
  }

  /** Records the scope in `pincer:scopes` before its first write (outside the hash tag, so separate). */
  private async registerScope(): Promise<void> {
    if (this.scopeRegistered) return;
    await this.redis.sadd(SCOPES_KEY, this.scope);
    this.scopeRegistered = true;
  }

  /** Queues work per key inside this process (other processes are handled by the compare-and-set). */
  private async serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(work, work);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  private rowKeys(token: string): string[] {
    return [this.k("rows"), this.k("vers"), this.k("pos"), this.k("idx"), this.appliedKey(token)];
  }

  async get(key: string): Promise<SessionEntry | undefined> {
    return this.guard(async () => {
      const json = await this.redis.hget(this.k("rows"), key);
      return json === null ? undefined : (JSON.parse(json) as SessionEntry);
    });
  }

  async patch(key: string, mutator: PatchMutator): Promise<PatchResult> {
    return this.guard(() => this.serialized(key, () => this.patchNow(key, mutator)));
  }

  /**
   * The row's JSON and version as this process last read or wrote them. A compare-and-set against
   * them needs no read first; when another process wrote since, the script says the version moved
   * and the row is read afresh, so a stale entry costs one command, never a wrong write.
   */
  private rowState(key: string): { json: string | null; version: string | null } | undefined {
    return this.known.get(key);
  }

  private knowRow(key: string, json: string | null, version: string | null): void {
    this.known.delete(key);
    this.known.set(key, { json, version });
    if (this.known.size > KNOWN_ROWS) this.known.delete(this.known.keys().next().value as string);
  }

  private async readRowState(key: string): Promise<{ json: string | null; version: string | null }> {
    const [json, version] = (await this.eval(S.READ_ROW, [this.k("rows"), this.k("vers")], [key])) as [
      string | null,
      string | null,
    ];
    const state = { json: json ?? null, version: version ?? null };
    this.knowRow(key, state.json, state.version);
    return state;
  }

  /**
   * Optimistic read-modify-write: the mutator runs on the known (or freshly read) row and `write`
   * sends the compare-and-set ('keep' = no row change, still checked against the version when
   * `verifyKeep`); retried with jittered backoff while the version moved. Rows are parsed from their
   * JSON text rather than copied (the mutator gets a fresh parse), and a changed patch's `before`
   * only when read.
   */
  private async optimistic(
    key: string,
    mutator: PatchMutator,
    verifyKeep: boolean,
    write: (
      version: string,
      op: "put" | "del" | "keep",
      token: string,
      next: SessionEntry | null,
      json: string,
    ) => Promise<boolean>,
  ): Promise<PatchResult> {
    let state = this.rowState(key);
    for (let attempt = 0; attempt < MAX_PATCH_ATTEMPTS; attempt++) {
      const fromMemory = state !== undefined;
      state ??= await this.readRowState(key);
      const was = state.json;
      const next = mutator(parseRow(was));
      const op = next === undefined || (next === null && was === null) ? "keep" : next === null ? "del" : "put";
      if (op === "keep" && !verifyKeep) {
        // Nothing to write, so nothing would check a remembered row: read it.
        if (fromMemory) {
          state = undefined;
          this.known.delete(key);
          continue;
        }
        const before = parseRow(was);
        return { before, after: before, changed: false };
      }
      await this.registerScope();
      const token = randomUUID();
      const json = op === "put" ? JSON.stringify(next) : "";
      if (await write(state.version ?? "", op, token, next ?? null, json)) {
        if (op === "keep") {
          const before = parseRow(was);
          return { before, after: before, changed: false };
        }
        this.knowRow(key, op === "del" ? null : json, op === "del" ? null : token);
        return changedResult(was, op === "del" ? undefined : (JSON.parse(json) as SessionEntry));
      }
      this.known.delete(key);
      state = undefined;
      if (!fromMemory) await sleep(Math.random() * Math.min(2 ** attempt, 50));
    }
    throw new StoreError(`${this.location}: patch of ${JSON.stringify(key)} lost the race ${MAX_PATCH_ATTEMPTS} times`);
  }

  /** Runs a write script; when its reply was lost, the token says whether it was applied. */
  private async applied(script: S.LuaScript, keys: string[], args: string[], token: string): Promise<unknown> {
    try {
      return await this.eval(script, keys, args);
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      if ((await this.redis.exists(this.appliedKey(token))) === 1) return 1;
      throw err;
    }
  }

  private patchNow(key: string, mutator: PatchMutator): Promise<PatchResult> {
    return this.optimistic(key, mutator, false, async (version, op, token, next, json) => {
      const args =
        op === "put"
          ? [key, version, "put", token, json, indexMember(key, next!)]
          : [key, version, "del", token, "", ""];
      return (await this.applied(S.CAS_ROW, this.rowKeys(token), args, token)) === 1;
    });
  }

  /**
   * A fenced append and a row compare-and-set in one script: one command in the steady state. A
   * fence with `renewTtlMs` is renewed by the same script (`leaseExpiresAt`), and events waiting in
   * `publishSoon` are published by it.
   */
  async appendAndPatch(
    sessionId: string,
    lines: readonly TranscriptLine[],
    fence: Fence | undefined,
    key: string,
    mutator: PatchMutator,
  ): Promise<PatchResult> {
    assertValidSessionId(sessionId);
    const texts = lines.map((l) => JSON.stringify(l));
    const renewTtl = fence?.renewTtlMs !== undefined && fence.renewTtlMs > 0 ? String(fence.renewTtlMs) : "";
    let leaseExpiresAt: number | undefined;
    let leaseReleased = false;
    const result = await this.guard(() =>
      this.serialized(key, () =>
        this.optimistic(key, mutator, true, async (version, op, token, next, json) => {
          const keys = [
            ...this.rowKeys(token),
            this.transcriptKey(sessionId),
            this.k("transcripts"),
            this.k(`lease:${fence?.name ?? ""}`),
          ];
          const riders = this.riding.take();
          const args = [
            key,
            version,
            op,
            token,
            json,
            op === "put" ? indexMember(key, next!) : "",
            sessionId,
            // '2': free the lease with this write (Fence.release; only with a renewal, as on postgres).
            fence ? (fence.release && renewTtl ? "2" : "1") : "0",
            fence?.owner ?? "",
            String(fence?.epoch ?? ""),
            fence ? this.leaseNow() : "",
            fence ? renewTtl : "",
            this.channel,
            String(riders.length),
            ...riders.map((r) => r.text),
            ...texts,
          ];
          let got: unknown;
          try {
            got = await this.applied(S.APPEND_AND_PATCH, keys, args, token);
          } catch (err) {
            // Lost with the connection (maybe sent, maybe not): pub/sub promises no more than that.
            for (const r of riders) r.failed(err);
            throw err;
          }
          // The script publishes them whenever it runs, whatever the write's outcome.
          for (const r of riders) r.sent();
          const [status, expiresAt, freed] = Array.isArray(got) ? (got as [number, string, string]) : [got, "", ""];
          if (status === -1)
            throw new FencedError(
              `lease ${JSON.stringify(fence?.name)} epoch ${fence?.epoch} of ${fence?.owner} is no longer current`,
            );
          if (status === 1 && expiresAt) leaseExpiresAt = Number(expiresAt);
          if (status === 1 && freed === "1") leaseReleased = true;
          return status === 1;
        }),
      ),
    );
    // Set, not spread: a spread would read (parse) the lazy `before`.
    if (leaseExpiresAt !== undefined) result.leaseExpiresAt = leaseExpiresAt;
    if (leaseReleased) result.leaseReleased = true;
    return result;
  }

  async putMany(changes: ReadonlyArray<{ key: string; entry: SessionEntry | null }>): Promise<void> {
    if (changes.length === 0) return;
    await this.guard(async () => {
      await this.registerScope();
      const token = randomUUID();
      const args: string[] = [token];
      for (const { key, entry } of changes) {
        this.known.delete(key);
        args.push(key, entry === null ? "" : JSON.stringify(entry), entry === null ? "" : indexMember(key, entry));
      }
      await this.eval(S.PUT_MANY, this.rowKeys(token), args);
    });
  }

  async list(filter: ListFilter = {}, options: ListOptions = {}): Promise<ListPage> {
    return this.guard(async () => {
      let min = "-";
      if (options.cursor) {
        const c = decodeCursor(options.cursor);
        min = `(${invertedTime(sanitizedTime(c.u))}:${c.k}`;
      }
      const max = filter.activeSince !== undefined ? `(${invertedTime(filter.activeSince)};` : "+";
      const limit = options.limit ?? -1;
      const reply = (await this.eval(
        S.LIST_PAGE,
        [this.k("idx"), this.k("rows")],
        [min, max, limit, filter.keyPrefix ?? ""],
      )) as Array<number | string>;
      const more = reply[0] === 1;
      const rows: SessionRow[] = [];
      for (let i = 1; i + 1 < reply.length; i += 2)
        rows.push({ key: String(reply[i]), entry: JSON.parse(String(reply[i + 1])) as SessionEntry });
      const last = rows[rows.length - 1];
      return {
        rows,
        nextCursor:
          more && last
            ? encodeCursor({ key: last.key, entry: { sessionId: "", updatedAt: sanitizedTime(last.entry.updatedAt) } })
            : null,
      };
    });
  }

  async count(): Promise<number> {
    return this.guard(() => this.redis.hlen(this.k("rows")));
  }

  async all(): Promise<SessionRow[]> {
    return (await this.list()).rows;
  }

  async appendTranscript(sessionId: string, lines: readonly TranscriptLine[], fence?: Fence): Promise<void> {
    assertValidSessionId(sessionId);
    await this.guard(async () => {
      if (lines.length > 0) await this.registerScope();
      const token = randomUUID();
      const keys = [
        this.transcriptKey(sessionId),
        this.k("transcripts"),
        this.k(`lease:${fence?.name ?? ""}`),
        this.appliedKey(token),
      ];
      const args = [
        sessionId,
        fence ? "1" : "0",
        fence?.owner ?? "",
        String(fence?.epoch ?? ""),
        fence ? this.leaseNow() : "",
        ...lines.map((l) => JSON.stringify(l)),
      ];
      let ok: boolean;
      try {
        ok = (await this.eval(S.APPEND, keys, args)) === 1;
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        ok = (await this.redis.exists(this.appliedKey(token))) === 1;
        if (!ok) throw err;
      }
      if (!ok)
        throw new FencedError(
          `lease ${JSON.stringify(fence?.name)} epoch ${fence?.epoch} of ${fence?.owner} is no longer current`,
        );
    });
  }

  private parseLines(
    sessionId: string,
    raw: readonly string[],
    firstLine: number,
  ): { lines: TranscriptLine[]; issues: ReadIssue[] } {
    return parseStoredLines(`${this.location}#${sessionId}`, numberedFrom(firstLine, raw));
  }

  async readTranscript(sessionId: string, options: { tail?: number } = {}): Promise<TranscriptRead> {
    assertValidSessionId(sessionId);
    return this.guard(async () => {
      const tail = options.tail === undefined ? -1 : Math.max(0, Math.floor(options.tail));
      const reply = (await this.eval(S.READ_TAIL, [this.transcriptKey(sessionId)], [tail])) as [number, ...string[]];
      return this.tailOf(sessionId, tail, Number(reply[0]), reply.slice(1) as string[]);
    });
  }

  /**
   * The transcript read from a script's reply: its length `total` and its last lines `raw` (the
   * last `tail` + 1, to tell whether there are more; all of them when `tail` is -1).
   */
  private tailOf(sessionId: string, tail: number, total: number, raw: string[]): TranscriptRead {
    const truncated = tail >= 0 && raw.length > tail;
    const lines = truncated ? raw.slice(raw.length - tail) : raw;
    return { ...this.parseLines(sessionId, lines, total - lines.length + 1), truncated };
  }

  async transcriptExists(sessionId: string): Promise<boolean> {
    assertValidSessionId(sessionId);
    return this.guard(async () => (await this.redis.exists(this.transcriptKey(sessionId))) === 1);
  }

  async transcriptHeader(sessionId: string): Promise<TranscriptLine | null> {
    assertValidSessionId(sessionId);
    return this.guard(async () => {
      const first = await this.redis.lindex(this.transcriptKey(sessionId), 0);
      return first === null ? null : (this.parseLines(sessionId, [first], 1).lines[0] ?? null);
    });
  }

  async archiveTranscript(sessionId: string, reason: ArchiveReason, now = this.now()): Promise<string | null> {
    assertValidSessionId(sessionId);
    return this.guard(async () => {
      const name = archiveName(sessionId, reason, now);
      const token = randomUUID();
      const keys = [
        this.transcriptKey(sessionId),
        this.k(`archive:${name}`),
        this.k("transcripts"),
        this.k("archives"),
        this.appliedKey(token),
      ];
      const got = await this.eval(S.ARCHIVE, keys, [sessionId, name]);
      return typeof got === "string" ? got : null;
    });
  }

  async listTranscripts(): Promise<string[]> {
    return this.guard(async () => (await this.redis.smembers(this.k("transcripts"))).sort());
  }

  async exportTranscript(sessionId: string): Promise<string | null> {
    assertValidSessionId(sessionId);
    return this.guard(async () => {
      const lines = await this.redis.lrange(this.transcriptKey(sessionId), 0, -1);
      return lines.length === 0 ? null : joinLines(lines);
    });
  }

  async importTranscript(sessionId: string, text: string): Promise<void> {
    assertValidSessionId(sessionId);
    await this.guard(async () => {
      const lines = splitLines(text);
      if (lines.length > 0) await this.registerScope();
      await this.eval(S.IMPORT, [this.transcriptKey(sessionId), this.k("transcripts")], [sessionId, ...lines]);
    });
  }

  async acquireLease(name: string, options: { ttlMs?: number; waitMs?: number } = {}): Promise<Lease> {
    return (await this.acquire(name, null, options)).lease;
  }

  /**
   * The lease, the row `key` and the `tail` asked for in one script; the row's version is
   * remembered for the next patch.
   */
  async acquireLeaseWithRow(
    name: string,
    key: string,
    options: { ttlMs?: number; waitMs?: number } = {},
    tail?: TailHint,
  ): Promise<LeaseWithRow> {
    if (tail) assertValidSessionId(tail.sessionId);
    return this.acquire(name, key, options, tail);
  }

  private async acquire(
    name: string,
    rowKey: string | null,
    options: { ttlMs?: number; waitMs?: number },
    tail?: TailHint,
  ): Promise<LeaseWithRow> {
    const ttl = options.ttlMs ?? this.leaseTtlMs;
    // The wait is measured on the local clock; whether the lease is free is the scripts' call.
    const deadline = this.now() + (options.waitMs ?? 10_000);
    const keys = [this.k(`lease:${name}`)];
    const args = [this.owner, this.leaseNow(), String(ttl)];
    const tailLines = tail ? Math.max(0, Math.floor(tail.lines)) : 0;
    if (rowKey !== null) {
      keys.push(this.k("rows"), this.k("vers"));
      args.push(rowKey);
      if (tail) {
        keys.push(this.transcriptKey(tail.sessionId));
        args.push(String(tailLines));
      }
    }
    return this.guard(async () => {
      for (;;) {
        const [got, owner, epoch, expiresAt, json, version, total, raw] = (await this.eval(S.ACQUIRE, keys, args)) as [
          number,
          string,
          string,
          string,
          string | null | undefined,
          string | null | undefined,
          number | undefined,
          string[] | undefined,
        ];
        if (got === 1) {
          const lease = { name, owner, epoch: Number(epoch), expiresAt: Number(expiresAt) };
          if (rowKey === null) return { lease, row: undefined };
          this.knowRow(rowKey, json ?? null, version ?? null);
          const row = json ? (JSON.parse(json) as SessionEntry) : undefined;
          if (!tail || raw === undefined) return { lease, row };
          const read = this.tailOf(tail.sessionId, tailLines, Number(total), raw);
          return { lease, row, tail: { ...read, sessionId: tail.sessionId } };
        }
        if (this.now() >= deadline) {
          throw new LeaseTimeoutError(
            `${this.location}: lease ${JSON.stringify(name)} is held by ${owner} (epoch ${epoch}) until ${new Date(Number(expiresAt)).toISOString()}`,
          );
        }
        await sleep(5 + Math.random() * 15);
      }
    });
  }

  /**
   * Without an injected clock the new `expiresAt` is server time. Callers compare it with their own
   * clock only as a rough check (session-leases: "has it run out?" after a failed renewal), where a
   * small skew is harmless; who holds the lease is always decided on the server.
   */
  async renewLease(lease: Lease, ttlMs = this.leaseTtlMs): Promise<Lease> {
    return this.guard(async () => {
      const got = await this.eval(
        S.RENEW,
        [this.k(`lease:${lease.name}`)],
        [lease.owner, String(lease.epoch), this.leaseNow(), String(ttlMs)],
      );
      if (typeof got !== "string")
        throw new FencedError(`lease ${JSON.stringify(lease.name)} epoch ${lease.epoch} was lost`);
      return { ...lease, expiresAt: Number(got) };
    });
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.guard(() => this.eval(S.RELEASE, [this.k(`lease:${lease.name}`)], [lease.owner, String(lease.epoch)]));
  }

  private get channel(): string {
    return this.k("events");
  }

  private async publish(event: StoreEvent): Promise<void> {
    await this.guard(() =>
      this.redis.publish(
        this.channel,
        JSON.stringify({ origin: event.origin, kind: event.kind, payload: event.payload }),
      ),
    );
  }

  /**
   * Queues the event for the next appendAndPatch script of this store (any session), so a busy
   * gateway's events cost no command of their own; without one within a few ms (ride-along.ts) they are sent
   * together in one script. Order is kept: the queue is taken whole, front first.
   */
  private publishSoon(event: StoreEvent): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError(`${this.location}: store is closed`));
    return this.riding.add(JSON.stringify({ origin: event.origin, kind: event.kind, payload: event.payload }));
  }

  /** The waiting events in one script of their own (no write came to carry them). */
  private async sendRiders(riders: Rider[]): Promise<void> {
    try {
      // Not through guard: close() sends what is left after the store is marked closed.
      await this.eval(S.PUBLISH_MANY, [], [this.channel, ...riders.map((r) => r.text)]);
      for (const r of riders) r.sent();
    } catch (err) {
      for (const r of riders) r.failed(err);
    }
  }

  private subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    if (!this.subscriber && !this.closed) {
      // A connection in subscriber mode can run nothing else: a duplicate, opened at first use.
      const sub = this.redis.duplicate({ lazyConnect: false, maxRetriesPerRequest: null });
      sub.on("error", () => undefined);
      sub.on("message", (channel: string, message: string) => {
        if (channel !== this.channel) return;
        let event: StoreEvent;
        try {
          const v = JSON.parse(message) as Partial<StoreEvent>;
          if (!v || typeof v.origin !== "string" || typeof v.kind !== "string") return;
          event = { origin: v.origin, kind: v.kind, payload: v.payload };
        } catch {
          return;
        }
        for (const l of [...this.listeners]) {
          try {
            l(event);
          } catch {
            // A listener's failure is its own; the others still hear the event.
          }
        }
      });
      sub.subscribe(this.channel).catch(() => undefined);
      this.subscriber = sub;
    }
    return () => {
      this.listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await Promise.allSettled([...this.locks.values()]);
    // Events still waiting for a write go out before the connection closes.
    await this.riding.flush();
    const sub = this.subscriber;
    this.subscriber = null;
    if (sub) await quitClient(sub);
    await quitClient(this.redis);
  }
}
