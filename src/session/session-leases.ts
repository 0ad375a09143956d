/**
 * Cross-process ownership of sessions on a store several gateways share (postgres, redis). A
 * gateway works on a session only while it holds the store lease `session:<key>`: it takes the
 * lease before the first read or write, keeps it (renewed in the background) while the session has
 * work queued or running here, and lets it go when the session falls idle. So messages for one
 * session that arrive at different gateways are handled one at a time, and a gateway that dies
 * simply stops renewing: its lease expires and another gateway takes over with a higher epoch,
 * which fences any late write of the dead one.
 *
 * Holds are counted per session in this process (the manager's lane and the runtime's queue both
 * hold), and the lease is released when the count drops to zero — or, on a store with an event
 * channel (`capabilities.events`), kept for a linger period when this process held the session
 * continuously (nobody else took it since our last hold): its next turn then takes no lease at all,
 * and its cached row and transcript stay valid. Anyone else who wants a lingering lease (another
 * gateway, the CLI) publishes a `lease-wanted` event and the holder lets go at once; a lease wanted
 * while work runs is released as soon as that work ends. Fenced writes that renew the lease as they
 * go (`renewedBy`) keep the background renewal off the per-turn path, and a hold that would not
 * linger is freed by its work's last write (`fence(…, last)`, `freedBy`): no release round trip, and
 * the lease is free before the answer goes out, so the gateway that gets the session's next
 * message never waits for it. A taker reads the row and the tail of the session's transcript
 * (`tailHint`) together with the lease.
 */
import { randomUUID } from "node:crypto";
import type { SessionEntry } from "../store/entry.ts";
import {
  LeaseTimeoutError,
  type Fence,
  type Lease,
  type SessionStore,
  type TailHint,
  type TranscriptRead,
} from "../store/types.ts";
import { refKey } from "./session-ref.ts";

export interface SessionLeaseOptions {
  storeFor: (agentId: string) => Promise<SessionStore>;
  /** Lease lifetime; renewed every third of it while held. */
  ttlMs: number;
  /** How long a gateway waits for another gateway to let a session go. */
  waitMs: number;
  /**
   * Called after a fresh acquisition, before any work. `continuous` is true when no other process
   * held the session since this one released it (the epoch is exactly one above the last one held
   * here), so per-session caches are still valid; otherwise another process may have written.
   * `read` is the session's row as read together with the lease, when the store can do that in the
   * same round trip (`acquireLeaseWithRow`), with the transcript tail `tailHint` asked for when the
   * store read it too; null when it was not read.
   */
  onAcquired: (
    agentId: string,
    sessionKey: string,
    store: SessionStore,
    continuous: boolean,
    read: {
      hold: SessionHold;
      row: SessionEntry | undefined;
      tail: (TranscriptRead & { sessionId: string }) | undefined;
    } | null,
  ) => Promise<void>;
  /**
   * The transcript whose tail to read with the lease (a guess: the one the session had when last
   * held here), so catching up on another holder's appends costs no round trip of its own.
   */
  tailHint?: (agentId: string, sessionKey: string, store: SessionStore) => TailHint | undefined;
  /**
   * The lease was lost while held (a renewal failed): work in flight must stop. `idle`: the hold
   * was only being kept (nothing ran on the session), so nothing had to stop.
   */
  onLost?: (agentId: string, sessionKey: string, err: unknown, state: { idle: boolean }) => void;
  /**
   * How long an idle, continuously held lease is kept (still renewed) before it is released; 0
   * releases at once. Default: `ttlMs`. Only stores with `capabilities.events` linger.
   */
  lingerMs?: number;
}

/** The event that asks a lease's holder to let it go (`payload: { name }`). */
export const LEASE_WANTED = "lease-wanted";
/** How long a taker waits quietly before asking the holder to let go (a release may be on its way). */
const ASK_AFTER_MS = 20;
/** While waiting, the request is repeated this often (a holder may have missed it, or taken the lease since). */
const ASK_EVERY_MS = 500;

/** One process-wide hold on a session; give it back with `release`. */
export interface SessionHold {
  readonly agentId: string;
  readonly sessionKey: string;
}

interface Held extends SessionHold {
  /** The map key: agent and session key. */
  key: string;
  lease: Lease;
  store: SessionStore;
  refs: number;
  timer: NodeJS.Timeout;
  lost: boolean;
  /** Whether it may linger when idle: taken continuously, on a store that can ask for it back. */
  mayLinger: boolean;
  /** Someone else asked for the lease: release it as soon as it falls idle. */
  wanted: boolean;
  /** Set while idle and kept: releases the lease when the linger period ends. */
  linger: NodeJS.Timeout | null;
  /** Local time of the last renewal (by the timer or by a fenced write). */
  renewedAt: number;
  /** The lease was freed by a fenced write (`Fence.release`): nothing is left to release. */
  freed: boolean;
}

const MAX_REMEMBERED = 16_384;

const laneKey = (agentId: string, sessionKey: string): string => refKey({ agentId, sessionKey });

export class SessionLeases {
  private readonly held = new Map<string, Held>();
  private readonly acquiring = new Map<string, Promise<Held>>();
  private readonly releasing = new Map<string, Promise<void>>();
  /** The epoch of each session's last hold here (bounded), to tell whether anyone came between. */
  private readonly lastEpoch = new Map<string, number>();
  /** Stores whose `lease-wanted` events this process listens to (subscribed at the first linger). */
  private readonly listening = new Map<SessionStore, () => void>();
  /** This holder, as the origin of its `lease-wanted` requests (it ignores its own). */
  private readonly origin = `leases-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly options: SessionLeaseOptions;
  private readonly lingerMs: number;

  constructor(options: SessionLeaseOptions) {
    this.options = options;
    this.lingerMs = Math.max(0, options.lingerMs ?? options.ttlMs);
  }

  /** Takes (or joins) this process's hold on the session, waiting for another gateway to let go. */
  acquire(agentId: string, sessionKey: string): Promise<SessionHold> {
    return this.join(agentId, sessionKey, this.options.waitMs);
  }

  /** Like `acquire`, but gives up at once (null) when another process holds the session. */
  async tryAcquire(agentId: string, sessionKey: string): Promise<SessionHold | null> {
    try {
      return await this.join(agentId, sessionKey, 0);
    } catch (err) {
      if (err instanceof LeaseTimeoutError) return null;
      throw err;
    }
  }

  /** One acquisition per session at a time: concurrent callers share it (and its hold). */
  private async join(agentId: string, sessionKey: string, waitMs: number): Promise<SessionHold> {
    const own = this.retain(agentId, sessionKey);
    if (own) return own;
    const k = laneKey(agentId, sessionKey);
    let pending = this.acquiring.get(k);
    if (!pending) {
      pending = this.take(agentId, sessionKey, waitMs).finally(() => this.acquiring.delete(k));
      this.acquiring.set(k, pending);
    }
    const held = await pending;
    held.refs++;
    return held;
  }

  /** Joins a hold this process already has (synchronous); null when it has none. */
  retain(agentId: string, sessionKey: string): SessionHold | null {
    const cur = this.live(agentId, sessionKey);
    if (cur) {
      cur.refs++;
      if (cur.linger) clearTimeout(cur.linger);
      cur.linger = null;
    }
    return cur;
  }

  release(hold: SessionHold): void {
    const cur = hold as Held;
    cur.refs--;
    if (cur.refs > 0) return;
    if (this.willLinger(cur) && this.held.get(cur.key) === cur) {
      cur.linger = setTimeout(() => this.letGo(cur), this.lingerMs);
      cur.linger.unref();
      return;
    }
    this.letGo(cur);
  }

  /** Releases the store lease of an idle hold (at once, or when its linger period ends). */
  private letGo(cur: Held): void {
    if (cur.refs > 0) return;
    if (cur.linger) clearTimeout(cur.linger);
    cur.linger = null;
    clearInterval(cur.timer);
    if (this.held.get(cur.key) === cur) this.held.delete(cur.key);
    if (cur.lost || cur.freed) return;
    this.rememberEpoch(cur.key, cur.lease.epoch);
    // The next acquisition of this session waits for the release: were it to overtake it, the
    // backend would hand the still-held lease back and the release would then free it under us.
    const done = cur.store.releaseLease(cur.lease).catch(() => undefined);
    this.releasing.set(cur.key, done);
    void done.then(() => {
      if (this.releasing.get(cur.key) === done) this.releasing.delete(cur.key);
    });
  }

  /** Whether `hold` is still this process's live hold on its session (not released, not lost). */
  isCurrent(hold: SessionHold): boolean {
    return this.live(hold.agentId, hold.sessionKey) === hold;
  }

  /** This process's current hold on the session, if it has one that is not lost. */
  current(agentId: string, sessionKey: string): SessionHold | null {
    return this.live(agentId, sessionKey);
  }

  /**
   * A fenced write of `fence` extended its lease to `expiresAt` (lease clock) as it went: the
   * background renewal can wait.
   */
  renewedBy(agentId: string, sessionKey: string, fence: Fence, expiresAt: number): void {
    const cur = this.live(agentId, sessionKey);
    if (!cur || cur.lease.epoch !== fence.epoch || cur.lease.owner !== fence.owner) return;
    cur.lease = { ...cur.lease, expiresAt: Math.max(cur.lease.expiresAt, expiresAt) };
    cur.renewedAt = Date.now();
  }

  /** Whether this process keeps the session's lease while nothing runs on it (the linger period). */
  isLingering(agentId: string, sessionKey: string): boolean {
    return this.live(agentId, sessionKey)?.linger != null;
  }

  /**
   * The fence for writes to this session, while held. `last`: the caller's work on the session ends
   * with this write and nothing else is queued for it here; unless the hold is to linger, the fence
   * then asks the store to free the lease with the write (`Fence.release`), which saves the
   * release's own round trip and lets another gateway take the session before this one answers.
   */
  fence(agentId: string, sessionKey: string, last = false): Fence | undefined {
    const cur = this.live(agentId, sessionKey);
    if (!cur) return undefined;
    // A write under this fence may renew the lease as it goes (see `renewedBy`).
    const fence: Fence = {
      name: cur.lease.name,
      owner: cur.lease.owner,
      epoch: cur.lease.epoch,
      renewTtlMs: this.options.ttlMs,
    };
    if (last && !this.willLinger(cur)) fence.release = true;
    return fence;
  }

  /**
   * A fenced write freed the lease of `fence` (`PatchResult.leaseReleased`): the hold ends here, and
   * whoever works on the session next in this process takes the lease again (it is continuous if
   * nobody else took it meanwhile).
   */
  freedBy(agentId: string, sessionKey: string, fence: Fence): void {
    const cur = this.live(agentId, sessionKey);
    if (!cur || cur.lease.epoch !== fence.epoch || cur.lease.owner !== fence.owner) return;
    cur.freed = true;
    clearInterval(cur.timer);
    if (cur.linger) clearTimeout(cur.linger);
    cur.linger = null;
    this.held.delete(cur.key);
    this.rememberEpoch(cur.key, cur.lease.epoch);
  }

  /** Whether an idle `cur` keeps its lease for the linger period rather than releasing it. */
  private willLinger(cur: Held): boolean {
    return cur.mayLinger && !cur.wanted && !cur.lost && this.lingerMs > 0;
  }

  private live(agentId: string, sessionKey: string): Held | null {
    const cur = this.held.get(laneKey(agentId, sessionKey));
    return cur && !cur.lost ? cur : null;
  }

  /** Runs `work` holding the session. */
  async with<T>(agentId: string, sessionKey: string, work: () => Promise<T>): Promise<T> {
    const hold = await this.acquire(agentId, sessionKey);
    try {
      return await work();
    } finally {
      this.release(hold);
    }
  }

  /** Session keys this process holds right now (a run in flight or queued). */
  *heldKeys(): IterableIterator<string> {
    for (const h of this.held.values()) if (!h.lost) yield h.sessionKey;
  }

  get ttlMs(): number {
    return this.options.ttlMs;
  }

  /** Lets every lease go (shutdown), so another gateway can take over at once. */
  async releaseAll(): Promise<void> {
    const all = [...this.held.values()];
    this.held.clear();
    for (const stop of this.listening.values()) stop();
    this.listening.clear();
    await Promise.all(
      all.map(async (h) => {
        clearInterval(h.timer);
        if (h.linger) clearTimeout(h.linger);
        h.linger = null;
        if (h.lost) return;
        // Holders that let go later find nothing left to release.
        h.lost = true;
        await h.store.releaseLease(h.lease).catch(() => undefined);
      }),
    );
    // Releases already under way must reach the store before it is closed.
    await Promise.all([...this.releasing.values()]);
  }

  private async take(agentId: string, sessionKey: string, waitMs: number): Promise<Held> {
    const store = await this.options.storeFor(agentId);
    await this.releasing.get(laneKey(agentId, sessionKey));
    const name = `session:${sessionKey}`;
    const hint = this.options.tailHint?.(agentId, sessionKey, store);
    const got = await this.takeOrAsk(store, name, sessionKey, waitMs, hint);
    const lease = got.lease;
    const held: Held = {
      agentId,
      sessionKey,
      key: laneKey(agentId, sessionKey),
      lease,
      store,
      refs: 0,
      lost: false,
      mayLinger: false,
      wanted: false,
      linger: null,
      renewedAt: Date.now(),
      freed: false,
      // Ticks at a sixth of the lease time but renews only after a third without renewal (see `renew`).
      timer: setInterval(() => void this.renew(held), Math.max(25, Math.floor(this.options.ttlMs / 6))),
    };
    held.timer.unref();
    const continuous = this.lastEpoch.get(held.key) === lease.epoch - 1;
    // Another process may want a lingering lease: only a store that can tell us so lets it linger.
    if (continuous && this.lingerMs > 0 && store.capabilities.events) {
      held.mayLinger = true;
      this.listenForWanted(agentId, store);
    }
    try {
      const read = got.row === null ? null : { hold: held, row: got.row, tail: got.tail };
      await this.options.onAcquired(agentId, sessionKey, store, continuous, read);
    } catch (err) {
      clearInterval(held.timer);
      await store.releaseLease(lease).catch(() => undefined);
      throw err;
    }
    // Visible to other callers only now: until the caches are refreshed they wait on `acquiring`.
    this.held.set(held.key, held);
    return held;
  }

  /**
   * The lease (and the row, where the store reads it in the same round trip). When another process
   * holds it for longer than a release takes, asks it to let go (it may be keeping it idle), and
   * asks again now and then for the rest of the wait.
   */
  private async takeOrAsk(
    store: SessionStore,
    name: string,
    sessionKey: string,
    waitMs: number,
    hint: TailHint | undefined,
  ): Promise<{ lease: Lease; row: SessionEntry | undefined | null; tail?: TranscriptRead & { sessionId: string } }> {
    const attempt = async (wait: number) => {
      const options = { ttlMs: this.options.ttlMs, waitMs: wait };
      // Where the store can, the row (and the hinted tail) come with the lease: the turn's first
      // reads cost no round trip.
      return store.acquireLeaseWithRow
        ? await store.acquireLeaseWithRow(name, sessionKey, options, hint)
        : { lease: await store.acquireLease(name, options), row: null };
    };
    const events = store.capabilities.events;
    if (!events || waitMs <= 0) return attempt(waitMs);
    const deadline = Date.now() + waitMs;
    let wait = Math.min(waitMs, ASK_AFTER_MS);
    for (;;) {
      try {
        return await attempt(wait);
      } catch (err) {
        const left = deadline - Date.now();
        if (!(err instanceof LeaseTimeoutError) || left <= 0) throw err;
        await events.publish({ origin: this.origin, kind: LEASE_WANTED, payload: { name } }).catch(() => undefined);
        wait = Math.min(left, ASK_EVERY_MS);
      }
    }
  }

  /** Subscribes (once per store) to requests for the leases this process keeps. */
  private listenForWanted(agentId: string, store: SessionStore): void {
    const events = store.capabilities.events;
    if (!events || this.listening.has(store)) return;
    const prefix = "session:";
    this.listening.set(
      store,
      events.subscribe((ev) => {
        if (ev.kind !== LEASE_WANTED || ev.origin === this.origin) return;
        const name = (ev.payload as { name?: unknown } | null)?.name;
        if (typeof name !== "string" || !name.startsWith(prefix)) return;
        const cur = this.held.get(laneKey(agentId, name.slice(prefix.length)));
        if (!cur || cur.lost || cur.store !== store) return;
        cur.wanted = true;
        if (cur.refs === 0) this.letGo(cur);
      }),
    );
  }

  private rememberEpoch(key: string, epoch: number): void {
    this.lastEpoch.delete(key);
    this.lastEpoch.set(key, epoch);
    if (this.lastEpoch.size > MAX_REMEMBERED) this.lastEpoch.delete(this.lastEpoch.keys().next().value as string);
  }

  /** Runs from a timer, so it never throws: a rejection here would end the process. */
  private async renew(held: Held): Promise<void> {
    if (held.lost || this.held.get(held.key) !== held) return;
    // A fenced write that renewed the lease recently is as good as a renewal.
    if (Date.now() - held.renewedAt < this.options.ttlMs / 3) return;
    try {
      held.lease = await held.store.renewLease(held.lease, this.options.ttlMs);
      held.renewedAt = Date.now();
    } catch (err) {
      // A failed renewal may be a passing network error (or a full disk); only give up once the
      // lease has run out.
      if (Date.now() < held.lease.expiresAt) return;
      held.lost = true;
      clearInterval(held.timer);
      const idle = held.refs === 0;
      if (idle) this.letGo(held); // a lingering hold: nothing runs, nothing to keep
      try {
        this.options.onLost?.(held.agentId, held.sessionKey, err, { idle });
      } catch {
        // The hold is already marked lost; the listener's own failure changes nothing here.
      }
    }
  }
}
