/**
 * A retried delivery (same `messageId`) is recognised however far back its first delivery is and
 * across a restart, and the retry gets the original outcome — the reply included — instead of
 * being recorded and answered a second time.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MemorySessionStore } from "../src/store/memory-store.ts";
import { approxJsonBytes, ParsedTranscriptCache } from "../src/transcript/parsed-cache.ts";
import { MESSAGE_ID_MAX_AGE_MS, MESSAGE_IDS_KEPT, TranscriptWriter } from "../src/transcript/writer.ts";
import { post, ScriptedProvider, startTestGateway, TOKEN, until } from "./helpers/gateway-harness.ts";

const homes: string[] = [];
afterAll(() => {
  for (const h of homes) fs.rmSync(h, { recursive: true, force: true });
});

function transcriptLines(home: string): string[] {
  const dir = path.join(home, "agents", "main", "sessions");
  const file = fs.readdirSync(dir).find((n) => n.endsWith(".jsonl"));
  if (!file) throw new Error(`no transcript in ${dir}`);
  return fs.readFileSync(path.join(dir, file), "utf8").split("\n").filter(Boolean);
}

const inbound = (messageId: string, text: string) => ({
  channel: "telegram",
  chatType: "direct",
  peerId: "7001",
  senderId: "7001",
  text,
  messageId,
});

describe("retry dedupe", () => {
  it("recognises a retry of a message 40 turns back after a restart and returns its original reply", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-dedupe-"));
    homes.push(home);
    const replies = new Map<string, unknown>();
    let gw = await startTestGateway({}, { home });
    for (let i = 0; i < 40; i++) {
      const r = await post(`${gw.url}/v1/inbound`, inbound(`tg-${i}`, `message number ${i}`));
      expect(r.status).toBe(200);
      expect(r.json.status).toBe("ok");
      replies.set(`tg-${i}`, r.json.reply);
    }
    await gw.stop(2000);
    const before = transcriptLines(home);

    gw = await startTestGateway({}, { home });
    try {
      for (const id of ["tg-0", "tg-7", "tg-39"]) {
        const again = await post(`${gw.url}/v1/inbound`, inbound(id, `message number ${id.slice(3)}`));
        expect(again.status).toBe(200);
        expect(again.json.status).toBe("duplicate");
        expect(again.json.reply).toBe(replies.get(id));
        expect(again.json.reply).toContain(`message number ${id.slice(3)}`);
      }
      // Nothing was recorded or answered again.
      expect(transcriptLines(home)).toEqual(before);
      const fresh = await post(`${gw.url}/v1/inbound`, inbound("tg-40", "message number 40"));
      expect(fresh.json.status).toBe("ok");
      expect(transcriptLines(home).length).toBe(before.length + 2);
    } finally {
      await gw.stop(2000);
    }
  });

  it("a retry within the same process also gets the original reply", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-dedupe-"));
    homes.push(home);
    const gw = await startTestGateway({}, { home });
    try {
      const first = await post(`${gw.url}/v1/inbound`, inbound("once", "hello there"));
      expect(first.json.status).toBe("ok");
      const retry = await post(`${gw.url}/v1/inbound`, inbound("once", "hello there"));
      expect(retry.json).toMatchObject({
        status: "duplicate",
        reply: first.json.reply,
        sessionId: first.json.sessionId,
      });
    } finally {
      await gw.stop(2000);
    }
  });
});

describe("retry dedupe while the first delivery is still running", () => {
  it("waits for the first delivery's run and returns the same reply, recording and answering once", async () => {
    const provider = new ScriptedProvider();
    provider.autoRelease = false;
    const gw = await startTestGateway({}, { provider });
    try {
      const first = post(`${gw.url}/v1/inbound`, inbound("slow-1", "take your time"));
      await until(() => provider.waiting === 1);
      // Asynchronous: the 202 comes once the retry is recognised, so it is in hand before the release.
      const retry = await post(`${gw.url}/v1/inbound?async=1`, inbound("slow-1", "take your time"));
      expect(retry.status).toBe(202);
      expect(provider.waiting).toBe(1);
      provider.release();
      const a = await first;
      expect(a.json).toMatchObject({ status: "ok", reply: "re: take your time" });
      let b: Awaited<ReturnType<typeof post>>;
      await until(async () => {
        const r = await fetch(`${gw.url}/v1/runs/${String(retry.json.runId)}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        b = { status: r.status, json: (await r.json()) as Record<string, unknown> };
        return b.json.status !== "running";
      });
      expect(b!.json).toMatchObject({ status: "duplicate", reply: "re: take your time" });
      expect(provider.requests.length).toBe(1);
      const users = transcriptLines(gw.home).filter((l) => l.includes('"role":"user"'));
      expect(users.length).toBe(1);
    } finally {
      await gw.cleanup();
    }
  });
});

describe("waiting retries leave nothing behind", () => {
  it("a message dropped by a full queue (drop: new) is not kept as a pending answer", async () => {
    const provider = new ScriptedProvider();
    provider.autoRelease = false;
    const gw = await startTestGateway({ messages: { queue: { mode: "followup", cap: 1, drop: "new" } } }, { provider });
    try {
      const first = post(`${gw.url}/v1/inbound`, inbound("q-1", "one"));
      await until(() => provider.waiting === 1);
      const second = post(`${gw.url}/v1/inbound`, inbound("q-2", "two"));
      const dropped = await post(`${gw.url}/v1/inbound`, inbound("q-3", "three"));
      expect(dropped.json.status).toBe("dropped");
      provider.release();
      await first;
      await until(() => provider.waiting === 1);
      provider.release();
      expect((await second).json.status).toBe("ok");
      expect(gw.runtime.pendingAnswerCount).toBe(0);
    } finally {
      await gw.cleanup();
    }
  });
});

describe("retry dedupe bounds (TranscriptWriter)", () => {
  const user = (messageId: string) => ({
    type: "message" as const,
    message: { role: "user" as const, content: `m ${messageId}`, timestamp: 0 },
    pincer: { messageId },
  });

  it("recognises ids for 24 h after the first delivery, then treats a retry as new", async () => {
    const store = new MemorySessionStore();
    const t0 = Date.parse("2026-06-01T12:00:00Z");
    const writer = new TranscriptWriter(store);
    await writer.append("s1", [user("a")], { now: t0, cwd: "/" });
    // A fresh writer (a restart) finds it in the transcript.
    const restarted = new TranscriptWriter(store);
    expect(await restarted.findMessageId("s1", "a", t0 + MESSAGE_ID_MAX_AGE_MS)).not.toBeNull();
    expect(await restarted.findMessageId("s1", "a", t0 + MESSAGE_ID_MAX_AGE_MS + 1)).toBeNull();
  });

  it(`keeps the last ${MESSAGE_IDS_KEPT} ids of a session, scanning past the recovery tail once after a restart`, async () => {
    const store = new MemorySessionStore();
    const now = Date.parse("2026-06-01T12:00:00Z");
    const writer = new TranscriptWriter(store);
    const total = MESSAGE_IDS_KEPT + 10;
    for (let i = 0; i < total; i += 50)
      await writer.append(
        "s1",
        Array.from({ length: Math.min(50, total - i) }, (_, j) => user(`id-${i + j}`)),
        { now, cwd: "/" },
      );
    const restarted = new TranscriptWriter(store);
    expect(await restarted.findMessageId("s1", "id-9", now)).toBeNull();
    expect(await restarted.findMessageId("s1", "id-10", now)).not.toBeNull();
    expect(await restarted.findMessageId("s1", `id-${total - 1}`, now)).not.toBeNull();
  });
});

describe("parsed transcript cache (memory bounded in bytes)", () => {
  it("never holds more than its budget however large the messages", async () => {
    const store = new MemorySessionStore();
    const cache = new ParsedTranscriptCache(8 * 1024 * 1024);
    const writer = new TranscriptWriter(store, cache);
    const big = "x".repeat(512 * 1024);
    for (let s = 0; s < 40; s++) {
      const id = `s${s}`;
      await writer.append(id, [{ type: "message", message: { role: "user", content: big, timestamp: 0 } }], {
        now: 1,
        cwd: "/",
      });
      await writer.readAll(id);
      await writer.append(id, [{ type: "message", message: { role: "user", content: big, timestamp: 0 } }], {
        now: 2,
        cwd: "/",
      });
      expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
    }
    expect(cache.size).toBeGreaterThan(0);
    // A transcript over a quarter of the budget is read from the store each time, never kept.
    for (let i = 0; i < 4; i++)
      await writer.append("huge", [{ type: "message", message: { role: "user", content: big, timestamp: 0 } }], {
        now: 3,
        cwd: "/",
      });
    const read = await writer.readAll("huge");
    expect(read.lines.length).toBe(5);
    expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
  });

  it("estimates deeply nested values without overflowing the stack", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(approxJsonBytes(deep)).toBeGreaterThan(200_000);
  });
});
