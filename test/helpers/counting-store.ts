/** A session store that counts calls of some of its methods, for tests that assert on what a turn costs. */
import type { SessionStore } from "../../src/store/types.ts";

export interface CountingStore<S extends SessionStore> {
  store: S;
  /** Calls so far of `name` (one of the counted methods). */
  count(name: string): number;
  /** Calls so far of all the counted methods together. */
  total(): number;
}

export function countingStore<S extends SessionStore>(store: S, names: readonly string[]): CountingStore<S> {
  const calls = new Map<string, number>();
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      const fn = (v as (...a: unknown[]) => unknown).bind(target);
      const name = String(prop);
      if (!names.includes(name)) return fn;
      return (...a: unknown[]) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return fn(...a);
      };
    },
  });
  return {
    store: proxy,
    count: (name) => calls.get(name) ?? 0,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
  };
}
