/**
 * keepTyping: repeats while running, stops on the returned function, never throws, and stops for
 * good on an account after repeated auth failures (OpenClaw #27092: a 401 loop got bots deleted).
 * Also the token bucket arithmetic (explicit clock values, no timing).
 */
import { describe, expect, it } from "vitest";
import { takeAll, TokenBucket, DEFAULT_LIMITS, isGroupChat } from "../../src/channels/rate-limit.ts";
import { keepTyping, typingDisabled } from "../../src/channels/typing.ts";
import { memoryLogger, ScriptedAdapter, sendError, target } from "./delivery-fakes.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await sleep(5);
  expect(cond()).toBe(true);
}

describe("keepTyping", () => {
  it("types at once, repeats, and stops when told", async () => {
    const a = new ScriptedAdapter();
    const stop = keepTyping(a, target("1"), { everyMs: 10 });
    expect(a.typingCalls).toBe(1);
    await waitFor(() => a.typingCalls >= 3);
    stop();
    const n = a.typingCalls;
    await sleep(40);
    expect(a.typingCalls).toBe(n);
  });

  it("stops for good on the account after 3 consecutive auth failures, and never throws", async () => {
    const a = new ScriptedAdapter();
    a.typingStep = () => Promise.reject(sendError("auth"));
    const { log, lines } = memoryLogger();
    const stop = keepTyping(a, target("1"), { everyMs: 5, log });
    await waitFor(() => typingDisabled(a));
    await sleep(30);
    expect(a.typingCalls).toBe(3);
    stop();
    // Another turn on the same account: no more typing calls at all.
    keepTyping(a, target("2"), { everyMs: 5 })();
    await sleep(20);
    expect(a.typingCalls).toBe(3);
    expect(lines.some((l) => String(l.msg).includes("stopped for good"))).toBe(true);
    // A different account (adapter) is unaffected.
    const b = new ScriptedAdapter({ accountId: "other" });
    keepTyping(b, target("1"), { everyMs: 1000 })();
    expect(b.typingCalls).toBe(1);
  });

  it("a success resets the auth failure count; other errors (sync throws too) are swallowed", async () => {
    const a = new ScriptedAdapter();
    let n = 0;
    a.typingStep = () => {
      n++;
      if (n === 3) throw new Error("sync throw from an adapter bug");
      return n % 2 === 0 ? Promise.resolve() : Promise.reject(sendError("auth"));
    };
    const stop = keepTyping(a, target("1"), { everyMs: 3 });
    await waitFor(() => a.typingCalls >= 10);
    stop();
    expect(typingDisabled(a)).toBe(false);
  });

  it("a permanent failure (chat gone) ends that loop; an adapter without typing is a no-op", async () => {
    const a = new ScriptedAdapter();
    a.typingStep = () => Promise.reject(sendError("permanent"));
    keepTyping(a, target("1"), { everyMs: 5 });
    await sleep(40);
    expect(a.typingCalls).toBe(1);
    const plain = new ScriptedAdapter({ caps: { typing: false } });
    keepTyping(plain, target("1"))();
    expect(plain.typingCalls).toBe(0);
  });
});

describe("TokenBucket", () => {
  it("allows a burst, then one token per 1/rate", () => {
    const b = new TokenBucket({ ratePerSec: 2, burst: 3 }, 0);
    for (let i = 0; i < 3; i++) expect(takeAll([b], 0)).toBe(0);
    expect(takeAll([b], 0)).toBe(500);
    expect(takeAll([b], 499)).toBe(1);
    expect(takeAll([b], 500)).toBe(0);
    expect(b.isFull(500 + 1500)).toBe(true);
  });

  it("takes from all buckets or none: a chat's token is not used while the account waits", () => {
    const chat = new TokenBucket({ ratePerSec: 1, burst: 1 }, 0);
    const account = new TokenBucket({ ratePerSec: 1, burst: 1 }, 0);
    const other = new TokenBucket({ ratePerSec: 1, burst: 1 }, 0);
    expect(takeAll([other, account], 0)).toBe(0);
    expect(takeAll([chat, account], 0)).toBe(1000);
    expect(chat.waitMs(0)).toBe(0); // untouched
  });

  it("has Telegram's documented defaults and knows its group chats", () => {
    expect(DEFAULT_LIMITS.telegram.chat.ratePerSec).toBe(1);
    expect(DEFAULT_LIMITS.telegram.group!.ratePerSec * 60).toBeCloseTo(20);
    expect(DEFAULT_LIMITS.telegram.account.ratePerSec).toBe(30);
    expect(isGroupChat("telegram", "-1001234")).toBe(true);
    expect(isGroupChat("telegram", "1234")).toBe(false);
    expect(isGroupChat("signal", "group:abc=")).toBe(true);
  });
});
