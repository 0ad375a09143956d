/**
 * Discord for tests: crabline's Discord server (REST v10 + Gateway JSON, OpenClaw's own fake),
 * behind the fault proxy for the faults it has no switch for (dropped Gateway socket, 429, revoked
 * token). Scenario ids are mapped to snowflakes, because Discord ids are snowflakes.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startDiscordServer } from "@openclaw/crabline";
import type { FakeSent, FakeUser, PlatformFake } from "../platform-fake.ts";
import { startHttpFaultProxy } from "./http-fault-proxy.ts";

const MAX_CHARS = 2000;

/** A stable snowflake for any scenario id (a snowflake stays itself). */
export function snowflake(id: string): string {
  if (/^\d{17,20}$/.test(id)) return id;
  const h = createHash("sha256").update(id).digest();
  return (200000000000000000n + (h.readBigUInt64BE(0) % 700000000000000000n)).toString();
}

export interface DiscordFake extends PlatformFake {
  readonly guildId: string;
  /** Raw admin inbound (extra fields: referenced message, attachments, sticker-only, …). */
  inject(body: Record<string, unknown>): Promise<{ id: string }>;
  /** The REST requests the bot made that reached the server. */
  requests(): Array<{ method: string; path: string; body: string; status: number }>;
}

export async function startDiscordFake(): Promise<DiscordFake> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-discord-fake-"));
  const server = await startDiscordServer({
    recorderPath: path.join(dir, "discord.jsonl"),
    heartbeatIntervalMs: 5_000,
  });
  const m = server.manifest;
  const proxy = await startHttpFaultProxy(m.baseUrl);
  const bot: FakeUser = { id: m.botUserId, name: "crabline" };
  const guildId = m.fixture.guildId;

  const sent = (): FakeSent[] =>
    proxy.requests
      .filter((r) => r.method === "POST" && r.status < 300 && /^\/api\/v10\/channels\/\d+\/messages$/.test(r.path))
      .map((r) => {
        const to = r.path.split("/")[4]!;
        const body = JSON.parse(r.body) as { content?: string; message_reference?: { message_id?: string } };
        return {
          to,
          text: body.content ?? "",
          ...(body.message_reference?.message_id ? { replyTo: body.message_reference.message_id } : {}),
        };
      });

  const inject = async (body: Record<string, unknown>): Promise<{ id: string }> => {
    const res = await fetch(m.endpoints.adminInboundUrl, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${m.adminToken}` },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as { message?: { id: string } };
    if (!res.ok || !json.message)
      throw new Error(`discord fake inbound refused: ${res.status} ${JSON.stringify(json)}`);
    return { id: json.message.id };
  };

  return {
    channel: "discord",
    bot,
    guildId,
    maxChars: MAX_CHARS,
    inject,
    requests: () => proxy.requests,
    channelConfig(extra = {}) {
      return { token: m.botToken, apiRoot: `${proxy.url}/api`, ...extra };
    },
    async sendDirect(from, text) {
      const senderId = snowflake(from.id);
      const r = await inject({
        // Any channel id outside a guild is a DM channel between the sender and the bot.
        channelId: snowflake(`dm:${senderId}`),
        senderId,
        senderName: from.name ?? from.id,
        content: text,
      });
      return r.id;
    },
    async sendGroup(group, from, text, opts = {}) {
      const channelId = snowflake(group.id);
      const r = await inject({
        guildId,
        ...(group.threadId ? { channelId: snowflake(group.threadId), parentChannelId: channelId } : { channelId }),
        senderId: snowflake(from.id),
        senderName: from.name ?? from.id,
        content: opts.mention ? `<@${m.botUserId}> ${text}` : text,
      });
      return r.id;
    },
    sent,
    async waitForSent(n, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (sent().length < n) {
        if (Date.now() > until) throw new Error(`discord fake: ${sent().length} of ${n} posts after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return sent();
    },
    directPeer: (userId) => snowflake(userId),
    // A thread is its own channel session (OpenClaw): the peer is the thread, no suffix.
    groupPeer: (groupId, threadId) => ({ chatType: "channel", peer: snowflake(threadId ?? groupId) }),
    async dropConnection() {
      proxy.dropConnections();
    },
    rateLimitNextSend(retryAfterSec) {
      proxy.failNext((method, p) => method === "POST" && /\/channels\/\d+\/messages$/.test(p), {
        status: 429,
        headers: { "retry-after": String(retryAfterSec), "x-ratelimit-scope": "user" },
        body: { message: "You are being rate limited.", retry_after: retryAfterSec, global: false },
      });
    },
    revokeToken() {
      // Discord answers a revoked token with 401 on REST and closes the Gateway with 4004.
      proxy.failAll({ status: 401, body: { message: "401: Unauthorized", code: 0 } }, 4004);
    },
    async close() {
      await proxy.close();
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
