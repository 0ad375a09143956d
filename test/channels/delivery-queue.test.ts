/**
 * DeliveryQueue against a scripted adapter, on a real directory: chunk order and idempotency keys,
 * per-chat order with cross-chat concurrency, durability across a reopen (nothing acknowledged is
 * sent again, an in-doubt chunk is not resent blindly), 429 retry_after per chat and account-wide,
 * transient retries, permanent and auth failures, torn journal lines, compaction, expiry.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DeliveryQueue, type DeliveryEvent, type DeliveryQueueOptions } from "../../src/channels/delivery.ts";
import type { ChannelAdapter } from "../../src/channels/types.ts";
import {
  deferred,
  FAST_LIMITS,
  memoryLogger,
  origin,
  ScriptedAdapter,
  sendError,
  target,
  tmpDir,
} from "./delivery-fakes.ts";

const open: DeliveryQueue[] = [];
afterEach(async () => {
  for (const q of open.splice(0)) await q.close().catch(() => {});
});

function makeQueue(
  dir: string,
  adapter: ChannelAdapter | (() => ChannelAdapter | undefined),
  extra: Partial<DeliveryQueueOptions> = {},
): { q: DeliveryQueue; events: DeliveryEvent[]; lines: Array<Record<string, unknown>> } {
  const events: DeliveryEvent[] = [];
  const { log, lines } = memoryLogger();
  const q = new DeliveryQueue({
    dir,
    adapterFor: typeof adapter === "function" ? adapter : () => adapter,
    log,
    onEvent: (e) => events.push(e),
    limits: FAST_LIMITS,
    retry: { baseMs: 5, maxMs: 20 },
    closeGraceMs: 50,
    ...extra,
  });
  open.push(q);
  return { q, events, lines };
}

/** Three chunks at maxChars 25. */
const THREE = "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll";
const long = (n: number, w = "word"): string => Array.from({ length: n }, (_, i) => `${w}${i}`).join(" ");

describe("DeliveryQueue", () => {
  it("sends every chunk once, in order, with <id>:<index> keys; the journal is private and durable before enqueue resolves", async () => {
    const dir = path.join(tmpDir(), "channels", "outbox");
    const a = new ScriptedAdapter({ caps: { maxChars: 60 } });
    const { q, events } = makeQueue(dir, a);
    await q.open();
    const id = await q.enqueue({ target: target("42"), markdown: long(40) + " <&>", origin });
    // Durable: the enqueue record is on disk already (fsync'd before resolving).
    expect(fs.readFileSync(path.join(dir, "outbox.jsonl"), "utf8")).toContain(id);
    await q.idle();
    expect(a.accepted.length).toBeGreaterThan(3);
    expect(a.accepted.map((c) => c.idempotencyKey)).toEqual(a.accepted.map((_, i) => `${id}:${i}`));
    for (const c of a.accepted) expect(c.text.length).toBeLessThanOrEqual(60);
    expect(a.accepted.at(-1)!.text).toContain("&lt;&amp;&gt;"); // rendered by the adapter
    expect(a.accepted.map((c) => c.text).join(" ")).toBe(a.render(long(40) + " <&>"));
    expect(events.filter((e) => e.type === "sent")).toHaveLength(a.accepted.length);
    expect(events.every((e) => typeof e.latencyMs === "number" && e.latencyMs >= 0)).toBe(true);
    expect(q.depth()).toBe(0);
    expect(q.item(id)?.status).toBe("done");
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(dir, "outbox.jsonl")).mode & 0o777).toBe(0o600);
  });

  it("keeps order within a chat while other chats go ahead", async () => {
    const a = new ScriptedAdapter();
    const gate = deferred<{ messageIds: string[] }>();
    a.scriptFor.set("slow", [() => gate.promise]);
    const { q } = makeQueue(tmpDir(), a);
    await q.open();
    await q.enqueue({ target: target("slow"), markdown: "s1", origin });
    await q.enqueue({ target: target("slow"), markdown: "s2", origin });
    for (let i = 0; i < 5; i++) await q.enqueue({ target: target(`fast${i}`), markdown: `f${i}`, origin });
    await new Promise((r) => setTimeout(r, 30));
    // The slow chat's first send is still open; the others are all delivered, s2 waits behind s1.
    expect(a.accepted.map((c) => c.text).sort()).toEqual(["f0", "f1", "f2", "f3", "f4"]);
    expect(q.depth()).toBe(2);
    gate.resolve({ messageIds: ["m"] });
    await q.idle();
    expect(a.accepted.map((c) => c.text).filter((t) => t.startsWith("s"))).toEqual(["s1", "s2"]);
  });

  it("delivers what was enqueued before a restart, once, and never resends an acknowledged chunk", async () => {
    const dir = tmpDir();
    // Adapter absent (not connected yet): enqueued, durable, not sent.
    const first = makeQueue(dir, () => undefined);
    await first.q.open();
    const id1 = await first.q.enqueue({ target: target("1"), markdown: "before restart", origin });
    await first.q.idle();
    expect(first.q.depth()).toBe(1);
    await first.q.close();

    // Next life: the adapter is there, but chunk 1 of a 3-chunk message hangs (the process "dies").
    const a2 = new ScriptedAdapter({ caps: { maxChars: 25 } });
    const hang = deferred<{ messageIds: string[] }>();
    const second = makeQueue(dir, a2);
    await second.q.open();
    await second.q.idle();
    expect(a2.accepted.map((c) => c.text)).toEqual(["before restart"]);
    a2.scriptFor.set("2", ["ok", () => hang.promise]);
    const id2 = await second.q.enqueue({ target: target("2"), markdown: THREE, origin });
    await new Promise((r) => setTimeout(r, 30));
    expect(a2.attempts.map((c) => c.idempotencyKey)).toEqual([`${id1}:0`, `${id2}:0`, `${id2}:1`]);
    // Abandoned without close: a crash while chunk 1 was with the platform.

    const a3 = new ScriptedAdapter({ caps: { maxChars: 25 } });
    const third = makeQueue(dir, a3);
    await third.q.open();
    await third.q.idle();
    // Chunk 0 was acknowledged: not resent. Chunk 1 is in doubt: not resent blindly, marked and counted.
    expect(a3.attempts.map((c) => c.idempotencyKey)).toEqual([`${id2}:2`]);
    expect(third.q.item(id2)?.uncertain).toEqual([1]);
    expect(third.q.stats.uncertain).toBe(1);
    expect(third.events.find((e) => e.type === "failed")?.reason).toBe("uncertain");
    expect(third.lines.some((l) => String(l.msg).includes("not resent"))).toBe(true);
    expect(third.q.depth()).toBe(0);
    hang.resolve({ messageIds: ["late"] });
  });

  it("resends an in-doubt chunk with the same idempotency key when the adapter's sends are idempotent", async () => {
    const dir = tmpDir();
    const a = new ScriptedAdapter({ caps: { maxChars: 25, idempotentSends: true } });
    a.script.push("ok", () => new Promise(() => {}));
    const first = makeQueue(dir, a);
    await first.q.open();
    const id = await first.q.enqueue({ target: target("9"), markdown: THREE, origin });
    await new Promise((r) => setTimeout(r, 30));
    const b = new ScriptedAdapter({ caps: { maxChars: 25, idempotentSends: true } });
    const second = makeQueue(dir, b);
    await second.q.open();
    await second.q.idle();
    expect(b.attempts.map((c) => c.idempotencyKey)).toEqual([`${id}:1`, `${id}:2`]);
    expect(second.q.stats.uncertain).toBe(0);
  });

  it("waits out a 429 retry_after for that chat only; a global 429 pauses the whole account", async () => {
    const a = new ScriptedAdapter();
    a.scriptFor.set("A", [sendError("rate-limited", 120)]);
    const { q, events } = makeQueue(tmpDir(), a);
    await q.open();
    const t0 = Date.now();
    await q.enqueue({ target: target("A"), markdown: "a1", origin });
    await new Promise((r) => setTimeout(r, 10));
    await q.enqueue({ target: target("B"), markdown: "b1", origin });
    await q.idle();
    // B was not held up by A's chat-level limit; A was sent again after its retry_after.
    expect(a.accepted.map((c) => c.text)).toEqual(["b1", "a1"]);
    expect(a.attempts.filter((c) => c.text === "a1")).toHaveLength(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(115);
    expect(events.filter((e) => e.type === "retried").map((e) => e.reason)).toEqual(["rate-limited"]);

    const g = new ScriptedAdapter();
    g.scriptFor.set("A", [sendError("rate-limited", 120, "account")]);
    const second = makeQueue(tmpDir(), g);
    await second.q.open();
    await second.q.enqueue({ target: target("A"), markdown: "a1", origin });
    await new Promise((r) => setTimeout(r, 10));
    await second.q.enqueue({ target: target("B"), markdown: "b1", origin });
    await new Promise((r) => setTimeout(r, 30));
    expect(g.accepted).toHaveLength(0); // the whole account waits
    await second.q.idle();
    expect(g.accepted.map((c) => c.text).sort()).toEqual(["a1", "b1"]);
  });

  it("retries a transient failure with backoff, then fails it after the bound (kept in the journal as failed)", async () => {
    const dir = tmpDir();
    const a = new ScriptedAdapter();
    a.scriptFor.set("1", [sendError("transient"), sendError("transient")]);
    a.scriptFor.set(
      "2",
      Array.from({ length: 10 }, () => sendError("transient")),
    );
    const { q, events } = makeQueue(dir, a, { retry: { baseMs: 2, maxMs: 10, maxAttempts: 4 } });
    await q.open();
    const ok = await q.enqueue({ target: target("1"), markdown: "eventually", origin });
    const bad = await q.enqueue({ target: target("2"), markdown: "never", origin });
    await q.idle();
    expect(a.accepted.map((c) => c.text)).toEqual(["eventually"]);
    expect(a.attempts.filter((c) => c.text === "eventually")).toHaveLength(3);
    expect(a.attempts.filter((c) => c.text === "never")).toHaveLength(4);
    expect(q.item(ok)?.status).toBe("done");
    expect(q.item(bad)?.status).toBe("failed");
    expect(q.item(bad)?.failure?.kind).toBe("transient");
    expect(events.filter((e) => e.type === "failed").map((e) => e.reason)).toEqual(["transient"]);
    await q.close();
    // Reopened: the failed item is still there, as failed, and is not sent again.
    const b = new ScriptedAdapter();
    const again = makeQueue(dir, b);
    await again.q.open();
    await again.q.idle();
    expect(again.q.item(bad)?.status).toBe("failed");
    expect(b.attempts).toHaveLength(0);
  });

  it("fails a permanent error at once and goes on with the chat's next message", async () => {
    const a = new ScriptedAdapter();
    a.script.push(sendError("permanent"));
    const { q, events, lines } = makeQueue(tmpDir(), a);
    await q.open();
    const id = await q.enqueue({ target: target("1"), markdown: "too long for the platform", origin });
    await q.enqueue({ target: target("1"), markdown: "next", origin });
    await q.idle();
    expect(a.attempts.map((c) => c.text)).toEqual(["too long for the platform", "next"]);
    expect(q.item(id)?.status).toBe("failed");
    expect(events.map((e) => e.type)).toEqual(["failed", "sent"]);
    expect(lines.some((l) => l.msg === "delivery: message failed" && l.kind === "permanent")).toBe(true);
  });

  it("after an auth failure the account's other chats wait for kick() instead of each hitting a 401", async () => {
    const a = new ScriptedAdapter();
    a.script.push(sendError("auth"));
    const { q } = makeQueue(tmpDir(), a);
    await q.open();
    const id = await q.enqueue({ target: target("1"), markdown: "first", origin });
    await q.idle();
    for (let i = 0; i < 5; i++) await q.enqueue({ target: target(`c${i}`), markdown: `m${i}`, origin });
    await q.idle();
    expect(a.attempts).toHaveLength(1);
    expect(q.item(id)?.status).toBe("failed");
    expect(q.depth("telegram", "default")).toBe(5);
    q.kick("telegram", "default");
    await q.idle();
    expect(a.accepted.map((c) => c.text).sort()).toEqual(["m0", "m1", "m2", "m3", "m4"]);
  });

  it("does not resend a chunk whose send ended 'unknown'; the rest of the message still goes", async () => {
    const a = new ScriptedAdapter({ caps: { maxChars: 25 } });
    a.script.push("ok", sendError("unknown"));
    const { q, events } = makeQueue(tmpDir(), a);
    await q.open();
    const id = await q.enqueue({ target: target("1"), markdown: THREE, origin });
    await q.idle();
    expect(a.attempts.map((c) => c.idempotencyKey)).toEqual([`${id}:0`, `${id}:1`, `${id}:2`]);
    expect(q.item(id)?.uncertain).toEqual([1]);
    expect(events.map((e) => `${e.type}:${e.reason ?? ""}`)).toEqual(["sent:", "failed:uncertain", "sent:"]);
    // Unclassified adapter errors count as unknown too (a duplicate is worse than a gap).
    a.script.push(new TypeError("adapter bug"));
    const id2 = await q.enqueue({ target: target("1"), markdown: "x", origin });
    await q.idle();
    expect(q.item(id2)?.uncertain).toEqual([0]);
    expect(a.attempts.filter((c) => c.idempotencyKey === `${id2}:0`)).toHaveLength(1);
  });

  it("skips and reports a torn last journal line, and delivers the rest", async () => {
    const dir = tmpDir();
    const first = makeQueue(dir, () => undefined);
    await first.q.open();
    const id = await first.q.enqueue({ target: target("1"), markdown: "survivor", origin });
    await first.q.close();
    fs.appendFileSync(path.join(dir, "outbox.jsonl"), '{"t":"enq","id":"torn","at":1,"tar');
    const a = new ScriptedAdapter();
    const second = makeQueue(dir, a);
    await second.q.open();
    await second.q.idle();
    expect(second.q.stats.badJournalLines).toBe(1);
    expect(second.lines.some((l) => l.torn === true && String(l.msg).includes("torn"))).toBe(true);
    expect(a.accepted.map((c) => c.idempotencyKey)).toEqual([`${id}:0`]);
    // The rewrite at open dropped the torn line; the next open reads clean.
    await second.q.close();
    const third = makeQueue(dir, new ScriptedAdapter());
    await third.q.open();
    expect(third.q.stats.badJournalLines).toBe(0);
  });

  it("compacts the journal: delivered items are dropped, pending ones kept", async () => {
    const dir = tmpDir();
    const a = new ScriptedAdapter();
    const { q } = makeQueue(dir, a, { compactAfter: 50 });
    await q.open();
    for (let i = 0; i < 60; i++) await q.enqueue({ target: target(`c${i % 7}`), markdown: `m${i}`, origin });
    await q.idle();
    await q.close();
    const lines = fs.readFileSync(path.join(dir, "outbox.jsonl"), "utf8").split("\n").filter(Boolean);
    expect(lines.length).toBeLessThan(50); // 60 × 3 records were written
    const b = new ScriptedAdapter();
    const again = makeQueue(dir, b);
    await again.q.open();
    await again.q.idle();
    expect(b.attempts).toHaveLength(0);
    expect(a.accepted).toHaveLength(60);
  });

  it("fails an item that could not be delivered within maxAgeMs", async () => {
    const dir = tmpDir();
    let clock = 1_000_000;
    const first = makeQueue(dir, () => undefined, { now: () => clock });
    await first.q.open();
    const id = await first.q.enqueue({ target: target("1"), markdown: "stale", origin });
    await first.q.close();
    clock += 25 * 3600_000;
    const a = new ScriptedAdapter();
    const second = makeQueue(dir, a, { now: () => clock });
    await second.q.open();
    await second.q.idle();
    expect(a.attempts).toHaveLength(0);
    expect(second.q.item(id)?.failure?.kind).toBe("expired");
  });

  it("holds sends to the per-chat and per-account token buckets", async () => {
    const a = new ScriptedAdapter();
    // 1 token/s, bursts of 2 per chat and 3 per account: the next token is a second away.
    const slow = { chat: { ratePerSec: 1, burst: 2 }, account: { ratePerSec: 1, burst: 3 } };
    const { q } = makeQueue(tmpDir(), a, { limits: { ...FAST_LIMITS, telegram: slow } });
    await q.open();
    for (const m of ["a1", "a2", "a3"]) await q.enqueue({ target: target("A"), markdown: m, origin });
    for (const m of ["b1", "b2"]) await q.enqueue({ target: target("B"), markdown: m, origin });
    await new Promise((r) => setTimeout(r, 50));
    // A: its burst of 2; B: the account's last token. The rest waits for refills.
    expect(a.accepted.map((c) => c.text)).toEqual(["a1", "a2", "b1"]);
    expect(q.depth()).toBe(2);
  });

  it("refuses enqueue before open, after close, and for a malformed request", async () => {
    const { q } = makeQueue(tmpDir(), new ScriptedAdapter());
    await expect(q.enqueue({ target: target("1"), markdown: "x", origin })).rejects.toThrow(/not open/);
    await q.open();
    await expect(q.enqueue({ target: target(""), markdown: "x", origin })).rejects.toThrow(/target\.to/);
    await expect(
      q.enqueue({ target: { ...target("1"), channel: "whatsapp" as "telegram" }, markdown: "x", origin }),
    ).rejects.toThrow(/target\.channel/);
    await expect(q.enqueue({ target: target("1"), markdown: 42 as unknown as string, origin })).rejects.toThrow(
      /markdown/,
    );
    expect(q.depth()).toBe(0);
    await q.close();
    await expect(q.enqueue({ target: target("1"), markdown: "x", origin })).rejects.toThrow(/not open/);
  });
});
