/**
 * Browser logins in a real Chromium: the cookie changes at login and carries its flags, is
 * refused after logout and after the idle timeout (injected clock), a write without the CSRF token
 * is refused; plus HTTPS with HSTS and the Secure flag. Needs Debian's chromium (CI installs it).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type RunningGateway } from "../src/gateway/start.ts";
import { ManualClock } from "../src/lifecycle/clock.ts";

const CHROMIUM = "/usr/bin/chromium";
const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
if (!HAVE_CHROMIUM && process.env.PINCER_REQUIRE_BROWSER === "1")
  throw new Error(`${CHROMIUM} not found but PINCER_REQUIRE_BROWSER=1`);
const suite = HAVE_CHROMIUM ? describe : describe.skip;
const TOKEN = "web-security-token-0123456789abcdef";

suite("web login security in a real browser", () => {
  let gw: RunningGateway;
  let home: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-websec-"));
    gw = await startGateway({
      config: { gateway: { auth: { token: TOKEN } } },
      home,
      env: { PINCER_HOME: home },
      port: 0,
      logger: pino({ level: "silent" }),
      clock,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless=new"] });
    context = await browser.newContext();
    page = await context.newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    fs.rmSync(home, { recursive: true, force: true });
  });

  const cookie = async () => (await context.cookies()).find((c) => c.name === "pincer_session");
  /** A same-origin fetch from the page (the browser attaches the cookie). */
  const pageFetch = (url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
    page.evaluate(
      async ([u, i]) => {
        const r = await fetch(u, { credentials: "same-origin", ...i });
        return { status: r.status, body: await r.text() };
      },
      [url, init] as const,
    );

  it("logs in: the cookie is replaced, flagged HttpOnly + SameSite=Strict + Path=/, and writes need the CSRF token", async () => {
    await page.goto(gw.url);
    // A cookie planted before login (session fixation) must not survive it.
    await context.addCookies([{ name: "pincer_session", value: "attacker-chosen-value", url: gw.url }]);
    await page.fill("#token", TOKEN);
    await page.click("#login");
    await page.locator("#app-view").waitFor({ state: "visible", timeout: 30_000 });
    const c = (await cookie())!;
    expect(c.value).not.toBe("attacker-chosen-value");
    expect(c.value.length).toBeGreaterThanOrEqual(43);
    expect(c).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/", secure: false });
    // The page script cannot read the cookie.
    expect(await page.evaluate("document.cookie")).not.toContain("pincer_session");

    const envelope = JSON.stringify({
      channel: "telegram",
      chatType: "direct",
      peerId: "a",
      senderId: "a",
      text: "hi",
    });
    const noCsrf = await pageFetch("/v1/inbound", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: envelope,
    });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body).toContain("csrf_required");
    const session = JSON.parse((await pageFetch("/auth/session")).body) as { loggedIn: boolean; csrfToken: string };
    expect(session.loggedIn).toBe(true);
    const withCsrf = await pageFetch("/v1/inbound", {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": session.csrfToken },
      body: envelope,
    });
    expect(withCsrf.status).toBe(200);
    // A second login gets a new id again.
    const before = c.value;
    await pageFetch("/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: TOKEN }),
    });
    expect((await cookie())!.value).not.toBe(before);
  }, 90_000);

  it("the old cookie is refused after logout", async () => {
    const old = (await cookie())!.value;
    await page.click("#logout");
    await page.locator("#login-view").waitFor({ state: "visible", timeout: 30_000 });
    const replay = await fetch(`${gw.url}/auth/session`, { headers: { cookie: `pincer_session=${old}` } });
    expect(await replay.json()).toEqual({ loggedIn: false });
    const write = await fetch(`${gw.url}/v1/inbound`, {
      method: "POST",
      headers: { cookie: `pincer_session=${old}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(write.status).toBe(401);
  }, 60_000);

  it("a login expires after 30 idle minutes (injected clock), and failed logins are limited", async () => {
    await page.fill("#token", TOKEN);
    await page.click("#login");
    await page.locator("#app-view").waitFor({ state: "visible", timeout: 30_000 });
    const id = (await cookie())!.value;
    clock.advance(29 * 60_000);
    expect(
      await (await fetch(`${gw.url}/auth/session`, { headers: { cookie: `pincer_session=${id}` } })).json(),
    ).toMatchObject({ loggedIn: true });
    clock.advance(31 * 60_000);
    expect(
      await (await fetch(`${gw.url}/auth/session`, { headers: { cookie: `pincer_session=${id}` } })).json(),
    ).toEqual({ loggedIn: false });
    const tries = [];
    for (let i = 0; i < 6; i++)
      tries.push(
        (
          await fetch(`${gw.url}/auth/login`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ token: `wrong-${i}` }),
          })
        ).status,
      );
    expect(tries).toEqual([401, 401, 401, 401, 401, 429]);
    // Even the right token waits out the minute.
    expect(
      (
        await fetch(`${gw.url}/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ token: TOKEN }),
        })
      ).status,
    ).toBe(429);
    clock.advance(61_000);
    expect(
      (
        await fetch(`${gw.url}/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ token: TOKEN }),
        })
      ).status,
    ).toBe(200);
  }, 60_000);

  it("logins are stored server-side by hash, in a 0600 file", async () => {
    const file = path.join(home, "web-sessions.json");
    const stored = fs.readFileSync(file, "utf8");
    const id = (await cookie())?.value;
    if (id) expect(stored).not.toContain(id);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });
});

const HAVE_OPENSSL = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

(HAVE_CHROMIUM && HAVE_OPENSSL ? describe : describe.skip)("HTTPS", () => {
  it("serves HTTPS/WSS with HSTS and a Secure cookie", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-tls-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        path.join(home, "key.pem"),
        "-out",
        path.join(home, "cert.pem"),
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    const gw = await startGateway({
      config: { gateway: { auth: { token: TOKEN }, tls: { cert: "cert.pem", key: "key.pem" } } },
      home,
      env: { PINCER_HOME: home },
      port: 0,
      logger: pino({ level: "silent" }),
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless=new"] });
    try {
      expect(gw.url.startsWith("https://")).toBe(true);
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      const res = await page.goto(gw.url);
      expect(res!.headers()["strict-transport-security"]).toContain("max-age=");
      await page.fill("#token", TOKEN);
      await page.click("#login");
      await page.locator("#app-view").waitFor({ state: "visible", timeout: 30_000 });
      const c = (await context.cookies()).find((x) => x.name === "pincer_session")!;
      expect(c.secure).toBe(true);
      await page.locator("#input").fill("over tls");
      await page.keyboard.press("Enter");
      await page.locator(".msg.assistant", { hasText: "echo: over tls" }).waitFor({ timeout: 30_000 });
    } finally {
      await browser.close();
      await gw.stop();
      fs.rmSync(home, { recursive: true, force: true });
    }
  }, 90_000);
});
