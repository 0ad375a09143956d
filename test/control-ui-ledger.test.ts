/**
 * The Control UI's gaps closed, against real gateways started from a real config file: usage per
 * UTC day from the rows' own ledger (one session's turns on two days → two bars, each its day's
 * tokens; the running totals alone put both on the last day), cron enable/disable written back to
 * the config file in place (comments and mode kept) and kept across a restart, and the WS
 * security audit reading the file as `pincer security audit` does.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { securityAudit } from "../src/cli/commands/security-audit.ts";
import type { CliIO } from "../src/cli/io.ts";
import { loadConfig } from "../src/config/load.ts";
import { startGateway, type RunningGateway } from "../src/gateway/start.ts";
import { runAudit, type AuditReport } from "../src/security/audit.ts";
import { addSessionUsage, USAGE_DAYS_KEPT } from "../src/runtime/usage.ts";
import { createControlUiModel } from "./helpers/control-ui-model.ts";
import { WsClient } from "./helpers/gateway-harness.ts";

const TOKEN = "control-ui-ledger-token-0123456789abcdef";
const DAY = 86_400_000;

const homes: string[] = [];
const running: Array<{ gw: RunningGateway; ws: WsClient }> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const { gw, ws } of running.splice(0)) {
    ws.close();
    await gw.stop(2000);
  }
  for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
});

function freshHome(configText: string, mode = 0o600): { home: string; file: string } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-ledger-"));
  homes.push(home);
  const file = path.join(home, "pincer.json");
  fs.writeFileSync(file, configText);
  fs.chmodSync(file, mode);
  return { home, file };
}

/** A gateway started as `pincer gateway` starts it: from the config file `loadConfig` finds. */
async function startFromFile(home: string): Promise<{ gw: RunningGateway; ws: WsClient }> {
  const env = { PINCER_HOME: home };
  const { config } = loadConfig({ env });
  const provider = createControlUiModel();
  const gw = await startGateway({
    config,
    home,
    env,
    port: 0,
    logger: pino({ level: "silent" }),
    resolveModelRef: () => ({ provider, model: "scripted", ref: "scripted/scripted" }),
  });
  const ws = await WsClient.connect(gw.url, TOKEN);
  const r = { gw, ws };
  running.push(r);
  return r;
}

async function turn(ws: WsClient, key: string, text: string, id: string): Promise<void> {
  await ws.call("chat.send", { sessionKey: key, message: text, idempotencyKey: id });
  await ws.waitForEvent((e) => e.state === "final" && (e.runIds as string[]).includes(id));
}

async function rowTokens(ws: WsClient, key: string): Promise<number> {
  const q = (await ws.call("sessions.query", { search: key })) as {
    sessions: Array<{ key: string; usageTokens?: number }>;
  };
  return q.sessions.find((s) => s.key === key)!.usageTokens!;
}

describe("usage per day", () => {
  it("one session's turns on two UTC days are two bars, each with that day's tokens", async () => {
    const { home } = freshHome(`{ gateway: { auth: { token: "${TOKEN}" } }, session: { reset: { mode: "none" } } }\n`);
    const today = Date.now();
    // The clock the gateway reads (Date only: timers stay real) starts two days back.
    vi.useFakeTimers({ toFake: ["Date"], now: today - 2 * DAY });
    const { ws } = await startFromFile(home);
    const key = "agent:main:webchat:direct:chat-days";
    await turn(ws, key, "hello", "d1");
    const first = await rowTokens(ws, key);
    vi.setSystemTime(today);
    await turn(ws, key, "tool please", "d2");
    const both = await rowTokens(ws, key);
    expect(both).toBeGreaterThan(first);
    const u = (await ws.call("usage.summary", { days: 7 })) as {
      undatedRows: number;
      totals: { totalTokens: number };
      byDay: Array<{ day: string; totalTokens: number; sessions: number }>;
    };
    expect(u.byDay).toEqual([
      { day: new Date(today - 2 * DAY).toISOString().slice(0, 10), totalTokens: first, cost: 0, sessions: 1 },
      { day: new Date(today).toISOString().slice(0, 10), totalTokens: both - first, cost: 0, sessions: 1 },
    ]);
    expect(u.undatedRows).toBe(0);
    expect(u.totals.totalTokens).toBe(both);
    // "Today" is today's bar only.
    const t = (await ws.call("usage.summary", { days: 1 })) as { byDay: Array<{ totalTokens: number }> };
    expect(t.byDay.map((d) => d.totalTokens)).toEqual([both - first]);
  }, 30_000);

  it("a row keeps the last 90 days of its ledger", () => {
    const usage = { input: 10, output: 5, cacheRead: 0, cacheWrite: 0, totalTokens: 15, cost: undefined } as never;
    let totals: unknown;
    const start = Date.UTC(2026, 0, 1, 12);
    for (let d = 0; d < 120; d++) totals = addSessionUsage(totals, usage, 0.5, "p/m", undefined, start + d * DAY);
    const byDay = (totals as { byDay: Record<string, { totalTokens: number; cost: number; calls: number }> }).byDay;
    const days = Object.keys(byDay);
    expect(days).toHaveLength(USAGE_DAYS_KEPT);
    expect(days[0]).toBe(new Date(start + 30 * DAY).toISOString().slice(0, 10));
    expect(days.at(-1)).toBe(new Date(start + 119 * DAY).toISOString().slice(0, 10));
    expect(byDay[days[0]!]).toEqual({ totalTokens: 15, cost: 0.5, calls: 1 });
    // A clock set back does not grow the row past the bound either.
    totals = addSessionUsage(totals, usage, 0.5, "p/m", undefined, start - 400 * DAY);
    expect(Object.keys((totals as { byDay: object }).byDay)).toHaveLength(USAGE_DAYS_KEPT);
  });
});

const CRON_CONFIG = `// Pincer config — hand-written, keep my comments
{
  gateway: { auth: { token: "${TOKEN}" } },
  cron: {
    jobs: [
      // The nightly report (do not remove)
      { id: "nightly", schedule: "0 3 * * *", message: "night" }, // after the job
      {
        id: "weekly",
        schedule: "0 4 * * 1",
        message: "week",
        enabled: false, // off until the team is back
      },
    ],
  },
}
`;

describe("cron enable/disable in the config file", () => {
  it("cron.update writes cron.jobs[i].enabled in place (comments and mode kept); a restart keeps it", async () => {
    const { home, file } = freshHome(CRON_CONFIG, 0o640);
    let { gw, ws } = await startFromFile(home);
    const off = (await ws.call("cron.update", { id: "nightly", enabled: false })) as {
      job: { enabled: boolean };
      savedTo: string;
      file?: string;
    };
    expect(off).toMatchObject({ savedTo: "config", file, job: { enabled: false } });
    const text = fs.readFileSync(file, "utf8");
    expect(text).toBe(
      CRON_CONFIG.replace(
        `{ id: "nightly", schedule: "0 3 * * *", message: "night" }`,
        `{ id: "nightly", schedule: "0 3 * * *", message: "night", enabled: false }`,
      ),
    );
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    const on = (await ws.call("cron.update", { id: "weekly", enabled: true })) as { savedTo: string };
    expect(on.savedTo).toBe("config");
    expect(fs.readFileSync(file, "utf8")).toContain("enabled: true, // off until the team is back");
    // The state file holds no override: the config file is the record.
    const state = path.join(home, "cron-state.json");
    if (fs.existsSync(state)) expect(JSON.parse(fs.readFileSync(state, "utf8"))).toEqual({ enabled: {} });

    // A restart reads the file.
    ws.close();
    await gw.stop(2000);
    running.splice(0);
    fs.rmSync(state, { force: true });
    ({ gw, ws } = await startFromFile(home));
    const list = (await ws.call("cron.list", {})) as { jobs: Array<{ id: string; enabled: boolean }> };
    expect(Object.fromEntries(list.jobs.map((j) => [j.id, j.enabled]))).toEqual({ nightly: false, weekly: true });
  }, 30_000);

  it("without a config file the choice stays in cron-state.json, and the response says so", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-ledger-"));
    homes.push(home);
    const gw = await startGateway({
      config: {
        gateway: { auth: { token: TOKEN } },
        cron: { jobs: [{ id: "nightly", schedule: "0 3 * * *", message: "night" }] },
      },
      home,
      env: { PINCER_HOME: home },
      port: 0,
      logger: pino({ level: "silent" }),
    });
    const ws = await WsClient.connect(gw.url, TOKEN);
    running.push({ gw, ws });
    const r = (await ws.call("cron.update", { id: "nightly", enabled: false })) as {
      savedTo: string;
      file: string;
      note: string;
    };
    expect(r.savedTo).toBe("state");
    expect(r.file).toBe(path.join(home, "cron-state.json"));
    expect(r.note).toMatch(/started without a config file/);
    expect(JSON.parse(fs.readFileSync(r.file, "utf8"))).toEqual({ enabled: { nightly: false } });
  }, 30_000);
});

describe("security.audit over WS", () => {
  it("audits the config file as `pincer security audit` does: its mode wherever it lives, its keys as written", async () => {
    // A config outside the home ($PINCER_CONFIG), readable by everyone, with OpenClaw's hooks block.
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-ledger-"));
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-ledger-etc-"));
    homes.push(home, elsewhere);
    const file = path.join(elsewhere, "gateway.json5");
    fs.writeFileSync(
      file,
      `{
  gateway: { auth: { token: "${TOKEN}" } },
  hooks: { enabled: true, token: "hooks-token-0123456789abcdef0123456789", allowRequestSessionKey: true },
}
`,
    );
    fs.chmodSync(file, 0o644);
    const env = { PINCER_HOME: home, PINCER_CONFIG: file };
    const { config } = loadConfig({ env });
    const gw = await startGateway({ config, home, env, port: 0, logger: pino({ level: "silent" }) });
    const ws = await WsClient.connect(gw.url, TOKEN);
    running.push({ gw, ws });
    const viaWs = (await ws.call("security.audit", {})) as unknown as AuditReport;
    let out = "";
    const io = {
      env,
      out: (t: string) => void (out += t),
      err: () => undefined,
      now: () => Date.now(),
    } as unknown as CliIO;
    await securityAudit(io, undefined, { json: true });
    const viaCli = JSON.parse(out) as AuditReport;
    const fileFindings = (r: AuditReport) =>
      r.findings
        .filter((f) => f.checkId.startsWith("fs.config.") || f.checkId.startsWith("hooks."))
        .map((f) => ({ id: `${f.severity}:${f.checkId}`, detail: f.detail, remediation: f.remediation }));
    expect(fileFindings(viaWs)).toEqual(fileFindings(viaCli));
    expect(fileFindings(viaWs)).toContainEqual({
      id: "critical:fs.config.perms_world_readable",
      detail: `${file} mode=644; config can contain tokens and private settings.`,
      remediation: `chmod 600 ${file}`,
    });
    expect(fileFindings(viaWs).map((f) => f.id)).toContain("warn:hooks.request_session_key_enabled");
    expect(viaWs.findings.map((f) => f.checkId)).toEqual(viaCli.findings.map((f) => f.checkId));
  }, 30_000);

  it("a token written as a ${VAR} reference is judged by the variable's value, not the placeholder's letters", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-ledger-"));
    homes.push(home);
    const rawConfig = {
      gateway: { auth: { token: "${GW_TOKEN}" }, clients: [{ id: "b", token: "${BRIDGE_TOKEN}" }] },
      hooks: { endpoints: [{ id: "h", path: "/h", token: "${HOOK_TOKEN}", message: "x" }] },
    };
    const strong = "Zr8Qm2Lx7Vt4Np9Ks3Hd6Wf1Jc5Yb0GuEaTo-PiRl";
    const audit = (env: NodeJS.ProcessEnv) =>
      runAudit({ config: {}, rawConfig, home, env, stores: [], now: 0 }).then((r) => r.findings.map((f) => f.checkId));
    const ok = await audit({ GW_TOKEN: strong, BRIDGE_TOKEN: strong, HOOK_TOKEN: strong });
    expect(ok).not.toContain("gateway.token_weak");
    expect(ok).not.toContain("gateway.client_token_weak");
    expect(ok).not.toContain("hooks.token_weak");
    const weak = await audit({ GW_TOKEN: "short", BRIDGE_TOKEN: "short", HOOK_TOKEN: "short" });
    expect(weak).toEqual(
      expect.arrayContaining(["gateway.token_weak", "gateway.client_token_weak", "hooks.token_weak"]),
    );
    // Unset: no token at all.
    expect(await audit({})).toContain("hooks.token_missing");
  });
});
