/**
 * Two gateway processes on one PostgreSQL store, a real browser on gateway B: a message answered on
 * gateway A appears in B's WebChat, and a reset made through A empties it. Needs Debian's chromium
 * (CI installs it); skipped with a note otherwise.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inbound, PROCESS_TOKEN, startGatewayProcess, type GatewayProcess } from "./helpers/gateway-process.ts";
import { createTestDatabase, stopTestPostgres } from "./helpers/postgres-server.ts";

const CHROMIUM = "/usr/bin/chromium";
const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
const ARTIFACTS = path.resolve(import.meta.dirname, "..", "test-artifacts");
const WAIT = { timeout: 30_000, interval: 100 };

if (!HAVE_CHROMIUM && process.env.PINCER_REQUIRE_BROWSER === "1")
  throw new Error(`${CHROMIUM} not found but PINCER_REQUIRE_BROWSER=1: install it with apt-get install -y chromium`);
if (!HAVE_CHROMIUM)
  console.warn(
    `multi-gateway WebChat test skipped: ${CHROMIUM} not found (install it with: apt-get install -y chromium)`,
  );

const suite = HAVE_CHROMIUM ? describe : describe.skip;

suite("WebChat on one gateway, traffic on another", () => {
  let a: GatewayProcess;
  let b: GatewayProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const bodies = async (selector: string) =>
    (await page.locator(`#messages ${selector} .body`).allTextContents()).map((t) => t.trim());
  // The default dmScope ("main"): a Telegram direct message lands in the session the WebChat opens.
  const fromTelegram = (text: string, id: string) => ({
    channel: "telegram",
    chatType: "direct",
    peerId: "42",
    senderId: "42",
    text,
    messageId: id,
  });

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const url = await createTestDatabase();
    const config = { session: { store: { backend: "postgres", url, leaseTtlMs: 2000 } } };
    [a, b] = await Promise.all([startGatewayProcess(config), startGatewayProcess(config)]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless=new"] });
    page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    page.setDefaultTimeout(30_000);
    page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([a?.kill(), b?.kill()]);
    await stopTestPostgres();
  }, 60_000);

  it("shows a conversation answered on the other gateway, then its reset", async () => {
    await page.goto(b.url);
    await page.fill("#token", PROCESS_TOKEN);
    await page.click("#login");
    await expect.poll(() => page.locator("#conn").getAttribute("data-state"), WAIT).toBe("online");
    expect(await page.locator("#session-title").getAttribute("title")).toBe("agent:main:main");

    const first = await inbound(a.url, fromTelegram("hello from telegram", "tg-1"));
    expect(first.json.reply).toBe("echo: hello from telegram");
    await expect.poll(() => bodies(".msg.user"), WAIT).toEqual(["hello from telegram"]);
    await expect.poll(() => bodies(".msg.assistant"), WAIT).toEqual(["echo: hello from telegram"]);
    // Another person's line is labelled with their name and channel, not "You".
    expect(await page.locator("#messages .msg.user .sender").textContent()).not.toBe("You");
    expect(await page.locator("#messages .msg.user .badge").textContent()).toBe("telegram");
    await page.locator('#sessions li[data-key="agent:main:main"]').waitFor({ state: "visible" });
    await page.screenshot({ path: path.join(ARTIFACTS, "webchat-multi-gateway-message.png"), fullPage: true });

    const reset = await inbound(a.url, fromTelegram("/reset", "tg-2"));
    expect(reset.json.sessionId).not.toBe(first.json.sessionId);
    await expect.poll(async () => (await bodies(".msg")).length, WAIT).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, "webchat-multi-gateway-reset.png"), fullPage: true });
    expect(problems).toEqual([]);
  }, 90_000);
});
