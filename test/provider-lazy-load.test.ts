/**
 * Start-up cost of the CLI: a listing or `pincer status` builds the provider registry (to show the
 * model the gateway would run) but never calls a model, so the AI SDK (`ai`, `@ai-sdk/*` and the
 * OpenTelemetry API `ai` pulls in) must not load. The CLI runs in a child process with a module
 * hook (`--import`) that records every resolved URL and writes them out at exit.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const BIN = path.resolve(import.meta.dirname, "../bin/pincer.js");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-lazy-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const HOOK = path.join(dir, "record-loads.mjs");
fs.writeFileSync(
  HOOK,
  `import module from "node:module";
import fs from "node:fs";
const urls = [];
module.registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context);
    urls.push(r.url);
    return r;
  },
});
process.on("exit", () => fs.writeFileSync(process.env.LOADS_OUT, urls.join("\\n")));
`,
);

/** The URLs a CLI command loaded (and its exit status). */
function loadsOf(home: string, args: string[]): { status: number | null; stderr: string; urls: string[] } {
  const out = path.join(dir, `loads-${args.join("-")}.txt`);
  const r = spawnSync(process.execPath, ["--import", HOOK, BIN, ...args], {
    env: {
      ...process.env,
      PINCER_HOME: home,
      PINCER_CONFIG: "",
      PINCER_GATEWAY_TOKEN: "",
      ANTHROPIC_API_KEY: "sk-test",
      LOADS_OUT: out,
    },
    encoding: "utf8",
  });
  return {
    status: r.status,
    stderr: r.stderr,
    urls: fs.existsSync(out) ? fs.readFileSync(out, "utf8").split("\n") : [],
  };
}

const SDK = /\/node_modules\/(ai|@ai-sdk\/[^/]+|@opentelemetry\/[^/]+)\//;

describe("the CLI never loads the AI SDK unless a model is called", () => {
  it("sessions --json and status, with Anthropic (AI SDK), OpenAI-Responses and Chat Completions providers", () => {
    const home = fs.mkdtempSync(path.join(dir, "home-"));
    fs.chmodSync(home, 0o700);
    fs.writeFileSync(
      path.join(home, "pincer.json"),
      JSON.stringify({
        models: {
          providers: {
            am: { api: "anthropic-messages", baseUrl: "http://127.0.0.1:9/v1", apiKey: "k" },
            or: { api: "openai-responses", baseUrl: "http://127.0.0.1:9/v1", apiKey: "k" },
            oc: { api: "openai-completions", baseUrl: "http://127.0.0.1:9/v1", apiKey: "k" },
          },
        },
        agents: { defaults: { model: { primary: "am/claude-x", fallbacks: ["or/gpt-x", "oc/m", "anthropic/c"] } } },
      }),
      { mode: 0o600 },
    );
    for (const args of [["sessions", "--json"], ["status"]]) {
      const r = loadsOf(home, args);
      expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      // The hook saw the CLI's own modules (so an empty list cannot pass), and none of the SDK's.
      expect(r.urls.some((u) => u.endsWith("/src/providers/registry.ts"))).toBe(true);
      expect(r.urls.filter((u) => SDK.test(u))).toEqual([]);
    }
  });
});
