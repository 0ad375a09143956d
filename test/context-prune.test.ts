import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { applyCacheTtlPruning, lastCacheTouchFromEntries, pruneContextMessages } from "../src/context/prune.ts";
import {
  DEFAULT_PRUNE_SETTINGS,
  isCacheTtlEligible,
  resolvePruneSettings,
  type PruneSettings,
} from "../src/context/prune-settings.ts";
import {
  emptyUsage,
  type AgentMessage,
  type AssistantMessage,
  type ToolResultMessage,
  type UserMessage,
} from "../src/transcript/entries.ts";

const PLACEHOLDER = "[Old tool result content cleared]";
const IMAGE_MARKER = "[image removed during context pruning]";

const user = (text: string): UserMessage => ({ role: "user", content: text, timestamp: 1 });
const assistant = (text = "ok"): AssistantMessage => ({
  role: "assistant",
  content: [{ type: "text", text }],
  api: "messages",
  provider: "anthropic",
  model: "claude",
  usage: emptyUsage(),
  stopReason: "stop",
  timestamp: 2,
});
const tool = (text: string, toolName = "read", extra: ToolResultMessage["content"] = []): ToolResultMessage => ({
  role: "toolResult",
  toolCallId: `c-${toolName}`,
  toolName,
  content: [{ type: "text", text }, ...extra],
  isError: false,
  timestamp: 3,
});
const textOf = (m: AgentMessage | undefined): string => {
  if (!m || m.role !== "toolResult") throw new Error("not a tool result");
  return m.content.map((b) => (b.type === "text" ? b.text : `<img>`)).join("|");
};

const settings = (over: Partial<PruneSettings> = {}): PruneSettings => ({
  ...resolvePruneSettings({ mode: "cache-ttl" }),
  ...over,
});

/** A big conversation: bootstrap tool result, user, then N (assistant, big tool result) pairs, then protected tail. */
function history(bodies: string[]): AgentMessage[] {
  const out: AgentMessage[] = [tool("B".repeat(10_000), "bootstrap_read"), user("hi")];
  for (const b of bodies) out.push(assistant("calling"), tool(b));
  out.push(assistant("a1"), user("u"), assistant("a2"), user("u2"), assistant("a3"));
  return out;
}

describe("resolvePruneSettings", () => {
  it("has the reference defaults and is off when absent", () => {
    expect(resolvePruneSettings(undefined)).toEqual({
      mode: "off",
      ttlMs: 300_000,
      keepLastAssistants: 3,
      softTrimRatio: 0.3,
      hardClearRatio: 0.5,
      minPrunableToolChars: 50_000,
      softTrim: { maxChars: 4000, headChars: 1500, tailChars: 1500 },
      hardClear: { enabled: true, placeholder: PLACEHOLDER },
      tools: { allow: [], deny: [] },
    });
    expect(resolvePruneSettings({}).mode).toBe("off");
    expect(resolvePruneSettings({ mode: "cache-ttl" }).mode).toBe("cache-ttl");
  });

  it("parses ttl with minutes as the default unit", () => {
    expect(resolvePruneSettings({ ttl: "5m" }).ttlMs).toBe(300_000);
    expect(resolvePruneSettings({ ttl: "1h" }).ttlMs).toBe(3_600_000);
    expect(resolvePruneSettings({ ttl: "30" }).ttlMs).toBe(1_800_000);
    expect(resolvePruneSettings({ ttl: 2 }).ttlMs).toBe(120_000);
    expect(resolvePruneSettings({ ttl: "90s" }).ttlMs).toBe(90_000);
    expect(resolvePruneSettings({ ttl: 0 }).ttlMs).toBe(0);
  });

  it("takes every key and nested section", () => {
    const s = resolvePruneSettings({
      mode: "cache-ttl",
      keepLastAssistants: 0,
      softTrimRatio: 0.1,
      hardClearRatio: 0.9,
      minPrunableToolChars: 7,
      softTrim: { maxChars: 10, headChars: 2, tailChars: 3 },
      hardClear: { enabled: false, placeholder: " [x] " },
      tools: { allow: ["read*"], deny: ["Exec"] },
    });
    expect(s).toEqual({
      mode: "cache-ttl",
      ttlMs: 300_000,
      keepLastAssistants: 0,
      softTrimRatio: 0.1,
      hardClearRatio: 0.9,
      minPrunableToolChars: 7,
      softTrim: { maxChars: 10, headChars: 2, tailChars: 3 },
      hardClear: { enabled: false, placeholder: "[x]" },
      tools: { allow: ["read*"], deny: ["Exec"] },
    });
  });

  // Bad values are refused when the config is loaded: test/config-sections.test.ts ("contextPruning").
});

describe("isCacheTtlEligible", () => {
  it.each([
    ["anthropic", "claude-opus-4", true],
    ["Anthropic", "x", true],
    ["moonshot", "kimi", true],
    ["zai", "glm", true],
    ["openrouter", "anthropic/claude", true],
    ["openrouter", "moonshotai/kimi", true],
    ["openrouter", "moonshot/kimi", true],
    ["openrouter", "zai/glm", true],
    ["openrouter", "openai/gpt-5", false],
    ["kilocode", "anthropic/claude", true],
    ["kilocode", "zai/glm", false],
    ["openai", "anthropic/claude", false],
    ["google", "gemini", false],
  ])("%s %s → %s", (provider, model, expected) => {
    expect(isCacheTtlEligible(provider, model)).toBe(expected);
  });
});

describe("pruneContextMessages", () => {
  it("changes nothing below softTrimRatio", () => {
    const msgs = history(["x".repeat(20_000)]);
    // ~30k chars against a 100k-token (400k-char) window: ratio 0.075.
    const out = pruneContextMessages(msgs, settings(), 100_000);
    expect(out).toEqual(msgs);
    out.forEach((m, i) => expect(m).toBe(msgs[i]));
  });

  it("soft-trims with the exact head/tail format", () => {
    const body = "H".repeat(1500) + "M".repeat(7000) + "T".repeat(1500);
    const msgs = history([body]);
    // total ≈ 20k chars; window 10k tokens = 40k chars → ratio ≈ 0.5 ≥ 0.3; disable hard clear to look at the trim alone.
    const out = pruneContextMessages(
      msgs,
      settings({ hardClear: { enabled: false, placeholder: PLACEHOLDER } }),
      10_000,
    );
    expect(textOf(out[3])).toBe(
      `${"H".repeat(1500)}\n...\n${"T".repeat(1500)}\n\n[Tool result trimmed: kept first 1500 chars and last 1500 chars of 10000 chars.]`,
    );
    expect(out[3]).not.toBe(msgs[3]);
    expect((out[3] as ToolResultMessage).toolCallId).toBe("c-read");
  });

  it("leaves results at or below maxChars alone and joins text blocks with newlines", () => {
    const small = tool("a".repeat(100), "read", [{ type: "text", text: "b".repeat(100) }]);
    const big = tool("a".repeat(3000), "read", [{ type: "text", text: "b".repeat(3000) }]);
    const msgs: AgentMessage[] = [
      user("hi"),
      assistant(),
      small,
      assistant(),
      big,
      assistant("z".repeat(60_000)),
      assistant(),
      assistant(),
    ];
    const out = pruneContextMessages(
      msgs,
      settings({ hardClear: { enabled: false, placeholder: PLACEHOLDER } }),
      20_000,
    );
    expect(out[2]).toBe(small);
    expect(textOf(out[4])).toBe(
      `${"a".repeat(1500)}\n...\n${"b".repeat(1500)}\n\n[Tool result trimmed: kept first 1500 chars and last 1500 chars of 6001 chars.]`,
    );
  });

  it("replaces images with the marker, even in short results", () => {
    const withImage = tool("small", "screenshot", [{ type: "image", data: "AAAA", mimeType: "image/png" }]);
    const msgs: AgentMessage[] = [
      user("hi"),
      assistant(),
      withImage,
      assistant("z".repeat(30_000)),
      assistant(),
      assistant(),
    ];
    const out = pruneContextMessages(
      msgs,
      settings({ hardClear: { enabled: false, placeholder: PLACEHOLDER } }),
      20_000,
    );
    expect((out[2] as ToolResultMessage).content).toEqual([{ type: "text", text: `small\n${IMAGE_MARKER}` }]);
  });

  it("hard-clears oldest first until the ratio drops below hardClearRatio", () => {
    const bodies = Array.from({ length: 6 }, (_, i) => String(i).repeat(20_000));
    const msgs = history(bodies);
    // Soft trim is disabled (huge maxChars) so only hard clear acts. Window 25k tokens = 100k chars.
    const s = settings({
      softTrim: { maxChars: 1_000_000, headChars: 1500, tailChars: 1500 },
      minPrunableToolChars: 0,
    });
    const out = pruneContextMessages(msgs, s, 25_000);
    // total ≈ 130k chars → ratio 1.3; each clear removes ~0.2, so four clears leave ≈ 0.502 and the fifth is needed.
    const cleared = out
      .map((m, i) => (m.role === "toolResult" && textOf(m) === PLACEHOLDER ? i : -1))
      .filter((i) => i >= 0);
    const toolIdx = msgs
      .map((m, i) => (m.role === "toolResult" && m.toolName === "read" ? i : -1))
      .filter((i) => i >= 0);
    let total = 0;
    for (const m of out)
      total +=
        m.role === "toolResult"
          ? textOf(m).length
          : m.role === "user"
            ? (m.content as string).length
            : (m.content[0] as { text: string }).text.length;
    expect(total / 100_000).toBeLessThan(0.5);
    // Oldest first and contiguous from the oldest; the newest survives.
    expect(cleared).toEqual(toolIdx.slice(0, cleared.length));
    expect(cleared.length).toBeGreaterThan(0);
    expect(cleared.length).toBeLessThan(toolIdx.length);
    // Stopping one clear earlier would still be ≥ the ratio.
    expect((total + 20_000 - PLACEHOLDER.length) / 100_000).toBeGreaterThanOrEqual(0.5);
    // The bootstrap read before the first user message is never cleared.
    expect(out[0]).toBe(msgs[0]);
  });

  it("does not hard-clear when the prunable tool chars are below minPrunableToolChars", () => {
    const msgs = history(Array.from({ length: 6 }, () => "q".repeat(20_000)));
    const s = settings({ softTrim: { maxChars: 1_000_000, headChars: 1500, tailChars: 1500 } });
    expect(pruneContextMessages(msgs, { ...s, minPrunableToolChars: 120_001 }, 25_000)).toEqual(msgs);
    expect(pruneContextMessages(msgs, { ...s, minPrunableToolChars: 120_000 }, 25_000)).not.toEqual(msgs);
  });

  it("does not hard-clear when disabled", () => {
    const msgs = history(Array.from({ length: 6 }, () => "q".repeat(20_000)));
    const s = settings({
      softTrim: { maxChars: 1_000_000, headChars: 1500, tailChars: 1500 },
      hardClear: { enabled: false, placeholder: PLACEHOLDER },
    });
    expect(pruneContextMessages(msgs, s, 25_000)).toEqual(msgs);
  });

  it("protects everything at or after the keepLastAssistants-th last assistant", () => {
    const big = "w".repeat(50_000);
    const msgs: AgentMessage[] = [
      user("hi"),
      assistant(),
      tool(big),
      assistant(),
      tool(big),
      assistant(),
      tool(big),
      assistant(),
      tool(big),
    ];
    const out = pruneContextMessages(msgs, settings({ keepLastAssistants: 2 }), 10_000);
    // Cutoff is index 5 (2nd assistant from the end): results at 2 and 4 are prunable, 6 and 8 untouched.
    expect(out[6]).toBe(msgs[6]);
    expect(out[8]).toBe(msgs[8]);
    expect(textOf(out[2])).not.toBe(big);
    expect(textOf(out[4])).not.toBe(big);
  });

  it("keepLastAssistants 0 makes everything after the first user message prunable", () => {
    const msgs: AgentMessage[] = [user("hi"), assistant(), tool("w".repeat(50_000))];
    const out = pruneContextMessages(msgs, settings({ keepLastAssistants: 0 }), 10_000);
    expect(textOf(out[2])).toMatch(/Tool result trimmed/);
  });

  it("returns the messages unchanged when there are not enough assistants", () => {
    const msgs: AgentMessage[] = [
      user("hi"),
      assistant(),
      tool("w".repeat(50_000)),
      assistant(),
      tool("w".repeat(50_000)),
    ];
    const out = pruneContextMessages(msgs, settings({ keepLastAssistants: 3 }), 1_000);
    out.forEach((m, i) => expect(m).toBe(msgs[i]));
  });

  it("protects everything before the first user message, and everything when there is no user", () => {
    const big = "b".repeat(80_000);
    const msgs: AgentMessage[] = [
      assistant(),
      tool(big, "read"),
      user("hi"),
      assistant(),
      tool(big, "read"),
      assistant(),
      assistant(),
      assistant(),
    ];
    const out = pruneContextMessages(msgs, settings(), 10_000);
    expect(out[1]).toBe(msgs[1]);
    expect(out[4]).not.toBe(msgs[4]);
    const noUser = msgs.filter((m) => m.role !== "user");
    pruneContextMessages(noUser, settings(), 10_000).forEach((m, i) => expect(m).toBe(noUser[i]));
  });

  it("returns unchanged for a non-positive window", () => {
    const msgs = history(["x".repeat(100_000)]);
    pruneContextMessages(msgs, settings(), 0).forEach((m, i) => expect(m).toBe(msgs[i]));
    pruneContextMessages(msgs, settings(), -5).forEach((m, i) => expect(m).toBe(msgs[i]));
  });

  it("applies deny and allow globs case-insensitively, deny winning", () => {
    const big = "g".repeat(20_000);
    const msgs: AgentMessage[] = [
      user("hi"),
      assistant(),
      tool(big, "Read_File"),
      tool(big, "exec"),
      tool(big, "web_fetch"),
      tool(big, "READ_secret"),
      assistant(),
      assistant(),
      assistant(),
    ];
    const s = settings({
      tools: { allow: ["read_*", "WEB_*"], deny: ["*secret*"] },
      hardClear: { enabled: false, placeholder: PLACEHOLDER },
    });
    const out = pruneContextMessages(msgs, s, 10_000);
    expect(out[2]).not.toBe(msgs[2]);
    expect(out[3]).toBe(msgs[3]);
    expect(out[4]).not.toBe(msgs[4]);
    expect(out[5]).toBe(msgs[5]);
    const denyOnly = pruneContextMessages(msgs, settings({ tools: { allow: [], deny: ["EXEC"] } }), 10_000);
    expect(denyOnly[3]).toBe(msgs[3]);
    expect(denyOnly[2]).not.toBe(msgs[2]);
    // A regex metacharacter in a pattern is literal.
    const dotted = pruneContextMessages(msgs, settings({ tools: { allow: ["read.*"], deny: [] } }), 10_000);
    expect(dotted[2]).toBe(msgs[2]);
  });

  it("never mutates its input and is deterministic", () => {
    const msgs = history(Array.from({ length: 6 }, (_, i) => String(i).repeat(20_000)));
    msgs.push(tool("img", "shot", [{ type: "image", data: "QUJD", mimeType: "image/png" }]));
    const before = JSON.stringify(msgs);
    const s = settings({ keepLastAssistants: 1, minPrunableToolChars: 0 });
    const a = pruneContextMessages(msgs, s, 25_000);
    const b = pruneContextMessages(msgs, s, 25_000);
    expect(JSON.stringify(msgs)).toBe(before);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(before);
    expect(a).not.toBe(msgs);
  });

  it("keeps length and roles, and user/assistant messages identical (property)", () => {
    const block = fc.oneof(
      fc.record({ type: fc.constant("text" as const), text: fc.string({ maxLength: 3000 }) }),
      fc.record({ type: fc.constant("image" as const), data: fc.constant("QQ=="), mimeType: fc.constant("image/png") }),
    );
    const message: fc.Arbitrary<AgentMessage> = fc.oneof(
      fc.string({ maxLength: 2000 }).map((t) => user(t)),
      fc.string({ maxLength: 2000 }).map((t) => assistant(t)),
      fc
        .record({ name: fc.constantFrom("read", "exec", "Web_Fetch"), content: fc.array(block, { maxLength: 4 }) })
        .map(({ name, content }): ToolResultMessage => ({
          role: "toolResult",
          toolCallId: "c",
          toolName: name,
          content,
          isError: false,
          timestamp: 0,
        })),
    );
    const settingsArb = fc.record({
      keepLastAssistants: fc.integer({ min: 0, max: 4 }),
      softTrimRatio: fc.double({ min: 0, max: 1, noNaN: true }),
      hardClearRatio: fc.double({ min: 0, max: 1, noNaN: true }),
      minPrunableToolChars: fc.integer({ min: 0, max: 10_000 }),
      maxChars: fc.integer({ min: 0, max: 3000 }),
      headChars: fc.integer({ min: 0, max: 2000 }),
      tailChars: fc.integer({ min: 0, max: 2000 }),
      enabled: fc.boolean(),
      deny: fc.subarray(["exec", "web_*"]),
    });
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 30 }),
        settingsArb,
        fc.integer({ min: -10, max: 20_000 }),
        (msgs, r, window) => {
          const s: PruneSettings = {
            ...DEFAULT_PRUNE_SETTINGS,
            mode: "cache-ttl",
            keepLastAssistants: r.keepLastAssistants,
            softTrimRatio: r.softTrimRatio,
            hardClearRatio: r.hardClearRatio,
            minPrunableToolChars: r.minPrunableToolChars,
            softTrim: { maxChars: r.maxChars, headChars: r.headChars, tailChars: r.tailChars },
            hardClear: { enabled: r.enabled, placeholder: PLACEHOLDER },
            tools: { allow: [], deny: r.deny },
          };
          const before = JSON.stringify(msgs);
          const out = pruneContextMessages(msgs, s, window);
          expect(JSON.stringify(msgs)).toBe(before);
          expect(out.length).toBe(msgs.length);
          out.forEach((m, i) => {
            const orig = msgs[i]!;
            expect(m.role).toBe(orig.role);
            if (orig.role !== "toolResult") expect(m).toBe(orig);
            else if (m !== orig) {
              expect(m.role === "toolResult" && m.content.length === 1 && m.content[0]!.type === "text").toBe(true);
              expect(s.tools.deny.includes("exec") && orig.toolName === "exec").toBe(false);
            }
          });
          expect(JSON.stringify(pruneContextMessages(msgs, s, window))).toBe(JSON.stringify(out));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("applyCacheTtlPruning", () => {
  const msgs = history(["x".repeat(100_000)]);
  const base = {
    messages: msgs,
    settings: settings(),
    contextWindowTokens: 10_000,
    now: 1_000_000,
    lastCacheTouchAt: 1_000_000 - 300_000,
    provider: "anthropic",
    modelId: "claude",
  };

  it("prunes once the TTL has elapsed and moves the touch timestamp to now", () => {
    const before = JSON.stringify(msgs);
    const r = applyCacheTtlPruning(base);
    expect(r.pruned).toBe(true);
    expect(r.lastCacheTouchAt).toBe(1_000_000);
    expect(textOf(r.messages[3])).toMatch(
      /Tool result trimmed: kept first 1500 chars and last 1500 chars of 100000 chars/,
    );
    const trimmedLen = textOf(r.messages[3]).length;
    expect(r.prunedChars).toBe(100_000 - trimmedLen);
    expect(JSON.stringify(msgs)).toBe(before);
  });

  it.each([
    ["mode off", { settings: resolvePruneSettings({ mode: "off" }) }],
    ["ineligible provider", { provider: "openai", modelId: "gpt-5" }],
    ["ineligible openrouter model", { provider: "openrouter", modelId: "openai/gpt-5" }],
    ["no touch timestamp", { lastCacheTouchAt: undefined }],
    ["ttl 0", { settings: settings({ ttlMs: 0 }) }],
    ["within the ttl", { lastCacheTouchAt: 1_000_000 - 299_999 }],
  ])("leaves messages unchanged: %s", (_name, over) => {
    const input = { ...base, ...over };
    const r = applyCacheTtlPruning(input);
    expect(r.pruned).toBe(false);
    expect(r.prunedChars).toBe(0);
    expect(r.lastCacheTouchAt).toBe(input.lastCacheTouchAt);
    r.messages.forEach((m, i) => expect(m).toBe(msgs[i]));
  });

  it("does not move the touch timestamp when nothing changed", () => {
    const small = [user("hi"), assistant(), tool("tiny"), assistant(), assistant(), assistant()];
    const r = applyCacheTtlPruning({ ...base, messages: small });
    expect(r).toEqual({ messages: small, pruned: false, prunedChars: 0, lastCacheTouchAt: base.lastCacheTouchAt });
  });

  it("works through openrouter with an anthropic model", () => {
    expect(applyCacheTtlPruning({ ...base, provider: "openrouter", modelId: "anthropic/claude-sonnet" }).pruned).toBe(
      true,
    );
  });
});

describe("lastCacheTouchFromEntries", () => {
  const touch = (timestamp: unknown) => ({
    type: "custom",
    customType: "openclaw.cache-ttl",
    id: "x",
    parentId: null,
    timestamp: "2026-01-01T00:00:00.000Z",
    data: { timestamp, provider: "anthropic", modelId: "m" },
  });

  it("returns the newest touch entry's timestamp", () => {
    expect(
      lastCacheTouchFromEntries([
        touch(100),
        { type: "message" },
        touch(200),
        { type: "custom", customType: "other", data: { timestamp: 999 } },
      ]),
    ).toBe(200);
  });

  it("accepts ISO strings and skips malformed entries", () => {
    expect(lastCacheTouchFromEntries([touch("2026-03-01T00:00:00.000Z")])).toBe(Date.parse("2026-03-01T00:00:00.000Z"));
    expect(
      lastCacheTouchFromEntries([
        touch(50),
        touch("garbage"),
        { type: "custom", customType: "openclaw.cache-ttl" },
        null,
        3,
      ]),
    ).toBe(50);
  });

  it("is undefined without touch entries", () => {
    expect(lastCacheTouchFromEntries([])).toBeUndefined();
    expect(
      lastCacheTouchFromEntries([
        { type: "session" },
        { type: "custom", customType: "model-change", data: { timestamp: 1 } },
      ]),
    ).toBeUndefined();
  });
});
