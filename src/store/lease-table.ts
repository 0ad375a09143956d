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
}

export class LeaseTable {
  private readonly leases = new Map<string, LeaseState>();

  get(name: string): LeaseState | undefined {
    return this.leases.get(name);
  }

  /** An acquire names the next epoch; a renew repeats the holder's epoch before it expires. */
  request(name: string, owner: string, epoch: number, expiresAt: number, at: number): boolean {
    const cur = this.leases.get(name);
    const curEpoch = cur?.epoch ?? 0;
    const vacant = !cur || cur.free || at >= cur.expiresAt;
    if (epoch === curEpoch + 1 && vacant) {
      this.leases.set(name, { owner, epoch, expiresAt, free: false });
      return true;
    }
    if (cur && !cur.free && cur.owner === owner && cur.epoch === epoch && at < cur.expiresAt) {
      cur.expiresAt = Math.max(cur.expiresAt, expiresAt);
      return true;
    }
    return false;
  }

  release(name: string, owner: string, epoch: number): boolean {
    const cur = this.leases.get(name);
    if (!cur || cur.owner !== owner || cur.epoch !== epoch || cur.free) return false;
    cur.free = true;
    return true;
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
