/**
 * `pincer doctor [--fix] [--json]`: whether this home (a Pincer home or an OpenClaw state dir) runs
 * under Pincer, and what to change. Checks: the config loads (every problem), legacy keys read at
 * their new place, OpenClaw keys Pincer ignores, the default model and its providers, binding
 * peers compared differently from OpenClaw, state permissions, each agent's store, and OpenClaw
 * leftovers (the pre-agents `sessions/` layout, stale `*.jsonl.lock` files, auth profiles Pincer
 * does not read). `--fix` repairs what is safe: permissions (chmod 0700/0600), legacy config keys
 * moved in the file (comments kept), `peer.kind: "dm"` written as `direct`, stale locks removed.
 * Exit 1 while an error remains.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import JSON5 from "json5";
import { resolveIncludes } from "../../config/includes.ts";
import { ConfigError, loadConfig, resolveHome, validateConfig } from "../../config/load.ts";
import { getAt, parseConfigPath, setInText, unsetInText, type PathSegment } from "../../config/json5-edit.ts";
import { envWithAuthProfiles, readAuthProfileKeys } from "../../config/auth-profiles.ts";
import { legacyAgentMoves } from "../../config/legacy.ts";
import { resolveAgents } from "../../config/resolve.ts";
import type { PincerConfig } from "../../config/schema.ts";
import { isCaseSensitiveChannel } from "../../keys/segment.ts";
import { createProviderRegistry } from "../../providers/registry.ts";
import { applyFixes, loosePermissions } from "../../security/audit.ts";
import { openAgentStore } from "../../session/open-store.ts";
import type { CliIO } from "../io.ts";
import { configFileFor } from "./config.ts";

type Level = "error" | "warn" | "info";

export interface DoctorCheck {
  id: string;
  level: Level;
  message: string;
  /** What `--fix` did, or what to run. */
  fix?: string;
  fixed?: boolean;
}

const STALE_LOCK_MS = 30 * 60_000;
const rec = (v: unknown): Record<string, unknown> =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** OpenClaw's session write locks (`<id>.jsonl.lock`, `{ pid, createdAt }`): stale when the pid is gone or old. */
function lockIsStale(file: string, now: number): boolean {
  try {
    const payload = rec(JSON.parse(fs.readFileSync(file, "utf8")));
    const pid = typeof payload.pid === "number" ? payload.pid : null;
    const created = typeof payload.createdAt === "string" ? Date.parse(payload.createdAt) : NaN;
    if (pid !== null && !pidAlive(pid)) return true;
    if (Number.isFinite(created)) return now - created > STALE_LOCK_MS;
  } catch {
    // Unreadable payload: judged by age below.
  }
  try {
    return now - fs.statSync(file).mtimeMs > STALE_LOCK_MS;
  } catch {
    return false;
  }
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Edits the config file in place: each edit applied to the text, the result validated, then written. */
function editConfigFile(file: string, edits: Array<(text: string) => string | null>): boolean {
  let text = fs.readFileSync(file, "utf8");
  for (const e of edits) text = e(text) ?? text;
  validateConfig(resolveIncludes(JSON5.parse(text), file), file);
  const mode = fs.statSync(file).mode & 0o777;
  const tmp = `${file}.${process.pid}.doctor.tmp`;
  fs.writeFileSync(tmp, text, { mode, flag: "wx" });
  const fd = fs.openSync(tmp, "r");
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  return true;
}

export async function doctor(
  io: CliIO,
  configPath: string | undefined,
  opts: { fix?: boolean; json?: boolean },
): Promise<number> {
  const checks: DoctorCheck[] = [];
  const add = (c: DoctorCheck) => checks.push(c);
  const env = { ...io.env };
  const now = io.now();
  let home = resolveHome(env);
  const file = configFileFor(io, configPath);
  const exists = fs.existsSync(file);
  let raw: Record<string, unknown> = {};
  if (exists) {
    try {
      raw = rec(JSON5.parse(fs.readFileSync(file, "utf8")));
    } catch {
      // loadConfig reports it below.
    }
  }

  // --- Fixes to the file come first, so the checks below see the repaired config.
  if (opts.fix && exists) {
    const edits: Array<(t: string) => string | null> = [];
    const done: string[] = [];
    const agent = rec(raw.agent);
    if (Object.keys(agent).length > 0) {
      // As the load reads them: what the new place lacks is filled in, key by key; set values win.
      const move = (from: PathSegment[], to: PathSegment[]) => {
        const value = getAt(raw, from);
        const there = getAt(raw, to);
        const shown = (p: PathSegment[]) => p.join(".");
        if (there === undefined) {
          edits.push((t) => setInText(t, to, value));
          done.push(`${shown(from)} → ${shown(to)}`);
        } else if (value && there && typeof value === "object" && typeof there === "object" && !Array.isArray(value))
          for (const k of Object.keys(value)) move([...from, k], [...to, k]);
        else done.push(`${shown(from)} dropped (${shown(to)} is already set)`);
      };
      for (const m of legacyAgentMoves(agent)) move(parseConfigPath(m.from), parseConfigPath(m.to));
      edits.push((t) => unsetInText(t, ["agent"]));
    }
    (Array.isArray(raw.bindings) ? raw.bindings : []).forEach((b, i) => {
      const kind = rec(rec(rec(b).match).peer).kind;
      if (typeof kind === "string" && kind.trim().toLowerCase() === "dm") {
        edits.push((t) => setInText(t, ["bindings", i, "match", "peer", "kind"], "direct"));
        done.push(`bindings[${i}].match.peer.kind "dm" → "direct"`);
      }
    });
    if (edits.length > 0) {
      try {
        editConfigFile(file, edits);
        add({ id: "config.legacy", level: "info", message: `moved in ${file}: ${done.join("; ")}`, fixed: true });
      } catch (err) {
        const why = err instanceof ConfigError ? err.issues.join("; ") : (err as Error).message;
        add({ id: "config.legacy", level: "warn", message: `could not move legacy keys in ${file}: ${why}` });
      }
    }
  }

  // --- The config.
  let config: PincerConfig | null = null;
  try {
    const loaded = loadConfig({ configPath, env });
    config = loaded.config;
    home = loaded.home;
    add({
      id: "config.load",
      level: "info",
      message: loaded.path ? `config ${loaded.path} loads` : "no config file: built-in defaults",
    });
    for (const w of loaded.warnings)
      add({ id: "config.legacy", level: "warn", message: w, fix: "pincer doctor --fix moves it in the file" });
    for (const n of loaded.notices) add({ id: "config.unsupported", level: "info", message: n });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const issue of err.issues)
      add({ id: "config.invalid", level: "error", message: `${err.file ?? "config"}: ${issue}` });
  }

  if (config) {
    // --- Models: the default resolves, and what the providers cannot do.
    try {
      const agentId = resolveAgents(config).defaultAgentId;
      const registry = createProviderRegistry(config, envWithAuthProfiles(env, home, agentId));
      add({ id: "models.default", level: "info", message: `default model ${registry.defaultRef()}` });
      // OpenClaw runs anthropic/claude-opus-4-6 when no model is configured; Pincer runs its offline echo.
      if (!config.agents?.defaults?.model && raw.auth !== undefined)
        add({
          id: "models.default_echo",
          level: "warn",
          message:
            "no agents.defaults.model: OpenClaw would run anthropic/claude-opus-4-6 here, Pincer runs its offline echo model",
          fix: "pincer config set agents.defaults.model anthropic/claude-opus-4-6",
        });
      for (const w of registry.warnings) add({ id: "models.provider", level: "warn", message: w });
    } catch (err) {
      add({ id: "models.default", level: "error", message: (err as Error).message });
    }
    // --- Gateway auth: Pincer has tokens only; OpenClaw's password mode leaves it to the generated one.
    const auth = rec(rec(raw.gateway).auth);
    if (auth.mode === "password" && !config.gateway?.auth?.token && !env.PINCER_GATEWAY_TOKEN)
      add({
        id: "gateway.auth_password",
        level: "warn",
        message:
          'gateway.auth.mode is "password": Pincer authenticates with a token only, so it will generate one ($PINCER_HOME/gateway.token) and your password will not work',
        fix: "pincer config set gateway.auth.token <a random token of 32+ characters>",
      });
    // --- Bindings: peer ids Pincer compares differently from OpenClaw.
    for (const [i, b] of (config.bindings ?? []).entries()) {
      const peer = b.match.peer;
      if (peer && /[A-Z]/.test(peer.id) && !isCaseSensitiveChannel(b.match.channel.toLowerCase()))
        add({
          id: "bindings.peer_id_case",
          level: "info",
          message: `bindings[${i}].match.peer.id ${JSON.stringify(peer.id)}: Pincer compares ${b.match.channel} peer ids ignoring ASCII case (as it keys them); OpenClaw compares them exactly, so this binding may also match ${JSON.stringify(peer.id.toLowerCase())}`,
        });
    }
    const dmKinds = (Array.isArray(raw.bindings) ? raw.bindings : []).filter(
      (b) => String(rec(rec(rec(b).match).peer).kind ?? "").toLowerCase() === "dm",
    ).length;
    if (dmKinds > 0)
      add({
        id: "bindings.peer_kind_dm",
        level: "info",
        message: `${dmKinds} binding(s) use peer.kind "dm": read as "direct"`,
        fix: "pincer doctor --fix writes direct",
      });
  }

  // --- The state dir.
  if (!fs.existsSync(home))
    add({ id: "state.home", level: "info", message: `${home} does not exist yet (created on first start)` });
  const loose = loosePermissions(home);
  const fixes = opts.fix ? applyFixes(home) : [];
  for (const p of loose) {
    const fixed = fixes.find((f) => f.file === p.file);
    add({
      id: "state.permissions",
      level: fixed ? "info" : "warn",
      message: `${p.file} has mode ${p.mode.toString(8).padStart(4, "0")} (others can read it)`,
      fix: fixed ? `chmod ${fixed.to} done` : `chmod ${p.want.toString(8)} ${p.file} (or pincer doctor --fix)`,
      ...(fixed ? { fixed: true } : {}),
    });
  }

  // --- Stores.
  if (config) {
    for (const agentId of resolveAgents(config).ids) {
      const issues: string[] = [];
      try {
        const store = await openAgentStore(config, home, agentId, {
          readOnly: true,
          onIssue: (i) => issues.push(`${i.file}: ${i.reason}`),
        });
        try {
          const n = await store.count();
          add({ id: "store.open", level: "info", message: `agent ${agentId}: ${store.location} (${n} sessions)` });
        } finally {
          await store.close();
        }
      } catch (err) {
        add({ id: "store.open", level: "error", message: `agent ${agentId}: ${(err as Error).message}` });
      }
      for (const i of issues) add({ id: "store.issue", level: "warn", message: `agent ${agentId}: ${i}` });
    }
  }

  // --- OpenClaw leftovers.
  const legacySessions = path.join(home, "sessions");
  if (fs.existsSync(path.join(legacySessions, "sessions.json")))
    add({
      id: "legacy.sessions_dir",
      level: "warn",
      message: `${legacySessions}/ is OpenClaw's old single-agent layout; Pincer reads agents/<id>/sessions/`,
      fix: `move its files to ${path.join(home, "agents", "main", "sessions")}/ (OpenClaw's doctor does the same)`,
    });
  for (const agentId of listDir(path.join(home, "agents"))) {
    const dir = path.join(home, "agents", agentId, "sessions");
    for (const f of listDir(dir).filter((n) => n.endsWith(".jsonl.lock"))) {
      const lock = path.join(dir, f);
      const stale = lockIsStale(lock, now);
      let fixed = false;
      if (stale && opts.fix) {
        fs.rmSync(lock, { force: true });
        fixed = true;
      }
      add({
        id: "legacy.session_lock",
        level: stale && !fixed ? "warn" : "info",
        message: `${lock}: OpenClaw session lock${stale ? " (stale)" : " (its OpenClaw process is running: stop it before starting Pincer here)"}`,
        ...(stale ? { fix: fixed ? "removed" : "pincer doctor --fix removes it" } : {}),
        ...(fixed ? { fixed } : {}),
      });
    }
    const profiles = readAuthProfileKeys(home, agentId);
    if (profiles.file && path.dirname(path.dirname(profiles.file)) === path.join(home, "agents", agentId)) {
      const used = Object.keys(profiles.keys);
      add({
        id: "openclaw.auth_profiles",
        level: profiles.unusable.length > 0 ? "warn" : "info",
        message:
          `${profiles.file}: ${used.length > 0 ? `read for ${used.join(", ")} (the environment's own keys win)` : "no API-key profile Pincer can use"}` +
          (profiles.unusable.length > 0
            ? `; not usable by Pincer: ${profiles.unusable.join(", ")} (OAuth / token profiles)`
            : ""),
        ...(profiles.unusable.length > 0
          ? {
              fix: 'give the provider an apiKey ("${VAR}") in models.providers, or set ANTHROPIC_API_KEY / OPENAI_API_KEY',
            }
          : {}),
      });
    }
  }

  const count = (l: Level) => checks.filter((c) => c.level === l).length;
  if (opts.json) {
    io.out(
      JSON.stringify(
        {
          home,
          config: exists ? file : null,
          summary: { error: count("error"), warn: count("warn"), info: count("info") },
          checks,
        },
        null,
        2,
      ),
    );
  } else {
    const mark: Record<Level, string> = { error: "✖", warn: "▲", info: "·" };
    io.out(`Pincer doctor — ${home}`);
    for (const c of checks)
      io.out(`${mark[c.level]} ${c.id}: ${c.message}${c.fix ? `\n    ${c.fixed ? "Fixed" : "Fix"}: ${c.fix}` : ""}`);
    io.out(`${count("error")} error · ${count("warn")} warn · ${count("info")} info`);
  }
  return count("error") > 0 ? 1 : 0;
}
