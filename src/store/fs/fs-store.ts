/**
 * The `fs` backend: OpenClaw's layout (`sessions.json` + `<sessionId>.jsonl`) made safe for many
 * writers and cheap per message.
 *
 * - Reads are served from memory (the index is loaded once).
 * - Each change is one journal line appended beside `sessions.json` (see journal.ts), so a message
 *   costs O(1) I/O whatever the store size; the snapshot is rewritten in the background once the
 *   journal outgrows it (amortised O(1)), and on close, so `sessions.json` is complete whenever no
 *   Pincer process is running.
 * - Writers in different processes take turns through a fenced lease arbitrated in the journal.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { assertValidSessionId } from "../../keys/ids.ts";
import type { SessionEntry } from "../entry.ts";
import { compareRows, matchesFilter, pageOf } from "../list-order.ts";
import { transcriptIdOf } from "../session-file.ts";
import {
  FencedError,
  LeaseTimeoutError,
  type ArchiveReason,
  type DiskOps,
  type Fence,
  type Lease,
  type ListFilter,
  type ListOptions,
  type ListPage,
  type PatchMutator,
  type PatchResult,
  type ReadIssue,
  type SessionRow,
  type SessionStore,
  type StoreCapabilities,
  type TranscriptLine,
  type TranscriptRead,
} from "../types.ts";
import {
  INDEX_LEASE,
  JOURNAL_RE,
  JournalState,
  journalName,
  parseRecord,
  type JournalRecord,
  type RecordOutcome,
} from "./journal.ts";
import { appendWholeSync, ensurePrivateDir, FILE_MODE } from "./secure-fs.ts";
import { loadSnapshot, writeSnapshot } from "./snapshot.ts";
import { TranscriptFiles } from "./transcript-files.ts";
import {
  archiveDiskFile,
  archiveNameOf,
  classify,
  removeDiskFile,
  restoreDiskFile,
  type DiskFile,
} from "./disk-files.ts";
import { livenessSuffix, ownerIsDead, processLivenessToken } from "./liveness.ts";
import { copyRow, freezeShared } from "../row-copy.ts";

export interface FsStoreOptions {
  /** Path of `sessions.json`; its directory holds the transcripts. */
  storePath: string;
  /** fdatasync every append (survives power loss, slower). Default: survive process crashes. */
  fsync?: boolean;
  leaseTtlMs?: number;
  /** Give the writer lease back after this long without writes, so other processes can write. */
  idleReleaseMs?: number;
  /** How long a write may wait for another process's lease. */
  lockWaitMs?: number;
  /** Rewrite the snapshot once the journal exceeds max(this, snapshot size). */
  compactMinBytes?: number;
  /**
   * Rewrite `sessions.json` in the background this long after the first change it lacks (so it is
   * at most about this far behind, even after a SIGKILL); 0 = only on close and journal growth.
   * Rate-limited further so snapshot work takes at most ~1/SNAPSHOT_DUTY of the time.
   */
  snapshotIntervalMs?: number;
  now?: () => number;
  onIssue?: (issue: ReadIssue) => void;
  /** Read without creating anything; writes are refused. For listing commands. */
  readOnly?: boolean;
}

interface JournalCursor {
  gen: number;
  fd: number;
  /** Bytes of the file consumed as complete lines. */
  offset: number;
  /** Bytes after `offset` that do not yet end with a newline. */
  pending: Buffer;
}

export class FsSessionStore implements SessionStore, DiskOps {
  readonly backend = "fs";
  readonly location: string;
  readonly dir: string;
  /** A getter so that a wrapper (a Proxy adding metrics or faults) is what `disk` hands out. */
  get capabilities(): StoreCapabilities {
    return { shared: false, disk: this };
  }
  /** Ends in this process's liveness token when it has one (liveness.ts), so waiters can see it die. */
  private readonly owner: string;
  private readonly rows = new Map<string, SessionEntry>();
  private invalidRows = new Map<string, unknown>();
  private state: JournalState;
  private cursor: JournalCursor | null = null;
  private readonly transcripts: TranscriptFiles;
  private readonly ttl: number;
  private readonly idleReleaseMs: number;
  private readonly lockWaitMs: number;
  private readonly compactMinBytes: number;
  private readonly fsync: boolean;
  private readonly now: () => number;
  private readonly issueSink: (issue: ReadIssue) => void;
  private readonly issueLog: ReadIssue[] = [];
  private readonly readOnly: boolean;
  private snapshotBytes = 0;
  /** Journal bytes holding data not yet folded into the snapshot. */
  private dirtyBytes = 0;
  private releaseTimer: NodeJS.Timeout | null = null;
  /** Times a write had to wait for another process's lease (exported as a metric). */
  leaseWaits = 0;
  /** Other processes waiting for the index lease (first want first), with their latest want time. */
  private readonly wanters = new Map<string, number>();
  /** One acquisition of the index lease at a time in this process, shared by concurrent writes. */
  private indexAcquire: Promise<Lease> | null = null;
  private readonly snapshotIntervalMs: number;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private lastSnapshotEndedAt = 0;
  private lastSnapshotMs = 0;
  private compaction: Promise<void> | null = null;
  private closed = false;
  /** Lines this process wrote, awaiting their verdict while catching up after an interleaved append. */
  private awaiting: Map<string, RecordOutcome | null> | null = null;

  private constructor(options: FsStoreOptions, livenessToken: string | null) {
    this.owner = `${os.hostname()}:${process.pid}:${randomBytes(6).toString("hex")}${livenessToken ? livenessSuffix(livenessToken) : ""}`;
    this.snapshotIntervalMs = options.snapshotIntervalMs ?? 2000;
    this.location = path.resolve(options.storePath);
    this.dir = path.dirname(this.location);
    this.fsync = options.fsync ?? false;
    this.ttl = options.leaseTtlMs ?? 5000;
    this.idleReleaseMs = options.idleReleaseMs ?? 250;
    this.lockWaitMs = options.lockWaitMs ?? 10_000;
    this.compactMinBytes = options.compactMinBytes ?? 8 * 1024 * 1024;
    this.now = options.now ?? Date.now;
    this.issueSink = options.onIssue ?? (() => {});
    this.readOnly = options.readOnly ?? false;
    this.transcripts = new TranscriptFiles(this.dir, this.fsync);
    this.state = new JournalState(this.rows);
  }

  /** Opens (creating the directory when needed) and loads the store. Refuses a corrupt index. */
  static async open(options: FsStoreOptions): Promise<FsSessionStore> {
    const store = new FsSessionStore(options, options.readOnly ? null : await processLivenessToken());
    store.load();
    return store;
  }

  issues(): readonly ReadIssue[] {
    return this.issueLog;
  }

  // ---------------------------------------------------------------- loading

  private load(): void {
    if (!this.readOnly) {
      ensurePrivateDir(this.dir);
      this.removeStaleTempFiles();
    }
    // A concurrent compaction can delete a journal between listing and opening it; start over then.
    for (let attempt = 0; ; attempt++) {
      try {
        this.loadOnce();
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 5) throw err;
      }
    }
  }

  private loadOnce(): void {
    // Open the journals before reading the snapshot: a snapshot written meanwhile only makes the
    // replay of those journals redundant (each line carries a whole row), never lossy.
    const gens = this.listJournalGens();
    const fds = gens.map((gen) => ({ gen, fd: this.openJournal(gen) }));
    try {
      const snap = loadSnapshot(this.location);
      for (const issue of snap.issues) this.report({ file: this.location, line: 0, byteOffset: 0, reason: issue });
      this.rows.clear();
      for (const [k, v] of snap.rows) this.rows.set(k, v);
      this.invalidRows = snap.invalid;
      this.snapshotBytes = snap.bytes;
      this.state = new JournalState(this.rows);
      this.dirtyBytes = 0;
      this.cursor = null;
      const last = fds[fds.length - 1];
      for (const { gen, fd } of fds) {
        this.cursor = { gen, fd, offset: 0, pending: Buffer.alloc(0) };
        this.state.sealedTo = null;
        this.readJournal();
        // Every journal but the last is done with; the last stays open as the live cursor.
        if (fd !== last?.fd) fs.closeSync(fd);
      }
      // The last journal may have been sealed by a compaction whose successor we did not list.
      this.followSeal();
    } catch (err) {
      for (const { fd } of fds) tryClose(fd);
      this.cursor = null;
      throw err;
    }
  }

  /** Journals are opened for append (and read) unless the store is read-only; never created here. */
  private openJournal(gen: number): number {
    const file = path.join(this.dir, journalName(gen));
    return this.readOnly ? fs.openSync(file, "r") : fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_APPEND);
  }

  private listJournalGens(): number[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .map((n) => JOURNAL_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  private removeStaleTempFiles(): void {
    const cutoff = Date.now() - 10 * 60_000;
    for (const name of fs.readdirSync(this.dir)) {
      // Temp files of snapshot rewrites and of transcript imports that crashed before the rename.
      if (!/^(sessions\.(json|pincer-meta\.json)|[a-z0-9][a-z0-9._-]*\.jsonl)\.[0-9a-f]{12}\.tmp$/i.test(name))
        continue;
      const file = path.join(this.dir, name);
      try {
        if (fs.statSync(file).mtimeMs < cutoff) fs.rmSync(file, { force: true });
      } catch {
        // another process removed it first
      }
    }
  }

  // ---------------------------------------------------------------- journal reading

  /** Applies every complete line after the cursor; follows seals into the next generation. */
  private catchUp(): void {
    if (!this.cursor) {
      const gens = this.listJournalGens();
      const last = gens[gens.length - 1];
      if (last === undefined) return;
      this.cursor = { gen: last, fd: this.openJournal(last), offset: 0, pending: Buffer.alloc(0) };
      this.state.sealedTo = null;
    }
    this.readJournal();
    this.followSeal();
  }

  private followSeal(): void {
    while (this.cursor && this.state.sealedTo !== null) {
      const next = this.state.sealedTo;
      let fd: number;
      try {
        fd = this.openJournal(next);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
        throw err;
      }
      fs.closeSync(this.cursor.fd);
      this.cursor = { gen: next, fd, offset: 0, pending: Buffer.alloc(0) };
      this.state.sealedTo = null;
      this.readJournal();
    }
  }

  private readJournal(): void {
    const cur = this.cursor;
    if (!cur) return;
    const size = fs.fstatSync(cur.fd).size;
    const from = cur.offset + cur.pending.length;
    if (size <= from) return;
    const fresh = Buffer.allocUnsafe(size - from);
    let got = 0;
    while (got < fresh.length) {
      const n = fs.readSync(cur.fd, fresh, got, fresh.length - got, from + got);
      if (n === 0) break;
      got += n;
    }
    const buf = cur.pending.length ? Buffer.concat([cur.pending, fresh.subarray(0, got)]) : fresh.subarray(0, got);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      this.applyLine(buf.toString("utf8", start, nl), cur.offset + start, cur.gen);
      start = nl + 1;
      if (this.state.sealedTo !== null) break;
    }
    cur.offset += start;
    cur.pending = Buffer.from(buf.subarray(start));
  }

  private applyLine(line: string, byteOffset: number, gen: number): void {
    if (line.trim() === "") return;
    const rec = parseRecord(line);
    if (!rec) {
      this.report({
        file: path.join(this.dir, journalName(gen)),
        line: 0,
        byteOffset,
        reason: "malformed journal line skipped",
      });
      return;
    }
    const outcome = this.state.apply(rec);
    if ((rec.op === "put" || rec.op === "del") && outcome === "applied") this.dirtyBytes += line.length + 1;
    if (rec.op === "want" && rec.n === INDEX_LEASE && rec.o !== this.owner && !this.wanters.has(rec.o))
      this.wanters.set(rec.o, rec.t);
    else if (rec.op === "want" && rec.n === INDEX_LEASE && this.wanters.has(rec.o))
      this.wanters.set(rec.o, Math.max(this.wanters.get(rec.o)!, rec.t));
    // A waiter that got the lease is served.
    if (rec.op === "lease" && rec.n === INDEX_LEASE && outcome === "applied") this.wanters.delete(rec.o);
    if ((rec.op === "put" || rec.op === "del") && outcome === "applied") this.scheduleSnapshot();
    if (this.awaiting?.has(line) && this.awaiting.get(line) === null) this.awaiting.set(line, outcome);
  }

  private report(issue: ReadIssue): void {
    this.issueLog.push(issue);
    this.issueSink(issue);
  }

  // ---------------------------------------------------------------- journal writing

  /** Ensures a writable, unsealed current generation exists. */
  private writableCursor(): JournalCursor {
    if (this.readOnly) throw new Error(`${this.location}: store was opened read-only`);
    this.catchUp();
    if (this.cursor && this.state.sealedTo === null) return this.cursor;
    const gen = (this.cursor?.gen ?? 0) + 1;
    const file = path.join(this.dir, journalName(gen));
    const fd = fs.openSync(file, "a+", FILE_MODE);
    if (fs.fstatSync(fd).size === 0) {
      const base: JournalRecord = { op: "base", g: gen, leases: [...this.state.leases.entries()] };
      try {
        appendWholeSync(fd, Buffer.from(JSON.stringify(base) + "\n"), { file });
      } catch (err) {
        fs.closeSync(fd);
        throw err;
      }
    }
    if (this.cursor) fs.closeSync(this.cursor.fd);
    this.cursor = { gen, fd, offset: 0, pending: Buffer.alloc(0) };
    this.state.sealedTo = null;
    this.readJournal();
    return this.cursor;
  }

  /** Appends records with one write and returns how the shared rules judged each of them. */
  private append(records: JournalRecord[]): RecordOutcome[] {
    const cur = this.writableCursor();
    const lines = records.map((r) => JSON.stringify(r));
    // A torn line left by a crashed writer must not swallow ours: terminate it first.
    const guard = cur.pending.length > 0 ? "\n" : "";
    const buf = Buffer.from(guard + lines.join("\n") + "\n");
    // The file's size when writableCursor's catch-up last looked (it read up to there).
    const expectedBefore = cur.offset + cur.pending.length;
    // All or nothing (disk full): a failed write is cut off again and nothing is applied in memory,
    // so neither this process nor any reader sees part of the batch. Should the cut be impossible
    // (another process appended right after), the torn piece is terminated by the next append's guard.
    appendWholeSync(cur.fd, buf, { file: path.join(this.dir, journalName(cur.gen)), fsync: this.fsync });
    // One stat after the write: the file grew by exactly our bytes since the catch-up's stat only if
    // nobody else appended in between (a second stat just before the write told nothing more).
    const sizeAfter = fs.fstatSync(cur.fd).size;
    if (sizeAfter === expectedBefore + buf.length && !guard) {
      // Nobody else appended in between: our lines are exactly the new bytes.
      cur.offset = sizeAfter;
      return lines.map((line, i) => {
        const outcome = this.state.apply(records[i]!);
        const rec = records[i]!;
        if ((rec.op === "put" || rec.op === "del") && outcome === "applied") {
          this.dirtyBytes += line.length + 1;
          this.scheduleSnapshot();
        }
        return outcome;
      });
    }
    this.awaiting = new Map(lines.map((l) => [l, null]));
    try {
      this.catchUp();
      return lines.map((l) => this.awaiting?.get(l) ?? "rejected");
    } finally {
      this.awaiting = null;
    }
  }

  // ---------------------------------------------------------------- leases

  private holds(name: string, margin: number): { epoch: number; expiresAt: number } | null {
    const st = this.state.leases.get(name);
    if (!st || st.free || st.owner !== this.owner) return null;
    if (this.now() >= st.expiresAt - margin) return null;
    return { epoch: st.epoch, expiresAt: st.expiresAt };
  }

  private async acquire(name: string, ttl: number, waitMs: number): Promise<Lease> {
    const deadline = this.now() + waitMs;
    let wantedEpoch = -1;
    let wantedAt = 0;
    let probed: { owner: string; epoch: number; at: number } | null = null;
    for (;;) {
      this.catchUp();
      const now = this.now();
      const cur = this.state.leases.get(name);
      if (cur && !cur.free && cur.owner === this.owner && now < cur.expiresAt) {
        return { name, owner: this.owner, epoch: cur.epoch, expiresAt: cur.expiresAt };
      }
      const handedTo = this.state.leases.reservedFor(name, now);
      if ((!cur || cur.free || now >= cur.expiresAt) && (handedTo === null || handedTo === this.owner)) {
        const epoch = (cur?.epoch ?? 0) + 1;
        const [outcome] = this.append([{ op: "lease", n: name, o: this.owner, e: epoch, x: now + ttl, t: now }]);
        if (outcome === "applied") return { name, owner: this.owner, epoch, expiresAt: now + ttl };
        continue;
      }
      // A holder whose process is gone (its liveness endpoint refuses) is taken over at once. The
      // takeover names it, so every reader of the journal applies the same rule to the same line.
      const probeDue =
        probed === null ||
        probed.owner !== cur?.owner ||
        probed.epoch !== cur.epoch ||
        now - probed.at >= PROBE_EVERY_MS;
      if (cur && !cur.free && probeDue) {
        probed = { owner: cur.owner, epoch: cur.epoch, at: now };
        if (await ownerIsDead(cur.owner)) {
          this.catchUp();
          const still = this.state.leases.get(name);
          if (still && !still.free && still.owner === cur.owner && still.epoch === cur.epoch) {
            const t = this.now();
            const [outcome] = this.append([
              { op: "lease", n: name, o: this.owner, e: cur.epoch + 1, x: t + ttl, t, over: cur.owner },
            ]);
            if (outcome === "applied") return { name, owner: this.owner, epoch: cur.epoch + 1, expiresAt: t + ttl };
          }
          continue;
        }
      }
      if (now >= deadline) {
        const state =
          cur && !cur.free
            ? `is held by ${cur.owner} (epoch ${cur.epoch}) until ${new Date(cur.expiresAt).toISOString()}`
            : `was handed to ${handedTo} (a waiter before us)`;
        throw new LeaseTimeoutError(
          `${this.location}: lease ${JSON.stringify(name)} ${state}; gave up after ${waitMs} ms`,
        );
      }
      // Ask the holder to hand over (once per holder epoch, and again now and then so the holder
      // knows we are still waiting): it hands over after its current write, reserved for us.
      if (wantedEpoch !== cur?.epoch || now - wantedAt >= WANT_REFRESH_MS) {
        this.leaseWaits++;
        this.append([{ op: "want", n: name, o: this.owner, t: now }]);
        wantedEpoch = cur?.epoch ?? 0;
        wantedAt = now;
      }
      await sleep(Math.min(10, Math.max(1, deadline - now)));
    }
  }

  /** The writer lease for the index, renewed early and handed back when idle or asked for. */
  private async indexFence(): Promise<Fence> {
    const margin = Math.min(1000, this.ttl / 4);
    const held = this.holds(INDEX_LEASE, margin);
    if (held) {
      this.renewIndexIfHeld();
      return { name: INDEX_LEASE, owner: this.owner, epoch: held.epoch };
    }
    // Concurrent writes share one acquisition: one want line per turn, not one per caller.
    this.indexAcquire ??= this.acquire(INDEX_LEASE, this.ttl, this.lockWaitMs).finally(() => {
      this.indexAcquire = null;
    });
    const lease = await this.indexAcquire;
    return { name: INDEX_LEASE, owner: lease.owner, epoch: lease.epoch };
  }

  private renewIndexIfHeld(): void {
    const held = this.holds(INDEX_LEASE, 0);
    if (!held || held.expiresAt - this.now() >= this.ttl / 2) return;
    const now = this.now();
    this.append([{ op: "lease", n: INDEX_LEASE, o: this.owner, e: held.epoch, x: now + this.ttl, t: now }]);
  }

  private afterWrite(): void {
    if (!this.compaction && this.handOverToWaiter()) return;
    this.armIdleRelease();
    this.maybeCompact();
  }

  /**
   * Gives the index lease back `idleReleaseMs` after the last write (or compaction). An idle holder
   * reads no journal lines, so it never sees a `want`: this timer is what lets the CLI in then.
   */
  private armIdleRelease(): void {
    if (this.releaseTimer) {
      this.releaseTimer.refresh();
      return;
    }
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = null;
      // A compaction in progress keeps the lease; it re-arms this timer when it ends.
      if (!this.compaction && !this.closed) this.releaseIndex();
    }, this.idleReleaseMs);
    this.releaseTimer.unref();
  }

  /**
   * Hands the index lease back. Best effort, and it never throws: it runs from the idle timer and
   * after writes that already succeeded. If the `free` line cannot be written (disk full) the lease
   * simply expires and is reported.
   */
  private releaseIndex(handTo?: string): void {
    const st = this.state.leases.get(INDEX_LEASE);
    if (!st || st.free || st.owner !== this.owner) return;
    try {
      const t = this.now();
      const fair = handTo === undefined ? {} : { for: handTo, until: t + Math.min(HANDOVER_MAX_MS, this.ttl / 2) };
      this.append([{ op: "free", n: INDEX_LEASE, o: this.owner, e: st.epoch, t, ...fair }]);
    } catch (err) {
      const reason = `releasing the index lease failed, it expires at ${new Date(st.expiresAt).toISOString()} instead: ${err instanceof Error ? err.message : String(err)}`;
      this.report({ file: this.location, line: 0, byteOffset: 0, reason });
    }
  }

  async acquireLease(name: string, options: { ttlMs?: number; waitMs?: number } = {}): Promise<Lease> {
    if (name === INDEX_LEASE) throw new Error(`lease name ${JSON.stringify(INDEX_LEASE)} is reserved`);
    return this.acquire(name, options.ttlMs ?? this.ttl, options.waitMs ?? this.lockWaitMs);
  }

  async renewLease(lease: Lease, ttlMs = this.ttl): Promise<Lease> {
    const now = this.now();
    const [outcome] = this.append([
      { op: "lease", n: lease.name, o: lease.owner, e: lease.epoch, x: now + ttlMs, t: now },
    ]);
    if (outcome !== "applied")
      throw new FencedError(`lease ${JSON.stringify(lease.name)} epoch ${lease.epoch} was lost`);
    return { ...lease, expiresAt: now + ttlMs };
  }

  async releaseLease(lease: Lease): Promise<void> {
    this.append([{ op: "free", n: lease.name, o: lease.owner, e: lease.epoch, t: this.now() }]);
  }

  // ---------------------------------------------------------------- index

  async get(key: string): Promise<SessionEntry | undefined> {
    // While this process holds the writer lease no one else can change rows: skip the disk check.
    if (!this.holds(INDEX_LEASE, 0)) this.catchUp();
    return cloneOpt(this.rows.get(key));
  }

  async patch(key: string, mutator: PatchMutator): Promise<PatchResult> {
    for (let attempt = 0; ; attempt++) {
      const fence = await this.indexFence();
      const before = this.rows.get(key);
      const next = mutator(cloneOpt(before));
      if (next === undefined || (next === null && before === undefined)) {
        return { before: cloneOpt(before), after: cloneOpt(before), changed: false };
      }
      const t = this.now();
      const rec: JournalRecord =
        next === null
          ? { op: "del", k: key, o: fence.owner, e: fence.epoch, t }
          : { op: "put", k: key, v: next, o: fence.owner, e: fence.epoch, t };
      const [outcome] = this.append([rec]);
      if (outcome === "applied") {
        this.afterWrite();
        // The row kept in memory is `next`: its report and totals are frozen, so copies share them.
        if (next !== null) freezeShared(next);
        return changedResult(before, next === null ? undefined : cloneEntry(next));
      }
      if (attempt >= 3)
        throw new FencedError(`${this.location}: write to ${JSON.stringify(key)} refused: the writer lease was lost`);
    }
  }

  async putMany(changes: ReadonlyArray<{ key: string; entry: SessionEntry | null }>): Promise<void> {
    if (changes.length === 0) return;
    for (let attempt = 0; ; attempt++) {
      const fence = await this.indexFence();
      const t = this.now();
      const recs: JournalRecord[] = changes.map(({ key, entry }) =>
        entry === null
          ? { op: "del", k: key, o: fence.owner, e: fence.epoch, t }
          : { op: "put", k: key, v: entry, o: fence.owner, e: fence.epoch, t },
      );
      const outcomes = this.append(recs);
      if (outcomes.every((o) => o === "applied")) {
        this.afterWrite();
        return;
      }
      if (outcomes.some((o) => o === "applied")) {
        // Part landed before the lease was lost: the rest is retried under a new lease.
        changes = changes.filter((_, i) => outcomes[i] !== "applied");
      }
      if (attempt >= 3) throw new FencedError(`${this.location}: batch write refused: the writer lease was lost`);
    }
  }

  async list(filter?: ListFilter, options: ListOptions = {}): Promise<ListPage> {
    const rows = (await this.all()).filter((r) => matchesFilter(r, filter)).sort(compareRows);
    return pageOf(rows, options.cursor, options.limit ?? Number.MAX_SAFE_INTEGER);
  }

  async count(): Promise<number> {
    this.catchUp();
    return this.rows.size;
  }

  async all(): Promise<SessionRow[]> {
    this.catchUp();
    return [...this.rows].map(([key, entry]) => ({ key, entry }));
  }

  // ---------------------------------------------------------------- transcripts

  async appendTranscript(sessionId: string, lines: readonly TranscriptLine[], fence?: Fence): Promise<void> {
    assertValidSessionId(sessionId);
    if (fence) {
      this.catchUp();
      if (!this.state.leases.isCurrent(fence.name, fence, this.now())) {
        throw new FencedError(
          `lease ${JSON.stringify(fence.name)} epoch ${fence.epoch} of ${fence.owner} is no longer current`,
        );
      }
    } else {
      await this.indexFence();
    }
    this.transcripts.append(sessionId, lines);
    if (!fence) this.afterWrite();
  }

  async readTranscript(sessionId: string, options: { tail?: number } = {}): Promise<TranscriptRead> {
    const read = this.transcripts.read(sessionId, options.tail);
    for (const issue of read.issues) this.report(issue);
    return read;
  }

  async transcriptExists(sessionId: string): Promise<boolean> {
    return this.transcripts.exists(sessionId);
  }

  async transcriptHeader(sessionId: string): Promise<TranscriptLine | null> {
    return this.transcripts.header(sessionId);
  }

  /** Synchronous existence check, for scans over many rows (`cleanup --fix-missing`). */
  transcriptExistsSync(sessionId: string, sessionFile?: string): boolean {
    try {
      if (this.transcripts.exists(sessionId)) return true;
      // The row's own file by basename (an OpenClaw home that moved names the old absolute path).
      const named = transcriptIdOf({ sessionId, sessionFile });
      if (named !== sessionId && this.transcripts.exists(named)) return true;
    } catch {
      return false;
    }
    // OpenClaw may name a transcript differently (`<id>-topic-<thread>.jsonl`) and record it in
    // `sessionFile`; honour it only when it points inside this directory.
    if (!sessionFile || path.dirname(path.resolve(this.dir, sessionFile)) !== this.dir) return false;
    return fs.existsSync(path.resolve(this.dir, sessionFile));
  }

  transcriptPath(sessionId: string): string {
    return this.transcripts.pathFor(sessionId);
  }

  async archiveTranscript(sessionId: string, reason: ArchiveReason, now = this.now()): Promise<string | null> {
    assertValidSessionId(sessionId);
    await this.indexFence();
    const name = this.transcripts.archive(sessionId, reason, now);
    this.afterWrite();
    return name;
  }

  // ---------------------------------------------------------------- migration

  async listTranscripts(): Promise<string[]> {
    return this.transcripts.list();
  }

  async exportTranscript(sessionId: string): Promise<string | null> {
    return this.transcripts.readText(sessionId);
  }

  /** Replaces the file atomically under the writer lease (like an archive); drops its open handle. */
  async importTranscript(sessionId: string, text: string): Promise<void> {
    assertValidSessionId(sessionId);
    await this.indexFence();
    await this.transcripts.replaceText(sessionId, text);
    this.afterWrite();
  }

  // ---------------------------------------------------------------- disk (maintenance)

  /** Regular files of the sessions directory with sizes and what each is, for the disk budget and archive purge. */
  diskInventory(): DiskFile[] {
    const out: DiskFile[] = [];
    for (const d of fs.readdirSync(this.dir, { withFileTypes: true })) {
      if (!d.isFile()) continue;
      try {
        const st = fs.statSync(path.join(this.dir, d.name));
        out.push({ name: d.name, size: st.size, mtimeMs: st.mtimeMs, class: classify(d.name) });
      } catch {
        // removed meanwhile
      }
    }
    return out;
  }

  /** The name `archiveDiskFile(name, reason, now)` would give the file (so a plan can check it is free first). */
  archiveDiskName(name: string, reason: ArchiveReason, now: number): string {
    return archiveNameOf(name, reason, now);
  }

  /** Renames one transcript file by name (also OpenClaw's `sessionFile` names) to `<name>.<reason>.<ts>`. */
  async archiveDiskFile(name: string, reason: ArchiveReason, now = this.now()): Promise<string> {
    await this.indexFence();
    if (name.endsWith(".jsonl")) this.transcripts.close(name.slice(0, -".jsonl".length));
    const archived = archiveDiskFile(this.dir, name, reason, now);
    this.afterWrite();
    return archived;
  }

  /** Puts an archived transcript back under its name (maintenance undoing a row it could not finish). */
  async restoreDiskFile(archived: string, name: string): Promise<void> {
    await this.indexFence();
    restoreDiskFile(this.dir, archived, name);
    this.afterWrite();
  }

  /** Deletes one transcript or archive file by name; refuses anything else. */
  async removeDiskFile(name: string): Promise<void> {
    await this.indexFence();
    if (name.endsWith(".jsonl")) this.transcripts.close(name.slice(0, -".jsonl".length));
    removeDiskFile(this.dir, name);
    this.afterWrite();
  }

  // ---------------------------------------------------------------- compaction

  private maybeCompact(): void {
    if (this.compaction || this.closed) return;
    if (this.dirtyBytes < Math.max(this.compactMinBytes, this.snapshotBytes)) return;
    this.startCompaction().catch((err: unknown) =>
      this.report({ file: this.location, line: 0, byteOffset: 0, reason: `snapshot rewrite failed: ${String(err)}` }),
    );
  }

  /**
   * Keeps `sessions.json` at most about `snapshotIntervalMs` behind while running, so a reader of
   * the OpenClaw layout sees every session even after a SIGKILL. Rate-limited by the last rewrite's
   * duration so a large store spends at most ~1/SNAPSHOT_DUTY of its time on it.
   */
  private scheduleSnapshot(): void {
    if (this.snapshotTimer || this.compaction || this.closed || this.readOnly || this.snapshotIntervalMs <= 0) return;
    const notBefore = this.lastSnapshotEndedAt + SNAPSHOT_DUTY * this.lastSnapshotMs;
    const delay = Math.max(this.snapshotIntervalMs, notBefore - Date.now());
    this.snapshotTimer = setTimeout(() => {
      this.snapshotTimer = null;
      if (this.closed || this.compaction || this.dirtyBytes === 0) return;
      // Never throws out of the timer: a failed rewrite is reported and tried again later.
      this.startCompaction().catch((err: unknown) =>
        this.report({
          file: this.location,
          line: 0,
          byteOffset: 0,
          reason: `background snapshot failed: ${String(err)}`,
        }),
      );
    }, delay);
    this.snapshotTimer.unref();
  }

  /** Runs one compaction; afterwards serves a waiter (or arms the idle release) and re-arms the snapshot timer. */
  private startCompaction(): Promise<void> {
    const started = Date.now();
    const run = this.compact().finally(() => {
      this.compaction = null;
      this.lastSnapshotEndedAt = Date.now();
      this.lastSnapshotMs = this.lastSnapshotEndedAt - started;
      if (this.closed) return;
      // The compaction took the lease itself: hand it to a waiter, or give it back once idle.
      if (!this.handOverToWaiter() && this.holds(INDEX_LEASE, 0)) this.armIdleRelease();
      if (this.dirtyBytes > 0) this.scheduleSnapshot();
    });
    this.compaction = run;
    return run;
  }

  /**
   * Fair turns: after a write, hand the index lease to the first process still waiting for it,
   * reserved for that process (lease-table.ts), so this process cannot take it straight back.
   */
  private handOverToWaiter(): boolean {
    const now = this.now();
    for (const [owner, wantedAt] of this.wanters) {
      this.wanters.delete(owner);
      // A waiter repeats its want while it waits; an old one has given up.
      if (now - wantedAt > WANT_STALE_MS) continue;
      if (!this.holds(INDEX_LEASE, 0)) return false;
      this.releaseIndex(owner);
      return true;
    }
    return false;
  }

  /**
   * Seals the current journal, starts the next generation, writes the snapshot as of the seal, then
   * deletes the sealed journals. A crash at any step leaves snapshot + journals that replay to the
   * same index.
   */
  private async compact(): Promise<void> {
    const fence = await this.indexFence();
    const cur = this.writableCursor();
    const next = cur.gen + 1;
    const nextFile = path.join(this.dir, journalName(next));
    const fd = fs.openSync(nextFile, "a+", FILE_MODE);
    try {
      if (fs.fstatSync(fd).size === 0) {
        const base: JournalRecord = { op: "base", g: next, leases: [...this.state.leases.entries()] };
        appendWholeSync(fd, Buffer.from(JSON.stringify(base) + "\n"), { file: nextFile });
      }
    } finally {
      fs.closeSync(fd);
    }
    const [outcome] = this.append([{ op: "seal", g: next, o: fence.owner, e: fence.epoch, t: this.now() }]);
    if (outcome !== "applied") return;
    this.catchUp();
    const rows = [...this.rows].map(([key, entry]) => ({ key, entry }));
    const folded = this.dirtyBytes;
    this.dirtyBytes = 0;
    // Not folded after all (failed or abandoned): the background rewrite must try again.
    const unfold = (): void => {
      this.dirtyBytes += folded;
    };
    const meta = await writeSnapshot(this.location, rows, this.invalidRows, {
      // Keep the lease for the whole rewrite, and never rename over the snapshot without it: a
      // writer that stalled past its lease must not replace a newer snapshot with an older one.
      onSlice: () => this.renewIndexIfHeld(),
      mayCommit: () => {
        this.catchUp();
        return this.holds(INDEX_LEASE, 0) !== null;
      },
    }).catch((err: unknown) => {
      unfold();
      throw err;
    });
    if (!meta) {
      unfold();
      return;
    }
    this.snapshotBytes = meta.size;
    for (const gen of this.listJournalGens()) {
      if (gen < next) fs.rmSync(path.join(this.dir, journalName(gen)), { force: true });
    }
  }

  /** Folds the journal into `sessions.json` now (used on close and by the CLI). */
  async flush(): Promise<void> {
    if (this.compaction) await this.compaction;
    if (this.readOnly) return;
    this.catchUp();
    if (this.dirtyBytes === 0) return;
    await this.startCompaction();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      if (this.releaseTimer) clearTimeout(this.releaseTimer);
      if (this.snapshotTimer) clearTimeout(this.snapshotTimer);
      if (!this.readOnly) this.releaseIndex();
      this.transcripts.closeAll();
      if (this.cursor) tryClose(this.cursor.fd);
      this.cursor = null;
    }
  }
}

/** Rows are plain JSON (that is how they are stored): a copy as a JSON round trip makes it (row-copy.ts). */
function cloneEntry(entry: SessionEntry): SessionEntry {
  return copyRow(entry);
}

function cloneOpt(entry: SessionEntry | undefined): SessionEntry | undefined {
  return entry ? cloneEntry(entry) : undefined;
}

/**
 * A changed patch's result whose `before` is copied only when read (most callers never do). The
 * replaced row is out of the map and nothing changes a stored row in place: a later copy is the same.
 */
function changedResult(before: SessionEntry | undefined, after: SessionEntry | undefined): PatchResult {
  let copy: SessionEntry | undefined;
  let copied = false;
  return {
    get before() {
      if (!copied) {
        copy = cloneOpt(before);
        copied = true;
      }
      return copy;
    },
    after,
    changed: true,
  };
}

function tryClose(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}

/** How often a waiter asks again whether a lease holder's process is still alive. */
const PROBE_EVERY_MS = 200;
/** A waiter repeats its want this often; a want older than WANT_STALE_MS is from one that gave up. */
const WANT_REFRESH_MS = 1000;
const WANT_STALE_MS = 2500;
/** How long a lease handed to a waiter stays reserved for it (at most half the TTL). */
const HANDOVER_MAX_MS = 1000;
/** A background snapshot waits at least this many times the previous one's duration (≤ ~1/7 of the time). */
const SNAPSHOT_DUTY = 6;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
