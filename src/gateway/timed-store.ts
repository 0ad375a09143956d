/** Wraps a session store so every operation's latency (and lease waits) reaches /metrics. */
import type { SessionStore } from "../store/types.ts";
import type { GatewayMetrics } from "./metrics.ts";

const TIMED = new Set([
  "get",
  "patch",
  "putMany",
  "list",
  "appendTranscript",
  "appendAndPatch",
  "readTranscript",
  "archiveTranscript",
  "acquireLease",
  "acquireLeaseWithRow",
]);

export function timedStore(store: SessionStore, metrics: GatewayMetrics): SessionStore {
  let seenWaits = 0;
  // The wrapper of each method, made once per method (not on every property read: a turn reads
  // the store's methods dozens of times); remade should the method itself change.
  const wrappers = new Map<string | symbol, { of: unknown; fn: unknown }>();
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      const kept = wrappers.get(prop);
      if (kept && kept.of === value) return kept.fn;
      const fn = wrap(target, prop, value as (...a: unknown[]) => unknown);
      wrappers.set(prop, { of: value, fn });
      return fn;
    },
  });

  function wrap(target: SessionStore, prop: string | symbol, value: (...a: unknown[]) => unknown): unknown {
    if (typeof prop !== "string" || !TIMED.has(prop)) return value.bind(target);
    return async (...args: unknown[]) => {
      const started = performance.now();
      try {
        return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      } finally {
        metrics.storeSeconds.observe((performance.now() - started) / 1000, { op: prop });
        const waits = (target as { leaseWaits?: number }).leaseWaits;
        if (typeof waits === "number" && waits > seenWaits) {
          metrics.leaseWaits.inc({}, waits - seenWaits);
          seenWaits = waits;
        }
      }
    };
  }
}
