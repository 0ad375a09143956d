/** Config loading: precedence, JSON5, precise errors, unknown keys, normalised settings. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config/load.ts";
import { resolveAgents, resolveMaintenance, resolveStoreOptions, resolveStorePath } from "../src/config/resolve.ts";
import { parseDurationMs, parseSizeBytes } from "../src/util/units.ts";

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-cfg-"));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const write = (name: string, text: string) => fs.writeFileSync(path.join(home, name), text);
const load = (env: Record<string, string> = {}, configPath?: string) =>
  loadConfig({ env: { PINCER_HOME: home, ...env }, configPath });
const issuesOf = (f: () => unknown): string[] => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error("expected a ConfigError");
};

describe("config loading", () => {
  it("runs on built-in defaults when there is no file", () => {
    expect(load()).toMatchObject({ config: {}, path: null, home, warnings: [] });
  });

  it("reads JSON5 with comments and trailing commas", () => {
    write(
      "pincer.json",
      `{
      // isolate DMs
      session: { dmScope: "per-channel-peer", reset: { mode: "daily", atHour: 5, idleMinutes: 120, }, timeZone: "Europe/Berlin",
        resetByType: { dm: { mode: "idle" } }, resetByChannel: { discord: { mode: "idle", idleMinutes: 10080 } },
        maintenance: { mode: "enforce", pruneAfter: "1d12h", maxEntries: 100, maxDiskBytes: "1gb" },
        sendPolicy: { default: "allow", rules: [{ action: "deny", match: { channel: "discord", chatType: "group" } }] },
        identityLinks: { alice: ["telegram:1", "discord:2"] }, store: { backend: "fs", fsync: true } },
      agents: { list: [{ id: "main", default: true }, { id: "work" }] },
      bindings: [{ agentId: "work", match: { channel: "slack", accountId: "*" } }],
    }`,
    );
    const { config, path: file, warnings } = load();
    expect(file).toBe(path.join(home, "pincer.json"));
    expect(warnings).toEqual([]);
    expect(config.session?.dmScope).toBe("per-channel-peer");
    expect(resolveMaintenance(config)).toMatchObject({
      mode: "enforce",
      pruneAfterMs: 36 * 3_600_000,
      maxEntries: 100,
      maxDiskBytes: 1024 ** 3,
      highWaterBytes: Math.floor(0.8 * 1024 ** 3),
    });
    expect(resolveStoreOptions(config)).toEqual({ backend: "fs", fsync: true, leaseTtlMs: 5000 });
    expect(resolveAgents(config)).toEqual({ ids: ["main", "work"], defaultAgentId: "main" });
  });

  it("prefers --config, then PINCER_CONFIG, then pincer.json, then openclaw.json", () => {
    write("openclaw.json", `{ session: { dmScope: "per-peer" } }`);
    expect(load().config.session?.dmScope).toBe("per-peer");
    write("pincer.json", `{ session: { dmScope: "per-channel-peer" } }`);
    expect(load().config.session?.dmScope).toBe("per-channel-peer");
    write("env.json", `{ session: { dmScope: "per-account-channel-peer" } }`);
    expect(load({ PINCER_CONFIG: path.join(home, "env.json") }).config.session?.dmScope).toBe(
      "per-account-channel-peer",
    );
    write("flag.json", `{ session: { dmScope: "main" } }`);
    expect(
      load({ PINCER_CONFIG: path.join(home, "env.json") }, path.join(home, "flag.json")).config.session?.dmScope,
    ).toBe("main");
  });

  it("fails on an explicitly named file that does not exist", () => {
    expect(issuesOf(() => load({}, path.join(home, "missing.json")))).toEqual(["the config file does not exist"]);
  });

  it("names the line and column of a JSON5 syntax error", () => {
    write("pincer.json", `{\n  session: { dmScope: "main" \n}`);
    expect(issuesOf(load)[0]).toMatch(/not valid JSON5 at line 3, column \d+/);
  });

  it("names the key path, the bad value and what was expected", () => {
    write(
      "pincer.json",
      `{ session: { dmScope: "per-user", reset: { atHour: 25, mode: "weekly" }, maintenance: { pruneAfter: "3 weeks" }, timeZone: "Mars/Olympus" }, agents: { list: [{ id: "Bad Id!" }] } }`,
    );
    const issues = issuesOf(load);
    expect(issues).toContain(
      'session.dmScope: got "per-user", expected one of "main", "per-peer", "per-channel-peer", "per-account-channel-peer"',
    );
    expect(issues).toContain('session.reset.mode: got "weekly", expected one of "daily", "idle", "none"');
    expect(issues).toContain("session.reset.atHour: got 25, expected <= 23");
    expect(issues).toContain(
      'session.maintenance.pruneAfter: got "3 weeks", expected invalid duration (use ms, s, m, h, d)',
    );
    expect(issues.some((i) => i.startsWith('session.timeZone: got "Mars/Olympus", expected an IANA time zone'))).toBe(
      true,
    );
    expect(issues.some((i) => i.startsWith('agents.list[0].id: got "Bad Id!"'))).toBe(true);
  });

  it("checks the gateway's sections the same way", () => {
    write(
      "pincer.json",
      `{ gateway: { port: "http", auth: { token: "" } }, hooks: { endpoints: [{ id: "Bad Hook", token: "t" }] }, cron: { jobs: [{ id: "j", schedule: "* * * * *" }] }, messages: { queue: { cap: 0 } } }`,
    );
    const issues = issuesOf(load);
    expect(issues).toContain('gateway.port: got "http", expected a number');
    // A short token loads (OpenClaw allows one; gateway/settings.ts decides by the bind address).
    expect(issues).toContain('gateway.auth.token: got "", expected length >= 1');
    expect(issues).toContain(
      'hooks.endpoints[0].id: got "Bad Hook", expected a hook id matching ^[a-z0-9][a-z0-9_-]{0,63}$',
    );
    expect(issues).toContain("cron.jobs[0].message: got nothing, expected a string");
    expect(issues).toContain("messages.queue.cap: got 0, expected >= 1");
  });

  it("refuses unknown keys by path instead of ignoring them silently, with the closest known key", () => {
    write(
      "pincer.json",
      `{ session: { resetByTyp: {}, maintenance: { mode: "warn", maxEntrys: 5 } }, bogusSection: 1 }`,
    );
    expect(issuesOf(load)).toEqual(
      expect.arrayContaining([
        'session.resetByTyp: got {}, expected a key session knows: did you mean "resetByType"?',
        'session.maintenance.maxEntrys: got 5, expected a key session.maintenance knows: did you mean "maxEntries"?',
        "bogusSection: got 1, expected a key the top level knows (neither Pincer nor OpenClaw has this one)",
      ]),
    );
  });

  it("refuses an id listed under two identityLinks names, naming both", () => {
    write("pincer.json", `{ session: { identityLinks: { alice: ["telegram:1"], bob: ["Telegram:1"] } } }`);
    const text = issuesOf(load).join("\n");
    expect(text).toMatch(/identityLinks/);
    expect(text).toMatch(/alice/);
    expect(text).toMatch(/bob/);
  });

  it("refuses duplicate agent ids and migrates legacy sendPolicy match.provider with a warning", () => {
    write("pincer.json", `{ agents: { list: [{ id: "a" }, { id: "A" }] } }`);
    expect(issuesOf(load)[0]).toMatch(/agents\.list\[1\]\.id/);
    write(
      "pincer.json",
      `{ session: { sendPolicy: { rules: [{ action: "deny", match: { provider: "discord" } }] } } }`,
    );
    const { config, warnings } = load();
    expect(config.session?.sendPolicy?.rules?.[0]?.match).toEqual({ channel: "discord" });
    expect(warnings[0]).toMatch(/match\.provider is deprecated/);
  });
});

describe("normalised settings", () => {
  it("parses durations and sizes, compound and plain", () => {
    expect(parseDurationMs("1d12h", "d")).toBe(36 * 3_600_000);
    expect(parseDurationMs(30, "d")).toBe(30 * 86_400_000);
    expect(parseDurationMs("90m", "h")).toBe(90 * 60_000);
    expect(() => parseDurationMs("3 weeks", "d")).toThrow("invalid duration (use ms, s, m, h, d)");
    expect(parseSizeBytes("10mb")).toBe(10 * 1024 * 1024);
    expect(parseSizeBytes("2k")).toBe(2048);
    expect(parseSizeBytes(123)).toBe(123);
    expect(() => parseSizeBytes("lots")).toThrow("invalid size (use b, kb, mb, gb, tb)");
  });

  it("treats 0 and negative limits as disabled, never as delete-everything", () => {
    const m = resolveMaintenance({ session: { maintenance: { pruneAfter: 0, maxEntries: -1, maxDiskBytes: 0 } } });
    expect(m).toMatchObject({
      pruneAfterMs: null,
      maxEntries: null,
      highWaterEntries: null,
      maxDiskBytes: null,
      resetArchiveRetentionMs: null,
    });
  });

  it("has OpenClaw's defaults plus a high-water buffer above maxEntries", () => {
    expect(resolveMaintenance({})).toMatchObject({
      mode: "warn",
      pruneAfterMs: 30 * 86_400_000,
      maxEntries: 500,
      highWaterEntries: 550,
      resetArchiveRetentionMs: 30 * 86_400_000,
      maxDiskBytes: null,
    });
  });

  it("resolves store paths: default layout, {agentId} templates, ~ expansion", () => {
    expect(resolveStorePath({}, "Work", home)).toBe(path.join(home, "agents", "work", "sessions", "sessions.json"));
    expect(resolveStorePath({ session: { store: "/data/{agentId}/sessions.json" } }, "a", home)).toBe(
      "/data/a/sessions.json",
    );
    expect(resolveStorePath({ session: { store: "~/s/{agentId}.json" } }, "a", home)).toBe(
      path.join(os.homedir(), "s", "a.json"),
    );
  });
});
