/** `pincer security audit`: each check fires on the misconfiguration it exists for, and not on a fresh install. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { PincerConfig } from "../src/config/schema.ts";
import { runAudit, storeUrlFindings, tokenEntropyBits, type AuditReport } from "../src/security/audit.ts";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";
import { post, startTestGateway } from "./helpers/gateway-harness.ts";

const BIN = path.resolve(import.meta.dirname, "../bin/pincer.js");
const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
});
function freshHome(config?: string): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-audit-"));
  homes.push(home);
  if (config !== undefined) fs.writeFileSync(path.join(home, "pincer.json"), config, { mode: 0o600 });
  return home;
}
function audit(
  home: string,
  ...args: string[]
): { status: number | null; report: AuditReport & { fix?: unknown; report?: AuditReport }; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, "security", "audit", "--json", ...args], {
    env: { ...process.env, PINCER_HOME: home, PINCER_CONFIG: "", PINCER_GATEWAY_TOKEN: "" },
    encoding: "utf8",
  });
  return { status: r.status, report: JSON.parse(r.stdout) as AuditReport, stderr: r.stderr };
}
const ids = (r: AuditReport) => r.findings.map((f) => `${f.severity}:${f.checkId}`);
async function auditConfig(
  config: PincerConfig,
  raw: Record<string, unknown> = config as Record<string, unknown>,
  env: NodeJS.ProcessEnv = {},
): Promise<AuditReport> {
  return runAudit({ config, rawConfig: raw, home: freshHome(), env, stores: [], now: 0 });
}

describe("pincer security audit", () => {
  it("a fresh install has no critical finding (exit 0)", async () => {
    const gw = await startTestGateway();
    await gw.stop();
    homes.push(gw.home);
    fs.chmodSync(gw.home, 0o700);
    const r = audit(gw.home);
    expect(r.status).toBe(0);
    expect(r.report.summary.critical).toBe(0);
    expect(ids(r.report).filter((i) => i.startsWith("warn:"))).toEqual([]);
  }, 60_000);

  it('dmScope "main" with two DM senders is critical, names the remediation, and exits 2', async () => {
    const gw = await startTestGateway();
    homes.push(gw.home);
    for (const who of ["alice", "bob"])
      await post(`${gw.url}/v1/inbound`, {
        channel: "telegram",
        chatType: "direct",
        peerId: who,
        senderId: who,
        text: `hi from ${who}`,
      });
    await gw.stop();
    const r = audit(gw.home);
    expect(r.status).toBe(2);
    const f = r.report.findings.find((x) => x.checkId === "channels.telegram.dm.scope_main_multiuser")!;
    expect(f).toMatchObject({ severity: "critical" });
    expect(f.detail).toContain("2 different senders");
    expect(f.remediation).toContain('"per-channel-peer"');
    expect(r.report.summary.critical).toBe(1);
  }, 60_000);

  it("DM allowlists: two allowed senders warn, an open policy is critical, per-peer scope is quiet", async () => {
    expect(ids(await auditConfig({ channels: { telegram: { allowFrom: ["a", "b"] } } }))).toContain(
      "warn:channels.telegram.dm.scope_main_multiuser",
    );
    // As OpenClaw reports it: the open policy is the critical finding, the shared session a warning.
    expect(ids(await auditConfig({ channels: { discord: { dmPolicy: "open", allowFrom: ["*"] } } }))).toEqual(
      expect.arrayContaining(["critical:channels.discord.dm.open", "warn:channels.discord.dm.scope_main_multiuser"]),
    );
    expect(
      ids(
        await auditConfig({ session: { dmScope: "per-channel-peer" }, channels: { discord: { allowFrom: ["*"] } } }),
      ).some((i) => i.includes("scope_main")),
    ).toBe(false);
  });

  it("gateway exposure: no token beyond loopback, weak tokens, TLS off", async () => {
    expect(ids(await auditConfig({ gateway: { host: "0.0.0.0" } }))).toEqual(
      expect.arrayContaining(["critical:gateway.bind_no_auth", "warn:gateway.tls_off_remote"]),
    );
    expect(ids(await auditConfig({ gateway: { auth: { token: "password12345678" } } }))).toContain(
      "warn:gateway.token_weak",
    );
    expect(ids(await auditConfig({ gateway: { host: "10.0.0.5", auth: { token: "password12345678" } } }))).toContain(
      "critical:gateway.token_weak",
    );
    const strong = "Zk3x9VbQ2mW7rT5yH8nJ4cF6gD1sA0pLqE2uI9oK3vB7";
    expect(tokenEntropyBits(strong)).toBeGreaterThanOrEqual(256);
    expect(
      ids(await auditConfig({ gateway: { auth: { token: strong } } })).some((i) => i.includes("gateway.token")),
    ).toBe(false);
    expect(tokenEntropyBits("a".repeat(64))).toBeLessThan(256);
  });

  it("identityLinks claimed twice, hooks without tokens, visibility all with agent-to-agent, rules that match nothing", async () => {
    const home = freshHome(
      `{ session: { identityLinks: { ann: ["telegram:1"], bob: ["telegram:1"] } }, hooks: { endpoints: [{ id: "ci" }] } }`,
    );
    const r = audit(home);
    expect(r.status).toBe(2);
    expect(ids(r.report)).toEqual(
      expect.arrayContaining([
        "critical:config.invalid",
        "critical:session.identity_links.duplicate_id",
        "critical:hooks.token_missing",
      ]),
    );
    expect(
      ids(await auditConfig({ tools: { sessions: { visibility: "all" }, agentToAgent: { enabled: true } } })),
    ).toContain("warn:tools.sessions.visibility_all_agent_to_agent");
    const impossible = await auditConfig({
      session: {
        sendPolicy: { rules: [{ action: "deny", match: { chatType: "direct", keyPrefix: "discord:group:" } }] },
      },
    });
    expect(ids(impossible)).toContain("warn:session.send_policy.rule_matches_nothing");
  });

  it("a send policy rule that matches none of the stored sessions is reported", async () => {
    const gw = await startTestGateway({
      session: { sendPolicy: { rules: [{ action: "deny", match: { channel: "telegarm" } }] } },
    });
    homes.push(gw.home);
    await post(`${gw.url}/v1/inbound`, {
      channel: "telegram",
      chatType: "direct",
      peerId: "a",
      senderId: "a",
      text: "x",
    });
    await gw.stop();
    fs.writeFileSync(
      path.join(gw.home, "pincer.json"),
      JSON.stringify({ session: { sendPolicy: { rules: [{ action: "deny", match: { channel: "telegarm" } }] } } }),
      { mode: 0o600 },
    );
    expect(ids(audit(gw.home).report)).toContain("warn:session.send_policy.rule_matches_nothing");
  }, 60_000);

  it("maintenance off with more than 10 000 sessions warns", async () => {
    const home = freshHome();
    const store = await FsSessionStore.open({
      storePath: path.join(home, "agents", "main", "sessions", "sessions.json"),
    });
    const now = Date.now();
    await store.putMany(
      Array.from({ length: 10_001 }, (_, i) => ({
        key: `agent:main:x:direct:p${i}`,
        entry: { sessionId: crypto.randomUUID(), updatedAt: now },
      })),
    );
    await store.close();
    expect(ids(audit(home).report)).toContain("warn:session.maintenance.disabled_large_store");
    fs.writeFileSync(
      path.join(home, "pincer.json"),
      `{ session: { maintenance: { mode: "enforce", pruneAfter: "30d", maxEntries: 50000 } } }`,
      { mode: 0o600 },
    );
    expect(ids(audit(home).report).some((i) => i.includes("maintenance"))).toBe(false);
  }, 60_000);

  it("files others can read are reported, and --fix repairs them", async () => {
    const gw = await startTestGateway();
    homes.push(gw.home);
    await post(`${gw.url}/v1/inbound`, {
      channel: "telegram",
      chatType: "direct",
      peerId: "a",
      senderId: "a",
      text: "x",
    });
    await gw.stop();
    const sessions = path.join(gw.home, "agents", "main", "sessions");
    const transcript = fs.readdirSync(sessions).find((f) => f.endsWith(".jsonl"))!;
    fs.chmodSync(gw.home, 0o755);
    fs.chmodSync(path.join(sessions, "sessions.json"), 0o644);
    fs.chmodSync(path.join(sessions, transcript), 0o644);
    fs.writeFileSync(path.join(gw.home, "gateway.token"), "x".repeat(40), { mode: 0o644 });
    fs.chmodSync(path.join(gw.home, "gateway.token"), 0o644);
    const before = audit(gw.home);
    expect(before.status).toBe(2);
    expect(ids(before.report)).toEqual(
      expect.arrayContaining(["critical:fs.gateway_token.perms_readable", "warn:fs.state.perms_readable"]),
    );
    const fixed = audit(gw.home, "--fix");
    expect(fixed.status).toBe(0);
    expect((fixed.report as unknown as { fix: { actions: unknown[] } }).fix.actions.length).toBeGreaterThanOrEqual(4);
    expect(fs.statSync(gw.home).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(sessions, "sessions.json")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(sessions, transcript)).mode & 0o777).toBe(0o600);
    expect(ids(audit(gw.home).report).some((i) => i.includes("perms"))).toBe(false);
  }, 60_000);
});

describe("the shared store's database URL", () => {
  const ids = (url: string) => storeUrlFindings(url).map((f) => f.checkId);
  it("flags a password written into the config and a remote database without TLS", () => {
    expect(ids("postgres://pincer:hunter2@db.internal:5432/pincer")).toEqual([
      "store.url_inline_password",
      "store.url_no_tls",
    ]);
    expect(
      storeUrlFindings("postgres://pincer:hunter2@db.internal/pincer")
        .map((f) => f.detail)
        .join(" "),
    ).not.toContain("hunter2");
    expect(ids("redis://cache.internal:6379")).toEqual(["store.url_no_tls"]);
  });
  it("accepts the password from the environment, TLS, and loopback", () => {
    expect(ids("${DATABASE_URL}")).toEqual([]);
    expect(ids("postgres://pincer:${PGPASSWORD}@db.internal/pincer?sslmode=verify-full")).toEqual([]);
    expect(ids("rediss://cache.internal:6380")).toEqual([]);
    expect(ids("postgres://pincer@127.0.0.1:5432/pincer")).toEqual([]);
    expect(ids("redis://[::1]:6379")).toEqual([]);
  });
});
