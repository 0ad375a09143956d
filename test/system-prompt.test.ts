/**
 * The system prompt a model receives (issue 15 §2), through the real SDK clients against local
 * servers speaking Anthropic's and OpenAI's wire formats: the workspace files (capped, with the
 * marker naming the file), the tool list, the reply rules, the runtime line, the group's name and
 * each group sender's name on their lines; byte-identical prompts for consecutive turns while
 * nothing changes (the provider's prompt cache keeps hitting), a changed file showing up on the
 * next turn; sub-agents get the minimal prompt.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PromptAssembler } from "../src/runtime/prompt-assembler.ts";
import { resolveAgentSettings } from "../src/runtime/agent-settings.ts";
import { ensureWorkspace } from "../src/workspace/layout.ts";
import { cleanups, gatewayWith, say, systemOf, userTexts } from "./helpers/prompt-gateway.ts";

const group = (senderName: string, senderId: string, text: string) => ({
  channel: "telegram",
  chatType: "group",
  peerId: "-100777",
  groupSubject: "Book Club",
  senderId,
  senderName,
  text,
  wasMentioned: true,
});

const SOUL = "# SOUL\nYou are Crab, a dry-humoured assistant.\n" + "Be kind. ".repeat(200);

for (const wire of ["anthropic", "openai"] as const) {
  describe(`the system prompt over the ${wire} wire format`, () => {
    it("holds the workspace files (capped, with the marker), the tools, the runtime line and the group's senders", async () => {
      const { gw, model } = await gatewayWith(
        wire,
        { agents: { defaults: { bootstrapMaxChars: 600, userTimezone: "Europe/Berlin" } } },
        (home) => {
          const ws = path.join(home, "agents", "main", "workspace");
          fs.mkdirSync(ws, { recursive: true, mode: 0o700 });
          fs.writeFileSync(path.join(ws, "AGENTS.md"), "# AGENTS\nAlways answer in English.\n");
          fs.writeFileSync(path.join(ws, "SOUL.md"), SOUL);
          fs.writeFileSync(path.join(ws, "MEMORY.md"), "- Alice runs the book club.\n");
        },
      );
      await say(gw, group("Alice", "u1", "what are we reading?"));
      await say(gw, group("Bob Stone", "u2", "and when do we meet?"));
      const first = systemOf(model.requests[0]!);
      const second = systemOf(model.requests[1]!);

      // Workspace files, in OpenClaw's order; SOUL.md over the cap keeps head and tail around the marker.
      expect(first).toContain("## AGENTS.md\n\n# AGENTS\nAlways answer in English.");
      expect(first).toContain("You are Crab, a dry-humoured assistant.");
      expect(first).toContain("[...truncated, read SOUL.md for full content...]");
      expect(first).toContain(`…(truncated SOUL.md: kept 420+120 chars of ${SOUL.trimEnd().length})…`);
      expect(first).not.toContain("Be kind. ".repeat(100));
      expect(first).toContain("## MEMORY.md\n\n- Alice runs the book club.");
      expect(first.indexOf("## AGENTS.md")).toBeLessThan(first.indexOf("## SOUL.md"));
      // The tools offered, the reply rules, the group and the runtime line (last: per-turn parts).
      expect(first).toMatch(/- memory_search: /);
      expect(first).toMatch(/- sessions_send: /);
      expect(first).toContain("NO_REPLY");
      expect(first).toContain("HEARTBEAT_OK");
      expect(first).toContain('You are in the group chat "Book Club" on telegram.');
      const model_ = wire === "anthropic" ? "anthropic/claude-test" : "openai/gpt-test";
      expect(first).toContain(`Runtime: agent=main | channel=telegram | chat=group | model=${model_} | thinking=off`);
      const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Berlin" }).format(new Date());
      expect(first).toContain(`Current date: ${today} (`);
      expect(first).toContain("time zone Europe/Berlin");
      expect(first.lastIndexOf("## Runtime")).toBeGreaterThan(first.indexOf("# Project Context"));

      // Each user line carries its sender's name; the first turn's lines are unchanged in the second.
      expect(userTexts(model.requests[0]!)).toEqual(["Alice: what are we reading?"]);
      expect(userTexts(model.requests[1]!)).toEqual(["Alice: what are we reading?", "Bob Stone: and when do we meet?"]);

      // OpenClaw's truncation warning, once per truncation (default "once"), after the stable parts.
      const warning =
        "\n\n## Bootstrap Truncation\n⚠ Bootstrap truncation warning:\n" +
        `- SOUL.md: ${SOUL.trimEnd().length} raw -> ` +
        `${Number(/SOUL\.md: \d+ raw -> (\d+) injected/.exec(first)?.[1])} injected (~`;
      expect(first).toContain(warning);
      expect(first).toMatch(/% removed; max\/file\)\.\n- If unintentional, raise agents\.defaults\.bootstrapMaxChars/);
      expect(first.indexOf("## Bootstrap Truncation")).toBeGreaterThan(first.indexOf("## MEMORY.md"));
      const stored = (await gw.runtime.manager.get("main", "agent:main:telegram:group:-100777"))
        ?.systemPromptReport as {
        bootstrapTruncation?: Record<string, unknown>;
      };
      expect(stored?.bootstrapTruncation).toMatchObject({ warningMode: "once", truncatedFiles: 1 });
      expect(second).not.toContain("Bootstrap truncation warning");

      // Nothing else changed between the turns: the same bytes up to the warning, so the provider's prompt cache hits.
      const cut = first.indexOf("\n\n## Bootstrap Truncation");
      expect(second.slice(0, cut)).toBe(first.slice(0, cut));
      expect(second).toBe(first.replace(/\n\n## Bootstrap Truncation\n[^#]*?(?=\n\n## )/, ""));
    });

    it("a workspace edit reaches the next turn's prompt; a direct chat has no group part", async () => {
      const { gw, model } = await gatewayWith(wire);
      const ws = gw.runtime.settingsFor("main").workspace;
      const dm = { channel: "webchat", chatType: "direct", peerId: "op", senderId: "op", text: "hi" };
      await say(gw, dm);
      await say(gw, { ...dm, text: "again" });
      expect(systemOf(model.requests[1]!)).toBe(systemOf(model.requests[0]!));
      fs.writeFileSync(path.join(ws, "USER.md"), "# USER\nThe owner is called Robin.\n");
      await say(gw, { ...dm, text: "who am I?" });
      const third = systemOf(model.requests[2]!);
      expect(third).toContain("The owner is called Robin.");
      expect(third).not.toContain("## Group Chat");
      expect(third).toContain("chat=direct");
      expect(userTexts(model.requests[2]!)).toEqual(["hi", "again", "who am I?"]);
    });
  });
}

describe("prompt modes", () => {
  it("a sub-agent gets the minimal prompt: its instructions and tool notes, no persona, memory or heartbeat parts", async () => {
    const home = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? "/tmp"), "pincer-sp-"));
    cleanups.push(async () => fs.rmSync(home, { recursive: true, force: true }));
    const settings = resolveAgentSettings(undefined, "main", home);
    await ensureWorkspace(settings.workspace);
    fs.writeFileSync(path.join(settings.workspace, "SOUL.md"), "PERSONA-MARKER");
    fs.writeFileSync(path.join(settings.workspace, "MEMORY.md"), "MEMORY-MARKER");
    const assembler = new PromptAssembler();
    const base = {
      agentId: "main",
      entry: undefined,
      settings,
      tools: [{ name: "memory_search", description: "search", parameters: { type: "object" } }],
      provider: "anthropic",
      model: "m",
      now: Date.UTC(2026, 0, 5, 12),
      timeZone: "UTC",
      source: "run" as const,
    };
    const sub = await assembler.assemble({
      ...base,
      sessionKey: "agent:main:subagent:1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
    });
    const main = await assembler.assemble({ ...base, sessionKey: "agent:main:main" });
    expect(sub.text).toContain("## AGENTS.md");
    expect(sub.text).toContain("## TOOLS.md");
    expect(sub.text).toContain("You are a sub-agent");
    for (const absent of [
      "PERSONA-MARKER",
      "MEMORY-MARKER",
      "## Heartbeats",
      "search your memory",
      "## Replies",
      "## SOUL.md",
    ])
      expect(sub.text).not.toContain(absent);
    expect(sub.report.injectedWorkspaceFiles.map((f) => f.name)).toEqual(["AGENTS.md", "TOOLS.md"]);
    expect(main.text).toContain("PERSONA-MARKER");
    expect(main.text).toContain("MEMORY-MARKER");
    expect(main.text).toContain("Current date: 2026-01-05 (Monday), time zone UTC.");
  });
});
