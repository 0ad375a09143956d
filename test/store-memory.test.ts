import { MemorySessionStore } from "../src/store/memory-store.ts";
import { runStoreConformance } from "../src/store/conformance/index.ts";

let last: MemorySessionStore | null = null;

runStoreConformance({
  name: "memory",
  durable: false,
  async create(now) {
    last = new MemorySessionStore({ now });
    return last;
  },
  // Another writer on the same data with its own lease owner, as a second process would be.
  async another(now) {
    if (!last) throw new Error("create first");
    return new MemorySessionStore({ now, sameDataAs: last });
  },
  async dispose() {
    last = null;
  },
  skip: [
    {
      reason: "nothing is stored between processes, so there is no schema to version",
      cases: ["newer schema refused"],
    },
    { reason: "no server to reach", cases: ["unreachable server"] },
  ],
});
