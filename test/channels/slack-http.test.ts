/**
 * Slack HTTP Events mode (bolt's HTTPReceiver on the adapter's own listener): signed requests in,
 * bad signatures refused, the response held until ingest resolved, retries deduped by message id,
 * URL verification; and once end to end against crabline's Slack server (it signs and delivers).
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startSlackServer } from "@openclaw/crabline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSlackAdapter } from "../../src/channels/slack/index.ts";
import type { ChannelAdapter } from "../../src/channels/types.ts";
import { startSlackFake, type SlackFake } from "./fakes/slack.ts";
import { freePort, recorder, until, type Recorder } from "./fakes/slack-signal-context.ts";

describe("slack HTTP Events mode against signed requests", () => {
  let fake: SlackFake;
  let adapter: ChannelAdapter;
  let rec: Recorder;
  let url: string;

  beforeAll(async () => {
    fake = await startSlackFake();
    const port = await freePort();
    url = `http://127.0.0.1:${port}/hooks/slack`;
    adapter = createSlackAdapter({
      channel: "slack",
      accountId: "work",
      token: fake.botToken,
      signingSecret: fake.signingSecret,
      baseUrl: fake.apiUrl,
      raw: { mode: "http", webhookPath: "/hooks/slack", webhookPort: port },
    });
    rec = recorder({ dedupe: true });
    await adapter.start(rec.ctx);
  });

  afterAll(async () => {
    await adapter.stop();
    await fake.close();
  });

  it("a signed event is ingested; the answer waits for ingest", async () => {
    let release!: () => void;
    rec.holdIngest(new Promise<void>((r) => (release = r)));
    const ev = fake.messageEvent({ channel: "CHTTP0001", user: "UERIN0001", text: "over http" });
    let answered = false;
    const posting = fake.postHttpEvent(url, ev).then((r) => {
      answered = true;
      return r;
    });
    const id = `CHTTP0001:${String(ev.ts)}`;
    await until(() => rec.timeline.includes(`ingest:${id}`));
    expect(answered).toBe(false);
    release();
    rec.holdIngest(undefined);
    expect((await posting).status).toBe(200);
    const m = await rec.next((x) => x.envelope.messageId === id);
    expect(m.envelope).toMatchObject({
      accountId: "work",
      chatType: "channel",
      peerId: "CHTTP0001",
      teamId: fake.teamId,
    });
    expect(adapter.status()).toMatchObject({ connected: true, mode: "http" });
  });

  it("Slack's retries (x-slack-retry-num) carry the same message id and are refused as duplicates", async () => {
    const ev = fake.messageEvent({ channel: "DERIN0001", user: "UERIN0001", text: "retry me" });
    expect((await fake.postHttpEvent(url, ev)).status).toBe(200);
    expect((await fake.postHttpEvent(url, ev, { retryNum: 1 })).status).toBe(200);
    expect((await fake.postHttpEvent(url, ev, { retryNum: 2 })).status).toBe(200);
    expect(rec.inbound.filter((m) => m.envelope.text === "retry me")).toHaveLength(1);
    expect(rec.timeline.filter((t) => t === `duplicate:DERIN0001:${String(ev.ts)}`)).toHaveLength(2);
  });

  it("a wrong signature is 401 and nothing is ingested", async () => {
    const before = rec.timeline.length;
    const ev = fake.messageEvent({ channel: "CHTTP0001", user: "UERIN0001", text: "forged" });
    expect((await fake.postHttpEvent(url, ev, { secret: "not-the-secret" })).status).toBe(401);
    expect(rec.timeline.length).toBe(before);
  });

  it("URL verification is answered with the challenge; a malformed body is a 4xx, not a crash", async () => {
    const body = JSON.stringify({ type: "url_verification", challenge: "chal-123", token: "t" });
    const ok = await fake.postHttpEvent(url, {}, { body });
    expect(ok.status).toBe(200);
    const bad = await fake.postHttpEvent(url, {}, { body: "{not json" });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.status).toBeLessThan(500);
    await fake.postHttpEvent(url, fake.messageEvent({ channel: "CHTTP0001", user: "UERIN0001", text: "still fine" }));
    await rec.next((x) => x.envelope.text === "still fine");
  });
});

describe("slack HTTP Events mode against crabline's Slack server", () => {
  it("crabline delivers a signed DM event; the reply is accepted by its chat.postMessage", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "pincer-slack-crabline-"));
    const port = await freePort();
    const server = await startSlackServer({
      recorderPath: path.join(dir, "slack.jsonl"),
      eventsRequestUrl: `http://127.0.0.1:${port}/slack/events`,
    });
    const m = server.manifest;
    const rec = recorder();
    const adapter = createSlackAdapter({
      channel: "slack",
      accountId: "default",
      token: m.botToken,
      signingSecret: m.signingSecret,
      baseUrl: m.endpoints.apiRoot,
      raw: { mode: "http", webhookPort: port },
    });
    try {
      await adapter.start(rec.ctx);
      const res = await fetch(m.endpoints.adminInboundUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${m.adminToken}` },
        body: JSON.stringify({ channel: "D0CRAB001", user: "UFRANK001", text: "hi from crabline" }),
      });
      expect(res.status).toBe(200);
      const msg = await rec.next((x) => x.envelope.text === "hi from crabline");
      expect(msg.envelope).toMatchObject({ chatType: "direct", peerId: "UFRANK001", teamId: "TCRABLINE" });
      const receipt = await adapter.send({
        target: msg.reply,
        text: adapter.render("**done**"),
        idempotencyKey: "c:0",
      });
      expect(receipt.messageIds).toHaveLength(1);
    } finally {
      await adapter.stop();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
