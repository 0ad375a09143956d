/**
 * Cross-principal isolation: a bridge token for Telegram cannot read, send to, reset or otherwise
 * touch a Discord session, over HTTP, the WebSocket or the OpenAI-compatible endpoint.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startTestGateway, WsClient } from "./helpers/gateway-harness.ts";

const TG = "telegram-bridge-token-0123456789";
const DISCORD_KEY = "agent:main:discord:direct:bob";
let gw: Awaited<ReturnType<typeof startTestGateway>>;
let transcriptBefore = "";
let transcriptFile = "";

beforeAll(async () => {
  gw = await startTestGateway({
    session: { dmScope: "per-channel-peer" },
    gateway: { clients: [{ id: "tg-bridge", token: TG, channels: ["telegram"] }] } as never,
    hooks: { endpoints: [{ id: "ci", token: "ci-hook-token-0123456789abcdef" }] },
  });
  const r = await post(`${gw.url}/v1/inbound`, {
    channel: "discord",
    chatType: "direct",
    peerId: "bob",
    senderId: "bob",
    text: "bob's secret plan",
  });
  expect(r.json.sessionKey).toBe(DISCORD_KEY);
  transcriptFile = path.join(gw.home, "agents", "main", "sessions", `${r.json.sessionId as string}.jsonl`);
  transcriptBefore = fs.readFileSync(transcriptFile, "utf8");
}, 60_000);
afterAll(async () => {
  // Nothing the bridge tried changed Bob's session.
  expect(fs.readFileSync(transcriptFile, "utf8")).toBe(transcriptBefore);
  await gw.cleanup();
});

describe("a Telegram bridge token", () => {
  it("HTTP: may post Telegram messages, not Discord ones; cannot read another principal's runs", async () => {
    expect(
      (
        await post(
          `${gw.url}/v1/inbound`,
          { channel: "telegram", chatType: "direct", peerId: "al", senderId: "al", text: "hi" },
          { authorization: `Bearer ${TG}` },
        )
      ).status,
    ).toBe(200);
    const discord = await post(
      `${gw.url}/v1/inbound`,
      { channel: "discord", chatType: "direct", peerId: "bob", senderId: "bob", text: "let me in" },
      { authorization: `Bearer ${TG}` },
    );
    expect(discord).toMatchObject({ status: 403, json: { error: { code: "forbidden" } } });
    const op = await post(`${gw.url}/v1/inbound?async=1`, {
      channel: "discord",
      chatType: "direct",
      peerId: "bob",
      senderId: "bob",
      text: "operator note",
    });
    const run = await fetch(`${gw.url}/v1/runs/${op.json.runId as string}`, {
      headers: { authorization: `Bearer ${TG}` },
    });
    expect(run.status).toBe(404);
    // (the operator's note is part of Bob's session: refresh the baseline)
    await new Promise((r) => setTimeout(r, 200));
    transcriptBefore = fs.readFileSync(transcriptFile, "utf8");
    // A hook token is not a gateway principal.
    expect(
      (
        await post(
          `${gw.url}/v1/inbound`,
          { channel: "telegram", chatType: "direct", peerId: "al", senderId: "al", text: "x" },
          { authorization: "Bearer ci-hook-token-0123456789abcdef" },
        )
      ).status,
    ).toBe(401);
  });

  it("WebSocket: no history, send, reset, patch, abort, delete or listing of the Discord session, and none of its events", async () => {
    const ws = await WsClient.connect(gw.url, TG);
    const forbidden = { ok: false, error: { code: "FORBIDDEN" } };
    expect(await ws.request("chat.history", { sessionKey: DISCORD_KEY })).toMatchObject(forbidden);
    expect(
      await ws.request("chat.send", { sessionKey: DISCORD_KEY, message: "hello bob", idempotencyKey: "x1" }),
    ).toMatchObject(forbidden);
    expect(await ws.request("sessions.reset", { key: DISCORD_KEY })).toMatchObject(forbidden);
    expect(await ws.request("sessions.patch", { key: DISCORD_KEY, sendPolicy: "deny" })).toMatchObject(forbidden);
    expect(await ws.request("sessions.delete", { key: DISCORD_KEY })).toMatchObject(forbidden);
    expect(await ws.request("sessions.compact", { key: DISCORD_KEY })).toMatchObject(forbidden);
    expect(await ws.request("chat.abort", { sessionKey: DISCORD_KEY })).toMatchObject(forbidden);
    // Case and encoding tricks land on the same canonical key and the same answer.
    expect(await ws.request("chat.history", { sessionKey: "AGENT:MAIN:DISCORD:DIRECT:BOB" })).toMatchObject(forbidden);
    const list = await ws.call("sessions.list", {});
    const keys = (list.sessions as Array<{ key: string }>).map((s) => s.key);
    expect(keys).toContain("agent:main:telegram:direct:al");
    expect(keys).not.toContain(DISCORD_KEY);
    expect(await ws.request("sessions.resolve", { label: "nothing" })).toMatchObject({ ok: false });
    // The operator talks to Bob; the bridge's socket hears nothing of it.
    const op = await WsClient.connect(gw.url);
    await op.call("chat.send", { sessionKey: DISCORD_KEY, message: "operator to bob", idempotencyKey: "op-1" });
    await op.waitForEvent((e) => e.state === "final" && (e.runIds as string[]).includes("op-1"));
    await new Promise((r) => setTimeout(r, 100));
    expect(ws.events.some((e) => e.sessionKey === DISCORD_KEY)).toBe(false);
    transcriptBefore = fs.readFileSync(transcriptFile, "utf8");
    op.close();
    ws.close();
  });

  it("OpenAI endpoint: cannot name the Discord session, nor use the openai channel it was not given", async () => {
    const body = { model: "x", messages: [{ role: "user", content: "what did bob say?" }] };
    expect(
      (
        await post(`${gw.url}/v1/chat/completions`, body, {
          authorization: `Bearer ${TG}`,
          "x-pincer-session-key": DISCORD_KEY,
        })
      ).status,
    ).toBe(403);
    expect((await post(`${gw.url}/v1/chat/completions`, body, { authorization: `Bearer ${TG}` })).status).toBe(403);
    const own = await post(`${gw.url}/v1/chat/completions`, body, {
      authorization: `Bearer ${TG}`,
      "x-pincer-session-key": "agent:main:telegram:direct:al",
    });
    expect(own.status).toBe(200);
    expect(JSON.stringify(own.json)).not.toContain("secret plan");
  });
});
