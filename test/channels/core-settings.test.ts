import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ChannelSettingsError, resolveChannelAccounts } from "../../src/channels/settings.ts";
import { unsupportedChannels } from "../../src/config/channels-schema.ts";
import { ConfigError, validateConfig } from "../../src/config/load.ts";

function problems(raw: unknown): string[] {
  try {
    validateConfig(raw, null);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
}

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-chset-"));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

describe("channels config", () => {
  it("accepts OpenClaw-style blocks for the four native channels", () => {
    const { config } = validateConfig(
      {
        channels: {
          telegram: {
            botToken: "123:abc",
            dmPolicy: "allowlist",
            allowFrom: [12345, "tg:678"],
            groups: { "-100123": { requireMention: false, topics: { "7": { requireMention: true } } }, "*": {} },
            groupAllowFrom: ["5"],
            historyLimit: 20,
            apiRoot: "http://127.0.0.1:9999",
            replyToMode: "first",
            streaming: "partial",
          },
          slack: { botToken: "xoxb-1", appToken: "xapp-1", apiUrl: "http://127.0.0.1:1/api/", mode: "socket" },
          discord: { token: "d", accounts: { work: { token: "w", dmPolicy: "disabled" } }, guilds: {} },
          signal: { account: "+15550001", httpUrl: "http://127.0.0.1:8080" },
        },
        messages: { groupChat: { mentionPatterns: ["\\bpincer\\b"], historyLimit: 30 } },
      },
      null,
    );
    expect(config.channels?.telegram?.allowFrom).toEqual(["12345", "tg:678"]);
  });

  it("an unknown channel name or key is an error naming the path with a suggestion", () => {
    expect(problems({ channels: { telegarm: { botToken: "x" } } })).toEqual([
      expect.stringMatching(/^channels\.telegarm: .*did you mean "telegram"\?/),
    ]);
    expect(problems({ channels: { telegram: { botTokn: "x" } } })).toEqual([
      expect.stringMatching(/^channels\.telegram\.botTokn: .*did you mean "botToken"\?/),
    ]);
    expect(problems({ channels: { slack: { accounts: { a: { dmPolicy: "pairing", groupz: {} } } } } })).toEqual([
      expect.stringMatching(/^channels\.slack\.accounts\.a\.groupz: .*did you mean "groups"\?/),
    ]);
    expect(problems({ channels: { telegram: { groups: { "-1": { requireMentoin: true } } } } })).toEqual([
      expect.stringMatching(/^channels\.telegram\.groups\.-1\.requireMentoin: .*"requireMention"/),
    ]);
    expect(problems({ channels: { telegram: { dmPolicy: "everyone" } } })).toEqual([
      expect.stringMatching(
        /^channels\.telegram\.dmPolicy: got "everyone", expected one of "pairing", "allowlist", "open", "disabled"/,
      ),
    ]);
    expect(problems({ channels: { telegram: { apiRoot: "not a url" } } })).toEqual([
      expect.stringMatching(/^channels\.telegram\.apiRoot: /),
    ]);
    expect(problems({ messages: { groupChat: { mentionPatterns: ["(unclosed"] } } })).toEqual([
      expect.stringMatching(/^messages\.groupChat\.mentionPatterns\[0\]: .*a valid regular expression/),
    ]);
  });

  it('dmPolicy open requires "*"; allowlist requires entries — on every account as merged', () => {
    expect(problems({ channels: { telegram: { dmPolicy: "open", allowFrom: ["1"] } } })).toEqual([
      expect.stringMatching(/^channels\.telegram\.allowFrom: .*"\*".*dmPolicy "open"/),
    ]);
    expect(problems({ channels: { telegram: { dmPolicy: "open", allowFrom: ["*"] } } })).toEqual([]);
    expect(problems({ channels: { discord: { dmPolicy: "allowlist" } } })).toEqual([
      expect.stringMatching(/^channels\.discord\.allowFrom: .*non-empty/),
    ]);
    // The account inherits dmPolicy "open" and overrides allowFrom without "*".
    expect(
      problems({
        channels: { telegram: { dmPolicy: "open", allowFrom: ["*"], accounts: { b: { allowFrom: ["1"] } } } },
      }),
    ).toEqual([expect.stringMatching(/^channels\.telegram\.accounts\.b\.allowFrom: /)]);
  });

  it("OpenClaw's other channels are accepted and listed as unsupported", () => {
    const { config } = validateConfig(
      { channels: { whatsapp: { allowFrom: ["+1"] }, matrix: {}, imessage: {} } },
      null,
    );
    expect(unsupportedChannels(config.channels)).toEqual(["whatsapp", "matrix", "imessage"]);
    expect(resolveChannelAccounts(config, home, {})).toEqual([]);
  });

  it("accounts inherit channel keys; env tokens only for the default account; tokenFile; base URLs; defaults", () => {
    fs.writeFileSync(path.join(home, "tg.token"), "  999:file-token\n");
    const { config } = validateConfig(
      {
        channels: {
          telegram: {
            dmPolicy: "allowlist",
            allowFrom: ["1"],
            apiRoot: "http://127.0.0.1:1",
            accounts: { default: {}, alerts: { tokenFile: "tg.token", groupPolicy: "open", enabled: false } },
          },
          slack: { signingSecret: "s" },
          discord: {},
        },
        messages: { groupChat: { historyLimit: 7, mentionPatterns: ["bot"] } },
      },
      null,
    );
    const env = {
      TELEGRAM_BOT_TOKEN: "env-tg",
      SLACK_BOT_TOKEN: "xoxb-env",
      SLACK_APP_TOKEN: "xapp-env",
      DISCORD_BOT_TOKEN: "env-d",
    };
    const accounts = resolveChannelAccounts(config, home, env);
    const by = (ch: string, id: string) =>
      accounts.find((a) => a.settings.channel === ch && a.settings.accountId === id)!;
    expect(by("telegram", "default").settings).toMatchObject({ token: "env-tg", baseUrl: "http://127.0.0.1:1" });
    expect(by("telegram", "default").access).toMatchObject({
      dmPolicy: "allowlist",
      allowFrom: ["1"],
      groupPolicy: "allowlist",
      historyLimit: 7,
    });
    expect(by("telegram", "default").access.mentionPatterns[0]!.test("BOT")).toBe(true);
    const alerts = by("telegram", "alerts");
    expect(alerts.settings.token).toBe("999:file-token");
    expect(alerts.enabled).toBe(false);
    expect(alerts.access).toMatchObject({ dmPolicy: "allowlist", groupPolicy: "open" });
    expect(alerts.settings.raw).toMatchObject({ apiRoot: "http://127.0.0.1:1", groupPolicy: "open" });
    expect(by("slack", "default").settings).toMatchObject({
      token: "xoxb-env",
      appToken: "xapp-env",
      signingSecret: "s",
    });
    expect(by("discord", "default").settings.token).toBe("env-d");
    expect(by("discord", "default").access).toMatchObject({
      dmPolicy: "pairing",
      groupPolicy: "allowlist",
      historyLimit: 7,
    });
    // Without env tokens the default accounts cannot start, and say why.
    const bare = resolveChannelAccounts(config, home, {});
    expect(bare.find((a) => a.settings.channel === "discord")!.unusable).toMatch(/no token/);
    expect(bare.find((a) => a.settings.channel === "telegram" && a.settings.accountId === "default")!.unusable).toMatch(
      /channels\.telegram\.accounts\.default: no botToken/,
    );
  });

  it("OpenClaw's Discord guilds and Slack channels allowlists are read into the gate's rules", () => {
    const { config } = validateConfig(
      {
        channels: {
          discord: {
            token: "d",
            guilds: {
              "123": {
                requireMention: true,
                users: [987],
                channels: { general: { allow: true }, help: { ignoreOtherMentions: true } },
              },
            },
          },
          slack: {
            botToken: "b",
            appToken: "a",
            channels: {
              C01: { allow: true, requireMention: false },
              C02: { allow: false },
              "#general": { allow: true },
            },
            groups: { C01: { requireMention: true } },
          },
        },
      },
      null,
    );
    const accounts = resolveChannelAccounts(config, home, {});
    const discord = accounts.find((a) => a.settings.channel === "discord")!.access;
    expect(discord.guilds["123"]).toMatchObject({
      requireMention: true,
      users: ["987"],
      channels: { general: { allow: true } },
    });
    const slack = accounts.find((a) => a.settings.channel === "slack")!.access;
    expect(slack.groups).toEqual({ C01: { requireMention: true }, C02: { enabled: false } });
    expect(slack.guilds).toEqual({});
  });

  it("a tokenFile that cannot be read fails naming the key", () => {
    const { config } = validateConfig({ channels: { telegram: { tokenFile: "missing.token" } } }, null);
    expect(() => resolveChannelAccounts(config, home, {})).toThrow(ChannelSettingsError);
    expect(() => resolveChannelAccounts(config, home, {})).toThrow(
      /channels\.telegram\.tokenFile: got "missing\.token".*ENOENT/,
    );
  });
});
