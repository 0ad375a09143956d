/**
 * WebChat as ES modules with no build step: the page's module graph, followed from index.html the
 * way a browser does, is served in full as JavaScript under the CSP (a module the gateway does not
 * list would break the page); every module is `// @ts-check` and the web type check
 * (tsconfig.web.json, types from gateway/protocol.ts) passes; no module is the old 949-line file.
 * The browser tests check the behaviour; this checks the seams.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway } from "./helpers/gateway-harness.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const WEB = path.join(ROOT, "src", "web");
/** Bigger than any one concern needs; the single app.js was 949 lines. */
const MAX_MODULE_LINES = 300;

const webModules = () =>
  fs
    .readdirSync(WEB)
    .filter((f) => f.endsWith(".js"))
    .sort();

/** Relative specifiers of a module's static imports (`import … from "./x.js"`, `import "./x.js"`). */
function importsOf(source: string): string[] {
  return [...source.matchAll(/^\s*import\s+(?:[^"';]*?\s+from\s+)?["']([^"']+)["']/gm)].map((m) => m[1]!);
}

describe("WebChat modules", () => {
  let gw: Awaited<ReturnType<typeof startTestGateway>>;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.cleanup();
  });

  it("serves every module the page imports, as JavaScript under the CSP, and the page loads every module in web/", async () => {
    const page = await (await fetch(`${gw.url}/`)).text();
    const entries = [...page.matchAll(/<script\s+type="module"\s+src="([^"]+)"/g)].map((m) => m[1]!);
    expect(entries).toEqual(["/app.js"]);
    const seen = new Set<string>();
    const queue = entries.map((e) => new URL(e, gw.url).pathname);
    while (queue.length > 0) {
      const at = queue.shift()!;
      if (seen.has(at)) continue;
      seen.add(at);
      const res = await fetch(`${gw.url}${at}`);
      expect(res.status, at).toBe(200);
      expect(res.headers.get("content-type"), at).toBe("text/javascript; charset=utf-8");
      expect(res.headers.get("x-content-type-options"), at).toBe("nosniff");
      expect(res.headers.get("content-security-policy"), at).toContain("script-src 'self'");
      const source = await res.text();
      // A library (served from node_modules under a fixed /vendor/ name) is one self-contained file.
      if (at.startsWith("/vendor/")) continue;
      expect(source, at).toBe(fs.readFileSync(path.join(WEB, at.slice(1)), "utf8"));
      for (const spec of importsOf(source)) {
        expect(spec, `${at} imports ${spec}: only relative .js modules load without a build step`).toMatch(
          /^\.\/(vendor\/)?[\w-]+\.js$/,
        );
        queue.push(new URL(spec, `${gw.url}${at}`).pathname);
      }
    }
    // No module in web/ is left out of the page, and the page needs nothing that is not there.
    const own = [...seen].filter((p) => !p.startsWith("/vendor/"));
    expect(own.map((p) => p.slice(1)).sort()).toEqual(webModules());
    expect(seen.size - own.length, "the vendor libraries the page loads").toBeGreaterThan(0);
    expect(seen.size).toBeGreaterThan(4);
  });

  it("every module is split by concern and type-checked: // @ts-check, under the line bound, and tsconfig.web.json passes", () => {
    for (const file of webModules()) {
      const source = fs.readFileSync(path.join(WEB, file), "utf8");
      expect(source.startsWith("// @ts-check\n"), `${file} starts with // @ts-check`).toBe(true);
      expect(source.split("\n").length, `${file} lines`).toBeLessThanOrEqual(MAX_MODULE_LINES);
    }
    // The wire types come from the protocol module, not from copies in JSDoc.
    const sources = webModules()
      .map((f) => fs.readFileSync(path.join(WEB, f), "utf8"))
      .join("\n");
    for (const type of ["ChatEvent", "SessionEvent", "ServerFrame", "SessionRow", "HistoryItem", "MethodResult"])
      expect(sources).toContain(`import("../gateway/protocol.ts").${type}`);
    expect(sources).not.toMatch(/@typedef \{\{/);
    const tsc = spawnSync(
      process.execPath,
      [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", "tsconfig.web.json"],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(`${tsc.stdout}${tsc.stderr}`).toBe("");
    expect(tsc.status).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts.typecheck).toContain(
      "tsconfig.web.json",
    );
  }, 60_000);
});
