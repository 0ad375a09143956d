/**
 * The system prompt keeps its stable part (identity, tools, rules, workspace files) between turns
 * and the last date per zone (issue 17): whatever order prompts are built in, each is the same
 * text as when it is built first, so a changed file, tool list, heartbeat prompt, workspace or
 * mode is never answered from what an earlier turn built.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildSystemPrompt, dateIn, type PromptInputs } from "../src/runtime/system-prompt.ts";
import type { ToolSpec } from "../src/providers/types.ts";

const tool = (name: string, description: string): ToolSpec => ({
  name,
  description,
  parameters: { type: "object", properties: {} },
});
const TOOLS = [tool("memory_search", "Search memory."), tool("exec", "Run a  command.\n"), tool("exec", "Other.")];

const inputArb: fc.Arbitrary<PromptInputs> = fc.record({
  mode: fc.constantFrom("full" as const, "minimal" as const),
  workspaceDir: fc.constantFrom("/w/a", "/w/b"),
  tools: fc.subarray(TOOLS),
  files: fc.array(
    fc.record({ name: fc.constantFrom("AGENTS.md", "SOUL.md"), path: fc.constant("/w/x"), content: fc.string() }),
    { maxLength: 3 },
  ),
  heartbeatPrompt: fc.option(fc.constantFrom("Check HEARTBEAT.md.", "Other prompt."), { nil: undefined }),
  group: fc.option(fc.record({ name: fc.string(), channel: fc.constant("telegram") }), { nil: undefined }),
  runtime: fc.record({
    agentId: fc.constant("main"),
    model: fc.constantFrom("echo/echo", "a/b"),
    date: fc.constant("2026-12-01"),
    weekday: fc.constant("Tuesday"),
    timeZone: fc.constant("UTC"),
  }),
  extra: fc.option(fc.string(), { nil: undefined }),
  truncationWarning: fc.option(fc.array(fc.string(), { maxLength: 2 }), { nil: undefined }),
});

describe("the system prompt's kept parts", () => {
  it("give the same prompt in any order of building", () => {
    fc.assert(
      fc.property(fc.array(inputArb, { minLength: 1, maxLength: 8 }), (inputs) => {
        const first = inputs.map((i) => buildSystemPrompt(i));
        const again = [...inputs.keys()].reverse().map((k) => [k, buildSystemPrompt(inputs[k]!)] as const);
        for (const [k, built] of again) expect(built).toEqual(first[k]);
        // The text as the whole prompt was built before: trimmed, stable part first.
        for (const b of first) expect(b.text).toBe(b.text.trim());
      }),
      { numRuns: 300 },
    );
  });

  it("a changed file shows up on the next build in the same workspace", () => {
    const base: PromptInputs = {
      mode: "full",
      workspaceDir: "/w/c",
      tools: TOOLS,
      files: [{ name: "AGENTS.md", path: "/w/c/AGENTS.md", content: "one" }],
      runtime: { agentId: "main", model: "e/e", date: "2026-12-01", weekday: "Tuesday", timeZone: "UTC" },
    };
    expect(buildSystemPrompt(base).text).toContain("\none\n");
    const next = buildSystemPrompt({ ...base, files: [{ ...base.files[0]!, content: "two" }] });
    expect(next.text).toContain("\ntwo\n");
    expect(next.text).not.toContain("\none\n");
  });

  it("the date per zone changes at the zone's midnight", () => {
    const midnightBerlin = Date.UTC(2026, 11, 1, 23, 0, 0); // 00:00 on 2 December in Berlin
    expect(dateIn(midnightBerlin - 1, "Europe/Berlin")).toEqual({ date: "2026-12-01", weekday: "Tuesday" });
    expect(dateIn(midnightBerlin, "Europe/Berlin")).toEqual({ date: "2026-12-02", weekday: "Wednesday" });
    expect(dateIn(midnightBerlin - 1, "Europe/Berlin")).toEqual({ date: "2026-12-01", weekday: "Tuesday" });
    expect(dateIn(midnightBerlin, "UTC")).toEqual({ date: "2026-12-01", weekday: "Tuesday" });
  });
});
