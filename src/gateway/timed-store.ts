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
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== "string" || !TIMED.has(prop) || typeof value !== "function") {
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      }
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
    },
  });
}
