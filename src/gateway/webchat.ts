/**
 * Serves the Control UI: a fixed list of files, never a path taken from the request. The page's
 * own modules come from web/; its libraries (Preact + htm, marked, DOMPurify, uPlot) are served
 * from node_modules under fixed /vendor/ names, each one ESM file, so there is no build step.
 */
import * as fs from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { createRequire } from "node:module";
import * as path from "node:path";
import { pathToFileURL } from "node:url";

const WEB_DIR = new URL("../web/", import.meta.url);
/** Every module the page loads; a file in web/ that is not listed here is never served. */
export const WEB_MODULES = [
  "app.js",
  "chat-lines.js",
  "chat-page.js",
  "conversation-list.js",
  "channels-page.js",
  "composer.js",
  "config-page.js",
  "cron-page.js",
  "format.js",
  "icon-data.js",
  "icons.js",
  "layout.js",
  "login-view.js",
  "logs-page.js",
  "markdown.js",
  "message-view.js",
  "session-page.js",
  "sessions-page.js",
  "store.js",
  "transport.js",
  "ui.js",
  "usage-page.js",
] as const;
const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";
/** The libraries, by the URL the page imports them under: one file of a package each. */
const VENDOR: Record<string, { pkg: string; file: string; type: string }> = {
  "/vendor/preact.js": { pkg: "htm", file: "preact/standalone.module.js", type: JS },
  "/vendor/marked.js": { pkg: "marked", file: "lib/marked.esm.js", type: JS },
  "/vendor/purify.js": { pkg: "dompurify", file: "dist/purify.es.mjs", type: JS },
  "/vendor/uplot.js": { pkg: "uplot", file: "dist/uPlot.esm.js", type: JS },
  "/vendor/uplot.css": { pkg: "uplot", file: "dist/uPlot.min.css", type: CSS },
};

/**
 * A package's directory wherever npm installed it (hoisted or not): its entry point resolved as
 * Node would, then up to the package.json naming it (the files above are not in its exports map).
 */
function packageDir(pkg: string): URL {
  let dir = path.dirname(createRequire(import.meta.url).resolve(pkg));
  for (;;) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown }).name === pkg)
      return pathToFileURL(`${dir}/`);
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`the ${pkg} package was not found (npm install)`);
    dir = up;
  }
}
const ASSETS: Record<string, { url: URL; type: string }> = {
  "/": { url: new URL("index.html", WEB_DIR), type: "text/html; charset=utf-8" },
  "/index.html": { url: new URL("index.html", WEB_DIR), type: "text/html; charset=utf-8" },
  "/style.css": { url: new URL("style.css", WEB_DIR), type: CSS },
  // The page's ES modules: app.js is the entry, the others are what it imports.
  ...Object.fromEntries(WEB_MODULES.map((file) => [`/${file}`, { url: new URL(file, WEB_DIR), type: JS }])),
  ...Object.fromEntries(
    Object.entries(VENDOR).map(([p, v]) => [p, { url: new URL(v.file, packageDir(v.pkg)), type: v.type }]),
  ),
};
/** Every path the page is served under (the HTTP route table routes exactly these). */
export const WEB_ASSET_PATHS: readonly string[] = Object.keys(ASSETS);
const cache = new Map<string, Buffer>();

export async function serveWebAsset(path: string, res: ServerResponse): Promise<boolean> {
  const asset = ASSETS[path];
  if (!asset) return false;
  let body = cache.get(asset.url.href);
  if (!body) {
    body = await fs.readFile(asset.url);
    cache.set(asset.url.href, body);
  }
  res.writeHead(200, {
    "content-type": asset.type,
    "content-length": body.length,
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
    "content-security-policy":
      "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
  });
  res.end(body);
  return true;
}
