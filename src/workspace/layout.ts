/**
 * An agent's workspace as OpenClaw lays it out: which directory it is, the files in it, and
 * their creation from templates on first start (never overwriting what is there).
 */
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import type { AgentsConfig } from "../config/agents-schema.ts";
import { TEMPLATES } from "./templates.ts";

/** The files injected into the system prompt, in OpenClaw's order (MEMORY.md is added when present). */
export const BOOTSTRAP_FILES = [
  "AGENTS.md",
  "SOUL.md",
  "TOOLS.md",
  "IDENTITY.md",
  "USER.md",
  "HEARTBEAT.md",
  "BOOTSTRAP.md",
] as const;
export const MEMORY_FILE = "MEMORY.md";
/** OpenClaw reads a lower-case memory.md when MEMORY.md is absent. */
export const MEMORY_FILE_ALT = "memory.md";
export const MEMORY_DIR = "memory";
export const HEARTBEAT_FILE = "HEARTBEAT.md";

/** Files a sub-agent (or cron run) sees: its instructions and tool notes, no persona or memory. */
export const MINIMAL_FILES: ReadonlySet<string> = new Set(["AGENTS.md", "TOOLS.md"]);

/** `~` and `~/…` are the user's home, as in OpenClaw's config paths. */
export function expandHome(p: string): string {
  if (p === "~") return os.homedir();
  if (p.startsWith("~/")) return path.join(os.homedir(), p.slice(2));
  return p;
}

/** OpenClaw's default agent: the entry marked `default`, else the first listed, else `main`. */
export function defaultAgentIdOf(agents: AgentsConfig | undefined): string {
  const def = agents?.list?.find((a) => a.default) ?? agents?.list?.[0];
  return def ? def.id.toLowerCase() : "main";
}

/**
 * The workspace directory of an agent: its own `workspace`, else `agents.defaults.workspace` for
 * the default agent; else `$PINCER_HOME/workspace` for the default agent when that directory
 * exists (an OpenClaw state dir has one), else `agents/<id>/workspace` under the home.
 */
export function resolveWorkspaceDir(agents: AgentsConfig | undefined, agentId: string, home: string): string {
  const defaultAgentId = defaultAgentIdOf(agents);
  const own = agents?.list?.find((a) => a.id.toLowerCase() === agentId);
  if (own?.workspace !== undefined) return path.resolve(expandHome(own.workspace));
  const isDefault = agentId === defaultAgentId;
  if (isDefault && agents?.defaults?.workspace !== undefined)
    return path.resolve(expandHome(agents.defaults.workspace));
  const shared = path.join(home, "workspace");
  if (isDefault && isDirectory(shared)) return shared;
  return path.join(home, "agents", agentId, "workspace");
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes `content` to `file` only if nothing is there: the text goes to a temp file first and is
 * linked into place (a link never replaces an existing name), so a crash never leaves half a
 * template and a file the owner wrote in between is kept.
 */
async function writeIfMissing(file: string, content: string): Promise<boolean> {
  const tmp = `${file}.${randomUUID()}.tmp`;
  await fsp.writeFile(tmp, content, { mode: 0o600, flag: "wx" });
  try {
    const fh = await fsp.open(tmp, "r");
    await fh.sync().finally(() => fh.close());
    await fsp.link(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

export interface EnsuredWorkspace {
  dir: string;
  /** Files written from templates by this call. */
  created: string[];
  /** True when nothing of a workspace was there before (BOOTSTRAP.md is written only then). */
  brandNew: boolean;
}

/**
 * Creates the workspace (0700) and every missing file from its template (0600). BOOTSTRAP.md, the
 * first-run ritual, is written only into a brand-new workspace: once deleted it stays deleted.
 */
export async function ensureWorkspace(dir: string): Promise<EnsuredWorkspace> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const markers = [...BOOTSTRAP_FILES, MEMORY_FILE, MEMORY_DIR, ".git"].filter((f) => f !== "BOOTSTRAP.md");
  const present = await Promise.all(markers.map((f) => exists(path.join(dir, f))));
  const brandNew = present.every((p) => !p);
  const created: string[] = [];
  for (const name of BOOTSTRAP_FILES) {
    if (name === "BOOTSTRAP.md" && !brandNew) continue;
    const template = TEMPLATES[name];
    if (template !== undefined && (await writeIfMissing(path.join(dir, name), template))) created.push(name);
  }
  await fsp.mkdir(path.join(dir, MEMORY_DIR), { recursive: true, mode: 0o700 });
  return { dir, created, brandNew };
}
