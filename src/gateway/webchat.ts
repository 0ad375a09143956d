/** Serves the WebChat page: a fixed list of files, never a path taken from the request. */
import * as fs from "node:fs/promises";
import type { ServerResponse } from "node:http";

const WEB_DIR = new URL("../web/", import.meta.url);
/** Every module the page loads; a file in web/ that is not listed here is never served. */
export const WEB_MODULES = [
  "app.js",
  "actions.js",
  "chat-stream.js",
  "chrome.js",
  "conversation-view.js",
  "dom.js",
  "format.js",
  "list-view.js",
  "login-view.js",
  "sessions.js",
  "state.js",
  "transport.js",
] as const;
const ASSETS: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
  // The page's ES modules: app.js is the entry, the others are what it imports.
  ...Object.fromEntries(WEB_MODULES.map((file) => [`/${file}`, { file, type: "text/javascript; charset=utf-8" }])),
};
/** Every path the page is served under (the HTTP route table routes exactly these). */
export const WEB_ASSET_PATHS: readonly string[] = Object.keys(ASSETS);
const cache = new Map<string, Buffer>();

export async function serveWebAsset(path: string, res: ServerResponse): Promise<boolean> {
  const asset = ASSETS[path];
  if (!asset) return false;
  let body = cache.get(asset.file);
  if (!body) {
    body = await fs.readFile(new URL(asset.file, WEB_DIR));
    cache.set(asset.file, body);
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
