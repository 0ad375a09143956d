/**
 * Agent workspaces (issue 15 §1): where they are (`$PINCER_HOME/workspace` for the default agent
 * when an OpenClaw state dir has one, else `agents/<id>/workspace`, configured paths win), their
 * creation from templates on first start (0600 files, 0700 dirs, never overwriting, BOOTSTRAP.md
 * only in a brand-new workspace), and reading them for the prompt with OpenClaw's caps.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BOOTSTRAP_FILES, ensureWorkspace, resolveWorkspaceDir } from "../src/workspace/layout.ts";
import { injectFiles, trimFile, WorkspaceReader } from "../src/workspace/bootstrap-files.ts";
import { TEMPLATES } from "../src/workspace/templates.ts";
import { startTestGateway } from "./helpers/gateway-harness.ts";

const dirs: string[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), "pincer-ws-"));
  dirs.push(d);
  return d;
}
const mode = (p: string) => fs.statSync(p).mode & 0o777;

describe("workspace layout", () => {
  it("a new workspace gets every template (0600 in 0700) and BOOTSTRAP.md; nothing is ever overwritten", async () => {
    const ws = path.join(tmp(), "ws");
    const first = await ensureWorkspace(ws);
    expect(first.brandNew).toBe(true);
    expect(first.created.sort()).toEqual([...BOOTSTRAP_FILES].sort());
    expect(mode(ws)).toBe(0o700);
    expect(mode(path.join(ws, "memory"))).toBe(0o700);
    for (const f of BOOTSTRAP_FILES) {
      expect(mode(path.join(ws, f)), f).toBe(0o600);
      expect(fs.readFileSync(path.join(ws, f), "utf8")).toBe(TEMPLATES[f]);
    }
    expect(fs.readdirSync(ws).filter((n) => n.endsWith(".tmp"))).toEqual([]);

    fs.writeFileSync(path.join(ws, "AGENTS.md"), "my own rules");
    fs.rmSync(path.join(ws, "BOOTSTRAP.md"));
    fs.rmSync(path.join(ws, "TOOLS.md"));
    const again = await ensureWorkspace(ws);
    expect(again).toMatchObject({ brandNew: false, created: ["TOOLS.md"] });
    expect(fs.readFileSync(path.join(ws, "AGENTS.md"), "utf8")).toBe("my own rules");
    // The first-run ritual is done once deleted.
    expect(fs.existsSync(path.join(ws, "BOOTSTRAP.md"))).toBe(false);
  });

  it("an existing workspace (memory present) gets the missing templates but no BOOTSTRAP.md", async () => {
    const ws = tmp();
    fs.writeFileSync(path.join(ws, "MEMORY.md"), "- known things\n");
    const r = await ensureWorkspace(ws);
    expect(r.brandNew).toBe(false);
    expect(r.created).not.toContain("BOOTSTRAP.md");
    expect(r.created).toContain("SOUL.md");
    expect(fs.readFileSync(path.join(ws, "MEMORY.md"), "utf8")).toBe("- known things\n");
  });

  it("where a workspace is: configured, the home's shared one for the default agent, else per agent", () => {
    const home = tmp();
    expect(resolveWorkspaceDir(undefined, "main", home)).toBe(path.join(home, "agents", "main", "workspace"));
    fs.mkdirSync(path.join(home, "workspace"));
    expect(resolveWorkspaceDir(undefined, "main", home)).toBe(path.join(home, "workspace"));
    expect(resolveWorkspaceDir(undefined, "ops", home)).toBe(path.join(home, "agents", "ops", "workspace"));
    const agents = {
      defaults: { workspace: "~/claw" },
      list: [{ id: "main" }, { id: "ops", workspace: "/srv/ops-ws" }],
    };
    expect(resolveWorkspaceDir(agents, "main", home)).toBe(path.join(os.homedir(), "claw"));
    expect(resolveWorkspaceDir(agents, "ops", home)).toBe("/srv/ops-ws");
    // The default agent is the one marked `default` (else the first listed), as in OpenClaw.
    const opsFirst = { list: [{ id: "ops", default: true }, { id: "main" }] };
    expect(resolveWorkspaceDir(opsFirst, "ops", home)).toBe(path.join(home, "workspace"));
    expect(resolveWorkspaceDir(opsFirst, "main", home)).toBe(path.join(home, "agents", "main", "workspace"));
  });

  it("the gateway creates the workspaces on start; an OpenClaw home's workspace is used and kept", async () => {
    const home = tmp();
    fs.mkdirSync(path.join(home, "workspace"), { mode: 0o700 });
    fs.writeFileSync(path.join(home, "workspace", "AGENTS.md"), "openclaw's agents file");
    const gw = await startTestGateway({ agents: { list: [{ id: "main" }, { id: "ops" }] } }, { home });
    cleanups.push(() => gw.cleanup());
    expect(gw.runtime.settingsFor("main").workspace).toBe(path.join(home, "workspace"));
    expect(fs.readFileSync(path.join(home, "workspace", "AGENTS.md"), "utf8")).toBe("openclaw's agents file");
    expect(fs.existsSync(path.join(home, "workspace", "SOUL.md"))).toBe(true);
    expect(fs.existsSync(path.join(home, "workspace", "BOOTSTRAP.md"))).toBe(false);
    const ops = path.join(home, "agents", "ops", "workspace");
    expect(fs.existsSync(path.join(ops, "BOOTSTRAP.md"))).toBe(true);
    expect(mode(ops)).toBe(0o700);
  });
});

it("agents.defaults.skipBootstrap: the gateway creates no workspace files", async () => {
  const home = tmp();
  const gw = await startTestGateway({ agents: { defaults: { skipBootstrap: true } } }, { home });
  cleanups.push(() => gw.cleanup());
  expect(fs.existsSync(path.join(home, "agents", "main", "workspace", "AGENTS.md"))).toBe(false);
});

describe("reading the workspace for the prompt", () => {
  it("caps a file with the marker (70% head, 20% tail) and stops at the total budget", () => {
    const long = "a".repeat(700) + "MIDDLE" + "z".repeat(300);
    const t = trimFile(long, "SOUL.md", 100);
    expect(t.truncated).toBe(true);
    expect(t.text).toBe(
      "a".repeat(70) +
        "\n\n[...truncated, read SOUL.md for full content...]\n…(truncated SOUL.md: kept 70+20 chars of 1006)…\n\n" +
        "z".repeat(20),
    );
    expect(trimFile("short\n\n", "X.md", 100)).toEqual({ text: "short", truncated: false });

    const files = [
      { name: "AGENTS.md", path: "/w/AGENTS.md", missing: false, content: "x".repeat(150) },
      { name: "SOUL.md", path: "/w/SOUL.md", missing: true },
      { name: "TOOLS.md", path: "/w/TOOLS.md", missing: false, content: "y".repeat(150) },
      { name: "USER.md", path: "/w/USER.md", missing: false, content: "u" },
    ];
    const injected = injectFiles(files, { maxChars: 1000, totalMaxChars: 250 });
    expect(injected.map((f) => f.name)).toEqual(["AGENTS.md", "SOUL.md", "TOOLS.md"]);
    expect(injected[0]!.content).toBe("x".repeat(150));
    expect(injected[1]!.content).toBe("[MISSING] Expected at: /w/SOUL.md");
    // What is left of the total (250 - 150 - 33 = 67) caps TOOLS.md; USER.md no longer fits.
    expect(injected[2]!.content.length).toBe(67);
    expect(injected.reduce((n, f) => n + f.content.length, 0)).toBe(250);
  });

  it("sees edits, never reads outside the workspace, and reports BOOTSTRAP.md only while it exists", async () => {
    const ws = tmp();
    const outside = tmp();
    await ensureWorkspace(ws);
    const reader = new WorkspaceReader();
    const names = (await reader.load(ws)).map((f) => f.name);
    expect(names).toEqual([...BOOTSTRAP_FILES]);
    fs.writeFileSync(path.join(ws, "USER.md"), "v1");
    expect((await reader.load(ws)).find((f) => f.name === "USER.md")!.content).toBe("v1");
    fs.writeFileSync(path.join(ws, "USER.md"), "v2 longer");
    expect((await reader.load(ws)).find((f) => f.name === "USER.md")!.content).toBe("v2 longer");

    fs.writeFileSync(path.join(outside, "secret.md"), "SECRET");
    fs.rmSync(path.join(ws, "SOUL.md"));
    fs.symlinkSync(path.join(outside, "secret.md"), path.join(ws, "SOUL.md"));
    const soul = (await reader.load(ws)).find((f) => f.name === "SOUL.md")!;
    expect(soul.missing).toBe(true);
    expect(soul.content).toBeUndefined();

    fs.rmSync(path.join(ws, "BOOTSTRAP.md"));
    fs.writeFileSync(path.join(ws, "MEMORY.md"), "remember");
    const after = (await reader.load(ws)).map((f) => f.name);
    expect(after).not.toContain("BOOTSTRAP.md");
    expect(after.at(-1)).toBe("MEMORY.md");
    expect((await reader.load(ws, true)).map((f) => f.name)).toEqual(["AGENTS.md", "TOOLS.md"]);
  });
});
