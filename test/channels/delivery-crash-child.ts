/**
 * Child process for delivery-crash.test.ts: a DeliveryQueue whose adapter "posts" by appending the
 * chunk's idempotency key to a platform log (what the platform received), enqueueing messages into
 * several chats until the parent SIGKILLs it. Prints `enq <id>` once an enqueue resolved (durable).
 * Args: <outbox dir> <platform log> <plain|idempotent> <messages>
 */
import * as fs from "node:fs";
import pino from "pino";
import { DeliveryQueue } from "../../src/channels/delivery.ts";
import { FAST_LIMITS, ScriptedAdapter } from "./delivery-fakes.ts";

const [dir, platformLog, mode, count] = process.argv.slice(2) as [string, string, string, string];
const adapter = new ScriptedAdapter({ caps: { maxChars: 25, idempotentSends: mode === "idempotent" } });
const logFd = fs.openSync(platformLog, "a");
adapter.script.push(
  ...Array.from({ length: 10_000 }, () => async () => {
    // The platform accepts it at once; the answer reaches us a moment later (a crash window).
    const key = adapter.attempts.at(-1)!.idempotencyKey;
    fs.writeSync(logFd, key + "\n");
    await new Promise((r) => setImmediate(r));
    return { messageIds: [key] };
  }),
);
const q = new DeliveryQueue({ dir, adapterFor: () => adapter, log: pino({ level: "silent" }), limits: FAST_LIMITS });
await q.open();
const text = "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll"; // 3 chunks
for (let i = 0; i < Number(count); i++) {
  const id = await q.enqueue({
    target: { channel: "telegram", accountId: "default", to: `c${i % 5}` },
    markdown: text,
    origin: { agentId: "main", kind: "reply" },
  });
  process.stdout.write(`enq ${id}\n`);
}
await q.idle();
process.stdout.write("done\n");
// Wait to be killed (the parent may kill late).
setInterval(() => {}, 1000);
