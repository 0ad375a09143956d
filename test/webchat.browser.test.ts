/**
 * The Control UI's chat page (the WebChat) in a real browser against a real in-process gateway (offline echo model):
 * login (bad token, then good), send + streamed reply, sidebar, /status, the Status panel, a
 * second session, Compact, Reset, Delete, logout. Screenshots land in test-artifacts/webchat-*.png.
 * Needs Debian's chromium at /usr/bin/chromium (CI installs it); skipped with a note otherwise.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type RunningGateway } from "../src/gateway/start.ts";
import { reloadUntil } from "./helpers/browser.ts";
import { WsClient } from "./helpers/gateway-harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
const ARTIFACTS = path.resolve(import.meta.dirname, "..", "test-artifacts");
const MAIN = "agent:main:main";
const SIDE = "agent:main:side";
const T = 60_000;
const WAIT = { timeout: 30_000, interval: 100 };

// CI sets PINCER_REQUIRE_BROWSER=1 (.ci/run installs chromium): there a missing browser is a failure, not a skip.
if (!HAVE_CHROMIUM && process.env.PINCER_REQUIRE_BROWSER === "1")
  throw new Error(`${CHROMIUM} not found but PINCER_REQUIRE_BROWSER=1: install it with apt-get install -y chromium`);
if (!HAVE_CHROMIUM)
  console.warn(`webchat browser tests skipped: ${CHROMIUM} not found (install it with: apt-get install -y chromium)`);

const suite = HAVE_CHROMIUM ? describe : describe.skip;

suite("WebChat in a real browser", () => {
  let home = "";
  let gw: RunningGateway;
  let browser: Browser;
  let page: Page;
  const pageProblems: string[] = [];
  /** The page's login requests (and failed ones) with their answers, to tell what happened when a login step fails. */
  const authLog: string[] = [];

  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `webchat-${name}.png`), fullPage: true });
  const bodies = async (selector: string) =>
    (await page.locator(`#messages ${selector} .body`).allTextContents()).map((t) => t.trim());
  const row = (key: string) => page.locator(`#sessions li[data-key="${key}"]:not(.conv-new)`);
  const notice = () => page.locator('[data-testid="notice"]');

  async function send(text: string): Promise<void> {
    await page.fill("#input", text);
    await page.press("#input", "Enter");
  }

  async function sendAndWaitForEcho(text: string): Promise<void> {
    const before = (await bodies(".msg.assistant")).filter((t) => t === `echo: ${text}`).length;
    await send(text);
    await expect
      .poll(async () => (await bodies(".msg.assistant")).filter((t) => t === `echo: ${text}`).length, WAIT)
      .toBe(before + 1);
  }

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-webchat-"));
    // A private env: no provider keys from the machine, so the default model is the offline echo.
    gw = await startGateway({
      config: {},
      home,
      env: { PINCER_HOME: home },
      port: 0,
      logger: pino({ level: "silent" }),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless=new"] });
    page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    page.setDefaultTimeout(30_000);
    page.on("pageerror", (err) => pageProblems.push(`pageerror: ${err.message}`));
    page.on("console", (msg) => {
      // CSP violations (an inline script or style slipped in) are reported as console errors.
      if (msg.type() === "error" && !/Failed to load resource/.test(msg.text()))
        pageProblems.push(`console: ${msg.text()}`);
    });
    // Login requests, and any request that failed or was refused, for the logout test's message.
    const pathOf = (url: string) => new URL(url).pathname;
    page.on("response", (r) => {
      if (pathOf(r.url()).startsWith("/auth/") || r.status() >= 400)
        authLog.push(`${r.request().method()} ${pathOf(r.url())} ${r.status()}`);
    });
    page.on("requestfailed", (r) =>
      authLog.push(`${r.method()} ${pathOf(r.url())} failed: ${r.failure()?.errorText ?? "?"}`),
    );
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.stop(2000);
    if (home) fs.rmSync(home, { recursive: true, force: true });
  }, 60_000);

  it(
    "serves the page under a strict CSP and shows the login form",
    async () => {
      const res = await page.goto(gw.url);
      expect(res?.status()).toBe(200);
      expect(res?.headers()["content-security-policy"]).toContain("script-src 'self'");
      await page.locator("#token").waitFor({ state: "visible" });
      expect(await page.locator("#app-view").isHidden()).toBe(true);
      expect(await page.title()).toBe("Pincer Control");
    },
    T,
  );

  it(
    "shows an error for a wrong token",
    async () => {
      await page.fill("#token", "definitely-not-the-token");
      await page.click("#login");
      await expect.poll(() => page.locator("#login-error").textContent(), WAIT).toMatch(/invalid token/i);
      expect(await page.locator("#token").getAttribute("aria-invalid")).toBe("true");
      expect(await page.locator("#app-view").isHidden()).toBe(true);
      await shot("login-error");
    },
    T,
  );

  it(
    "logs in with the gateway token and connects",
    async () => {
      await page.fill("#token", gw.token);
      await page.click("#login");
      await page.locator("#app-view").waitFor({ state: "visible" });
      await expect.poll(() => page.locator("#conn").getAttribute("data-state"), WAIT).toBe("online");
      expect(await page.locator("#login-view").isHidden()).toBe(true);
      expect(await page.locator("#session-title").textContent()).toBe("Main conversation");
      expect(await page.locator("#session-title").getAttribute("title")).toBe(MAIN);
      await shot("empty");
    },
    T,
  );

  it(
    "sends a message, streams the reply and lists the session",
    async () => {
      // Record the assistant bubbles that appear while the reply is still streaming (from deltas).
      // (A string: the test compiles without DOM types; it runs in the page, outside its CSP.)
      await send("hello");
      await expect.poll(() => bodies(".msg.assistant"), WAIT).toEqual(["echo: hello"]);
      expect(await page.locator("#messages .streaming").count()).toBe(0);
      expect(await bodies(".msg.user")).toEqual(["hello"]);
      expect(await page.locator("#input").inputValue()).toBe("");
      await row(MAIN).waitFor({ state: "visible" });
      const text = await row(MAIN).textContent();
      expect(text).toContain("Main conversation");
      expect(text).toContain("webchat");
      expect(text).toMatch(/tokens/);
      expect(await row(MAIN).locator("button").getAttribute("title")).toBe(MAIN);
      expect(await page.locator("#session-meta").textContent()).toContain("echo/echo");
      expect(await row(MAIN).locator("button").getAttribute("aria-current")).toBe("true");
      await shot("chat");
    },
    T,
  );

  it(
    "answers /status typed in the box and shows the card in the Status panel",
    async () => {
      await send("/status");
      await expect
        .poll(async () => (await bodies(".msg.assistant.command")).join("\n"), WAIT)
        .toContain(`Session: ${MAIN}`);
      await page.click("#btn-status");
      await page.locator("#status-card").waitFor({ state: "visible" });
      await expect.poll(() => page.locator("#status-card").textContent(), WAIT).toContain(`Session: ${MAIN}`);
      await shot("status");
      await page.click("#status-close");
      expect(await page.locator("#status-card").count()).toBe(0);
    },
    T,
  );

  it(
    "keeps the login and reloads the history after a page reload",
    async () => {
      await reloadUntil(page, "#app-view");
      await expect.poll(() => bodies(".msg.assistant"), WAIT).toEqual(["echo: hello"]);
      expect(await bodies(".msg.user")).toEqual(["hello"]);
    },
    T,
  );

  it(
    "shows sessions created elsewhere and loads one when clicked",
    async () => {
      const ws = await WsClient.connect(gw.url, gw.token);
      try {
        await ws.call("chat.send", { sessionKey: SIDE, message: "side note", idempotencyKey: "side-1" });
        await ws.waitForEvent((e) => e.state === "final" && (e.runIds as string[]).includes("side-1"), 30_000);
      } finally {
        ws.ws.close();
      }
      // The page sees the other session's events and refreshes its list by itself.
      await row(SIDE).waitFor({ state: "visible" });
      expect(await bodies(".msg.assistant")).toEqual(["echo: hello"]);
      await row(SIDE).click();
      await expect.poll(() => page.locator("#session-title").textContent(), WAIT).toBe("side");
      await expect.poll(() => bodies(".msg.assistant"), WAIT).toEqual(["echo: side note"]);
      expect(await row(SIDE).locator("button").getAttribute("aria-current")).toBe("true");
      await shot("side-session");
      await row(MAIN).click();
      await expect.poll(() => bodies(".msg.assistant"), WAIT).toEqual(["echo: hello"]);
    },
    T,
  );

  it(
    "compacts the session after a few messages and reports the result",
    async () => {
      await sendAndWaitForEcho("the first of a few more messages");
      await sendAndWaitForEcho("the second one");
      await sendAndWaitForEcho("and a third");
      await page.click("#btn-compact");
      await expect
        .poll(async () => (await notice().textContent())?.trim(), WAIT)
        .toMatch(/^Compacted: \d+ → \d+ tokens\.$/);
      expect(await notice().getAttribute("data-kind")).toBe("ok");
      await expect
        .poll(() => page.locator("#messages .divider").allTextContents(), WAIT)
        .toContain("Earlier messages were compacted into a summary");
      await expect.poll(() => row(MAIN).textContent(), WAIT).toBeTruthy();
      await shot("compact");
    },
    T,
  );

  it(
    "Reset asks first, then starts the conversation over and clears the chat",
    async () => {
      expect((await bodies(".msg.user")).length).toBeGreaterThan(0);
      await page.click("#btn-reset");
      await page.locator('[data-testid="confirm-dialog"][open]').waitFor();
      await page.click('[data-testid="confirm-dialog"][open] [data-testid="confirm-ok"]');
      await expect.poll(() => notice().textContent(), WAIT).toContain("Started over");
      await expect.poll(() => page.locator("#messages .msg").count(), WAIT).toBe(0);
      await row(MAIN).waitFor({ state: "visible" });
      // The chat keeps working after the reset.
      await sendAndWaitForEcho("fresh start");
      expect(await bodies(".msg.user")).toEqual(["fresh start"]);
      await shot("reset");
    },
    T,
  );

  it(
    "Delete removes the session from the sidebar after confirmation",
    async () => {
      await page.click("#btn-delete");
      const dialog = page.locator('[data-testid="confirm-dialog"][open]');
      await dialog.waitFor();
      expect(await dialog.textContent()).toContain("Main conversation");
      await dialog.locator('[data-testid="confirm-ok"]').click();
      await expect.poll(() => row(MAIN).count(), WAIT).toBe(0);
      await expect.poll(() => notice().textContent(), WAIT).toContain("Deleted Main conversation");
      expect(await page.locator("#messages .msg").count()).toBe(0);
      expect(await row(SIDE).count()).toBe(1);
      expect(await page.locator("#btn-delete").isDisabled()).toBe(true);
      await shot("delete");
    },
    T,
  );

  it(
    "logs out back to the login form",
    async () => {
      authLog.length = 0;
      await page.click("#logout");
      await page.locator("#login-view").waitFor({ state: "visible" });
      // The gateway confirmed the logout (otherwise the form says the login may still be valid).
      expect(await page.locator("#login-view").innerText(), authLog.join("; ")).not.toMatch(/did not confirm/);
      await reloadUntil(page, "#token");
      expect(await page.locator("#app-view").isHidden()).toBe(true);
      expect(pageProblems).toEqual([]);
    },
    T,
  );
});
