/**
 * `/context list | detail | json` (issue 15 §3): the report OpenClaw's `/context` shows, stored
 * on the session row as `systemPromptReport` after a run, whose sizes are those of what the model
 * server actually received (Anthropic and OpenAI wire formats, real SDK clients); before any run
 * it is an estimate; `/status` shows it in one line.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { SystemPromptReport } from "../src/runtime/context-report.ts";
import { gatewayWith, say, systemOf } from "./helpers/prompt-gateway.ts";

const fmt = (n: number) => new Intl.NumberFormat("en-US").format(n);
const dm = (text: string) => ({ channel: "webchat", chatType: "direct", peerId: "op", senderId: "op", text });

for (const wire of ["anthropic", "openai"] as const) {
  describe(`/context over the ${wire} wire format`, () => {
    it("detail and json report the sizes of what was sent; the row keeps the report", async () => {
      const { gw, model } = await gatewayWith(wire, { agents: { defaults: { bootstrapMaxChars: 300 } } }, (home) => {
        const ws = path.join(home, "agents", "main", "workspace");
        fs.mkdirSync(ws, { recursive: true, mode: 0o700 });
        fs.writeFileSync(path.join(ws, "AGENTS.md"), "# AGENTS\n" + "Rule. ".repeat(150));
      });
      // Before any run: an estimate.
      const before = JSON.parse((await say(gw, dm("/context json")))!) as { report: SystemPromptReport };
      expect(before.report.source).toBe("estimate");

      await say(gw, dm("hello"));
      const sent = systemOf(model.requests.at(-1)!);
      const entry = await gw.runtime.manager.get("main", "agent:main:main");
      const stored = entry!.systemPromptReport as SystemPromptReport;
      expect(stored.source).toBe("run");
      expect(stored.systemPrompt.chars).toBe(sent.length);

      const json = JSON.parse((await say(gw, dm("/context json")))!) as {
        report: SystemPromptReport;
        session: { contextTokens: number; totalTokens: number | null };
      };
      const report = json.report;
      expect(report.source).toBe("run");
      expect(report.systemPrompt.chars).toBe(sent.length);
      expect(report.bootstrapMaxChars).toBe(300);
      expect(report.bootstrapTotalMaxChars).toBe(150_000);
      const agents = report.injectedWorkspaceFiles.find((f) => f.name === "AGENTS.md")!;
      expect(agents).toMatchObject({
        missing: false,
        truncated: true,
        rawChars: ("# AGENTS\n" + "Rule. ".repeat(150)).trimEnd().length,
      });
      // The injected part of each file is in the sent prompt with exactly the reported length.
      for (const f of report.injectedWorkspaceFiles.filter((x) => !x.missing)) {
        const start = sent.indexOf(`## ${f.name}\n\n`) + `## ${f.name}\n\n`.length;
        const next = sent.indexOf("\n\n## ", start);
        expect(next - start, f.name).toBe(f.injectedChars);
      }
      const projectStart = sent.indexOf("\n# Project Context");
      // The truncation warning follows the workspace files (a per-turn part), then the runtime line.
      expect(sent).toContain("⚠ Bootstrap truncation warning:\n- AGENTS.md: ");
      expect(report.bootstrapTruncation).toMatchObject({ warningMode: "once", warningShown: true, truncatedFiles: 1 });
      const projectEnd = sent.indexOf("\n\n## Bootstrap Truncation");
      expect(report.systemPrompt.projectContextChars).toBe(projectEnd - projectStart);
      // Tool entries: the tools the request carried.
      const sentTools = (model.requests.at(-1)!.tools as Array<{ name?: string; function?: { name: string } }>).map(
        (t) => t.name ?? t.function!.name,
      );
      expect(report.tools.entries.map((t) => t.name)).toEqual(sentTools);
      expect(report.tools.schemaChars).toBe(report.tools.entries.reduce((n, t) => n + t.schemaChars, 0));
      expect(json.session.contextTokens).toBeGreaterThan(0);

      const detail = (await say(gw, dm("/context detail")))!;
      expect(detail).toContain("🧠 Context breakdown (detailed)");
      expect(detail).toContain(`System prompt (run): ${fmt(sent.length)} chars`);
      expect(detail).toContain(`- AGENTS.md: TRUNCATED | raw ${fmt(agents.rawChars)} chars`);
      expect(detail).toContain(`injected ${fmt(agents.injectedChars)} chars`);
      expect(detail).toMatch(/- SOUL\.md: OK \| raw/);
      expect(detail).not.toContain("BOOTSTRAP.md");
      expect(detail).toContain("Top tools (schema size):");
      expect(detail).toMatch(/History: 2 message\(s\), /);
      expect(detail).toMatch(/Window [\d,]+ tok: system prompt [\d.]+% · tool schemas [\d.]+% · history [\d.]+%/);

      const list = (await say(gw, dm("/context list")))!;
      expect(list).toContain("🧠 Context breakdown\n");
      expect(list).not.toContain("Top tools");
      expect(await say(gw, dm("/context nonsense"))).toContain("Unknown /context mode.");
      expect(await say(gw, dm("/status"))).toContain(`🧾 System prompt: ${fmt(sent.length)} chars`);
    });
  });
}
