/**
 * The Control UI's WS methods against a real gateway: the paged sessions table (filters, sort,
 * paging, a scoped client sees only its channels), usage totals per day/model/channel/agent,
 * cron list/run/enable, the log tail with its live `log` events, config (secrets masked, a
 * validation error naming the key) and the audit — all operator-only but the table; and a
 * stopped run's partial reply kept in the transcript (it vanished before: fails on 9f6007a).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PincerConfig } from "../src/config/schema.ts";
import { LogRing } from "../src/gateway/log-ring.ts";
import { startGateway, type RunningGateway } from "../src/gateway/start.ts";
import { maskSecrets } from "../src/gateway/admin.ts";
import { CronScheduler } from "../src/gateway/cron.ts";
import { ToolRegistry } from "../src/runtime/tool-registry.ts";
import { createControlUiModel, lookupTool } from "./helpers/control-ui-model.ts";
import { WsClient } from "./helpers/gateway-harness.ts";

const TOKEN = "control-ui-methods-token-0123456789";
const BRIDGE = "control-ui-bridge-token-0123456789";

describe("Control UI WS methods", () => {
  let home = "";
  let gw: RunningGateway;
  let op: WsClient;
  let bridge: WsClient;

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-control-methods-"));
    const ring = new LogRing();
    const provider = createControlUiModel();
    const tools = new ToolRegistry();
    tools.register(lookupTool);
    const config = {
      gateway: { auth: { token: TOKEN }, clients: [{ id: "tg-bridge", token: BRIDGE, channels: ["telegram"] }] },
      session: { dmScope: "per-channel-peer" },
      cron: {
        jobs: [{ id: "nightly", schedule: "0 3 * * *", message: "night", deliver: { channel: "telegram", to: "42" } }],
      },
    } as unknown as PincerConfig;
    gw = await startGateway({
      config,
      home,
      env: { PINCER_HOME: home },
      port: 0,
      logger: pino({ level: "info" }, ring.tee({ write: () => true })),
      logRing: ring,
      tools,
      resolveModelRef: () => ({ provider, model: "scripted", ref: "scripted/scripted" }),
    });
    op = await WsClient.connect(gw.url, TOKEN);
    bridge = await WsClient.connect(gw.url, BRIDGE);
    for (const [key, text] of [
      ["agent:main:main", "hello"],
      ["agent:main:webchat:direct:chat-a", "tool please"],
    ] as const) {
      await op.call("chat.send", { sessionKey: key, message: text, idempotencyKey: `k-${key}` });
      await op.waitForEvent((e) => e.state === "final" && (e.runIds as string[]).includes(`k-${key}`));
    }
    // A Telegram message through the inbound API (per-channel-peer: its own session).
    const res = await fetch(`${gw.url}/v1/inbound`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        channel: "telegram",
        chatType: "direct",
        peerId: "42",
        senderId: "42",
        senderName: "Bob",
        text: "hi",
        messageId: "tg-1",
      }),
    });
    expect(res.status).toBe(200);
    await op.call("sessions.patch", { key: "agent:main:telegram:direct:42", label: "Bob" });
  }, 60_000);

  afterAll(async () => {
    op?.close();
    bridge?.close();
    await gw?.stop(2000);
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it("sessions.query pages, filters and sorts on the server; a scoped client sees only its channels", async () => {
    const all = (await op.call("sessions.query", { limit: 2 })) as {
      total: number;
      sessions: Array<{ key: string }>;
      channels: string[];
    };
    expect(all.total).toBe(3);
    expect(all.sessions).toHaveLength(2);
    expect(all.channels).toEqual(["telegram", "webchat"]);
    const page2 = (await op.call("sessions.query", { limit: 2, offset: 2 })) as { sessions: unknown[] };
    expect(page2.sessions).toHaveLength(1);
    const tg = (await op.call("sessions.query", { channel: "telegram" })) as {
      sessions: Array<{ key: string; label?: string }>;
    };
    expect(tg.sessions.map((s) => s.key)).toEqual(["agent:main:telegram:direct:42"]);
    const labelled = (await op.call("sessions.query", { label: "bo" })) as { sessions: Array<{ label?: string }> };
    expect(labelled.sessions.map((s) => s.label)).toEqual(["Bob"]);
    // The tool turn made two model calls: the most tokens.
    const byTokens = (await op.call("sessions.query", { sort: "tokens" })) as {
      sessions: Array<{ key: string; usageTokens?: number }>;
    };
    expect(byTokens.sessions[0]!.key).toBe("agent:main:webchat:direct:chat-a");
    const asc = (await op.call("sessions.query", { sort: "tokens", order: "asc" })) as {
      sessions: Array<{ key: string }>;
    };
    expect(asc.sessions.at(-1)!.key).toBe("agent:main:webchat:direct:chat-a");
    const scoped = (await bridge.call("sessions.query", {})) as { total: number; sessions: Array<{ key: string }> };
    expect(scoped.sessions.map((s) => s.key)).toEqual(["agent:main:telegram:direct:42"]);
    const bad = await op.request("sessions.query", { limit: 501 });
    expect(bad.error).toMatchObject({ code: "INVALID_REQUEST" });
    expect((bad.error as { message: string }).message).toContain("limit: got 501");
  });

  it("usage.summary adds the rows' totals per day, model, channel and agent, with the top sessions", async () => {
    const u = (await op.call("usage.summary", { days: 7 })) as {
      rows: number;
      totals: { totalTokens: number; calls: number };
      byDay: Array<{ day: string; totalTokens: number }>;
      byModel: Record<string, { calls: number }>;
      byChannel: Record<string, unknown>;
      byAgent: Record<string, { totalTokens: number }>;
      topSessions: Array<{ key: string }>;
    };
    expect(u.rows).toBe(3);
    expect(u.totals.calls).toBe(4);
    expect(u.byDay).toHaveLength(1);
    expect(u.byDay[0]!.totalTokens).toBe(u.totals.totalTokens);
    expect(u.byModel["scripted/scripted"]!.calls).toBe(4);
    expect(Object.keys(u.byChannel).sort()).toEqual(["telegram", "webchat"]);
    expect(u.byAgent.main!.totalTokens).toBe(u.totals.totalTokens);
    expect(u.topSessions[0]!.key).toBe("agent:main:webchat:direct:chat-a");
  });

  it("the admin methods are the operator's", async () => {
    for (const [method, params] of [
      ["usage.summary", {}],
      ["cron.list", {}],
      ["logs.tail", {}],
      ["config.get", {}],
      ["config.validate", { text: "{}" }],
      ["security.audit", {}],
    ] as const) {
      const r = await bridge.request(method, params);
      expect(r.error, method).toMatchObject({ code: "FORBIDDEN" });
    }
  });

  it("cron.list shows the job; cron.run runs it now; cron.update disables and enables it, kept in a state file", async () => {
    const list = (await op.call("cron.list", {})) as { jobs: Array<Record<string, unknown>> };
    expect(list.jobs).toHaveLength(1);
    expect(list.jobs[0]).toMatchObject({ id: "nightly", schedule: "0 3 * * *", enabled: true, running: false });
    expect(list.jobs[0]!.deliver).toEqual({ channel: "telegram", to: "42" });
    expect(typeof list.jobs[0]!.nextRunAt).toBe("number");
    expect(await op.call("cron.run", { id: "nightly" })).toEqual({ ok: true, started: true });
    for (let i = 0; i < 100; i++) {
      const j = ((await op.call("cron.list", {})) as { jobs: Array<{ last?: { status: string; reply?: string } }> })
        .jobs[0]!;
      if (j.last) {
        expect(j.last).toMatchObject({ status: "ok", reply: "echo: night" });
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const off = (await op.call("cron.update", { id: "nightly", enabled: false })) as { job: Record<string, unknown> };
    expect(off.job.enabled).toBe(false);
    expect(off.job.nextRunAt).toBeUndefined();
    // Kept across a restart: the state file (0600) is read by the next scheduler.
    const stateFile = path.join(home, "cron-state.json");
    expect(JSON.parse(fs.readFileSync(stateFile, "utf8"))).toEqual({ enabled: { nightly: false } });
    expect(fs.statSync(stateFile).mode & 0o777).toBe(0o600);
    const on = (await op.call("cron.update", { id: "nightly", enabled: true })) as { job: Record<string, unknown> };
    expect(typeof on.job.nextRunAt).toBe("number");
    expect(JSON.parse(fs.readFileSync(stateFile, "utf8"))).toEqual({ enabled: {} });
    await op.call("cron.update", { id: "nightly", enabled: false });
    gw.cron.stop(); // croner's job names are process-wide: the restarted scheduler takes "nightly" over
    const next = new CronScheduler(gw.runtime, pino({ level: "silent" }), {
      jobs: [{ id: "nightly", schedule: "0 3 * * *", message: "night" }],
    });
    next.useStateFile(stateFile);
    expect(next.list()[0]).toMatchObject({ id: "nightly", enabled: false });
    next.stop();
    expect((await op.request("cron.run", { id: "nope" })).error).toMatchObject({ code: "NOT_FOUND" });
  });

  it("logs.tail returns recent records and follows new ones as log events, filtered", async () => {
    const r = (await op.call("logs.tail", { limit: 500 })) as { records: Array<{ msg: string }>; following: boolean };
    expect(r.following).toBe(false);
    expect(r.records.some((x) => x.msg.startsWith("gateway listening"))).toBe(true);
    const warn = (await op.call("logs.tail", { level: "warn" })) as { records: Array<{ level: string }> };
    expect(warn.records.every((x) => x.level === "warn" || x.level === "error" || x.level === "fatal")).toBe(true);
    const follow = (await op.call("logs.tail", { limit: 1, search: "cron job ran", follow: true })) as {
      following: boolean;
    };
    expect(follow.following).toBe(true);
    await op.call("cron.run", { id: "nightly" });
    const ev = await op.waitForEvent((e) => e.msg === "cron job ran" && typeof e.seq === "number");
    expect(ev.level).toBe("info");
    expect(String(ev.fields)).toContain("nightly");
  });

  it("config.get masks secrets; config.validate names the key; security.audit lists findings with remediations", async () => {
    const c = (await op.call("config.get", {})) as {
      config: { gateway: { auth: { token: string }; clients: Array<{ token: string }> } };
    };
    expect(c.config.gateway.auth.token).toBe("***");
    expect(c.config.gateway.clients[0]!.token).toBe("***");
    expect(JSON.stringify(c)).not.toContain(TOKEN);
    const bad = (await op.call("config.validate", { text: "{ session: { dmScope: 'sideways' } }" })) as {
      ok: boolean;
      problems: string[];
    };
    expect(bad.ok).toBe(false);
    expect(bad.problems.join("\n")).toMatch(/session\.dmScope: got "sideways", expected/);
    const syntax = (await op.call("config.validate", { text: "{ nope" })) as { ok: boolean; problems: string[] };
    expect(syntax.problems[0]).toMatch(/^syntax: /);
    expect(((await op.call("config.validate", { text: "{}" })) as { ok: boolean }).ok).toBe(true);
    const audit = (await op.call("security.audit", {})) as { findings: Array<{ checkId: string; severity: string }> };
    expect(audit.findings.length).toBeGreaterThan(0);
    expect(maskSecrets({ store: { url: "postgres://u:secret@h/db" }, env: { vars: { X: "y" } } })).toEqual({
      store: { url: "postgres://u:***@h/db" },
      env: { vars: { X: "***" } },
    });
  });

  it("serves the UI's libraries from node_modules by a fixed list only", async () => {
    for (const [p, type] of [
      ["/vendor/preact.js", "text/javascript"],
      ["/vendor/marked.js", "text/javascript"],
      ["/vendor/purify.js", "text/javascript"],
      ["/vendor/uplot.js", "text/javascript"],
      ["/vendor/uplot.css", "text/css"],
    ] as const) {
      const r = await fetch(`${gw.url}${p}`);
      expect(r.status, p).toBe(200);
      expect(r.headers.get("content-type")).toContain(type);
      expect(r.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect((await r.text()).length).toBeGreaterThan(1000);
    }
    for (const p of [
      "/vendor/nope.js",
      "/vendor/../package.json",
      "/node_modules/htm/package.json",
      "/vendor/preact.d.ts",
    ])
      expect((await fetch(`${gw.url}${p}`)).status, p).toBe(404);
  });

  it("a stopped run keeps its partial reply in the transcript (stopReason aborted)", async () => {
    const key = "agent:main:webchat:direct:chat-stop";
    await op.call("chat.send", { sessionKey: key, message: "slow please", idempotencyKey: "stop-1" });
    await op.waitForEvent(
      (e) => e.state === "delta" && e.sessionKey === key && String(e.text).includes("partial chunk 2."),
    );
    const abort = (await op.call("chat.abort", { sessionKey: key })) as { aborted: boolean };
    expect(abort.aborted).toBe(true);
    await op.waitForEvent((e) => e.state === "aborted" && e.sessionKey === key);
    const h = (await op.call("chat.history", { sessionKey: key })) as {
      messages: Array<{ role: string; text: string; stopReason?: string }>;
    };
    const last = h.messages.at(-1)!;
    expect(last.role).toBe("assistant");
    expect(last.text).toMatch(/^partial chunk 0\. partial chunk 1\. partial chunk 2\./);
    expect(last.stopReason).toBe("aborted");
    // The next turn still works and the history has the tool card data for tool turns.
    const tools = (await op.call("chat.history", { sessionKey: "agent:main:webchat:direct:chat-a" })) as {
      messages: Array<{
        role: string;
        toolCalls?: Array<{ name: string }>;
        toolName?: string;
        senderId?: string;
        channel?: string;
      }>;
    };
    expect(tools.messages.find((m) => m.toolCalls)?.toolCalls?.[0]?.name).toBe("lookup");
    expect(tools.messages.find((m) => m.role === "toolResult")?.toolName).toBe("lookup");
    expect(tools.messages[0]).toMatchObject({ role: "user", channel: "webchat", senderId: "operator" });
  });
});
