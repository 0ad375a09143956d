/**
 * `pincer doctor [--fix]` on an OpenClaw-shaped state dir: what it reports (legacy keys, ignored
 * keys, binding peers compared differently, loose permissions, OpenClaw's locks, auth profiles,
 * the pre-agents layout), what `--fix` repairs (in the commented file, keeping its comments), and
 * that a config the gateway refuses is an error (exit 1).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import JSON5 from "json5";
import { afterEach, describe, expect, it } from "vitest";
import type { DoctorCheck } from "../src/cli/commands/doctor.ts";

const BIN = path.resolve(import.meta.dirname, "../bin/pincer.js");
const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
});

const CONFIG = `// written by OpenClaw, edited by hand
{
  agent: {
    // the old place
    contextPruning: { mode: "cache-ttl", ttl: "5m" },
    compaction: { reserveTokens: 1000, keepRecentTokens: 500 },
  },
  agents: { defaults: { compaction: { reserveTokens: 2000 } }, list: [{ id: "main" }, { id: "work" }] },
  bindings: [
    { agentId: "work", match: { channel: "telegram", peer: { kind: "dm", id: "42" } } },
    { agentId: "work", match: { channel: "slack", peer: { kind: "direct", id: "U0ABC" } } },
  ],
  browser: { enabled: true },
}
`;

function doctor(home: string, ...args: string[]): { status: number | null; checks: DoctorCheck[]; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, "doctor", "--json", ...args], {
    env: { ...process.env, PINCER_HOME: home, PINCER_CONFIG: "", PINCER_GATEWAY_TOKEN: "" },
    encoding: "utf8",
  });
  if (!r.stdout) throw new Error(`doctor printed nothing: ${r.stderr}`);
  return { status: r.status, checks: (JSON.parse(r.stdout) as { checks: DoctorCheck[] }).checks, stderr: r.stderr };
}
const idsOf = (checks: DoctorCheck[]) => checks.map((c) => `${c.level}:${c.id}`);

function openclawHome(): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-doctor-"));
  homes.push(home);
  fs.writeFileSync(path.join(home, "openclaw.json"), CONFIG, { mode: 0o600 });
  const sessions = path.join(home, "agents", "main", "sessions");
  fs.mkdirSync(sessions, { recursive: true });
  fs.writeFileSync(path.join(sessions, "sessions.json"), "{}");
  fs.chmodSync(path.join(sessions, "sessions.json"), 0o644);
  // OpenClaw's write locks: one whose process is gone, one of a live process (this one).
  fs.writeFileSync(
    path.join(sessions, "a.jsonl.lock"),
    JSON.stringify({ pid: 2 ** 22 + 12345, createdAt: new Date().toISOString() }),
  );
  fs.writeFileSync(
    path.join(sessions, "b.jsonl.lock"),
    JSON.stringify({ pid: process.pid, createdAt: new Date().toISOString() }),
  );
  fs.mkdirSync(path.join(home, "agents", "main", "agent"), { recursive: true });
  fs.writeFileSync(
    path.join(home, "agents", "main", "agent", "auth-profiles.json"),
    JSON.stringify({
      version: 1,
      profiles: {
        "anthropic:default": { type: "api_key", provider: "anthropic", key: "sk-ant-doctor" },
        "openai-codex:default": { type: "oauth", provider: "openai-codex" },
      },
    }),
    { mode: 0o600 },
  );
  fs.mkdirSync(path.join(home, "sessions"));
  fs.writeFileSync(path.join(home, "sessions", "sessions.json"), "{}", { mode: 0o600 });
  fs.chmodSync(home, 0o755);
  return home;
}

describe("pincer doctor", () => {
  it("reports what an OpenClaw state dir needs to run under Pincer", () => {
    const home = openclawHome();
    const { status, checks } = doctor(home);
    expect(status).toBe(0);
    expect(idsOf(checks)).toEqual(
      expect.arrayContaining([
        "info:config.load",
        "warn:config.legacy",
        "info:config.unsupported",
        "info:models.default",
        "info:bindings.peer_id_case",
        "info:bindings.peer_kind_dm",
        "warn:state.permissions",
        "info:store.open",
        "warn:legacy.sessions_dir",
        "warn:legacy.session_lock",
        "info:legacy.session_lock",
        "warn:openclaw.auth_profiles",
      ]),
    );
    const legacy = checks.find((c) => c.id === "config.legacy")!;
    expect(legacy.message).toContain("agent.contextPruning is the old place of agents.defaults.contextPruning");
    expect(checks.find((c) => c.id === "config.unsupported")!.message).toBe(
      "browser: not supported by Pincer (ignored)",
    );
    expect(checks.find((c) => c.id === "bindings.peer_id_case")!.message).toContain("bindings[1].match.peer.id");
    const profiles = checks.find((c) => c.id === "openclaw.auth_profiles")!.message;
    expect(profiles).toContain("read for ANTHROPIC_API_KEY");
    expect(profiles).toContain("not usable by Pincer: openai-codex:default");
    expect(profiles).not.toContain("sk-ant-doctor");
    expect(checks.filter((c) => c.id === "state.permissions").map((c) => c.message)).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`${home} has mode 0755`),
        expect.stringContaining("sessions.json has mode 0644"),
      ]),
    );
  });

  it("--fix moves legacy keys in the file (comments kept), writes dm as direct, tightens modes, removes stale locks only", () => {
    const home = openclawHome();
    const fixed = doctor(home, "--fix");
    expect(fixed.status).toBe(0);
    const text = fs.readFileSync(path.join(home, "openclaw.json"), "utf8");
    expect(text).toContain("// written by OpenClaw, edited by hand");
    const parsed = JSON5.parse(text) as {
      agent?: unknown;
      agents: { defaults: { contextPruning: unknown; compaction: unknown } };
      bindings: Array<{ match: { peer: { kind: string } } }>;
    };
    expect(parsed.agent).toBeUndefined();
    expect(parsed.agents.defaults.contextPruning).toEqual({ mode: "cache-ttl", ttl: "5m" });
    // Merged key by key as the load reads it: the value already at the new place wins.
    expect(parsed.agents.defaults.compaction).toEqual({ reserveTokens: 2000, keepRecentTokens: 500 });
    expect(parsed.bindings[0]!.match.peer.kind).toBe("direct");
    expect(fs.statSync(path.join(home, "openclaw.json")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(home).mode & 0o777).toBe(0o700);
    const sessions = path.join(home, "agents", "main", "sessions");
    expect(fs.statSync(path.join(sessions, "sessions.json")).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(path.join(sessions, "a.jsonl.lock"))).toBe(false);
    expect(fs.existsSync(path.join(sessions, "b.jsonl.lock"))).toBe(true);
    const again = doctor(home);
    expect(
      idsOf(again.checks).filter(
        (i) => i.startsWith("warn:") && !i.includes("legacy.sessions_dir") && !i.includes("auth_profiles"),
      ),
    ).toEqual([]);
  });

  it("a config the gateway refuses is an error (exit 1), every problem listed", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-doctor-"));
    homes.push(home);
    fs.chmodSync(home, 0o700);
    fs.writeFileSync(path.join(home, "pincer.json"), `{ session: { dmScope: "everyone" }, gatway: {} }`, {
      mode: 0o600,
    });
    const r = doctor(home);
    expect(r.status).toBe(1);
    const errors = r.checks.filter((c) => c.level === "error").map((c) => c.message);
    expect(errors.some((m) => m.includes('session.dmScope: got "everyone"'))).toBe(true);
    expect(errors.some((m) => m.includes('did you mean "gateway"?'))).toBe(true);
    fs.writeFileSync(path.join(home, "pincer.json"), `{ agents: { defaults: { model: "ghost/x" } } }`, { mode: 0o600 });
    const model = doctor(home);
    expect(model.status).toBe(1);
    expect(model.checks.find((c) => c.id === "models.default")).toMatchObject({ level: "error" });
    // OpenClaw's password auth: Pincer has tokens only.
    fs.writeFileSync(
      path.join(home, "pincer.json"),
      `{ gateway: { auth: { mode: "password", password: "hunter2" } } }`,
      {
        mode: 0o600,
      },
    );
    expect(doctor(home).checks.find((c) => c.id === "gateway.auth_password")).toMatchObject({ level: "warn" });
  });
});
