import pino from "pino";
import { describe, expect, it } from "vitest";
import { AccountSupervisor } from "../../src/channels/supervisor.ts";
import { ChannelFatalError } from "../../src/channels/types.ts";
import { FakePlatform } from "./core-fake-adapter.ts";

const log = pino({ level: "silent" });
const memoryState = () => {
  const m = new Map<string, string>();
  return {
    get: (k: string) => Promise.resolve(m.get(k)),
    set: (k: string, v: string) => Promise.resolve(void m.set(k, v)),
  };
};

function supervisor(platform: FakePlatform, extra: Partial<ConstructorParameters<typeof AccountSupervisor>[0]> = {}) {
  return new AccountSupervisor({
    channel: "telegram",
    accountId: "default",
    create: () => platform.factory({ channel: "telegram", accountId: "default", raw: {} }),
    ingest: () => Promise.resolve({ status: "accepted", sessionKey: "k" }),
    state: memoryState(),
    log,
    backoff: { initialMs: 5, maxMs: 20, factor: 2, jitter: 0.25 },
    staleMs: 0,
    ...extra,
  });
}

async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("AccountSupervisor", () => {
  it("backoff grows by the factor, is capped, and jitter stays within ± the fraction", () => {
    const sup = supervisor(new FakePlatform(), {
      backoff: { initialMs: 1000, maxMs: 30_000, factor: 1.8, jitter: 0.25 },
      random: () => 0.5,
    });
    expect([1, 2, 3, 4].map((n) => sup.delayFor(n))).toEqual([1000, 1800, 3240, 5832]);
    expect(sup.delayFor(50)).toBe(30_000);
    const low = supervisor(new FakePlatform(), {
      backoff: { initialMs: 1000, maxMs: 30_000, jitter: 0.25 },
      random: () => 0,
    });
    const high = supervisor(new FakePlatform(), {
      backoff: { initialMs: 1000, maxMs: 30_000, jitter: 0.25 },
      random: () => 0.999999,
    });
    expect(low.delayFor(1)).toBe(750);
    expect(high.delayFor(1)).toBe(1250);
    expect(high.delayFor(99)).toBeLessThanOrEqual(37_500);
  });

  it("retries failed starts with backoff, then runs and resets the attempt count", async () => {
    const platform = new FakePlatform();
    platform.behaviour.failStarts = 3;
    const sup = supervisor(platform);
    await sup.start();
    expect(sup.status()).toMatchObject({ state: "backoff", attempts: 1, lastError: "ECONNREFUSED", inbound: "down" });
    await until(() => sup.state === "running", "running");
    expect(platform.startAttempts).toBe(4);
    expect(sup.status()).toMatchObject({
      state: "running",
      connected: true,
      attempts: 0,
      restarts: 3,
      inbound: "none-yet",
      mode: "fake",
    });
    await sup.stop();
    expect(sup.status().state).toBe("stopped");
    expect(platform.current!.stopped).toBe(true);
  });

  it("stops for good on ChannelFatalError at start (no retry)", async () => {
    const platform = new FakePlatform();
    platform.behaviour.fatal = true;
    const sup = supervisor(platform);
    await sup.start();
    await new Promise((r) => setTimeout(r, 60));
    expect(platform.startAttempts).toBe(1);
    expect(sup.status()).toMatchObject({
      state: "fatal",
      connected: false,
      lastError: "401 Unauthorized: token revoked",
    });
    expect(sup.adapter).toBeUndefined();
    await sup.stop();
    expect(sup.status().state).toBe("fatal");
  });

  it("restarts on ctx.disconnected with a fresh adapter; a fatal disconnect stops; stale callbacks are ignored", async () => {
    const platform = new FakePlatform();
    const sup = supervisor(platform);
    await sup.start();
    const first = platform.current!;
    first.ctx!.disconnected(new Error("socket hang up"));
    expect(sup.status()).toMatchObject({ state: "backoff", lastError: "socket hang up" });
    await until(() => sup.state === "running" && platform.adapters.length === 2, "restart");
    expect(first.stopped).toBe(true);
    // The old instance's late callback does nothing.
    first.ctx!.disconnected(new Error("late"));
    expect(sup.state).toBe("running");
    platform.current!.ctx!.disconnected(new ChannelFatalError("4014 disallowed intents"));
    expect(sup.status()).toMatchObject({ state: "fatal", lastError: "4014 disallowed intents" });
    await new Promise((r) => setTimeout(r, 60));
    expect(platform.adapters).toHaveLength(2);
    await sup.stop();
  });

  it("gives up after maxAttempts consecutive failures", async () => {
    const platform = new FakePlatform();
    platform.behaviour.failStarts = 100;
    const sup = supervisor(platform, { backoff: { initialMs: 1, maxMs: 2, maxAttempts: 3 } });
    await sup.start();
    await until(() => sup.state === "fatal", "fatal");
    expect(platform.startAttempts).toBe(3);
    await sup.stop();
  });

  it("inbound liveness: receiving after a message, quiet after quietMs; the watchdog restarts a deaf transport", async () => {
    let now = 1_000_000;
    const platform = new FakePlatform();
    const sup = supervisor(platform, { now: () => now, quietMs: 1000, staleMs: 40 });
    await sup.start();
    await platform.current!.inject({ chatType: "direct", peerId: "1", senderId: "1", text: "hi" });
    expect(sup.status()).toMatchObject({ inbound: "receiving", lastInboundAt: now });
    now += 1001;
    expect(sup.status().inbound).toBe("quiet");
    // The transport's last activity is now > staleMs old: the watchdog treats it as lost.
    await until(() => platform.adapters.length === 2 && sup.state === "running", "watchdog restart");
    expect(sup.status().lastError).toMatch(/no transport activity/);
    await sup.stop();
  });
});
