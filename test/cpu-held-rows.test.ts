/**
 * The held-row cache (shared stores) keeps JSON copies that share the row's report and totals
 * (frozen, as the file store does) instead of structured clones of the whole row: lookups are independent copies of the
 * scalar part, the big sub-objects are one frozen object, and a new hold starts empty.
 */
import { describe, expect, it } from "vitest";
import { HeldRowCache } from "../src/session/held-rows.ts";
import type { SessionHold, SessionLeases } from "../src/session/session-leases.ts";
import type { SessionEntry } from "../src/store/entry.ts";

/** A lease table with one hold per session that the test can end. */
function leases() {
  const live = new Map<string, SessionHold>();
  const fake = {
    current: (agentId: string, sessionKey: string) => live.get(`${agentId}|${sessionKey}`) ?? null,
    isCurrent: (hold: SessionHold) => live.get(`${hold.agentId}|${hold.sessionKey}`) === hold,
  };
  return {
    leases: fake as unknown as SessionLeases,
    take(agentId: string, sessionKey: string): SessionHold {
      const hold = { agentId, sessionKey };
      live.set(`${agentId}|${sessionKey}`, hold);
      return hold;
    },
    end(agentId: string, sessionKey: string) {
      live.delete(`${agentId}|${sessionKey}`);
    },
  };
}

function row(): SessionEntry {
  return {
    sessionId: "s1",
    updatedAt: 1,
    label: "x",
    systemPromptReport: { source: "run", generatedAt: 5, files: [{ name: "AGENTS.md", chars: 10 }] },
    usageTotals: { days: { "2026-12-01": { input: 1, output: 2 } } },
    skipped: undefined,
  } as unknown as SessionEntry;
}

describe("held-row cache copies", () => {
  it("hands out independent copies that share one frozen report and totals", () => {
    const l = leases();
    l.take("main", "k");
    const cache = new HeldRowCache(l.leases);
    const source = row();
    cache.remember("main", "k", source);
    // The caller's own row stays the caller's: changing it does not reach the cache.
    (source as unknown as { label: string }).label = "changed";

    const a = cache.lookup("main", "k")!.row!;
    const b = cache.lookup("main", "k")!.row!;
    expect(a).not.toBe(b);
    expect(a).toStrictEqual(JSON.parse(JSON.stringify(row())));
    (a as unknown as { label: string }).label = "mutated";
    expect((cache.lookup("main", "k")!.row as unknown as { label: string }).label).toBe("x");

    // The big sub-objects are one shared object, frozen where they were (only ever replaced whole).
    const report = (a as unknown as { systemPromptReport: object }).systemPromptReport;
    expect((b as unknown as { systemPromptReport: object }).systemPromptReport).toBe(report);
    expect(Object.isFrozen(report)).toBe(true);
    expect((a as unknown as { usageTotals: object }).usageTotals).toBe(
      (b as unknown as { usageTotals: object }).usageTotals,
    );
    expect(report).toBe((source as unknown as { systemPromptReport: object }).systemPromptReport);
  });

  it("peeks at the kept row itself (frozen) for a store's known row, without a copy", () => {
    const l = leases();
    l.take("main", "k");
    const cache = new HeldRowCache(l.leases);
    cache.remember("main", "k", row());
    const seen = cache.peek("main", "k")!.row!;
    expect(cache.peek("main", "k")!.row).toBe(seen);
    expect(Object.isFrozen(seen)).toBe(true);
    expect(() => {
      (seen as unknown as { label: string }).label = "changed";
    }).toThrow(TypeError);
    // A lookup is still a copy the caller may change.
    const copy = cache.lookup("main", "k")!.row!;
    expect(copy).not.toBe(seen);
    (copy as unknown as { label: string }).label = "mine";
    expect((seen as unknown as { label: string }).label).toBe("x");
    l.end("main", "k");
    expect(cache.peek("main", "k")).toBeNull();
  });

  it("forgets the row when the hold it was made under ends", () => {
    const l = leases();
    l.take("main", "k");
    const cache = new HeldRowCache(l.leases);
    cache.remember("main", "k", row());
    expect(cache.lookup("main", "k")).not.toBeNull();
    l.end("main", "k");
    l.take("main", "k");
    expect(cache.lookup("main", "k")).toBeNull();
    // Without a hold nothing is remembered.
    l.end("main", "k");
    cache.remember("main", "k", row());
    expect(cache.lookup("main", "k")).toBeNull();
  });
});
