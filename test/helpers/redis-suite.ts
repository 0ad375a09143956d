/** A Redis server and an admin client for the test suite that asks for them. */
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { startTestRedis, type TestRedis } from "./redis-server.ts";

/**
 * Starts a server (and an admin client to it) before the calling suite's tests and stops both
 * after them; read the fields inside the tests. Call it inside a `describe` skipped when Redis is
 * not installed.
 */
export function redisForSuite(): { readonly server: TestRedis; readonly admin: Redis } {
  const state = {} as { server: TestRedis; admin: Redis };
  beforeAll(async () => {
    state.server = await startTestRedis();
    state.admin = new Redis(state.server.url);
    state.admin.on("error", () => undefined);
  }, 30_000);
  afterAll(async () => {
    await state.admin?.quit();
    await state.server?.stop();
  });
  return state;
}
