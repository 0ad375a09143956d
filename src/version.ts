/**
 * The one version source: `version` in package.json, read once at start. The CLI's `--version`,
 * `/healthz`, `/status` and the gateway lock's holder info all say this.
 */
import * as fs from "node:fs";

export const PINCER_VERSION: string = (
  JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
