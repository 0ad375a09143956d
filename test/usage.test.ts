/**
 * `/usage off|tokens|full|cost` and the token and cost totals, through a real gateway and the real
 * Anthropic SDK client against a local Messages API server (42 input, 5 cache-read, 7 output
 * tokens per call). Cost comes from `models.providers.<p>.models[].cost` (USD per million).
 * The footer is OpenClaw's (`Usage: 42 in / 7 out · est $0.0002[ · session \`<key>\`]`), goes on
 * the delivered reply only, and the totals show on the row, in `/status`, `sessions --json` and
 * `/metrics`.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { costOf, formatTokenCount, formatUsd, usageFooter, type UsageTotals } from "../src/runtime/usage.ts";
import { post, startTestGateway, TOKEN } from "./helpers/gateway-harness.ts";
import { startFakeAnthropic, type FakeServer } from "./fixtures/fake-providers.ts";
import { startUsageOpenAI } from "./fixtures/usage-openai.ts";

type Gw = Awaited<ReturnType<typeof startTestGateway>>;
let gw: Gw | null = null;
let anthropic: FakeServer;
beforeAll(async () => {
  anthropic = await startFakeAnthropic();
});
afterAll(async () => {
  await anthropic.close();
});
afterEach(async () => {
  await gw?.cleanup();
  gw = null;
});

const dm = (text: string) => ({ channel: "telegram", chatType: "direct", peerId: "alice", senderId: "alice", text });
const PRICE = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };
// 42·3 + 7·15 + 5·0.3 = 232.5 per million tokens.
const CALL_COST = 232.5 / 1e6;

async function start(priced = true, extra: Record<string, unknown> = {}): Promise<Gw> {
  return startTestGateway({
    ...extra,
    models: {
      providers: {
        anthropic: {
          api: "anthropic",
          baseUrl: `${anthropic.url}/v1`,
          apiKey: "sk-test",
          models: [{ id: "claude-test", contextWindow: 200_000, ...(priced ? { cost: PRICE } : {}) }],
        },
      },
    },
    agents: { defaults: { model: "anthropic/claude-test" } },
  });
}
const say = async (g: Gw, text: string) => (await post(`${g.url}/v1/inbound`, dm(text))).json;

describe("/usage footer", () => {
  it("full: tokens, cost and the session key on the delivered reply; tokens: no key; off: none", async () => {
    gw = await start();
    expect((await say(gw, "/usage full")).reply).toBe("⚙️ Usage footer: full.");
    anthropic.script({ text: "Hello there" });
    const r = await say(gw, "hi");
    expect(r.reply).toBe("Hello there\nUsage: 42 in / 7 out · est $0.0002 · session `agent:main:main`");

    await say(gw, "/usage tokens");
    anthropic.script({ text: "Again" });
    expect((await say(gw, "again")).reply).toBe("Again\nUsage: 42 in / 7 out · est $0.0002");

    await say(gw, "/usage off");
    anthropic.script({ text: "Plain" });
    expect((await say(gw, "plain")).reply).toBe("Plain");

    // The transcript keeps the model's text and pi's usage.cost, never the footer.
    const file = path.join(gw.home, "agents", "main", "sessions", `${r.sessionId as string}.jsonl`);
    const assistants = fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; message?: { role: string; content: unknown; usage?: unknown } })
      .filter((l) => l.message?.role === "assistant")
      .map((l) => l.message!);
    expect(assistants[0]!.content).toEqual([{ type: "text", text: "Hello there" }]);
    const cost = (assistants[0]!.usage as { cost: { total: number; input: number } }).cost;
    expect(cost.total).toBeCloseTo(CALL_COST, 12);
    expect(cost.input).toBeCloseTo(126 / 1e6, 12);
  });

  it("without a configured price the footer shows tokens only", async () => {
    gw = await start(false);
    await say(gw, "/usage full");
    anthropic.script({ text: "Free" });
    expect((await say(gw, "hi")).reply).toBe("Free\nUsage: 42 in / 7 out · session `agent:main:main`");
  });
});

describe("/usage cost", () => {
  const from = (peer: string, text: string) => ({ ...dm(text), peerId: peer, senderId: peer });
  const perPeer = { session: { dmScope: "per-channel-peer" } };

  it("prints the session's cost and tokens, and the agent's today and over the last 30 days", async () => {
    gw = await start(true, perPeer);
    for (const [peer, text] of [
      ["alice", "one"],
      ["alice", "two"],
      ["bob", "three"],
    ] as const) {
      anthropic.script({ text: "ok" });
      await post(`${gw.url}/v1/inbound`, from(peer, text));
    }
    const cost = (await post(`${gw.url}/v1/inbound`, from("alice", "/usage cost"))).json.reply;
    // Alice: 2 calls of 54 tokens; the agent: 3 calls (alice's and bob's), all today.
    expect(cost).toBe(
      `💸 Usage cost\nSession ${formatUsd(2 * CALL_COST)} · 108 tokens\nToday ${formatUsd(3 * CALL_COST)}\nLast 30d ${formatUsd(3 * CALL_COST)}`,
    );
    // A session that has made no call yet.
    const carol = (await post(`${gw.url}/v1/inbound`, from("carol", "/usage cost"))).json.reply;
    expect(carol).toBe(
      `💸 Usage cost\nSession n/a\nToday ${formatUsd(3 * CALL_COST)}\nLast 30d ${formatUsd(3 * CALL_COST)}`,
    );
    // The footer mode is untouched, and an unknown argument names every form.
    expect((await gw.runtime.manager.get("main", "agent:main:telegram:direct:alice"))?.responseUsage).toBeUndefined();
    expect((await say(gw, "/usage sideways")).reply).toBe("⚙️ Usage: /usage off|tokens|full|cost");
  });

  it("says (partial) where calls were made with a model that has no price", async () => {
    gw = await start(false);
    anthropic.script({ text: "free" });
    await say(gw, "hi");
    expect((await say(gw, "/usage cost")).reply).toBe(
      "💸 Usage cost\nSession $0.0000 (partial) · 54 tokens\nToday $0.0000 (partial)\nLast 30d $0.0000 (partial)",
    );
  });
});

describe("totals per session, agent and model", () => {
  it("add up on the row and show in /status, sessions --json (per row, agent and model) and /metrics", async () => {
    gw = await start();
    await say(gw, "one");
    await say(gw, "two");
    await say(gw, "three");
    const card = (await say(gw, "/status")).reply as string;
    expect(card).toContain("🧮 Tokens: 42 in / 7 out · 💵 Cost: $0.0002");
    expect(card).toContain(
      "💵 Usage: session 126 in / 21 out · $0.0007 (3 calls) · since start: agent main 126 in / 21 out · $0.0007 · model anthropic/claude-test 126 in / 21 out · $0.0007",
    );

    const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const metrics = await res.text();
    const labels = 'agent="main",kind="turn",model="claude-test",provider="anthropic"';
    expect(metrics).toContain(`pincer_model_tokens_total{${labels},type="input"} 126`);
    expect(metrics).toContain(`pincer_model_tokens_total{${labels},type="output"} 21`);
    expect(metrics).toContain(`pincer_model_tokens_total{${labels},type="cacheRead"} 15`);
    const costLine = metrics.split("\n").find((l) => l.startsWith(`pincer_model_cost_usd_total{${labels}}`))!;
    expect(Number(costLine.split(" ")[1])).toBeCloseTo(3 * CALL_COST, 12);

    await gw.stop(2000);
    const bin = path.join(import.meta.dirname, "..", "bin", "pincer.js");
    const list = (...args: string[]) => {
      const out = spawnSync(process.execPath, [bin, "sessions", "--json", ...args], {
        env: { ...process.env, PINCER_HOME: gw!.home, PINCER_CONFIG: "" },
        encoding: "utf8",
      });
      expect(out.status, out.stderr).toBe(0);
      return { text: out.stdout, doc: JSON.parse(out.stdout) as Listing };
    };
    type Listing = {
      sessions: Array<Record<string, unknown>>;
      usageTotals: Record<string, Record<string, UsageTotals>>;
    };
    const streamed = list(); // the fs store's streaming path
    const loaded = list("--active", "60"); // rows loaded, filtered, then printed
    expect(streamed.doc.usageTotals).toEqual(loaded.doc.usageTotals);
    // Printed as JSON.stringify(document, null, 2) would print it.
    expect(streamed.text).toBe(`${JSON.stringify(streamed.doc, null, 2)}\n`);
    const row = streamed.doc.sessions[0]!;
    const totals = row.usageTotals as UsageTotals & { byModel: Record<string, UsageTotals> };
    expect(totals).toMatchObject({ input: 126, output: 21, cacheRead: 15, cacheWrite: 0, totalTokens: 162, calls: 3 });
    expect(totals.cost).toBeCloseTo(3 * CALL_COST, 12);
    expect(totals.byModel["anthropic/claude-test"]).toMatchObject({ input: 126, output: 21, calls: 3 });
    expect(streamed.doc.usageTotals.byAgent!.main).toMatchObject({ input: 126, output: 21, calls: 3 });
    expect(streamed.doc.usageTotals.byModel!["anthropic/claude-test"]).toMatchObject({ input: 126, calls: 3 });
    // OpenClaw's own fields stay the last run's.
    expect(row).toMatchObject({ inputTokens: 42, outputTokens: 7 });
  });
});

describe("a fallback that answers", () => {
  it("is priced and counted as itself, not as the model that failed", async () => {
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", () => r()));
    const port = (dead.address() as net.AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    gw = await startTestGateway({
      models: {
        providers: {
          dead: {
            api: "openai",
            baseUrl: `http://127.0.0.1:${port}/v1`,
            apiKey: "sk-x",
            models: [{ id: "gone", cost: { input: 1000, output: 1000, cacheRead: 0, cacheWrite: 0 } }],
          },
          anthropic: {
            api: "anthropic",
            baseUrl: `${anthropic.url}/v1`,
            apiKey: "sk-test",
            models: [{ id: "claude-test", cost: PRICE }],
          },
        },
      },
      agents: { defaults: { model: { primary: "dead/gone", fallbacks: ["anthropic/claude-test"] } } },
    });
    await say(gw, "/usage tokens");
    anthropic.script({ text: "from the fallback" });
    expect((await say(gw, "hi")).reply).toBe("from the fallback\nUsage: 42 in / 7 out · est $0.0002");
    const metrics = gw.metrics.render();
    expect(metrics).toContain(
      'pincer_model_tokens_total{agent="main",kind="turn",model="claude-test",provider="anthropic",type="input"} 42',
    );
    expect(metrics).not.toContain('provider="dead"');
  });
});

describe("formatting (OpenClaw's usage-format)", () => {
  it("formats token counts and dollars as OpenClaw does", () => {
    expect([950, 1234, 12_345, 999_999, 1_500_000].map(formatTokenCount)).toEqual([
      "950",
      "1.2k",
      "12k",
      "1.0m",
      "1.5m",
    ]);
    expect([0.00023, 0.05, 1.234].map(formatUsd)).toEqual(["$0.0002", "$0.05", "$1.23"]);
    expect(costOf({ input: 1e6, output: 0, cacheRead: 0, cacheWrite: 0 }, PRICE)).toBe(3);
    const none = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, totalTokens: 0, cost: 0, calls: 1 };
    expect(usageFooter("full", none, undefined, "k")).toBeNull();
    expect(usageFooter("off", { ...none, input: 5 }, undefined, "k")).toBeNull();
  });
});

describe("memory flush and compaction calls", () => {
  it("count in the row's totals (as their own kind), the process totals and /metrics", async () => {
    const server = await startUsageOpenAI();
    try {
      gw = await startTestGateway({
        models: {
          providers: {
            openai: {
              api: "openai",
              baseUrl: `${server.url}/v1`,
              apiKey: "sk-test",
              models: [
                { id: "small", contextWindow: 8192, cost: { input: 1, output: 2, cacheRead: 0, cacheWrite: 0 } },
              ],
            },
          },
        },
        agents: { defaults: { model: "openai/small" } },
      });
      // 5 005 tokens: over the flush line of an 8k window (4 096), under its compaction line (6 144).
      await say(gw, "hello tokens:5000");
      // The flush runs before this turn (its prompt reports 20 tokens), the turn's 7 005 tokens compact (summary: 20).
      await say(gw, "much more tokens:7000");
      const purposes = server.requests.map((r) => JSON.stringify(r.messages));
      expect(purposes.some((m) => m.includes("Pre-compaction memory flush"))).toBe(true);
      expect(purposes.some((m) => m.includes("Summarise the conversation above."))).toBe(true);
      expect(server.requests).toHaveLength(4);
      expect([...gw.metrics.compactions.values.keys()].some((k) => k.includes('status="compacted"'))).toBe(true);

      const row = (await gw.runtime.manager.get("main", "agent:main:main"))!;
      const totals = row.usageTotals as UsageTotals & { byKind: Record<string, UsageTotals> };
      expect(totals).toMatchObject({ input: 12_040, output: 20, calls: 4 });
      expect(totals.cost).toBeCloseTo((12_040 * 1 + 20 * 2) / 1e6, 12);
      expect(totals.byKind.memoryFlush).toMatchObject({ input: 20, output: 5, calls: 1 });
      expect(totals.byKind.compaction).toMatchObject({ input: 20, output: 5, calls: 1 });
      expect(totals.byKind.compaction!.cost).toBeCloseTo(30 / 1e6, 12);
      expect(gw.runtime.usage.forAgent("main")).toMatchObject({ input: 12_040, output: 20, calls: 4 });
      // /metrics tells the turns' tokens from the flush's and the summary's.
      const rendered = gw.metrics.render();
      const tokens = (kind: string) =>
        `pincer_model_tokens_total{agent="main",kind="${kind}",model="small",provider="openai",type="input"}`;
      expect(rendered).toContain(`${tokens("turn")} 12000`);
      expect(rendered).toContain(`${tokens("memoryFlush")} 20`);
      expect(rendered).toContain(`${tokens("compaction")} 20`);
    } finally {
      await server.close();
    }
  });
});
