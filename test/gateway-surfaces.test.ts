/**
 * The other ways in: webhooks, cron, the OpenAI-compatible endpoint (driven by the official
 * `openai` client), the WebSocket chat stream, /metrics, and `pincer chat` as a real process.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { CronScheduler } from "../src/gateway/cron.ts";
import { isCronRunKey } from "../src/keys/session-key-helpers.ts";
import pino from "pino";
import { post, startTestGateway, TOKEN, WsClient } from "./helpers/gateway-harness.ts";

type Gw = Awaited<ReturnType<typeof startTestGateway>>;
let gw: Gw | null = null;
afterEach(async () => {
  await gw?.cleanup();
  gw = null;
});

describe("webhooks", () => {
  it("each hook has its own token and its own session", async () => {
    gw = await startTestGateway({
      hooks: {
        endpoints: [
          { id: "deploys", token: "deploy-hook-token-01234567" },
          { id: "alerts", token: "alert-hook-token-012345678" },
        ],
      },
    });
    const ok = await post(
      `${gw.url}/hooks/deploys`,
      { text: "v1.2 shipped" },
      { authorization: "Bearer deploy-hook-token-01234567" },
    );
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ sessionKey: "agent:main:hook:deploys", reply: "echo: v1.2 shipped" });
    const wrong = await post(
      `${gw.url}/hooks/deploys`,
      { text: "x" },
      { authorization: "Bearer alert-hook-token-012345678" },
    );
    expect(wrong.status).toBe(401);
    const operator = await post(`${gw.url}/hooks/deploys`, { text: "x" });
    expect(operator.status).toBe(401);
    const empty = await post(
      `${gw.url}/hooks/alerts`,
      { text: "  " },
      { authorization: "Bearer alert-hook-token-012345678" },
    );
    expect(empty.status).toBe(400);
    // A hook's text is never a command.
    const cmd = await post(
      `${gw.url}/hooks/alerts`,
      { text: "/send off" },
      { authorization: "Bearer alert-hook-token-012345678" },
    );
    expect(cmd.json.reply).toBe("echo: /send off");
  });
});

describe("cron", () => {
  it("isolated runs get fresh sessions, never extend idle freshness, and old run rows are reaped", async () => {
    gw = await startTestGateway();
    const cron = new CronScheduler(gw.runtime, pino({ level: "silent" }), { sessionRetention: "1h" });
    const job = { id: "digest", schedule: "0 7 * * *", message: "morning digest" };
    const a = await cron.runJob(job);
    const b = await cron.runJob(job);
    expect(a.sessionKey).not.toBe(b.sessionKey);
    expect(a.sessionId).not.toBe(b.sessionId);
    expect(isCronRunKey(a.sessionKey)).toBe(true);
    expect(a.reply).toBe("echo: morning digest");
    // A shared (non-isolated) job session is not kept alive by cron turns: lastInteractionAt stays put.
    const shared = await cron.runJob({ ...job, isolated: false });
    expect(shared.sessionKey).toBe("agent:main:cron:digest");
    const t0 = Date.now() - 30 * 60_000;
    await gw.runtime.manager.patchSession("main", shared.sessionKey, (cur) => ({ ...cur!, lastInteractionAt: t0 }));
    const again = await cron.runJob({ ...job, isolated: false });
    expect(again.sessionId).toBe(shared.sessionId);
    expect((await gw.runtime.manager.get("main", shared.sessionKey))?.lastInteractionAt).toBe(t0);
    // Age run a past the retention: the reaper removes it and keeps b.
    await gw.runtime.manager.patchSession("main", a.sessionKey, (cur) => ({
      ...cur!,
      updatedAt: Date.now() - 2 * 3_600_000,
    }));
    expect(await cron.reap()).toBe(1);
    expect(await gw.runtime.manager.get("main", a.sessionKey)).toBeUndefined();
    expect(await gw.runtime.manager.get("main", b.sessionKey)).toBeDefined();
    cron.stop();
  });

  it("a bad schedule is reported with the job and the value", async () => {
    gw = await startTestGateway();
    expect(
      () =>
        new CronScheduler(gw!.runtime, pino({ level: "silent" }), {
          jobs: [{ id: "bad", schedule: "every tuesday", message: "x" }],
        }),
    ).toThrow(/cron\.jobs\[bad\]\.schedule: got "every tuesday"/);
  });
});

describe("OpenAI-compatible endpoint (official openai client)", () => {
  it("answers non-streaming and streaming requests; `user` selects the session", async () => {
    gw = await startTestGateway();
    const client = new OpenAI({ apiKey: TOKEN, baseURL: `${gw.url}/v1` });
    const res = await client.chat.completions.create({
      model: "pincer",
      user: "bob",
      messages: [{ role: "user", content: "hi there" }],
    });
    expect(res.choices[0]!.message.content).toBe("echo: hi there");
    const stream = await client.chat.completions.create({
      model: "pincer",
      user: "bob",
      stream: true,
      messages: [{ role: "user", content: "stream me" }],
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe("echo: stream me");
    // `user` selects agent:<agent>:openai-user:<user>, whatever the dmScope (as in OpenClaw).
    const history = await gw.runtime.manager.history("main", "agent:main:openai-user:bob");
    expect(history.items.filter((i) => i.role === "user").map((i) => i.text)).toEqual(["hi there", "stream me"]);
    const wrongKey = new OpenAI({ apiKey: "not-the-token", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await expect(
      wrongKey.chat.completions.create({ model: "pincer", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toMatchObject({ status: 401 });
  });

  it("x-pincer-session-key selects an existing session", async () => {
    gw = await startTestGateway({ session: { dmScope: "per-channel-peer" } });
    await post(`${gw.url}/v1/inbound`, {
      channel: "telegram",
      chatType: "direct",
      peerId: "carol",
      senderId: "carol",
      text: "from telegram",
    });
    const client = new OpenAI({
      apiKey: TOKEN,
      baseURL: `${gw.url}/v1`,
      defaultHeaders: { "x-pincer-session-key": "agent:main:telegram:direct:carol" },
    });
    const res = await client.chat.completions.create({
      model: "pincer",
      messages: [{ role: "user", content: "from openai" }],
    });
    expect(res.choices[0]!.message.content).toBe("echo: from openai");
    const history = await gw.runtime.manager.history("main", "agent:main:telegram:direct:carol");
    expect(history.items.filter((i) => i.role === "user").map((i) => i.text)).toEqual(["from telegram", "from openai"]);
  });
});

describe("WebSocket chat stream, metrics, pincer chat", () => {
  it("chat.send streams deltas then a final event; chat.history returns the messages", async () => {
    gw = await startTestGateway();
    const ws = await WsClient.connect(gw.url);
    const sent = await ws.call("chat.send", {
      sessionKey: "agent:main:main",
      message: "stream",
      idempotencyKey: "run-1",
    });
    expect(sent).toMatchObject({ runId: "run-1", status: "started" });
    const final = await ws.waitForEvent((e) => e.state === "final" && (e.runIds as string[]).includes("run-1"));
    expect(final.message).toBe("echo: stream");
    const deltas = ws.events
      .filter((e) => e.state === "delta" && (e.runIds as string[]).includes("run-1"))
      .map((e) => e.text)
      .join("");
    expect(deltas).toBe("echo: stream");
    const again = await ws.call("chat.send", {
      sessionKey: "agent:main:main",
      message: "stream",
      idempotencyKey: "run-1",
    });
    expect(again.status).toBe("ok");
    const hist = await ws.call("chat.history", { sessionKey: "agent:main:main" });
    expect((hist.messages as Array<{ role: string }>).map((m) => m.role)).toEqual(["user", "assistant"]);
    const list = await ws.call("sessions.list", {});
    expect((list.sessions as Array<{ key: string }>).map((s) => s.key)).toEqual(["agent:main:main"]);
    const compact = await ws.call("sessions.compact", { key: "agent:main:main" });
    expect(compact).toMatchObject({ ok: true, compacted: false, status: "skipped" });
    const unauth = await WsClient.connect(gw.url, TOKEN).then(async (c) => {
      c.close();
      return true;
    });
    expect(unauth).toBe(true);
    ws.close();
    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(metrics).toMatch(/pincer_turns_total\{status="ok"\} 1/);
    expect(metrics).toMatch(/pincer_session_resets_total\{reason="new-session"\} 1/);
    expect(metrics).toMatch(/pincer_store_operation_seconds_count\{op="appendTranscript"\} \d+/);
    expect(metrics).toContain("pincer_queue_depth 0");
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
  });

  it("`pincer chat` talks to the running gateway", async () => {
    gw = await startTestGateway();
    const bin = path.resolve(import.meta.dirname, "../bin/pincer.js");
    const env = { ...process.env, PINCER_HOME: gw.home, PINCER_GATEWAY_TOKEN: TOKEN };
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      // Async spawn: the gateway runs in this process and must keep serving while the CLI waits.
      import("node:child_process").then(({ execFile }) => {
        execFile(
          process.execPath,
          [bin, "chat", "--url", gw!.url, "--session", "agent:main:main", "hello", "cli"],
          { env },
          (err, stdout, stderr) => {
            resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
          },
        );
      });
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("echo: hello cli");
    expect(r.status).toBe(0);
    const bad = spawnSync(process.execPath, [bin, "chat", "--url", "http://127.0.0.1:1", "hi"], {
      env,
      encoding: "utf8",
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/cannot reach the gateway/);
  });
});
