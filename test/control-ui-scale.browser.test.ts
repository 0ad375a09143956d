/**
 * The Sessions page over 10 000 sessions (a store written before the gateway starts): the table
 * is paged by the server, so the page loads and shows its first 50 rows quickly. The figure is
 * measured and reported (test-artifacts/control-ui-scale.json); the assertion only has a generous
 * bound (3 s, against the 1 s target) so a busy machine does not make it flaky.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { resolveStorePath } from "../src/config/resolve.ts";
import { startGateway, type RunningGateway } from "../src/gateway/start.ts";
import { ARTIFACTS, browserSuite, launchBrowser, seriousViolations } from "./helpers/browser.ts";
import { WsClient } from "./helpers/gateway-harness.ts";

const TOKEN = "control-ui-scale-token-0123456789";
const SESSIONS = 10_000;

browserSuite("Control UI scale test")("Sessions page with 10 000 sessions", () => {
  let home = "";
  let gw: RunningGateway;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-control-ui-scale-"));
    const config = { gateway: { auth: { token: TOKEN } } };
    const file = resolveStorePath(config, "main", home);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const now = Date.now();
    const rows: Record<string, unknown> = {};
    const channels = ["telegram", "slack", "discord", "signal", "webchat"];
    for (let i = 0; i < SESSIONS; i++) {
      const channel = channels[i % channels.length]!;
      const group = i % 7 === 0;
      const tokens = (i * 7919) % 100_000;
      rows[`agent:main:${channel}:${group ? "group" : "direct"}:peer-${i}`] = {
        sessionId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
        updatedAt: now - i * 60_000,
        channel,
        chatType: group ? "group" : "direct",
        ...(i % 10 === 0 ? { label: `customer ${i}` } : {}),
        usageTotals: {
          input: tokens,
          output: 100,
          cacheRead: 0,
          cacheWrite: 0,
          totalTokens: tokens + 100,
          cost: 0,
          calls: 1,
        },
      };
    }
    fs.writeFileSync(file, JSON.stringify(rows), { mode: 0o600 });
    gw = await startGateway({ config, home, env: { PINCER_HOME: home }, port: 0, logger: pino({ level: "silent" }) });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(20_000);
    await page.goto(gw.url);
    await page.fill("#token", TOKEN);
    await page.click("#login");
    await page.locator("#conn[data-state=online]").waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.stop(2000);
    if (home) fs.rmSync(home, { recursive: true, force: true });
  }, 60_000);

  it("loads the page and shows the first page of the table, then pages, sorts and searches on the server", async () => {
    // Warm: the store's first read of the 10 000 rows is part of the gateway's start-up, not of the page.
    const ws = await WsClient.connect(gw.url, TOKEN);
    const q0 = performance.now();
    const first = (await ws.call("sessions.query", { limit: 50 })) as { total: number };
    const queryMs = performance.now() - q0;
    ws.ws.close();
    expect(first.total).toBe(SESSIONS);

    // A fresh page load (HTML, modules, login check, socket, query) until the rows are on screen.
    const t0 = performance.now();
    await page.goto(`${gw.url}/#/sessions`);
    await page.locator('[data-testid="sessions-table"] tbody tr').nth(49).waitFor();
    const loadMs = performance.now() - t0;
    expect(await page.locator('[data-testid="pager"]').textContent()).toBe(
      `1–50 of ${SESSIONS.toLocaleString("en-US")}`,
    );

    const t1 = performance.now();
    await page.click("#sort-tokens");
    await expect
      .poll(() => page.locator("th[aria-sort=descending] #sort-tokens").count(), { timeout: 10_000, interval: 20 })
      .toBe(1);
    await expect
      .poll(
        () => page.locator('[data-testid="sessions-table"] tbody tr').first().locator("td.num").first().textContent(),
        {
          timeout: 10_000,
          interval: 20,
        },
      )
      .toBe("100.1k");
    const sortMs = performance.now() - t1;

    await page.fill("#session-search", "customer 420");
    await expect
      .poll(() => page.locator('[data-testid="sessions-table"] tbody tr').count(), { timeout: 10_000, interval: 20 })
      .toBeLessThan(50);
    expect(await page.locator('[data-testid="sessions-table"] tbody').textContent()).toContain("customer 420");
    await page.fill("#session-search", "");
    await page.click("text=Next");
    await expect
      .poll(() => page.locator('[data-testid="pager"]').textContent(), { timeout: 10_000 })
      .toContain("51–100");
    expect(await seriousViolations(page)).toEqual([]);

    const figures = {
      sessions: SESSIONS,
      pageLoadToTableMs: Math.round(loadMs),
      sessionsQueryMs: Math.round(queryMs),
      sortByTokensMs: Math.round(sortMs),
    };
    console.log(`control-ui 10k sessions: ${JSON.stringify(figures)}`);
    fs.writeFileSync(path.join(ARTIFACTS, "control-ui-scale.json"), JSON.stringify(figures, null, 2));
    // The target is 1 s on this machine; 3 s only catches a page that stopped paging on the server.
    expect(loadMs).toBeLessThan(3000);
  }, 90_000);
});
