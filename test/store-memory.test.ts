import { MemorySessionStore } from "../src/store/memory-store.ts";
import { runStoreConformance } from "./store-conformance.ts";

runStoreConformance("memory", () => {
  let shared: MemorySessionStore | null = null;
  let n = 0;
  return {
    durable: false,
    async create(now) {
      shared = new MemorySessionStore({ now });
      return shared;
    },
    async another() {
      if (!shared) throw new Error("create first");
      return shared.withOwner(`other-${++n}`);
    },
    async dispose() {},
  };
});
