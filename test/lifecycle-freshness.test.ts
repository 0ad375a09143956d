/**
 * Freshness (spec §3): daily by sessionStartedAt in the configured zone (DST-correct), idle by
 * lastInteractionAt, future timestamps clamped, host clock jumps.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../src/lifecycle/clock.ts";
import { evaluateFreshness } from "../src/lifecycle/freshness.ts";
import type { ResetPolicy } from "../src/lifecycle/policy.ts";
import { mostRecentBoundary, nextBoundary } from "../src/lifecycle/zoned-time.ts";

const daily = (atHour: number, idleMinutes?: number): ResetPolicy => ({ mode: "daily", atHour, idleMinutes });
const iso = (ms: number) => new Date(ms).toISOString();
const at = (isoText: string) => Date.parse(isoText);

describe("daily boundaries across DST", () => {
  it("Europe/Berlin spring forward: 02:00 does not exist, the boundary is the first instant after the gap", () => {
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00Z.
    expect(iso(mostRecentBoundary(at("2026-03-29T01:30:00Z"), 2, "Europe/Berlin"))).toBe("2026-03-29T01:00:00.000Z");
    expect(iso(mostRecentBoundary(at("2026-03-29T00:59:00Z"), 2, "Europe/Berlin"))).toBe("2026-03-28T01:00:00.000Z");
    // 04:00 on that day is 02:00Z (CEST).
    expect(iso(mostRecentBoundary(at("2026-03-29T03:00:00Z"), 4, "Europe/Berlin"))).toBe("2026-03-29T02:00:00.000Z");
  });

  it("Europe/Berlin fall back: the repeated 02:00 resets once, at its first occurrence", () => {
    // 2026-10-25: 03:00 CEST falls back to 02:00 CET at 01:00Z; 02:00 local happens at 00:00Z and 01:00Z.
    expect(iso(mostRecentBoundary(at("2026-10-25T00:30:00Z"), 2, "Europe/Berlin"))).toBe("2026-10-25T00:00:00.000Z");
    expect(iso(mostRecentBoundary(at("2026-10-25T01:30:00Z"), 2, "Europe/Berlin"))).toBe("2026-10-25T00:00:00.000Z");
    expect(iso(nextBoundary(at("2026-10-25T00:00:00Z"), 2, "Europe/Berlin"))).toBe("2026-10-26T01:00:00.000Z");
    // A session started in the first 02:xx is still fresh in the second 02:xx.
    const started = at("2026-10-25T00:10:00Z");
    const verdict = evaluateFreshness({
      entry: { sessionStartedAt: started, updatedAt: started },
      now: at("2026-10-25T01:10:00Z"),
      policy: daily(2),
      timeZone: "Europe/Berlin",
    });
    expect(verdict.fresh).toBe(true);
  });

  it("America/New_York spring forward and fall back", () => {
    // 2026-03-08: 02:00 EST -> 03:00 EDT at 07:00Z.
    expect(iso(mostRecentBoundary(at("2026-03-08T08:00:00Z"), 2, "America/New_York"))).toBe("2026-03-08T07:00:00.000Z");
    // 2026-11-01: 02:00 EDT -> 01:00 EST at 06:00Z; 01:00 local happens at 05:00Z and 06:00Z.
    expect(iso(mostRecentBoundary(at("2026-11-01T06:30:00Z"), 1, "America/New_York"))).toBe("2026-11-01T05:00:00.000Z");
    // 04:00 on fall-back day is 09:00Z (EST), one hour later in UTC than the day before (08:00Z, EDT).
    expect(iso(mostRecentBoundary(at("2026-11-01T10:00:00Z"), 4, "America/New_York"))).toBe("2026-11-01T09:00:00.000Z");
    expect(iso(mostRecentBoundary(at("2026-10-31T10:00:00Z"), 4, "America/New_York"))).toBe("2026-10-31T08:00:00.000Z");
  });

  it("Australia/Lord_Howe's half-hour shift", () => {
    // 2026-10-04: 02:00 +10:30 -> 02:30 +11:00 at 15:30Z on Oct 3.
    expect(iso(mostRecentBoundary(at("2026-10-03T16:00:00Z"), 2, "Australia/Lord_Howe"))).toBe(
      "2026-10-03T15:30:00.000Z",
    );
  });

  it("a chat at 03:59 followed by a message at 04:01 rolls the session (daily ignores recency)", () => {
    const started = at("2026-06-10T03:59:00Z");
    const entry = { sessionStartedAt: started, lastInteractionAt: started, updatedAt: started };
    expect(
      evaluateFreshness({ entry, now: at("2026-06-10T03:59:59.999Z"), policy: daily(4), timeZone: "UTC" }).fresh,
    ).toBe(true);
    expect(
      evaluateFreshness({ entry, now: at("2026-06-10T04:00:00Z"), policy: daily(4), timeZone: "UTC" }),
    ).toMatchObject({ fresh: false, staleReason: "daily" });
  });
});

describe("idle and combined policies", () => {
  const start = at("2026-06-10T10:00:00Z");
  it("is stale only strictly after lastInteractionAt + idleMinutes", () => {
    const entry = { sessionStartedAt: start, lastInteractionAt: start, updatedAt: start };
    const policy: ResetPolicy = { mode: "idle", atHour: 4, idleMinutes: 60 };
    expect(evaluateFreshness({ entry, now: start + 3_600_000, policy }).fresh).toBe(true);
    expect(evaluateFreshness({ entry, now: start + 3_600_001, policy })).toMatchObject({
      fresh: false,
      staleReason: "idle",
      nextResetAt: start + 3_600_000,
    });
  });
  it("ignores updatedAt (bookkeeping writes never keep a session alive)", () => {
    const entry = { sessionStartedAt: start, lastInteractionAt: start, updatedAt: start + 10 * 3_600_000 };
    expect(
      evaluateFreshness({ entry, now: start + 2 * 3_600_000, policy: { mode: "idle", atHour: 4, idleMinutes: 60 } })
        .staleReason,
    ).toBe("idle");
  });
  it("with both configured, reports whichever expiry came first", () => {
    const entry = {
      sessionStartedAt: at("2026-06-10T03:00:00Z"),
      lastInteractionAt: at("2026-06-10T03:50:00Z"),
      updatedAt: 0,
    };
    const v = evaluateFreshness({ entry, now: at("2026-06-10T05:00:00Z"), policy: daily(4, 30), timeZone: "UTC" });
    expect(v).toMatchObject({ fresh: false, staleReason: "daily" });
    const v2 = evaluateFreshness({
      entry: { ...entry, lastInteractionAt: at("2026-06-10T03:10:00Z") },
      now: at("2026-06-10T05:00:00Z"),
      policy: daily(4, 30),
      timeZone: "UTC",
    });
    expect(v2.staleReason).toBe("idle");
  });
  it("reports the next reset time of a fresh session", () => {
    const entry = {
      sessionStartedAt: at("2026-06-10T05:00:00Z"),
      lastInteractionAt: at("2026-06-10T22:00:00Z"),
      updatedAt: 0,
    };
    expect(
      evaluateFreshness({ entry, now: at("2026-06-10T23:00:00Z"), policy: daily(4, 600), timeZone: "UTC" }).nextResetAt,
    ).toBe(at("2026-06-11T04:00:00Z"));
    expect(
      evaluateFreshness({ entry, now: at("2026-06-10T23:00:00Z"), policy: daily(4, 60), timeZone: "UTC" }).nextResetAt,
    ).toBe(at("2026-06-10T23:00:00Z"));
  });
  it("falls back from sessionStartedAt to the transcript header, then updatedAt; lastInteractionAt to the start", () => {
    const now = at("2026-06-10T12:00:00Z");
    const legacy = { updatedAt: at("2026-06-10T11:00:00Z") };
    expect(evaluateFreshness({ entry: legacy, now, policy: daily(4), timeZone: "UTC" }).fresh).toBe(true);
    expect(
      evaluateFreshness({
        entry: legacy,
        now,
        policy: daily(4),
        timeZone: "UTC",
        transcriptStartedAt: at("2026-06-09T20:00:00Z"),
      }).staleReason,
    ).toBe("daily");
  });
  it("never resets under mode none", () => {
    expect(
      evaluateFreshness({
        entry: { updatedAt: 0, sessionStartedAt: 0 },
        now: at("2030-01-01T00:00:00Z"),
        policy: { mode: "none", atHour: 4, idleMinutes: undefined },
      }),
    ).toEqual({ fresh: true, staleReason: null, nextResetAt: null });
  });
});

describe("clock trouble", () => {
  it("clamps timestamps from the future to now", () => {
    const now = at("2026-06-10T12:00:00Z");
    const future = now + 5 * 86_400_000;
    const v = evaluateFreshness({
      entry: { sessionStartedAt: future, lastInteractionAt: future, updatedAt: future },
      now,
      policy: daily(4, 60),
      timeZone: "UTC",
    });
    expect(v.fresh).toBe(true);
    expect(v.idleExpiresAt).toBe(now + 3_600_000);
  });

  it("handles a host clock jump backwards and forwards (ManualClock)", () => {
    const clock = new ManualClock(at("2026-06-10T12:00:00Z"));
    const entry = { sessionStartedAt: clock.now(), lastInteractionAt: clock.now(), updatedAt: clock.now() };
    const policy = daily(4, 120);
    clock.advance(-6 * 3_600_000); // NTP correction or a VM restore: the clock goes back six hours.
    expect(evaluateFreshness({ entry, now: clock.now(), policy, timeZone: "UTC" }).fresh).toBe(true);
    // Once real time passes again, the idle window runs from the (clamped) interaction as usual.
    clock.advance(6 * 3_600_000 + 121 * 60_000);
    expect(evaluateFreshness({ entry, now: clock.now(), policy, timeZone: "UTC" }).staleReason).toBe("idle");
    // A jump forwards by days makes the session stale once (daily), not more.
    const fresh = {
      sessionStartedAt: at("2026-06-10T05:00:00Z"),
      lastInteractionAt: at("2026-06-10T05:00:00Z"),
      updatedAt: 0,
    };
    clock.set(at("2026-06-13T12:00:00Z"));
    expect(evaluateFreshness({ entry: fresh, now: clock.now(), policy: daily(4), timeZone: "UTC" }).staleReason).toBe(
      "daily",
    );
  });

  it("never throws and agrees with itself for any timestamps (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        fc.option(fc.integer({ min: -1e13, max: 1e13 }), { nil: undefined }),
        fc.option(fc.integer({ min: -1e13, max: 1e13 }), { nil: undefined }),
        fc.integer({ min: -1e13, max: 1e13 }),
        fc.constantFrom("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"),
        fc.integer({ min: 0, max: 23 }),
        fc.option(fc.integer({ min: 1, max: 100_000 }), { nil: undefined }),
        (now, started, last, updated, timeZone, atHour, idle) => {
          const v = evaluateFreshness({
            entry: { sessionStartedAt: started, lastInteractionAt: last, updatedAt: updated },
            now,
            policy: daily(atHour, idle),
            timeZone,
          });
          expect(v.fresh).toBe(v.staleReason === null);
          if (v.dailyResetAt !== undefined) expect(v.dailyResetAt).toBeLessThanOrEqual(now);
        },
      ),
      { numRuns: 300 },
    );
  });
});
