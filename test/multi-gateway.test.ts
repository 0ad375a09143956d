/**
 * Several gateway processes on one PostgreSQL (and Redis) store (issue 5): messages for one session that reach
 * different gateways are handled one at a time and in order, chat events cross gateways, and a
 * gateway killed with SIGKILL mid-traffic loses no acknowledged message, duplicates none, and its
 * sessions are served by the survivor within the lease time.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PostgresSessionStore } from "../src/store/postgres/postgres-store.ts";
import { RedisSessionStore } from "../src/store/redis/redis-store.ts";
import type { SessionStore, TranscriptLine } from "../src/store/types.ts";
import { startFakeOpenAI, type FakeServer } from "./fixtures/fake-providers.ts";
import { WsClient } from "./helpers/gateway-harness.ts";
import { inbound, PROCESS_TOKEN, startGatewayProcess, type GatewayProcess } from "./helpers/gateway-process.ts";
import { createTestDatabase, freePort, stopTestPostgres } from "./helpers/postgres-server.ts";
import { redisAvailable, startTestRedis, type TestRedis } from "./helpers/redis-server.ts";

const LEASE_TTL_MS = 1500;

interface Msg {
  id: string;
  parentId: string | null;
  role: string;
  text: string;
  messageId?: string;
}

async function openShared(url: string): Promise<SessionStore> {
  return url.startsWith("redis:")
    ? RedisSessionStore.open({ url, scope: "main" })
    : PostgresSessionStore.open({ url, scope: "main" });
}

/** The session's message entries, checking that they form one linear chain in file order. */
async function transcriptOf(url: string, sessionKey: string): Promise<{ messages: Msg[]; chainBreaks: number }> {
  const store = await openShared(url);
  try {
    const row = await store.get(sessionKey);
    if (!row) throw new Error(`no row for ${sessionKey}`);
    const read = await store.readTranscript(row.sessionId);
    expect(read.issues).toEqual([]);
    let prev: string | null = null;
    let chainBreaks = 0;
    const messages: Msg[] = [];
    for (const line of read.lines as Array<
      TranscriptLine & {
        id?: string;
        parentId?: string | null;
        message?: { role: string; content: unknown };
        pincer?: { messageId?: string };
      }
    >) {
      if (line.type === "session") continue;
      if ((line.parentId ?? null) !== prev) chainBreaks++;
      prev = line.id ?? null;
      if (line.type !== "message" || !line.message) continue;
      const c = line.message.content;
      const text =
        typeof c === "string" ? c : Array.isArray(c) ? c.map((b: { text?: string }) => b.text ?? "").join("") : "";
      messages.push({
        id: line.id!,
        parentId: line.parentId ?? null,
        role: line.message.role,
        text,
        ...(line.pincer?.messageId ? { messageId: line.pincer.messageId } : {}),
      });
    }
    return { messages, chainBreaks };
  } finally {
    await store.close();
  }
}

const dm = (peer: string, text: string, messageId?: string) => ({
  channel: "telegram",
  chatType: "direct",
  peerId: peer,
  senderId: peer,
  text,
  ...(messageId ? { messageId } : {}),
});

const hasRedis = redisAvailable();

describe.each([
  { backend: "postgres", skip: false },
  { backend: "redis", skip: !hasRedis },
])("two gateways sharing a $backend store", ({ backend, skip }) => {
  let url: string;
  let redis: TestRedis | null = null;
  let a: GatewayProcess;
  let b: GatewayProcess;

  beforeAll(async () => {
    if (skip) return;
    if (backend === "redis") {
      redis = await startTestRedis();
      url = redis.url;
    } else url = await createTestDatabase();
    const config = {
      session: { dmScope: "per-channel-peer", store: { backend, url, leaseTtlMs: LEASE_TTL_MS } },
      // Every gateway schedules it; each fire must run on exactly one of them.
      cron: { jobs: [{ id: "tick", schedule: "* * * * * *", message: "tick", isolated: false }] },
    };
    [a, b] = await Promise.all([startGatewayProcess(config), startGatewayProcess(config)]);
    startedAt = Date.now();
  }, 60_000);
  let startedAt = 0;

  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await redis?.stop();
  });
  beforeEach((ctx) => {
    if (skip) ctx.skip();
  });

  it("answers one session's messages alternately sent to both, one at a time and in order", async () => {
    for (let i = 0; i < 16; i++) {
      const gw = i % 2 === 0 ? a : b;
      const r = await inbound(gw.url, dm("alice", `m${i}`, `alice-${i}`));
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(r.json.reply).toBe(`echo: m${i}`);
    }
    const { messages, chainBreaks } = await transcriptOf(url, "agent:main:telegram:direct:alice");
    expect(chainBreaks).toBe(0);
    // Strictly question, answer, question, answer: no run overlapped another.
    expect(messages.map((m) => `${m.role}:${m.text}`)).toEqual(
      Array.from({ length: 16 }, (_, i) => [`user:m${i}`, `assistant:echo: m${i}`]).flat(),
    );
  });

  it("serialises a concurrent burst for one session across both gateways: each message once, one linear transcript", async () => {
    const sends = Array.from({ length: 12 }, (_, i) =>
      inbound(i % 2 ? b.url : a.url, dm("bob", `burst ${i}`, `bob-${i}`)),
    );
    const results = await Promise.all(sends);
    for (const r of results) expect(r.status, JSON.stringify(r.json)).toBe(200);
    const { messages, chainBreaks } = await transcriptOf(url, "agent:main:telegram:direct:bob");
    expect(chainBreaks).toBe(0);
    const users = messages.filter((m) => m.role === "user").map((m) => m.messageId);
    expect(users.slice().sort()).toEqual(Array.from({ length: 12 }, (_, i) => `bob-${i}`).sort());
    expect(messages.filter((m) => m.role === "assistant").length).toBeGreaterThanOrEqual(1);
    // Every answer follows the message it answered (directly or through the rest of its batch).
    expect(messages[messages.length - 1]!.role).toBe("assistant");
  });

  it("a reset on one gateway is the session the other continues", async () => {
    const first = await inbound(a.url, dm("dave", "before", "dave-1"));
    const reset = await inbound(a.url, dm("dave", "/new", "dave-2"));
    expect(reset.json.sessionId).not.toBe(first.json.sessionId);
    const after = await inbound(b.url, dm("dave", "after", "dave-3"));
    expect(after.json.sessionId).toBe(reset.json.sessionId);
    const { messages } = await transcriptOf(url, "agent:main:telegram:direct:dave");
    expect(messages.map((m) => m.text)).toEqual(["after", "echo: after"]);
  });

  it("runs each fire of a cron job on one gateway only", async () => {
    await new Promise((r) => setTimeout(r, Math.max(0, startedAt + 3500 - Date.now())));
    const store = await openShared(url);
    try {
      const row = await store.get("agent:main:cron:tick");
      expect(row).toBeDefined();
      const read = await store.readTranscript(row!.sessionId);
      const fires = read.lines
        .filter((l) => l.type === "message" && (l.message as { role: string }).role === "user")
        .map((l) => Math.floor((l.message as { timestamp: number }).timestamp / 1000));
      expect(fires.length).toBeGreaterThanOrEqual(2);
      expect(new Set(fires).size, `fires per second: ${fires.join(",")}`).toBe(fires.length);
    } finally {
      await store.close();
    }
  });

  it("streams a run on one gateway to a WebSocket client of the other", async () => {
    const ws = await WsClient.connect(b.url, PROCESS_TOKEN);
    try {
      await ws.call("sessions.list", {});
      const r = await inbound(a.url, dm("carol", "hello across", "carol-1"));
      expect(r.status).toBe(200);
      const ev = await ws.waitForEvent(
        (e) => e.sessionKey === "agent:main:telegram:direct:carol" && e.state === "final",
      );
      expect(ev.message).toBe("echo: hello across");
      expect(ev.runId).toBe(r.json.runId);
      // The new message and a reset made on A reach B's client as session events.
      await ws.waitForEvent(
        (e) =>
          e.sessionKey === "agent:main:telegram:direct:carol" &&
          e.change === "message" &&
          e.sessionId === r.json.sessionId,
      );
      const reset = await inbound(a.url, dm("carol", "/reset", "carol-2"));
      await ws.waitForEvent(
        (e) =>
          e.sessionKey === "agent:main:telegram:direct:carol" &&
          e.change === "reset" &&
          e.sessionId === reset.json.sessionId,
      );
      // A reply too long for the channel (Postgres NOTIFY stops at 8000 bytes) still ends the run there.
      const long = await inbound(a.url, dm("carol", "x".repeat(9000), "carol-3"));
      expect(long.json.reply).toBe(`echo: ${"x".repeat(9000)}`);
      const final = await ws.waitForEvent((e) => e.runId === long.json.runId && e.state === "final");
      expect(final.message).toBeUndefined();
    } finally {
      ws.close();
    }
  });

  it("the other gateway's chat.history shows every message written since it last read (no stale copy)", async () => {
    const ws = await WsClient.connect(b.url, PROCESS_TOKEN);
    const key = "agent:main:telegram:direct:history-reader";
    const texts = async () =>
      ((await ws.call("chat.history", { sessionKey: key })) as { messages: Array<{ text: string }> }).messages.map(
        (m) => m.text,
      );
    try {
      expect((await inbound(a.url, dm("history-reader", "first", "hr-1"))).status).toBe(200);
      expect(await texts()).toEqual(["first", "echo: first"]);
      // B holds no lease on the session: what it read before is no copy to answer from.
      expect((await inbound(a.url, dm("history-reader", "second", "hr-2"))).status).toBe(200);
      expect(await texts()).toEqual(["first", "echo: first", "second", "echo: second"]);
      // A limit reads the end of the transcript only, and gives exactly its last messages.
      const last = (await ws.call("chat.history", { sessionKey: key, limit: 3 })) as {
        messages: Array<{ text: string }>;
      };
      expect(last.messages.map((m) => m.text)).toEqual(["echo: first", "second", "echo: second"]);
    } finally {
      ws.close();
    }
  });
});

describe("a gateway killed mid-traffic", () => {
  let url: string;
  let model: FakeServer;
  let a: GatewayProcess;
  let b: GatewayProcess;

  beforeAll(async () => {
    url = await createTestDatabase();
    // A slow model (the real OpenAI wire format, 60 ms per answer) keeps runs in flight when the kill comes.
    model = await startFakeOpenAI((body) => {
      const msgs = body.messages as Array<{ role: string; content: unknown }>;
      const last = [...msgs].reverse().find((m) => m.role === "user");
      return { text: `re: ${typeof last?.content === "string" ? last.content : JSON.stringify(last?.content)}` };
    }, 60);
    const config = {
      session: { dmScope: "per-channel-peer", store: { backend: "postgres", url, leaseTtlMs: LEASE_TTL_MS } },
      models: {
        providers: {
          slow: {
            api: "openai-compatible",
            baseUrl: `${model.url}/v1`,
            apiKey: "sk-test",
            models: [{ id: "m", contextWindow: 100_000 }],
          },
        },
      },
      agents: { defaults: { model: "slow/m" } },
    };
    [a, b] = await Promise.all([startGatewayProcess(config), startGatewayProcess(config)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await model?.close();
    await stopTestPostgres();
  });

  it("loses no acknowledged message, duplicates none, and the survivor serves the dead one's sessions within the lease time", async () => {
    const peers = ["p0", "p1", "p2", "p3", "p4", "p5"];
    const perPeer = 14;
    const acked = new Map<string, string[]>(peers.map((p) => [p, []]));
    const firstAfterKill = new Map<string, number>();
    let killedAt = 0;
    let ackedBeforeKill = 0;

    const conversation = async (peer: string) => {
      for (let i = 0; i < perPeer; i++) {
        const messageId = `${peer}-${i}`;
        for (let attempt = 0; ; attempt++) {
          // Everything goes to gateway A until it dies; then the client retries the same message on B.
          const gw = killedAt ? b : a;
          try {
            const r = await inbound(gw.url, dm(peer, `msg ${i}`, messageId));
            if (r.status !== 200) {
              // The gateways' logs arrive through pipes: give them a moment before reporting.
              await new Promise((res) => setTimeout(res, 300));
              throw new Error(
                `${gw === a ? "A" : "B"} answered ${r.status} ${JSON.stringify(r.json)}\nA: ${a.stderr().slice(-3000)}\nB: ${b.stderr().slice(-3000)}`,
              );
            }
            expect(["ok", "duplicate"]).toContain(r.json.status);
            acked.get(peer)!.push(messageId);
            if (killedAt && !firstAfterKill.has(peer)) firstAfterKill.set(peer, Date.now() - killedAt);
            if (!killedAt) ackedBeforeKill++;
            break;
          } catch (err) {
            if (!killedAt || attempt > 3 || (err instanceof Error && err.message.includes(" answered "))) throw err;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }
    };
    const traffic = Promise.all(peers.map(conversation));
    // Kill A once every conversation is under way (each has a run in flight at almost any moment).
    while (ackedBeforeKill < peers.length * 4) await new Promise((r) => setTimeout(r, 5));
    killedAt = Date.now();
    await a.kill("SIGKILL");
    await traffic;

    for (const peer of peers) {
      const { messages, chainBreaks } = await transcriptOf(url, `agent:main:telegram:direct:${peer}`);
      expect(chainBreaks, peer).toBe(0);
      const recorded = messages.filter((m) => m.role === "user").map((m) => m.messageId!);
      // None duplicated, none foreign, every acknowledged one present.
      expect(new Set(recorded).size, `${peer}: ${recorded.join(",")}`).toBe(recorded.length);
      for (const id of acked.get(peer)!) expect(recorded).toContain(id);
      // Every message answered exactly once, the one in flight at the kill by the survivor.
      expect(messages.map((m) => m.role).join(","), peer).toBe(
        Array.from({ length: recorded.length }, () => "user,assistant").join(","),
      );
      expect(acked.get(peer)!.length).toBe(perPeer);
    }
    // Each session was served by the survivor within the lease time (plus a model answer and polling).
    for (const peer of peers) expect(firstAfterKill.get(peer), peer).toBeLessThan(LEASE_TTL_MS + 2000);
    // ... and not sooner than the dead gateway's leases allowed: the sessions it was working on waited.
    expect(Math.max(...firstAfterKill.values())).toBeGreaterThanOrEqual(LEASE_TTL_MS / 2);
    expect(b.stderr()).not.toMatch(/"level":(50|60)/);
  }, 90_000);
});

describe("a gateway whose database is unreachable", () => {
  it("refuses to start with an error naming the address and the cause, never the password", async () => {
    const port = await freePort();
    const config = {
      session: { store: { backend: "postgres", url: `postgres://pincer:s3cret-pw@127.0.0.1:${port}/pincer` } },
    };
    const started = Date.now();
    const err = await startGatewayProcess(config).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err).not.toBeNull();
    expect(err!.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}`));
    expect(err!.message).toMatch(/ECONNREFUSED/);
    expect(err!.message).not.toContain("s3cret-pw");
    // It retried with backoff for the connect timeout (10 s) before giving up, not forever.
    expect(Date.now() - started).toBeLessThan(25_000);
  }, 40_000);
});
