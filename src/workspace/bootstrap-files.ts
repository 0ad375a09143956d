/**
 * Reads the workspace files that go into the system prompt and caps them as OpenClaw does: a file
 * over `bootstrapMaxChars` keeps its head (70%) and tail (20%) around a visible marker, and all
 * files together stop at `bootstrapTotalMaxChars`. A file is read again only when its size, mtime
 * or inode changed, so a turn costs one stat per file (two in all when the workspace directory does
 * not exist).
 */
import * as fs from "node:fs/promises";
import { statSync } from "node:fs";
import * as path from "node:path";
import { BOOTSTRAP_FILES, MEMORY_FILE, MEMORY_FILE_ALT, MINIMAL_FILES } from "./layout.ts";

export const DEFAULT_BOOTSTRAP_MAX_CHARS = 20_000;
export const DEFAULT_BOOTSTRAP_TOTAL_MAX_CHARS = 150_000;
/** Larger files are not read at all (OpenClaw's limit). */
const MAX_FILE_BYTES = 2 * 1024 * 1024;
const HEAD_RATIO = 0.7;
const TAIL_RATIO = 0.2;
/** Below this many chars left in the total budget no further file is injected. */
const MIN_FILE_BUDGET = 64;

export interface WorkspaceFile {
  name: string;
  path: string;
  missing: boolean;
  /** The file's text (absent when missing). */
  content?: string;
}

export interface InjectedFile {
  name: string;
  path: string;
  /** What the system prompt holds for this file (capped, or the missing-file marker). */
  content: string;
}

export interface BootstrapCaps {
  maxChars: number;
  totalMaxChars: number;
}

/** The marker in a capped file, naming the file so the agent can read the rest. */
export function truncationMarker(name: string, head: number, tail: number, length: number): string {
  return [
    "",
    `[...truncated, read ${name} for full content...]`,
    `…(truncated ${name}: kept ${head}+${tail} chars of ${length})…`,
    "",
  ].join("\n");
}

/** One file's text within `maxChars` (OpenClaw's trimBootstrapContent). */
export function trimFile(content: string, name: string, maxChars: number): { text: string; truncated: boolean } {
  const trimmed = content.trimEnd();
  if (trimmed.length <= maxChars) return { text: trimmed, truncated: false };
  const head = Math.floor(maxChars * HEAD_RATIO);
  const tail = Math.floor(maxChars * TAIL_RATIO);
  const text = [trimmed.slice(0, head), truncationMarker(name, head, tail, trimmed.length), trimmed.slice(-tail)].join(
    "\n",
  );
  return { text, truncated: true };
}

function clampToBudget(content: string, budget: number): string {
  if (budget <= 0) return "";
  if (content.length <= budget) return content;
  if (budget <= 3) return content.slice(0, budget);
  return `${content.slice(0, budget - 1)}…`;
}

/** The files as injected: per-file cap, then the total budget in order (OpenClaw's buildBootstrapContextFiles). */
export function injectFiles(files: readonly WorkspaceFile[], caps: BootstrapCaps): InjectedFile[] {
  let remaining = Math.max(1, caps.totalMaxChars);
  const out: InjectedFile[] = [];
  for (const file of files) {
    if (remaining <= 0) break;
    if (file.missing) {
      const marker = clampToBudget(`[MISSING] Expected at: ${file.path}`, remaining);
      if (!marker) break;
      remaining -= marker.length;
      out.push({ name: file.name, path: file.path, content: marker });
      continue;
    }
    if (remaining < MIN_FILE_BUDGET) break;
    const trimmed = trimFile(file.content ?? "", file.name, Math.max(1, Math.min(caps.maxChars, remaining)));
    const within = clampToBudget(trimmed.text, remaining);
    if (!within) continue;
    remaining -= within.length;
    out.push({ name: file.name, path: file.path, content: within });
  }
  return out;
}

interface CachedRead {
  identity: string;
  content: string;
}

/**
 * Reads a workspace's bootstrap files, keeping each file's text until the file changes. One
 * instance serves every agent (entries are keyed by absolute path).
 */
export class WorkspaceReader {
  private readonly cache = new Map<string, CachedRead>();
  private readonly realRoots = new Map<string, string>();

  /** The files for a session: all of them, or only AGENTS.md and TOOLS.md for `minimal` (sub-agents). */
  async load(dir: string, minimal = false): Promise<WorkspaceFile[]> {
    const names: string[] = minimal ? BOOTSTRAP_FILES.filter((n) => MINIMAL_FILES.has(n)) : [...BOOTSTRAP_FILES];
    const files: WorkspaceFile[] = [];
    // No workspace directory at all (never set up): every file is missing, and one stat of the
    // directory tells it instead of one per file. Checked only when the first file is missing, so a
    // workspace that exists costs nothing more.
    let noDir = false;
    for (const name of names) {
      const content = noDir ? this.forget(dir, name) : await this.read(dir, name);
      if (content === null && name === names[0]) noDir = !statSync(dir, { throwIfNoEntry: false });
      const p = path.join(dir, name);
      // BOOTSTRAP.md is the first run only: once deleted it is not reported missing.
      if (content === null && name === "BOOTSTRAP.md") continue;
      files.push(content === null ? { name, path: p, missing: true } : { name, path: p, missing: false, content });
    }
    if (!minimal) {
      // MEMORY.md when present, else OpenClaw's lower-case fallback; neither is reported missing.
      for (const name of [MEMORY_FILE, MEMORY_FILE_ALT]) {
        const content = noDir ? this.forget(dir, name) : await this.read(dir, name);
        if (content === null) continue;
        files.push({ name, path: path.join(dir, name), missing: false, content });
        break;
      }
    }
    return files;
  }

  /** A file's text, or null when it is absent, not a regular file, too large or outside the workspace. */
  async read(dir: string, name: string): Promise<string | null> {
    const p = path.join(dir, name);
    // A synchronous stat: a few microseconds per file and turn, where the thread pool's round trip costs tens.
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) {
      this.cache.delete(p);
      return null;
    }
    if (!st.isFile() || st.size > MAX_FILE_BYTES) return null;
    const identity = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    const hit = this.cache.get(p);
    if (hit && hit.identity === identity) return hit.content;
    // A symlink may point anywhere: only files that really live inside the workspace are read.
    const real = await fs.realpath(p).catch(() => null);
    const root = await this.realRoot(dir);
    if (!real || !root || (real !== root && !real.startsWith(root + path.sep))) return null;
    const content = await fs.readFile(real, "utf8");
    this.cache.set(p, { identity, content });
    return content;
  }

  /** A file known to be absent (its directory is): drops what was cached for it. */
  private forget(dir: string, name: string): null {
    this.cache.delete(path.join(dir, name));
    return null;
  }

  private async realRoot(dir: string): Promise<string | null> {
    let root = this.realRoots.get(dir);
    if (root === undefined) {
      const r = await fs.realpath(dir).catch(() => null);
      if (r === null) return null;
      root = r;
      this.realRoots.set(dir, root);
    }
    return root;
  }
}
