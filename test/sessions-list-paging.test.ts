/**
 * `sessions.list` over a store with more rows than one page: a search and a caller who may see only
 * some sessions still get the newest matching rows, wherever they sit in the store's order — not
 * only those among the first page it happened to read.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startTestGateway, WsClient } from "./helpers/gateway-harness.ts";

const TG = "telegram-bridge-token-0123456789";
let gw: Awaited<ReturnType<typeof startTestGateway>>;
const dm = (channel: string, peer: string) => ({
  channel,
  chatType: "direct",
  peerId: peer,
  senderId: peer,
  text: "hi",
});

beforeAll(async () => {
  gw = await startTestGateway({
    session: { dmScope: "per-channel-peer" },
    gateway: { clients: [{ id: "tg-bridge", token: TG, channels: ["telegram"] }] } as never,
  });
  // The oldest rows: one Telegram DM, one labelled Discord DM; then 60 newer Discord DMs.
  expect((await post(`${gw.url}/v1/inbound`, dm("telegram", "al"))).status).toBe(200);
  expect((await post(`${gw.url}/v1/inbound`, dm("discord", "old"))).status).toBe(200);
  for (let i = 0; i < 60; i++) expect((await post(`${gw.url}/v1/inbound`, dm("discord", `u${i}`))).status).toBe(200);
}, 60_000);
afterAll(async () => {
  await gw.cleanup();
});

const keysOf = (list: Record<string, unknown>) => (list.sessions as Array<{ key: string }>).map((s) => s.key);

describe("sessions.list past the first page", () => {
  it("finds an old row by search", async () => {
    const ws = await WsClient.connect(gw.url);
    try {
      await ws.call("sessions.patch", { key: "agent:main:discord:direct:old", label: "needle" });
      // The patch made that row the newest: search for the other old one instead.
      expect(keysOf(await ws.call("sessions.list", { search: "telegram:direct:al", limit: 5 }))).toEqual([
        "agent:main:telegram:direct:al",
      ]);
      const newest = keysOf(await ws.call("sessions.list", { search: "discord", limit: 3 }));
      expect(newest).toEqual([
        "agent:main:discord:direct:old",
        "agent:main:discord:direct:u59",
        "agent:main:discord:direct:u58",
      ]);
    } finally {
      ws.close();
    }
  });

  it("gives a caller limited to one channel its sessions, however many others' rows are newer", async () => {
    const ws = await WsClient.connect(gw.url, TG);
    try {
      expect(keysOf(await ws.call("sessions.list", { limit: 5 }))).toEqual(["agent:main:telegram:direct:al"]);
    } finally {
      ws.close();
    }
  });
});
