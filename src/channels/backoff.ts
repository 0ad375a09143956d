/** Reconnect/retry waits for the channel adapters: exponential, capped, with jitter so accounts do not retry in step. */

export interface BackoffPolicy {
  firstMs: number;
  maxMs: number;
  factor: number;
  /** ± this fraction of the wait, at random. */
  jitter: number;
}

/** The wait before retry `n` (1-based): `firstMs × factor^(n-1)`, at most `maxMs`, ± `jitter`. */
export function backoffMs(n: number, p: BackoffPolicy): number {
  const base = Math.min(p.maxMs, p.firstMs * p.factor ** (n - 1));
  return base * (1 - p.jitter + Math.random() * 2 * p.jitter);
}
