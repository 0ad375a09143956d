/**
 * Output that is not a reply, across a gateway restart, through the real adapters and their fakes:
 * a cron job's answer to a Telegram chat (`cron.jobs[].deliver`), and a sub-agent's announce that
 * the parent answers into the parent's Slack thread. Both are in the outbox (a 429 holds them)
 * when the gateway stops; the next start delivers each once.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { PincerConfig } from "../../src/config/schema.ts";
import { startTestGateway, until } from "../helpers/gateway-harness.ts";
import { startSlackFake } from "./fakes/slack.ts";
import { startTelegramFake } from "./fakes/telegram.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function home(): string {
  const h = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-chrestart-"));
  cleanups.push(async () => fs.rmSync(h, { recursive: true, force: true }));
  return h;
}

const retried = (text: string) =>
  Number(/pincer_channel_delivery_total\{[^}]*result="retried"\} (\d+)/.exec(text)?.[1] ?? 0);

async function gateway(config: PincerConfig, dir: string) {
  const gw = await startTestGateway(config, { home: dir });
  cleanups.push(() => gw.stop(2000));
  await until(async () => (await gw.channels!.status()).some((a) => a.connected), 15_000);
  return gw;
}

describe("delivery across a restart", () => {
  it("a cron job delivering to Telegram: held by a 429 at stop, delivered once after the restart", async () => {
    const fake = await startTelegramFake();
    cleanups.push(() => fake.close());
    const dir = home();
    const config = {
      channels: { telegram: fake.channelConfig({ dmPolicy: "open", allowFrom: ["*"] }) },
      cron: {
        jobs: [
          {
            id: "digest",
            schedule: "0 0 1 1 *",
            message: "the daily digest",
            deliver: { channel: "telegram", to: "1001" },
          },
        ],
      },
    } as unknown as PincerConfig;
    const first = await gateway(config, dir);
    fake.rateLimitNextSend(30);
    const outcome = await first.cron.runJob(first.runtime.config.cron!.jobs![0]!);
    expect(outcome.reply).toContain("the daily digest");
    await until(() => retried(first.metrics.render()) >= 1, 10_000);
    expect(fake.sent()).toHaveLength(0);
    await first.stop(2000);

    const second = await gateway(config, dir);
    const [post] = await fake.waitForSent(1, 15_000);
    expect(post).toMatchObject({ to: "1001" });
    expect(post!.text).toContain("the daily digest");
    await second.channels!.idle();
    await second.stop(2000);
    // A third start finds nothing left to send.
    const third = await gateway(config, dir);
    await third.channels!.idle();
    await new Promise((r) => setTimeout(r, 250));
    expect(fake.sent()).toHaveLength(1);
  });

  it("a sub-agent's announce reaches the parent's Slack thread once, across a restart", async () => {
    const fake = await startSlackFake();
    cleanups.push(() => fake.close());
    const dir = home();
    const config = {
      session: { dmScope: "per-channel-peer" },
      channels: { slack: fake.channelConfig({ dmPolicy: "open", allowFrom: ["*"], groupPolicy: "open" }) },
    } as unknown as PincerConfig;
    const first = await gateway(config, dir);
    const thread = "1700000000.000300";
    await fake.sendGroup(
      { id: "C0PARENT", threadId: thread },
      { id: "U0ALICE", name: "Alice" },
      "kick off the research",
      { mention: true },
    );
    const [ack] = await fake.waitForSent(1, 15_000);
    expect(ack).toMatchObject({ to: "C0PARENT", threadId: thread });
    const parentKey = (await first.runtime.manager.list("main")).rows
      .map((r) => r.key)
      .find((k) => k.includes(":thread:"))!;
    expect(parentKey).toBe(`agent:main:slack:channel:c0parent:thread:${thread}`);

    fake.rateLimitNextSend(30);
    await first.subagents.spawn({ parentAgentId: "main", parentKey, task: "find the answer to everything" });
    await until(() => retried(first.metrics.render()) >= 1, 15_000);
    expect(fake.sent()).toHaveLength(1);
    await first.stop(2000);

    const second = await gateway(config, dir);
    const posts = await fake.waitForSent(2, 15_000);
    expect(posts[1]).toMatchObject({ to: "C0PARENT", threadId: thread });
    expect(posts[1]!.text).toContain("find the answer to everything");
    await second.channels!.idle();
    await new Promise((r) => setTimeout(r, 250));
    expect(fake.sent()).toHaveLength(2);
  });
});
