/**
 * A gateway on Redis that hung on SIGTERM: after `registry.closeAll()` a late caller (the event
 * relay's last publication, chained behind one in flight) asked the registry for the agent's store,
 * which opened a fresh Redis connection nobody closed — and an open ioredis socket keeps the process
 * alive. The registry now refuses to open anything once closed.
 */
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { StoreRegistry } from "../src/session/open-store.ts";
import { StoreError } from "../src/store/types.ts";
import type { PincerConfig } from "../src/config/schema.ts";
import { redisAvailable } from "./helpers/redis-server.ts";
import { redisForSuite } from "./helpers/redis-suite.ts";

const available = redisAvailable();

/** Client connections the server has, apart from `admin`'s own. */
async function otherClients(admin: Redis): Promise<string[]> {
  const id = String(await admin.call("CLIENT", "ID"));
  const list = String(await admin.call("CLIENT", "LIST"));
  return list.split("\n").filter((l) => l.trim() && !l.startsWith(`id=${id} `));
}

describe.skipIf(!available)("redis store registry at shutdown", () => {
  const redis = redisForSuite();

  it("opens no store (no connection) once closed, so nothing keeps the process alive", async () => {
    const config = { session: { store: { backend: "redis", url: redis.server.url } } } as PincerConfig;
    const registry = new StoreRegistry(config, "/nonexistent-home");
    const store = await registry.storeFor("main");
    await store.capabilities.events!.publish({ origin: "test", kind: "x", payload: null });
    await registry.closeAll();
    const late = registry.storeFor("main");
    await expect(late).rejects.toBeInstanceOf(StoreError);
    await expect(late).rejects.toThrow(/closed/);
    // Every connection the registry opened is gone (the server drops a quit client at once, but
    // allow it a moment to notice).
    let left = await otherClients(redis.admin);
    for (let i = 0; i < 100 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      left = await otherClients(redis.admin);
    }
    expect(left).toEqual([]);
  });
});
