/**
 * Every config section is checked once, at load: each bad value and each typo is refused by the
 * loader with the file, the key path, the value and what was expected, and `pincer config
 * validate` (the real binary) reports the same lines. Valid configs keep their defaults.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config/load.ts";
import { resolvePruneSettings, DEFAULT_PRUNE_SETTINGS } from "../src/context/prune-settings.ts";
import { resolveAgentSettings } from "../src/runtime/agent-settings.ts";
import { DEFAULT_HEARTBEAT_PROMPT } from "../src/runtime/system-prompt.ts";
import { DEFAULT_QUEUE, resolveQueueSettings } from "../src/runtime/queue-settings.ts";
import { resolveVisibilityConfig } from "../src/tools/visibility.ts";

const BIN = path.join(import.meta.dirname, "..", "bin", "pincer.js");
let home: string;
beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-cfg-sections-"));
});
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

let n = 0;
function writeConfig(config: unknown): string {
  const file = path.join(home, `case-${n++}.json`);
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

function loaderError(file: string): ConfigError {
  try {
    loadConfig({ configPath: file, env: { PINCER_HOME: home } });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`${file} loaded, expected a ConfigError`);
}

function validate(file: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, "config", "validate", "--config", file], {
    env: { ...process.env, PINCER_HOME: home, PINCER_CONFIG: "" },
    encoding: "utf8",
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const defaults = (extra: Record<string, unknown>) => ({ agents: { defaults: extra } });

// [what, config, the one problem line the loader must report]
const BAD: Array<[string, unknown, string]> = [
  [
    "contextPruning.softTrimRatio out of range",
    defaults({ contextPruning: { softTrimRatio: 2 } }),
    "agents.defaults.contextPruning.softTrimRatio: got 2, expected <= 1",
  ],
  [
    "compaction.reserveTokens not a number",
    defaults({ compaction: { reserveTokens: "big" } }),
    'agents.defaults.compaction.reserveTokens: got "big", expected a number',
  ],
  [
    "memoryFlush.enabled not a boolean",
    defaults({ compaction: { memoryFlush: { enabled: "no" } } }),
    'agents.defaults.compaction.memoryFlush.enabled: got "no", expected a boolean',
  ],
  [
    "subagents.maxSpawnDepth above 5",
    defaults({ subagents: { maxSpawnDepth: 50 } }),
    "agents.defaults.subagents.maxSpawnDepth: got 50, expected <= 5",
  ],
  [
    "tools.sessions.visibility unknown",
    { tools: { sessions: { visibility: "everyone" } } },
    'tools.sessions.visibility: got "everyone", expected one of "self", "tree", "agent", "all"',
  ],
  [
    "messages.queue.mode unknown",
    { messages: { queue: { mode: "bogus" } } },
    'messages.queue.mode: got "bogus", expected one of "collect", "coalesce", "followup"',
  ],
  [
    "typo agents.defaults.contextPrunning",
    defaults({ contextPrunning: { mode: "cache-ttl" } }),
    'agents.defaults.contextPrunning: got {"mode":"cache-ttl"}, expected a key agents.defaults knows: did you mean "contextPruning"?',
  ],
  [
    "typo gateway.prot",
    { gateway: { prot: 18789 } },
    'gateway.prot: got 18789, expected a key gateway knows: did you mean "port"?',
  ],
  // Moved from test/context-prune.test.ts ("throws naming the key, the value and what was expected"): refused at load now.
  [
    "contextPruning.ttl not a duration",
    defaults({ contextPruning: { ttl: "abc" } }),
    'agents.defaults.contextPruning.ttl: got "abc", expected a non-negative duration like "5m"',
  ],
  [
    "contextPruning.ttl negative",
    defaults({ contextPruning: { ttl: "-5m" } }),
    'agents.defaults.contextPruning.ttl: got "-5m", expected a non-negative duration like "5m"',
  ],
  [
    "contextPruning.ttl a boolean",
    defaults({ contextPruning: { ttl: true } }),
    "agents.defaults.contextPruning.ttl: got true, expected a value of one of the accepted forms",
  ],
  [
    "contextPruning.keepLastAssistants fractional",
    defaults({ contextPruning: { keepLastAssistants: 1.5 } }),
    "agents.defaults.contextPruning.keepLastAssistants: got 1.5, expected an integer",
  ],
  [
    "contextPruning.hardClearRatio a string",
    defaults({ contextPruning: { hardClearRatio: "0.5" } }),
    'agents.defaults.contextPruning.hardClearRatio: got "0.5", expected a number',
  ],
  [
    "contextPruning.minPrunableToolChars negative",
    defaults({ contextPruning: { minPrunableToolChars: -1 } }),
    "agents.defaults.contextPruning.minPrunableToolChars: got -1, expected >= 0",
  ],
  [
    "contextPruning.softTrim.headChars a string",
    defaults({ contextPruning: { softTrim: { headChars: "x" } } }),
    'agents.defaults.contextPruning.softTrim.headChars: got "x", expected a number',
  ],
  [
    "contextPruning.softTrim not an object",
    defaults({ contextPruning: { softTrim: 3 } }),
    "agents.defaults.contextPruning.softTrim: got 3, expected an object",
  ],
  [
    "contextPruning.hardClear.enabled a string",
    defaults({ contextPruning: { hardClear: { enabled: "yes" } } }),
    'agents.defaults.contextPruning.hardClear.enabled: got "yes", expected a boolean',
  ],
  [
    "contextPruning.hardClear.placeholder blank",
    defaults({ contextPruning: { hardClear: { placeholder: " " } } }),
    'agents.defaults.contextPruning.hardClear.placeholder: got " ", expected length >= 1',
  ],
  [
    "contextPruning.tools.deny not a list",
    defaults({ contextPruning: { tools: { deny: "exec" } } }),
    'agents.defaults.contextPruning.tools.deny: got "exec", expected an array',
  ],
  [
    "contextPruning.mode a number",
    defaults({ contextPruning: { mode: 1 } }),
    'agents.defaults.contextPruning.mode: got 1, expected one of "off", "cache-ttl"',
  ],
  [
    "contextPruning.mode unknown",
    defaults({ contextPruning: { mode: "whatever" } }),
    'agents.defaults.contextPruning.mode: got "whatever", expected one of "off", "cache-ttl"',
  ],
  [
    "contextPruning a string",
    defaults({ contextPruning: "cache-ttl" }),
    'agents.defaults.contextPruning: got "cache-ttl", expected an object',
  ],
  // The other sections the issue names.
  [
    "models.providers.x.baseUrl not a URL",
    { models: { providers: { x: { baseUrl: "ftp://h" } } } },
    'models.providers.x.baseUrl: got "ftp://h", expected an http(s) URL',
  ],
  [
    "messages.queue.drop unknown",
    { messages: { queue: { drop: "all" } } },
    'messages.queue.drop: got "all", expected one of "old", "oldest"',
  ],
  [
    "tools.agentToAgent.enabled a string",
    { tools: { agentToAgent: { enabled: "yes" } } },
    'tools.agentToAgent.enabled: got "yes", expected a boolean',
  ],
  [
    "typo in an agent entry",
    { agents: { list: [{ id: "main", worksapce: "/tmp/w" }] } },
    'agents.list[0].worksapce: got "/tmp/w", expected a key agents.list[0] knows: did you mean "workspace"?',
  ],
  [
    "typo in a strict queue",
    { messages: { queue: { debounceMS: 5 } } },
    'messages.queue.debounceMS: got 5, expected a key messages.queue knows: did you mean "debounceMs"?',
  ],
  ["channels not an object", { channels: 3 }, "channels: got 3, expected an object"],
  [
    "heartbeat.every not a duration",
    { agents: { defaults: { heartbeat: { every: "soon" } } } },
    'agents.defaults.heartbeat.every: got "soon", expected a non-negative duration like "30m" ("0m" disables)',
  ],
  [
    "heartbeat.activeHours.start not a time of day",
    { agents: { list: [{ id: "main", heartbeat: { activeHours: { start: "25:00", end: "08:00" } } }] } },
    'agents.list[0].heartbeat.activeHours.start: got "25:00", expected a time of day "HH:MM" (00:00-24:00)',
  ],
  [
    "bootstrapMaxChars not positive",
    { agents: { defaults: { bootstrapMaxChars: 0 } } },
    "agents.defaults.bootstrapMaxChars: got 0",
  ],
  [
    "logging.level unknown",
    { logging: { level: "loud" } },
    'logging.level: got "loud", expected one of "silent", "fatal"',
  ],
];

describe("each bad value is refused at load, with file, key path, value and what was expected", () => {
  it.each(BAD)("%s", (_what, config, problem) => {
    const file = writeConfig(config);
    const err = loaderError(file);
    expect(err.file).toBe(file);
    expect(err.message.startsWith(`${file}: invalid config`)).toBe(true);
    expect(err.issues.length).toBe(1);
    expect(err.issues[0]).toContain(problem);

    const cli = validate(file);
    expect(cli.code).toBe(1);
    expect(cli.out).toBe("");
    expect(cli.err).toContain(`${file}: ${problem}`);
  });

  it("reports every problem of a file at once, typos and values together", () => {
    const file = writeConfig({
      gateway: { prot: 1 },
      agents: { defaults: { contextPrunning: {}, compaction: { reserveTokens: "big" } } },
      messages: { queue: { mode: "bogus" } },
    });
    expect(loaderError(file).issues.map((i) => i.split(":")[0])).toEqual(
      expect.arrayContaining([
        "gateway.prot",
        "agents.defaults.contextPrunning",
        "agents.defaults.compaction.reserveTokens",
        "messages.queue.mode",
      ]),
    );
    const cli = validate(file);
    expect(cli.code).toBe(1);
    expect(cli.err).toContain("4 problems in");
  });
});

describe("valid configs", () => {
  it("an OpenClaw config's keys that Pincer does not read are accepted, and pincer config validate says ok", () => {
    const file = writeConfig({
      meta: { lastTouchedVersion: "2026.3.13" },
      env: { vars: { A: "1" } },
      gateway: {
        port: 18789,
        mode: "local",
        bind: "loopback",
        auth: { mode: "token", token: "0123456789abcdef0123" },
        controlUi: { enabled: true },
      },
      agents: {
        defaults: {
          model: { primary: "anthropic/claude" },
          workspace: "/tmp/ws",
          heartbeat: { every: "30m" },
          maxConcurrent: 4,
          compaction: { mode: "safeguard", memoryFlush: { systemPrompt: "x" } },
          subagents: { maxConcurrent: 8 },
        },
        list: [
          {
            id: "main",
            default: true,
            identity: { name: "Claw" },
            tools: { profile: "coding" },
            subagents: { allowAgents: ["*"] },
          },
        ],
      },
      tools: {
        profile: "full",
        web: { search: { enabled: false } },
        sessions: { visibility: "all" },
        agentToAgent: { enabled: true, allow: ["*"] },
      },
      messages: { ackReaction: "👀", queue: { mode: "Queue", byChannel: { telegram: "followups" }, drop: "oldest" } },
      models: {
        mode: "merge",
        providers: {
          anthropic: {
            baseUrl: "https://api.anthropic.com/v1",
            api: "anthropic",
            models: [{ id: "claude", name: "Claude", contextWindow: 200000 }],
          },
        },
      },
      channels: { telegram: { enabled: true, botToken: "x" } },
      bindings: [{ agentId: "main", match: { channel: "telegram" }, sessionKey: "main" }],
      browser: { enabled: false },
    });
    const { config } = loadConfig({ configPath: file, env: { PINCER_HOME: home } });
    // Aliases are read into the canonical names once, at load.
    expect(config.messages?.queue).toEqual({ mode: "steer", byChannel: { telegram: "followup" }, drop: "old" });
    const cli = validate(file);
    expect(cli.code).toBe(0);
    expect(cli.out).toContain("config ok");
  });

  it("keeps the defaults the resolvers gave before", () => {
    const a = resolveAgentSettings(undefined, "main", "/h");
    expect(a).toEqual({
      agentId: "main",
      modelRef: undefined,
      contextTokens: undefined,
      workspace: path.join("/h", "agents", "main", "workspace"),
      bootstrap: { maxChars: 20_000, totalMaxChars: 150_000, truncationWarning: "once" },
      userTimezone: undefined,
      heartbeat: {
        enabled: true,
        everyMs: 30 * 60_000,
        prompt: DEFAULT_HEARTBEAT_PROMPT,
        target: "none",
        to: undefined,
        activeHours: undefined,
        ackMaxChars: 300,
      },
      thinkingDefault: "off",
      compaction: {
        reserveTokens: 16_384,
        reserveTokensFloor: 20_000,
        keepRecentTokens: 20_000,
        customInstructions: undefined,
        memoryFlush: {
          enabled: true,
          softThresholdTokens: 4000,
          forceFlushTranscriptBytes: 2 * 1024 * 1024,
          prompt: undefined,
          systemPrompt: undefined,
        },
      },
      contextPruning: undefined,
      tools: undefined,
      subagents: {
        maxSpawnDepth: 1,
        maxChildrenPerAgent: 5,
        runTimeoutSeconds: 0,
        model: undefined,
        allowAgents: ["main"],
      },
    });
    expect(resolvePruneSettings(a.contextPruning)).toBe(DEFAULT_PRUNE_SETTINGS);
    expect(resolveQueueSettings(undefined, undefined, "telegram")).toEqual(DEFAULT_QUEUE);
    expect(resolveVisibilityConfig(undefined)).toEqual({
      visibility: "tree",
      agentToAgent: { enabled: false, allow: [] },
    });
  });

  it("a loaded config's values reach the resolvers unchanged", () => {
    const file = writeConfig({
      agents: {
        defaults: {
          model: "anthropic/claude",
          contextTokens: 50_000,
          compaction: { reserveTokens: 1000, memoryFlush: { enabled: false, forceFlushTranscriptBytes: "1mb" } },
          subagents: { maxSpawnDepth: 3, allowAgents: ["Ops"] },
          contextPruning: { mode: "cache-ttl", ttl: "1h" },
        },
        list: [{ id: "ops", workspace: "/tmp/ops", subagents: { maxSpawnDepth: 2 } }],
      },
      messages: { queue: { mode: "interrupt", debounceMsByChannel: { telegram: 50 }, cap: 3 } },
      tools: { sessions: { visibility: "self" } },
    });
    const { config } = loadConfig({ configPath: file, env: { PINCER_HOME: home } });
    const main = resolveAgentSettings(config.agents, "main", "/h");
    expect(main).toMatchObject({
      modelRef: "anthropic/claude",
      contextTokens: 50_000,
      compaction: { reserveTokens: 1000, memoryFlush: { enabled: false, forceFlushTranscriptBytes: 1024 * 1024 } },
      subagents: { maxSpawnDepth: 3, allowAgents: ["ops"] },
    });
    expect(resolveAgentSettings(config.agents, "ops", "/h")).toMatchObject({
      workspace: "/tmp/ops",
      subagents: { maxSpawnDepth: 2, allowAgents: ["ops"] },
    });
    expect(resolvePruneSettings(main.contextPruning)).toMatchObject({ mode: "cache-ttl", ttlMs: 3_600_000 });
    expect(resolveQueueSettings(config.messages?.queue, undefined, "Telegram")).toEqual({
      mode: "interrupt",
      debounceMs: 50,
      cap: 3,
      drop: "summarize",
    });
    expect(resolveVisibilityConfig(config.tools).visibility).toBe("self");
  });
});
