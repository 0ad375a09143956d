/**
 * Row reads per turn: the turn runner takes the row the batch runner has just read instead of
 * reading (and copying) it again. Counted from the gateway's own store metrics over steady turns.
 */
import { afterEach, describe, expect, it } from "vitest";
import { post, startTestGateway, TOKEN } from "./helpers/gateway-harness.ts";

let stop: (() => Promise<void>) | null = null;
afterEach(async () => {
  await stop?.();
  stop = null;
});

async function storeGets(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const m = /pincer_store_operation_seconds_count\{op="get"\} (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

describe("row reads per turn", () => {
  it("reads the session's row three times per steady echo turn (was four), and answers as before", async () => {
    const gw = await startTestGateway({ session: { dmScope: "per-channel-peer" } });
    stop = () => gw.cleanup();
    const send = (text: string) =>
      post(`${gw.url}/v1/inbound`, { channel: "test", chatType: "direct", peerId: "p", senderId: "p", text });
    for (let i = 0; i < 3; i++) expect((await send(`warm ${i}`)).json.reply).toBe(`echo: warm ${i}`);
    const before = await storeGets(gw.url);
    const turns = 5;
    for (let i = 0; i < turns; i++) expect((await send(`m${i}`)).json.reply).toBe(`echo: m${i}`);
    const perTurn = ((await storeGets(gw.url)) - before) / turns;
    expect(perTurn).toBe(3);
  });
});
