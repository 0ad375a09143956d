/**
 * Debian's Chromium through playwright-core for the browser tests: one launch per test file,
 * the skip-or-fail rule for a missing browser (CI sets PINCER_REQUIRE_BROWSER=1), screenshots
 * under test-artifacts/, and an axe-core pass injected into the page (served by no one: the
 * script is added from node_modules by the test, outside the page's CSP).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createRequire } from "node:module";
import { chromium, type Browser, type Page, type Request, type Response } from "playwright-core";
import { describe } from "vitest";

export const CHROMIUM = "/usr/bin/chromium";
export const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
export const ARTIFACTS = path.resolve(import.meta.dirname, "..", "..", "test-artifacts");

/** `describe`, or `describe.skip` with a note when there is no browser (a failure when one is required). */
export function browserSuite(name: string): typeof describe | typeof describe.skip {
  if (!HAVE_CHROMIUM && process.env.PINCER_REQUIRE_BROWSER === "1")
    throw new Error(`${CHROMIUM} not found but PINCER_REQUIRE_BROWSER=1: install it with apt-get install -y chromium`);
  if (!HAVE_CHROMIUM) console.warn(`${name}: skipped, ${CHROMIUM} not found (apt-get install -y chromium)`);
  return HAVE_CHROMIUM ? describe : describe.skip;
}

export function launchBrowser(): Promise<Browser> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless=new"] });
}

/** Collects page errors and console errors (a CSP violation is one) into `problems`. */
export function watchProblems(page: Page, problems: string[]): void {
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !/Failed to load resource/.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
}

/**
 * Reloads the page and waits until `ready` shows. In full-suite runs a reloaded page twice never
 * came up (no app, no login form; cause not found, not reproduced alone or under CPU load): such a
 * reload is reported with the requests that failed or were refused, and done once more. What the
 * test asserts afterwards is unchanged.
 */
export async function reloadUntil(page: Page, ready: string, firstWaitMs = 15_000): Promise<void> {
  const seen: string[] = [];
  const failed = (r: Request) =>
    seen.push(`${r.method()} ${new URL(r.url()).pathname} failed: ${r.failure()?.errorText}`);
  const refused = (r: Response) => {
    if (r.status() >= 400) seen.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
  };
  page.on("requestfailed", failed);
  page.on("response", refused);
  try {
    await page.reload();
    try {
      await page.locator(ready).waitFor({ state: "visible", timeout: firstWaitMs });
      return;
    } catch {
      const shown = await page
        .locator("body")
        .innerText()
        .catch(() => "?");
      console.warn(
        `reload: ${ready} not shown after ${firstWaitMs} ms, reloading once more; page: ${JSON.stringify(shown.slice(0, 200))}; requests: ${seen.join("; ") || "none failed"}`,
      );
    }
    await page.reload();
    await page.locator(ready).waitFor({ state: "visible" });
  } finally {
    page.off("requestfailed", failed);
    page.off("response", refused);
  }
}

const AXE = fs.readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown; html: string; failureSummary?: string }>;
}

/** The serious and critical axe-core violations of the page as it is now (WCAG 2.x A and AA rules). */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the page's CSP would refuse an inline script tag.
  if (!(await page.evaluate("typeof window.axe === 'object'"))) await page.evaluate(AXE);
  const result = (await page.evaluate(
    `axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })`,
  )) as { violations: AxeViolation[] };
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => `${n.html.slice(0, 120)} [${n.failureSummary ?? ""}]`).join(" | ")}`,
    );
}

/** Screenshots of the page at 1280×800 and 390×844 in the light and the dark theme: 4 files. */
export async function themedShots(page: Page, name: string): Promise<void> {
  const original = page.viewportSize();
  // Follow the emulated system theme (a toggle choice would override it).
  await page.evaluate("delete document.documentElement.dataset.theme");
  for (const theme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: theme });
    for (const [w, h] of [
      [1280, 800],
      [390, 844],
    ] as const) {
      await page.setViewportSize({ width: w, height: h });
      await page.waitForTimeout(60);
      await page.screenshot({ path: path.join(ARTIFACTS, `control-ui-${name}-${w}x${h}-${theme}.png`) });
    }
  }
  await page.emulateMedia({ colorScheme: "light" });
  if (original) await page.setViewportSize(original);
}
