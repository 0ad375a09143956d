/** Reset policy resolution (reference §7.2 + Pincer's `none`) and reset triggers. */
import { describe, expect, it } from "vitest";
import { resolveResetPolicy } from "../src/lifecycle/policy.ts";
import { detectResetTrigger } from "../src/lifecycle/reset.ts";

describe("resolveResetPolicy", () => {
  it("defaults to daily at 04:00 with no idle window", () => {
    expect(resolveResetPolicy({}, "direct")).toEqual({ mode: "daily", atHour: 4, idleMinutes: undefined });
  });
  it("falls through field by field from resetByType to reset", () => {
    const cfg = { reset: { mode: "daily" as const, atHour: 6 }, resetByType: { group: { idleMinutes: 30 } } };
    expect(resolveResetPolicy(cfg, "group")).toEqual({ mode: "daily", atHour: 6, idleMinutes: 30 });
    expect(resolveResetPolicy(cfg, "direct")).toEqual({ mode: "daily", atHour: 6, idleMinutes: undefined });
  });
  it("uses the legacy dm block for direct chats only", () => {
    const cfg = { resetByType: { dm: { mode: "idle" as const, idleMinutes: 15 } } };
    expect(resolveResetPolicy(cfg, "direct")).toMatchObject({ mode: "idle", idleMinutes: 15 });
    expect(resolveResetPolicy(cfg, "group")).toMatchObject({ mode: "daily" });
  });
  it("lets resetByChannel replace reset, resetByType and the legacy idleMinutes", () => {
    const cfg = {
      reset: { mode: "daily" as const, atHour: 2, idleMinutes: 5 },
      resetByType: { direct: { atHour: 9 } },
      idleMinutes: 45,
      resetByChannel: { discord: { mode: "idle" as const, idleMinutes: 10080 } },
    };
    expect(resolveResetPolicy(cfg, "direct", "Discord")).toEqual({ mode: "idle", atHour: 4, idleMinutes: 10080 });
    expect(resolveResetPolicy(cfg, "direct", "telegram")).toEqual({ mode: "daily", atHour: 9, idleMinutes: 5 });
  });
  it("reads the legacy top-level idleMinutes alone as idle-only mode, beside reset as the idle window", () => {
    expect(resolveResetPolicy({ idleMinutes: 90 }, "direct")).toEqual({ mode: "idle", atHour: 4, idleMinutes: 90 });
    expect(resolveResetPolicy({ idleMinutes: 90, reset: { atHour: 3 } }, "direct")).toEqual({
      mode: "daily",
      atHour: 3,
      idleMinutes: 90,
    });
  });
  it("gives idle mode 60 minutes when no window is configured", () => {
    expect(resolveResetPolicy({ reset: { mode: "idle" } }, "thread")).toEqual({
      mode: "idle",
      atHour: 4,
      idleMinutes: 60,
    });
  });
  it("clamps atHour and floors idle minutes to at least 1", () => {
    expect(resolveResetPolicy({ reset: { atHour: 30, idleMinutes: 0.2 } }, "direct")).toEqual({
      mode: "daily",
      atHour: 23,
      idleMinutes: 1,
    });
  });
  it("supports mode none: no automatic reset at all", () => {
    expect(resolveResetPolicy({ reset: { mode: "none", idleMinutes: 10 } }, "direct")).toEqual({
      mode: "none",
      atHour: 4,
      idleMinutes: undefined,
    });
  });
});

describe("detectResetTrigger", () => {
  it.each([
    ["/new", { trigger: "/new", remainder: "" }],
    ["/NEW", { trigger: "/new", remainder: "" }],
    ["  /reset  ", { trigger: "/reset", remainder: "" }],
    ["/new hello there", { trigger: "/new", remainder: "hello there" }],
    ["/new: hello", { trigger: "/new", remainder: "hello" }],
    ["/new\nsecond line", { trigger: "/new", remainder: "second line" }],
    ["/newx", null],
    ["hello /new", null],
    ["", null],
  ])("%j", (text, expected) => {
    expect(detectResetTrigger(text)).toEqual(expected);
  });
  it("uses custom triggers when configured and falls back to the defaults when empty", () => {
    expect(detectResetTrigger("/fresh start", ["/fresh"])).toEqual({ trigger: "/fresh", remainder: "start" });
    expect(detectResetTrigger("/new", ["/fresh"])).toBeNull();
    expect(detectResetTrigger("/new", [])).toEqual({ trigger: "/new", remainder: "" });
  });
});
