/**
 * Exactly once across the crash window "the answer is in the outbox, the caller had not noted it
 * yet": `DeliveryQueue.enqueue`'s dedupe id (durable, also after the delivered item was compacted
 * away), then through a real gateway and the Telegram fake — a reply whose ledger entry was never
 * closed, and a sub-agent announce whose child row was never marked "announced" — restarted on the
 * same home: one post each.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { DeliveryQueue } from "../../src/channels/delivery.ts";
import { ReplyLedger } from "../../src/channels/reply-ledger.ts";
import type { PincerConfig } from "../../src/config/schema.ts";
import { startTestGateway, until } from "../helpers/gateway-harness.ts";
import { FAST_LIMITS, memoryLogger, origin, ScriptedAdapter, sendError, target, tmpDir } from "./delivery-fakes.ts";
import { startTelegramFake, type TelegramFake } from "./fakes/telegram.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function queue(dir: string, adapter: ScriptedAdapter): DeliveryQueue {
  const q = new DeliveryQueue({
    dir,
    adapterFor: () => adapter,
    log: memoryLogger().log,
    limits: FAST_LIMITS,
    retry: { baseMs: 5, maxMs: 20 },
    closeGraceMs: 50,
  });
  cleanups.push(() => q.close());
  return q;
}

describe("DeliveryQueue: dedupe id", () => {
  it("a second enqueue with the same id returns the first outbox id and sends nothing, also after a reopen", async () => {
    const dir = path.join(tmpDir(), "outbox");
    const adapter = new ScriptedAdapter();
    const first = queue(dir, adapter);
    await first.open();
    // Concurrent callers share the first (durable) enqueue.
    const [a, b] = await Promise.all([
      first.enqueue({ target: target("1"), markdown: "once", origin, dedupeId: "reply:abc" }),
      first.enqueue({ target: target("1"), markdown: "once", origin, dedupeId: "reply:abc" }),
    ]);
    expect(b).toBe(a);
    await first.idle();
    expect(await first.enqueue({ target: target("1"), markdown: "once", origin, dedupeId: "reply:abc" })).toBe(a);
    const other = await first.enqueue({ target: target("1"), markdown: "another", origin, dedupeId: "reply:def" });
    expect(other).not.toBe(a);
    await first.idle();
    expect(adapter.accepted.map((c) => c.text)).toEqual(["once", "another"]);
    await first.close();

    // Reopened: the delivered items are compacted away; their ids stay known.
    const second = queue(dir, adapter);
    await second.open();
    const journal = fs.readFileSync(path.join(dir, "outbox.jsonl"), "utf8");
    expect(journal).not.toContain('"t":"item"');
    expect(await second.enqueue({ target: target("1"), markdown: "once", origin, dedupeId: "reply:abc" })).toBe(a);
    await second.idle();
    expect(adapter.accepted).toHaveLength(2);
    expect(second.depth()).toBe(0);
    // Without an id nothing is deduplicated.
    await second.enqueue({ target: target("1"), markdown: "once", origin });
    await second.idle();
    expect(adapter.accepted).toHaveLength(3);
  });

  it("a failed message's id is still known (no second attempt through a new enqueue)", async () => {
    const dir = path.join(tmpDir(), "outbox");
    const adapter = new ScriptedAdapter();
    adapter.script.push(sendError("permanent"));
    const q = queue(dir, adapter);
    await q.open();
    const id = await q.enqueue({ target: target("7"), markdown: "doomed", origin, dedupeId: "cron:r1" });
    await q.idle();
    expect(q.item(id)?.status).toBe("failed");
    await q.close();
    const again = queue(dir, adapter);
    await again.open();
    expect(await again.enqueue({ target: target("7"), markdown: "doomed", origin, dedupeId: "cron:r1" })).toBe(id);
    await again.idle();
    expect(adapter.attempts).toHaveLength(1);
  });
});

describe("exactly once through a gateway restart (Telegram)", () => {
  let fake: TelegramFake;
  beforeAll(async () => {
    fake = await startTelegramFake();
  });
  afterAll(async () => {
    await fake.close();
  });

  function home(): string {
    const h = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-once-"));
    cleanups.push(async () => fs.rmSync(h, { recursive: true, force: true }));
    return h;
  }

  const config = () =>
    ({
      session: { dmScope: "per-channel-peer" },
      channels: { telegram: fake.channelConfig({ dmPolicy: "open", allowFrom: ["*"] }) },
    }) as unknown as PincerConfig;

  async function gateway(dir: string) {
    const gw = await startTestGateway(config(), { home: dir });
    cleanups.push(() => gw.stop(2000));
    await until(async () => (await gw.channels!.status()).some((a) => a.connected), 15_000);
    return gw;
  }

  async function settle(n: number): Promise<void> {
    await fake.waitForSent(n, 15_000);
    await new Promise((r) => setTimeout(r, 250));
    expect(fake.sent()).toHaveLength(n);
  }

  it("a reply enqueued whose ledger entry never closed (the crash window) is posted once after the restart", async () => {
    const dir = home();
    const base = fake.sent().length;
    // The process "dies" between the enqueue and the ledger's close: the entry stays open on disk.
    const done = vi.spyOn(ReplyLedger.prototype, "done").mockResolvedValue(undefined);
    const first = await gateway(dir);
    await fake.sendDirect({ id: "5101", name: "Crash" }, "answer me once");
    await settle(base + 1);
    await first.channels!.idle();
    await first.stop(2000);
    done.mockRestore();
    expect(fs.readFileSync(path.join(dir, "channels", "replies.jsonl"), "utf8")).toContain("answer me once");

    // The next start finds the entry open and answers it again from the transcript: the outbox
    // already holds that answer.
    const second = await gateway(dir);
    await until(
      () => fs.readFileSync(path.join(dir, "channels", "replies.jsonl"), "utf8").includes('"t":"done"'),
      15_000,
    );
    await second.channels!.idle();
    await settle(base + 1);
    expect(fake.sent()[base]!.text).toContain("answer me once");
  });

  it("a sub-agent announce enqueued before the child row said 'announced' is posted once after the restart", async () => {
    const dir = home();
    const base = fake.sent().length;
    const first = await gateway(dir);
    await fake.sendDirect({ id: "5102", name: "Parent" }, "start the work");
    await settle(base + 1);
    const parentKey = (await first.runtime.manager.list("main")).rows
      .map((r) => r.key)
      .find((k) => k.includes("5102"))!;
    await first.subagents.spawn({ parentAgentId: "main", parentKey, task: "count the stars" });
    await settle(base + 2);
    expect(fake.sent()[base + 1]!.text).toContain("count the stars");
    const child = (await first.runtime.manager.list("main", { keyPrefix: "agent:main:subagent:" })).rows[0]!;
    await until(
      async () => (await first.runtime.manager.get("main", child.key))?.subagentState === "announced",
      10_000,
    );
    // The crash window: the announce is in the outbox, the row still says "finished".
    await first.runtime.manager.patchSession("main", child.key, (cur) =>
      cur ? { ...cur, subagentState: "finished" } : undefined,
    );
    const assistantTurns = async (gw: typeof first) => {
      const row = (await gw.runtime.manager.get("main", parentKey))!;
      const { lines } = await gw.runtime.manager.transcriptLines("main", row.sessionId, parentKey);
      return lines.filter((l) => (l.message as { role?: string } | undefined)?.role === "assistant").length;
    };
    const turnsBefore = await assistantTurns(first);
    await first.stop(2000);

    const second = await gateway(dir);
    await until(
      async () => (await second.runtime.manager.get("main", child.key))?.subagentState === "announced",
      15_000,
    );
    await second.channels!.idle();
    await settle(base + 2);
    // The parent's recorded answer to the announce is used again, not a second model turn.
    expect(await assistantTurns(second)).toBe(turnsBefore);
  });
});
