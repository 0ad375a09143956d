/** One carry-over list for every reset kind (spec §3). */
import { describe, expect, it } from "vitest";
import { buildResetEntry, RESET_CARRY_OVER_FIELDS } from "../src/lifecycle/reset.ts";
import type { SessionEntry } from "../src/store/entry.ts";

describe("buildResetEntry", () => {
  const previous: SessionEntry = {
    sessionId: "old",
    updatedAt: 1,
    sessionStartedAt: 1,
    lastInteractionAt: 1,
    modelOverride: "gpt-5",
    providerOverride: "openai",
    thinkingLevel: "high",
    sendPolicy: "deny",
    groupActivation: "always",
    label: "work",
    queueMode: "steer",
    pinned: true,
    origin: { provider: "telegram" },
    // Per-session-id state that must not survive:
    inputTokens: 5,
    outputTokens: 6,
    totalTokens: 7,
    totalTokensFresh: true,
    compactionCount: 3,
    memoryFlushAt: 9,
    memoryFlushCompactionCount: 2,
    systemSent: true,
    abortedLastRun: true,
    model: "claude-opus-4-6",
    modelProvider: "anthropic",
    contextTokens: 200000,
  };

  it("keeps every listed user choice and drops per-session-id state", () => {
    const next = buildResetEntry(previous, { newSessionId: "new", now: 100 });
    expect(next).toEqual({
      sessionId: "new",
      updatedAt: 100,
      sessionStartedAt: 100,
      lastInteractionAt: 100,
      compactionCount: 0,
      modelOverride: "gpt-5",
      providerOverride: "openai",
      thinkingLevel: "high",
      sendPolicy: "deny",
      groupActivation: "always",
      label: "work",
      queueMode: "steer",
      pinned: true,
      origin: { provider: "telegram" },
    });
  });

  it("copies carried values instead of sharing them", () => {
    const next = buildResetEntry(previous, { newSessionId: "new", now: 100 });
    next.origin!.provider = "changed";
    expect(previous.origin!.provider).toBe("telegram");
  });

  it("sets the model override for /new <model>", () => {
    expect(
      buildResetEntry(previous, {
        newSessionId: "n",
        now: 1,
        modelOverride: { provider: "anthropic", model: "claude-sonnet-4" },
      }),
    ).toMatchObject({ modelOverride: "claude-sonnet-4", providerOverride: "anthropic" });
  });

  it("has no duplicates in the carry-over list", () => {
    expect(new Set(RESET_CARRY_OVER_FIELDS).size).toBe(RESET_CARRY_OVER_FIELDS.length);
  });
});
