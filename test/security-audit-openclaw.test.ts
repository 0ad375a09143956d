/**
 * `pincer security audit` against OpenClaw's own audit: the same state dir (fixture
 * test/fixtures/openclaw-config/audit/, with OpenClaw 2026.3.13's `security audit --json` output
 * on it recorded beside it) gives the same checkIds, severities and titles for every finding
 * Pincer shares with OpenClaw; then the rules one by one (pairing approvals, prefixed ids counted
 * once, disabled channels and accounts, hooks, file modes, ungated inbound channels).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { normalizeAllowEntry, runAudit, type AuditReport } from "../src/security/audit.ts";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";

const BIN = path.resolve(import.meta.dirname, "../bin/pincer.js");
const FIXTURE = path.resolve(import.meta.dirname, "fixtures/openclaw-config/audit");
const recorded = JSON.parse(fs.readFileSync(path.join(FIXTURE, "openclaw-audit.json"), "utf8")) as {
  findings: Array<{ checkId: string; severity: string; title: string }>;
};

/** OpenClaw findings about things Pincer does not have (its attack-surface summary, trusted proxies, hooks.token). */
const OPENCLAW_ONLY = new Set([
  "summary.attack_surface",
  "gateway.trusted_proxies_missing",
  "config.secrets.hooks_token_in_config",
]);

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
});

/** The fixture as OpenClaw's state dir was when its audit ran (modes included). */
function stateDir(options: { pairing?: boolean } = {}): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-oc-audit-"));
  homes.push(home);
  fs.copyFileSync(path.join(FIXTURE, "openclaw.json"), path.join(home, "openclaw.json"));
  fs.mkdirSync(path.join(home, "credentials"));
  if (options.pairing !== false)
    fs.copyFileSync(
      path.join(FIXTURE, "telegram-allowFrom.json"),
      path.join(home, "credentials", "telegram-allowFrom.json"),
    );
  fs.mkdirSync(path.join(home, "agents", "main", "sessions"), { recursive: true });
  fs.writeFileSync(path.join(home, "agents", "main", "sessions", "sessions.json"), "{}");
  fs.chmodSync(path.join(home, "openclaw.json"), 0o644);
  fs.chmodSync(path.join(home, "agents", "main", "sessions", "sessions.json"), 0o644);
  fs.chmodSync(home, 0o755);
  fs.chmodSync(path.join(home, "credentials"), 0o755);
  return home;
}

function audit(home: string): { status: number | null; report: AuditReport } {
  const r = spawnSync(process.execPath, [BIN, "security", "audit", "--json"], {
    env: { ...process.env, PINCER_HOME: home, PINCER_CONFIG: "", PINCER_GATEWAY_TOKEN: "" },
    encoding: "utf8",
  });
  if (!r.stdout) throw new Error(`audit failed: ${r.stderr}`);
  return { status: r.status, report: JSON.parse(r.stdout) as AuditReport };
}
const ids = (r: AuditReport) => r.findings.map((f) => `${f.severity}:${f.checkId}`);

describe("security audit: the same findings as OpenClaw 2026.3.13 on the same state dir", () => {
  it("every finding OpenClaw reports that Pincer checks comes out with its checkId, severity and title", () => {
    const { status, report } = audit(stateDir());
    expect(status).toBe(2);
    const shared = recorded.findings.filter((f) => !OPENCLAW_ONLY.has(f.checkId));
    // The 12 recorded: hooks x4, multi_user_heuristic, fs x4, telegram scope, discord open + scope.
    expect(shared).toHaveLength(12);
    for (const want of shared)
      expect(
        report.findings.find((f) => f.checkId === want.checkId),
        want.checkId,
      ).toMatchObject({
        severity: want.severity,
        title: want.title,
      });
    // Nothing about the disabled Slack account except the heuristic's signal list.
    expect(report.findings.filter((f) => f.checkId.startsWith("channels.slack"))).toEqual([]);
    const heuristic = report.findings.find((f) => f.checkId === "security.trust_model.multi_user_heuristic")!;
    expect(heuristic.detail).toContain('channels.slack.dmPolicy="open"');
    expect(heuristic.detail).toContain('channels.discord.dm.allowFrom includes "*"');
  });

  it("111, tg:111 and telegram:111 are one sender: without the pairing approval Telegram is not multi-user (as OpenClaw)", () => {
    const { report } = audit(stateDir({ pairing: false }));
    expect(ids(report).filter((i) => i.includes("channels.telegram"))).toEqual([]);
    expect(ids(report)).toContain("warn:channels.discord.dm.scope_main_multiuser");
  });

  it("the remediation names pincer's own config set line", () => {
    const f = audit(stateDir()).report.findings.find((x) => x.checkId === "channels.telegram.dm.scope_main_multiuser")!;
    expect(f.remediation).toContain('pincer config set session.dmScope "per-channel-peer"');
  });
});

async function auditRaw(raw: Record<string, unknown>, home?: string): Promise<AuditReport> {
  const h = home ?? fs.mkdtempSync(path.join(os.tmpdir(), "pincer-oc-audit-"));
  if (!home) homes.push(h);
  fs.chmodSync(h, 0o700);
  return runAudit({ config: null, rawConfig: raw, home: h, env: {}, stores: [], now: 0 });
}

describe("security audit: the DM rules", () => {
  it("open policy: critical dm.open, and open_invalid without '*'; disabled: info; accounts audited on their own", async () => {
    const r = await auditRaw({
      channels: {
        telegram: {
          enabled: true,
          accounts: {
            work: { dmPolicy: "open", allowFrom: ["1"] },
            home: { dmPolicy: "disabled" },
            off: { enabled: false, dmPolicy: "open", allowFrom: ["*"] },
          },
        },
      },
    });
    expect(ids(r)).toEqual(
      expect.arrayContaining([
        "critical:channels.telegram.dm.open",
        "warn:channels.telegram.dm.open_invalid",
        "info:channels.telegram.dm.disabled",
      ]),
    );
    expect(r.findings.find((f) => f.checkId === "channels.telegram.dm.open")!.detail).toBe(
      'channels.telegram.accounts.work.dmPolicy="open" allows anyone to DM the bot.',
    );
    // The disabled account's open policy is not a finding (only one dm.open: the work account's).
    expect(r.findings.filter((f) => f.checkId === "channels.telegram.dm.open")).toHaveLength(1);
  });

  it("senders approved through pairing count, per account file, and a channel disabled at its top is not audited", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-oc-audit-"));
    homes.push(home);
    fs.mkdirSync(path.join(home, "credentials"), { mode: 0o700 });
    fs.writeFileSync(
      path.join(home, "credentials", "telegram-work-allowFrom.json"),
      JSON.stringify({ version: 1, allowFrom: ["5", "tg:6"] }),
    );
    const r = await auditRaw({ channels: { telegram: { accounts: { work: { allowFrom: ["5"] } } } } }, home);
    expect(ids(r)).toContain("warn:channels.telegram.dm.scope_main_multiuser");
    const off = await auditRaw(
      { channels: { telegram: { enabled: false, allowFrom: ["1", "2", "*"], dmPolicy: "open" } } },
      home,
    );
    expect(ids(off).filter((i) => i.includes("channels.telegram"))).toEqual([]);
  });

  it("allowFrom entries normalise as OpenClaw's channels do", () => {
    expect(["111", "tg:111", "TELEGRAM:111", " 111 "].map((x) => normalizeAllowEntry("telegram", x))).toEqual([
      "111",
      "111",
      "111",
      "111",
    ]);
    expect(["<@42>", "<@!42>", "user:42", "discord:42"].map((x) => normalizeAllowEntry("discord", x))).toEqual([
      "42",
      "42",
      "42",
      "42",
    ]);
  });

  it("OpenClaw's hooks block: the four hooks.* findings, critical when the gateway binds beyond loopback", async () => {
    const hooks = { enabled: true, token: "t".repeat(40), allowRequestSessionKey: true };
    expect(ids(await auditRaw({ hooks }))).toEqual(
      expect.arrayContaining([
        "warn:hooks.default_session_key_unset",
        "warn:hooks.allowed_agent_ids_unrestricted",
        "warn:hooks.request_session_key_enabled",
        "warn:hooks.request_session_key_prefixes_missing",
      ]),
    );
    const exposed = ids(await auditRaw({ hooks, gateway: { bind: "lan" } }));
    expect(exposed).toContain("critical:hooks.request_session_key_enabled");
    const tight = ids(
      await auditRaw({
        hooks: {
          ...hooks,
          defaultSessionKey: "hook:ingress",
          allowedAgentIds: ["main"],
          allowedSessionKeyPrefixes: ["hook:"],
        },
      }),
    );
    expect(tight.filter((i) => i.includes("hooks."))).toEqual(["warn:hooks.request_session_key_enabled"]);
  });

  it("an inbound-API channel with no channels.<ch> block is reported as ungated", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-oc-audit-"));
    homes.push(home);
    const file = path.join(home, "agents", "main", "sessions", "sessions.json");
    const store = await FsSessionStore.open({ storePath: file });
    await store.putMany([
      {
        key: "agent:main:whatsapp:direct:1",
        entry: { sessionId: "00000000-0000-4000-8000-000000000001", updatedAt: 1, channel: "whatsapp" },
      },
    ]);
    const r = await runAudit({
      config: null,
      rawConfig: { channels: { telegram: { allowFrom: ["1"] } } },
      home,
      env: {},
      stores: [{ agentId: "main", store }],
      now: 0,
    });
    await store.close();
    expect(ids(r)).toContain("warn:channels.whatsapp.dm.ungated");
    expect(ids(r).some((i) => i.includes("telegram.dm.ungated"))).toBe(false);
  });
});
