/**
 * The Signal adapter against a local signal-cli daemon (in-repo fake; once against crabline's
 * Signal server): senders and groups as OpenClaw keys them, loop protection, skipped events, the
 * SSE stream coming back after a drop, sends/typing over JSON-RPC and their failure kinds.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startSignalServer } from "@openclaw/crabline";
import { createSignalAdapter } from "../../src/channels/signal/index.ts";
import { markdownToPlain } from "../../src/channels/signal/render.ts";
import { SseParser } from "../../src/channels/signal/sse.ts";
import {
  ChannelFatalError,
  type ChannelAdapter,
  type OutboundChunk,
  type ReplyTarget,
} from "../../src/channels/types.ts";
import { startSignalFake, type SignalFake } from "./fakes/signal.ts";
import { freePort, recorder, sendError, type Recorder } from "./fakes/slack-signal-context.ts";

let fake: SignalFake;
let adapter: ChannelAdapter;
let rec: Recorder;

const settings = (f: { account: string; httpUrl: string }, raw: Record<string, unknown> = {}) => ({
  channel: "signal" as const,
  accountId: "default",
  account: f.account,
  baseUrl: f.httpUrl,
  raw,
});

const target = (to: string): ReplyTarget => ({ channel: "signal", accountId: "default", to });
const chunk = (to: string, text: string): OutboundChunk => ({ target: target(to), text, idempotencyKey: `${to}:0` });

beforeAll(async () => {
  fake = await startSignalFake();
  adapter = createSignalAdapter(settings(fake));
  rec = recorder({ dedupe: true });
  await adapter.start(rec.ctx);
});

afterAll(async () => {
  await adapter.stop();
  await fake.close();
});

const alice = { id: "+15557770001", name: "Alice" };
const hidden = { id: "uuid:8d2f2a0e-7c1b-4d9e-a3f4-5b6c7d8e9f01" };

describe("signal inbound: senders, groups and keys", () => {
  it("a DM from an E.164 sender: direct, peer = the number, reply to the number", async () => {
    const id = await fake.sendDirect(alice, "hi bot");
    const m = await rec.next((x) => x.envelope.text === "hi bot");
    expect(m.envelope).toMatchObject({
      channel: "signal",
      accountId: "default",
      chatType: "direct",
      peerId: "+15557770001",
      senderId: "+15557770001",
      senderName: "Alice",
      messageId: id,
    });
    expect(m.envelope.wasMentioned).toBeUndefined();
    expect(m.envelope.groupId).toBeUndefined();
    expect(m.reply).toEqual(target("+15557770001"));
  });

  it("a sender without a number is uuid:<id>, case kept, and is answered by uuid", async () => {
    await fake.sendDirect(hidden, "no number here");
    const m = await rec.next((x) => x.envelope.text === "no number here");
    expect(m.envelope).toMatchObject({ chatType: "direct", peerId: hidden.id, senderId: hidden.id });
    expect(m.reply.to).toBe(hidden.id);
    await adapter.send(chunk(m.reply.to, "hello hidden"));
    expect(fake.calls("send").at(-1)).toMatchObject({
      recipient: ["8d2f2a0e-7c1b-4d9e-a3f4-5b6c7d8e9f01"],
      account: fake.account,
    });
  });

  it("a group message keeps the group id exactly (case and base64 punctuation) and its name", async () => {
    const groupId = "AbCdEf+GhIjKl/MnOpQ==";
    await fake.sendGroup({ id: groupId, name: "Family" }, alice, "dinner?");
    const m = await rec.next((x) => x.envelope.text === "dinner?");
    expect(m.envelope).toMatchObject({
      chatType: "group",
      peerId: groupId,
      groupId,
      senderId: alice.id,
      wasMentioned: false,
    });
    expect(m.groupName).toBe("Family");
    expect(m.reply).toEqual(target(`group:${groupId}`));
    expect(fake.groupPeer(groupId)).toEqual({ chatType: "group", peer: groupId });
  });

  it("a native mention of our account is explicit and rendered as @<number|uuid>", async () => {
    await fake.sendGroup({ id: "GroupMention1=" }, alice, "what time is it", { mention: true });
    const m = await rec.next((x) => x.envelope.text.endsWith("what time is it"));
    expect(m.envelope.text).toBe(`@${fake.botUuid} what time is it`);
    expect(m.mention).toEqual({ explicit: true, replyToBot: false });
    expect(m.envelope.wasMentioned).toBe(true);
  });

  it("quoting one of our messages is a reply to the bot", async () => {
    const ts = fake.nextTimestamp();
    await fake.emitEnvelope({
      sourceNumber: alice.id,
      timestamp: ts,
      dataMessage: {
        timestamp: ts,
        message: "about that",
        groupInfo: { groupId: "GroupQuote1=" },
        quote: { id: 1, authorNumber: fake.account, text: "earlier answer" },
      },
    });
    const m = await rec.next((x) => x.envelope.text === "about that");
    expect(m.mention).toEqual({ explicit: false, replyToBot: true });
  });
});

describe("signal inbound: loop protection and skipped events", () => {
  const skipCase = async (envelope: Record<string, unknown>, reason: string): Promise<void> => {
    const before = rec.inbound.length;
    const n = rec.skipped.filter((s) => s.reason === reason).length;
    await fake.emitEnvelope(envelope);
    await fake.sendDirect(alice, `marker ${reason}`);
    await rec.next((x) => x.envelope.text === `marker ${reason}`);
    expect(rec.skipped.filter((s) => s.reason === reason).length).toBe(n + 1);
    expect(rec.inbound.length).toBe(before + 1);
  };
  const ts = () => fake.nextTimestamp();

  it("our own sync messages are never ingested", () =>
    skipCase(
      {
        sourceNumber: fake.account,
        sourceUuid: fake.botUuid,
        timestamp: ts(),
        syncMessage: { sentMessage: { destinationNumber: alice.id, message: "my own reply", timestamp: ts() } },
      },
      "self",
    ));
  it("a data message with our own number as source is skipped", () =>
    skipCase(
      { sourceNumber: fake.account, timestamp: ts(), dataMessage: { message: "echo", timestamp: ts() } },
      "self",
    ));
  it("…and with our uuid (learnt from a sync message) as the only source", () =>
    skipCase(
      { sourceUuid: fake.botUuid, timestamp: ts(), dataMessage: { message: "echo2", timestamp: ts() } },
      "self",
    ));
  it("receipts are skipped", () =>
    skipCase(
      { sourceNumber: alice.id, timestamp: ts(), receiptMessage: { isDelivery: true, timestamps: [1] } },
      "receipt",
    ));
  it("typing events are skipped", () =>
    skipCase(
      { sourceNumber: alice.id, timestamp: ts(), typingMessage: { action: "STARTED", timestamp: 1 } },
      "typing",
    ));
  it("reactions are skipped", () =>
    skipCase(
      {
        sourceNumber: alice.id,
        timestamp: ts(),
        dataMessage: { timestamp: ts(), reaction: { emoji: "👍", targetSentTimestamp: 1 } },
      },
      "reaction",
    ));
  it("edits are skipped", () =>
    skipCase(
      {
        sourceNumber: alice.id,
        timestamp: ts(),
        editMessage: { targetSentTimestamp: 1, dataMessage: { message: "fixed" } },
      },
      "edited",
    ));
  it("remote deletions are skipped", () =>
    skipCase(
      { sourceNumber: alice.id, timestamp: ts(), dataMessage: { timestamp: ts(), remoteDelete: { timestamp: 1 } } },
      "deleted",
    ));
  it("attachment-only messages are skipped", () =>
    skipCase(
      {
        sourceNumber: alice.id,
        timestamp: ts(),
        dataMessage: { timestamp: ts(), attachments: [{ contentType: "image/png", id: "a1" }] },
      },
      "media-only",
    ));
  it("sticker-only messages are skipped", () =>
    skipCase(
      {
        sourceNumber: alice.id,
        timestamp: ts(),
        dataMessage: { timestamp: ts(), sticker: { packId: "p", stickerId: 1 } },
      },
      "sticker-only",
    ));
  it("an envelope without a source is malformed", () =>
    skipCase({ timestamp: ts(), dataMessage: { message: "from nobody", timestamp: ts() } }, "malformed"));

  it("non-JSON data, exceptions and other event types do not break the stream", async () => {
    const before = rec.skipped.filter((s) => s.reason === "malformed").length;
    await fake.emitRaw("event:receive\ndata:{broken\n\n");
    await fake.emitRaw(
      `event:receive\ndata:${JSON.stringify({ exception: { message: "decrypt failed", type: "ProtocolInvalidMessageException" } })}\n\n`,
    );
    await fake.emitRaw("event:other\ndata:{}\n\n: keep-alive\n\n");
    await fake.sendDirect(alice, "after garbage");
    await rec.next((x) => x.envelope.text === "after garbage");
    expect(rec.skipped.filter((s) => s.reason === "malformed").length).toBe(before + 1);
    expect(rec.skipped.some((s) => s.reason === "receive-exception")).toBe(true);
  });

  it("an event split across chunks with CRLF line ends arrives whole", async () => {
    const t = fake.nextTimestamp();
    const data = JSON.stringify({
      envelope: { sourceNumber: alice.id, timestamp: t, dataMessage: { message: "split event", timestamp: t } },
    });
    await fake.emitRaw(`event: receive\r\ndata: ${data.slice(0, 20)}`);
    await fake.emitRaw(`${data.slice(20)}\r`);
    await fake.emitRaw("\n\r\n");
    const m = await rec.next((x) => x.envelope.text === "split event");
    expect(m.envelope.messageId).toBe(`${alice.id}:${t}`);
  });

  it("a 20 000-character message is ingested whole", async () => {
    const text = "z".repeat(20_000);
    await fake.sendDirect(alice, text);
    const m = await rec.next((x) => x.envelope.text.length === 20_000);
    expect(m.envelope.text).toBe(text);
  });

  it("the same envelope delivered twice is refused by the dedupe (same messageId)", async () => {
    const t = fake.nextTimestamp();
    const env = { sourceNumber: alice.id, timestamp: t, dataMessage: { message: "twice", timestamp: t } };
    await fake.emitEnvelope(env);
    await fake.emitEnvelope(env);
    await fake.sendDirect(alice, "after twice");
    await rec.next((x) => x.envelope.text === "after twice");
    expect(rec.inbound.filter((m) => m.envelope.text === "twice")).toHaveLength(1);
    expect(rec.timeline).toContain(`duplicate:${alice.id}:${t}`);
  });
});

describe("signal stream: drops and fatal errors", () => {
  let f2: SignalFake | undefined;
  let a2: ChannelAdapter | undefined;
  afterEach(async () => {
    await a2?.stop();
    await f2?.close();
    a2 = undefined;
    f2 = undefined;
  });

  it("a dropped SSE stream is reopened and messages keep coming", async () => {
    const opened = fake.streamsOpened;
    await fake.dropConnection();
    await fake.waitForStreams(opened + 1);
    await fake.sendDirect(alice, "after the drop");
    await rec.next((x) => x.envelope.text === "after the drop");
    expect(rec.disconnects).toHaveLength(0);
    expect(adapter.status()).toMatchObject({ connected: true, mode: "sse" });
  });

  it("messages sent while the stream was down arrive after it comes back", async () => {
    const opened = fake.streamsOpened;
    await fake.dropConnection();
    await fake.sendDirect(alice, "while down");
    await fake.waitForStreams(opened + 1);
    await rec.next((x) => x.envelope.text === "while down");
  });

  it("a daemon that refuses us (401) while connected stops the account for good", async () => {
    f2 = await startSignalFake();
    const r2 = recorder();
    a2 = createSignalAdapter(settings(f2));
    await a2.start(r2.ctx);
    f2.revokeToken();
    expect(await r2.nextDisconnect()).toBeInstanceOf(ChannelFatalError);
    expect((await sendError(a2, chunk(alice.id, "x"))).kind).toBe("auth");
  });

  it("start: refused (401) is ChannelFatalError; no daemon is a retryable error", async () => {
    f2 = await startSignalFake();
    f2.revokeToken();
    a2 = createSignalAdapter(settings(f2));
    await expect(a2.start(recorder().ctx)).rejects.toBeInstanceOf(ChannelFatalError);
    const gone = createSignalAdapter(
      settings({ account: "+15550001111", httpUrl: `http://127.0.0.1:${await freePort()}` }),
    );
    const err = await gone.start(recorder().ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(ChannelFatalError);
  });

  it("a bad account fails start naming the key", async () => {
    a2 = createSignalAdapter(settings({ account: "alice", httpUrl: fake.httpUrl }));
    await expect(a2.start(recorder().ctx)).rejects.toThrow(/channels\.signal\.account/);
  });
});

describe("signal send and typing", () => {
  it("DM send: JSON-RPC send with recipient and account; the timestamp is the message id", async () => {
    const r = await adapter.send(chunk(alice.id, "plain reply"));
    expect(r.messageIds).toHaveLength(1);
    expect(r.messageIds[0]).toMatch(/^\d+$/);
    expect(fake.calls("send").at(-1)).toEqual({ recipient: [alice.id], message: "plain reply", account: fake.account });
    expect(fake.sent().at(-1)).toEqual({ to: alice.id, text: "plain reply" });
  });

  it("group send uses groupId exactly", async () => {
    await adapter.send(chunk("group:AbCdEf+GhIjKl/MnOpQ==", "to the group"));
    expect(fake.calls("send").at(-1)).toMatchObject({ groupId: "AbCdEf+GhIjKl/MnOpQ==" });
  });

  it("rate limit (-5) is rate-limited with its retry-after; removed from a group is permanent", async () => {
    fake.rateLimitNextSend(30);
    const rl = await sendError(adapter, chunk(alice.id, "x"));
    expect(rl.kind).toBe("rate-limited");
    expect(rl.retryAfterMs).toBe(30_000);
    fake.removeBotFrom("GroupGone==");
    const gone = await sendError(adapter, chunk("group:GroupGone==", "hello?"));
    expect(gone.kind).toBe("permanent");
  });

  it("a refused connection is transient", async () => {
    const dead = createSignalAdapter(
      settings({ account: fake.account, httpUrl: `http://127.0.0.1:${await freePort()}` }),
    );
    expect((await sendError(dead, chunk(alice.id, "x"))).kind).toBe("transient");
  });

  it("typing goes out as sendTyping", async () => {
    await adapter.typing?.(target("group:GroupMention1="));
    expect(fake.calls("sendTyping").at(-1)).toEqual({ groupId: "GroupMention1=", account: fake.account });
  });

  it("probe checks the daemon", async () => {
    expect(await adapter.probe()).toEqual({ ok: true, identity: { id: fake.account } });
  });
});

describe("signal against crabline's Signal server", () => {
  it("a DM injected there is ingested; the reply is accepted by its strict RPC checks", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "pincer-signal-crabline-"));
    const server = await startSignalServer({ account: "+15550002222", recorderPath: path.join(dir, "signal.jsonl") });
    const r = recorder();
    const a = createSignalAdapter(settings({ account: server.manifest.account, httpUrl: server.manifest.baseUrl }));
    try {
      await a.start(r.ctx);
      const res = await fetch(server.manifest.endpoints.adminInboundUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${server.manifest.adminToken}` },
        body: JSON.stringify({ sourceNumber: "+15557770009", sourceName: "Bob", text: "hello from crabline" }),
      });
      expect(res.status).toBe(200);
      const m = await r.next((x) => x.envelope.text === "hello from crabline");
      expect(m.envelope).toMatchObject({ chatType: "direct", peerId: "+15557770009", senderName: "Bob" });
      const receipt = await a.send({ target: m.reply, text: "hi Bob", idempotencyKey: "c:0" });
      expect(receipt.messageIds).toHaveLength(1);
      await a.typing?.(m.reply);
      const log = await readFile(path.join(dir, "signal.jsonl"), "utf8");
      expect(log).toContain('"method":"send"');
      expect(log).toContain("hi Bob");
    } finally {
      await a.stop();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("signal pure parts", () => {
  it("SSE parser: multi-line data, comments, ids, CR/LF/CRLF", () => {
    const p = new SseParser();
    expect(p.push(": hi\nevent: receive\ndata: a\ndata: b\nid: 7\n\n")).toEqual([
      { event: "receive", data: "a\nb", id: "7" },
    ]);
    expect(p.push("data:x\r")).toEqual([]);
    // The last event id persists until a later `id:` (WHATWG event-stream rules).
    expect(p.push("\n\r\n")).toEqual([{ event: "message", data: "x", id: "7" }]);
    expect(p.push("data:y\r\rdata:z\n")).toEqual([{ event: "message", data: "y", id: "7" }]);
    expect(p.push("\n")).toEqual([{ event: "message", data: "z", id: "7" }]);
    expect(p.push("event: only\n\n")).toEqual([]);
  });

  it("render: markdown becomes plain text", () => {
    expect(
      markdownToPlain("# Title\n**bold** and *it* and `code`\n- item\n[site](https://x.test)\n```js\nlet a = 1;\n```"),
    ).toBe("Title\nbold and it and code\n• item\nsite (https://x.test)\nlet a = 1;");
  });
});
