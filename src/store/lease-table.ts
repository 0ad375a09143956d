/**
 * Lease bookkeeping shared by backends that arbitrate leases in one ordered place (the memory map,
 * the fs journal). The rules are deterministic given the order of requests, so every reader of the
 * same log reaches the same holder.
 */
import type { Fence } from "./types.ts";

export interface LeaseState {
  owner: string;
  epoch: number;
  expiresAt: number;
  free: boolean;
  /** A holder that handed over to a waiter names it: until `reservedUntil` only it may acquire. */
  reservedFor?: string;
  reservedUntil?: number;
}

export class LeaseTable {
  private readonly leases = new Map<string, LeaseState>();

  get(name: string): LeaseState | undefined {
    return this.leases.get(name);
  }

  /**
   * An acquire names the next epoch; a renew repeats the holder's epoch before it expires. A
   * takeover (`over` = the current holder, which the requester found dead) acquires like a vacant
   * lease; it names the epoch after the holder's, so it fails if anyone else came in between. A
   * lease handed to a waiter (`reservedFor`) goes only to that waiter until the reservation ends.
   */
  request(name: string, owner: string, epoch: number, expiresAt: number, at: number, over?: string): boolean {
    const cur = this.leases.get(name);
    const curEpoch = cur?.epoch ?? 0;
    const vacant = !cur || cur.free || at >= cur.expiresAt || (over !== undefined && cur.owner === over);
    const reservedForOther =
      !!cur && cur.free && cur.reservedFor !== undefined && cur.reservedFor !== owner && at < (cur.reservedUntil ?? 0);
    if (epoch === curEpoch + 1 && vacant && !reservedForOther) {
      this.leases.set(name, { owner, epoch, expiresAt, free: false });
      return true;
    }
    if (cur && !cur.free && cur.owner === owner && cur.epoch === epoch && at < cur.expiresAt) {
      cur.expiresAt = Math.max(cur.expiresAt, expiresAt);
      return true;
    }
    return false;
  }

  /** Frees the lease; `handTo` reserves it for one waiter until `until` (a fair hand-over). */
  release(name: string, owner: string, epoch: number, handTo?: { owner: string; until: number }): boolean {
    const cur = this.leases.get(name);
    if (!cur || cur.owner !== owner || cur.epoch !== epoch || cur.free) return false;
    cur.free = true;
    if (handTo) {
      cur.reservedFor = handTo.owner;
      cur.reservedUntil = handTo.until;
    }
    return true;
  }

  /** Who a freed lease is reserved for at time `at` (null when anyone may take it). */
  reservedFor(name: string, at: number): string | null {
    const cur = this.leases.get(name);
    if (!cur || !cur.free || cur.reservedFor === undefined || at >= (cur.reservedUntil ?? 0)) return null;
    return cur.reservedFor;
  }

  /** A write fenced by `fence` at time `at` is valid only while that exact lease is held. */
  isCurrent(name: string, fence: Fence, at: number): boolean {
    const cur = this.leases.get(name);
    return !!cur && !cur.free && cur.owner === fence.owner && cur.epoch === fence.epoch && at <= cur.expiresAt;
  }

  entries(): IterableIterator<[string, LeaseState]> {
    return this.leases.entries();
  }

  /** Restores state carried across a journal generation (epochs must keep increasing). */
  restore(name: string, state: LeaseState): void {
    this.leases.set(name, { ...state });
  }
}
