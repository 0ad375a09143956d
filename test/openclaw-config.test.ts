/**
 * A real `openclaw.json` runs under Pincer: the file OpenClaw 2026.3.13's own `onboard` wrote
 * (fixture test/fixtures/openclaw-config/onboard/) starts `pincer gateway` and answers through its
 * provider; `{ primary, fallbacks }` fails over on a provider error before any output (local
 * OpenAI-wire servers: one refusing connections, one answering 500, one answering), aliases, the
 * `env` block, providers implied by ANTHROPIC_API_KEY (a local Anthropic-wire server through
 * ANTHROPIC_BASE_URL), legacy `agent.*`, OpenClaw keys reported once as not supported, and
 * `status` / listings showing the model the gateway runs.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, validateConfig } from "../src/config/load.ts";
import { startGateway } from "../src/gateway/start.ts";
import { parseEnvelope } from "../src/keys/envelope-schema.ts";
import { resolveRoute } from "../src/keys/routing.ts";
import { withFallbacks } from "../src/providers/fallback.ts";
import { createProviderRegistry } from "../src/providers/registry.ts";
import { ProviderError, type ModelEvent, type ModelProvider } from "../src/providers/types.ts";
import { emptyUsage } from "../src/transcript/entries.ts";
import { RESPONSES_USAGE, startFakeOpenAIResponses } from "./fixtures/fake-openai-responses.ts";
import { startFakeAnthropic, startFakeOpenAI, type FakeServer } from "./fixtures/fake-providers.ts";

const BIN = path.resolve(import.meta.dirname, "../bin/pincer.js");
const ONBOARD = path.resolve(import.meta.dirname, "fixtures/openclaw-config/onboard/openclaw.json");
const TOKEN = "test-operator-token-0123456789";

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
});
function home(files: Record<string, string> = {}): string {
  const h = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-oc-config-"));
  homes.push(h);
  fs.chmodSync(h, 0o700);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(h, name)), { recursive: true });
    fs.writeFileSync(path.join(h, name), text, { mode: 0o600 });
  }
  return h;
}
function cli(h: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, PINCER_HOME: h, PINCER_CONFIG: "", PINCER_GATEWAY_TOKEN: "", ...env },
    encoding: "utf8",
  });
}

/** A pino logger whose lines the test reads. */
function capture(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  return {
    logger: pino({ level: "info" }, stream),
    lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

async function inbound(url: string, text: string, token = TOKEN): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/v1/inbound`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ channel: "telegram", chatType: "direct", peerId: "u1", senderId: "u1", text }),
  });
  return { httpStatus: res.status, ...((await res.json()) as Record<string, unknown>) };
}

/** Starts a gateway in this process on a config file, through the same load the CLI does. */
async function gatewayOn(h: string, env: Record<string, string> = {}) {
  const e: NodeJS.ProcessEnv = { PINCER_HOME: h, ...env };
  const loaded = loadConfig({ env: e });
  const log = capture();
  const gw = await startGateway({ config: loaded.config, home: h, env: e, port: 0, logger: log.logger });
  return Object.assign(gw, { lines: log.lines });
}

/** A port nothing listens on (a server opened and closed): connections are refused. */
async function refusedUrl(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}/v1`;
}

let a500: FakeServer;
let ok: FakeServer;
let anthropic: FakeServer;
beforeAll(async () => {
  a500 = await startFakeOpenAI();
  ok = await startFakeOpenAI();
  anthropic = await startFakeAnthropic();
});
afterAll(async () => {
  await Promise.all([a500.close(), ok.close(), anthropic.close()]);
});

describe("the openclaw.json OpenClaw's onboard wrote", () => {
  it("loads as it is: OpenClaw's API name, model fields, { primary }, and what Pincer ignores is listed", () => {
    const h = home({ "openclaw.json": fs.readFileSync(ONBOARD, "utf8") });
    const loaded = loadConfig({ env: { PINCER_HOME: h } });
    expect(loaded.path).toBe(path.join(h, "openclaw.json"));
    expect(loaded.notices).toEqual([
      "tools.profile: not supported by Pincer (ignored)",
      "commands.native: not supported by Pincer (ignored)",
      "commands.nativeSkills: not supported by Pincer (ignored)",
      "commands.restart: not supported by Pincer (ignored)",
      "commands.ownerDisplay: not supported by Pincer (ignored)",
    ]);
    const registry = createProviderRegistry(loaded.config, {});
    expect(registry.defaultRef()).toBe("mock/mock-1");
    expect(registry.resolve("mock/mock-1").provider.contextWindow("mock-1")).toBe(16000);
    const v = cli(h, ["config", "validate"]);
    expect(v.status).toBe(0);
    expect(v.stderr).toContain("tools.profile: not supported by Pincer (ignored)");
  });

  it("OpenClaw's older file names are read too (after pincer.json and openclaw.json)", () => {
    const h = home({ "moltbot.json": `{ session: { dmScope: "per-peer" } }` });
    expect(loadConfig({ env: { PINCER_HOME: h } })).toMatchObject({
      path: path.join(h, "moltbot.json"),
      config: { session: { dmScope: "per-peer" } },
    });
    fs.writeFileSync(path.join(h, "openclaw.json"), "{}");
    expect(loadConfig({ env: { PINCER_HOME: h } }).path).toBe(path.join(h, "openclaw.json"));
  });

  it("`pincer gateway` starts on it and answers through its provider (its maxTokens sent)", async () => {
    const h = home({ "openclaw.json": fs.readFileSync(ONBOARD, "utf8") });
    // The provider's server: pointed at a local one with pincer's own config set (comments and order kept).
    expect(cli(h, ["config", "set", "models.providers.mock.baseUrl", `${ok.url}/v1`]).status).toBe(0);
    // Its workspace is the absolute path of the home OpenClaw ran in: moved into this one.
    expect(cli(h, ["config", "set", "agents.defaults.workspace", path.join(h, "workspace")]).status).toBe(0);
    const token = (
      JSON.parse(fs.readFileSync(path.join(h, "openclaw.json"), "utf8")) as { gateway: { auth: { token: string } } }
    ).gateway.auth.token;
    const child = spawn(process.execPath, [BIN, "gateway", "--port", "0"], {
      env: { ...process.env, PINCER_HOME: h, PINCER_CONFIG: "", PINCER_GATEWAY_TOKEN: "", PINCER_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setInterval(() => {
          const m = /Pincer gateway on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) {
            clearInterval(timer);
            resolve(m[1]!);
          } else if (child.exitCode !== null) {
            clearInterval(timer);
            reject(new Error(`gateway exited ${child.exitCode}: ${out}`));
          }
        }, 25);
      });
      ok.script({ text: "hello from mock-1" });
      const r = await inbound(url, "hi", token);
      expect(r).toMatchObject({ httpStatus: 200, reply: "hello from mock-1" });
      const body = ok.requests.at(-1)!;
      expect(body.model).toBe("mock-1");
      expect(body.max_tokens).toBe(4096);
      expect(out.match(/tools\.profile: not supported by Pincer \(ignored\)/g)).toHaveLength(2); // msg + field of one line
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
  }, 60_000);
});

describe("an OpenClaw state dir onboarded with an Anthropic key (kept in its auth store)", () => {
  const dir = path.resolve(import.meta.dirname, "fixtures/openclaw-config/onboard-anthropic");
  it("runs anthropic/… with the key from agents/main/agent/auth-profiles.json, no env key needed", async () => {
    const h = home({
      "openclaw.json": fs.readFileSync(path.join(dir, "openclaw.json"), "utf8"),
      "agents/main/agent/auth-profiles.json": fs.readFileSync(
        path.join(dir, "agents/main/agent/auth-profiles.json"),
        "utf8",
      ),
    });
    // OpenClaw's default model is Claude; Pincer's is echo until one is named (doctor says so).
    expect(cli(h, ["doctor"]).stdout).toContain("OpenClaw would run anthropic/claude-opus-4-6 here");
    expect(cli(h, ["config", "set", "agents.defaults.model", "anthropic/claude-test"]).status).toBe(0);
    expect(cli(h, ["config", "set", "agents.defaults.workspace", path.join(h, "workspace")]).status).toBe(0);
    const token = (
      JSON.parse(fs.readFileSync(path.join(h, "openclaw.json"), "utf8")) as { gateway: { auth: { token: string } } }
    ).gateway.auth.token;
    const gw = await gatewayOn(h, { ANTHROPIC_BASE_URL: `${anthropic.url}/v1` });
    try {
      anthropic.script({ text: "claude via the auth store" });
      expect(await inbound(gw.url, "hello", token)).toMatchObject({
        httpStatus: 200,
        reply: "claude via the auth store",
      });
    } finally {
      await gw.stop(2000);
    }
    expect(JSON.parse(cli(h, ["status", "--json"]).stdout).sessions.defaults.model).toBe("claude-test");
  }, 30_000);
});

describe("agents.defaults.model { primary, fallbacks }", () => {
  it("a refused connection and a 500 before any output move the turn to the next model; aliases resolve", async () => {
    const config = {
      gateway: { auth: { token: TOKEN } },
      models: {
        providers: {
          down: {
            api: "openai-completions",
            baseUrl: await refusedUrl(),
            apiKey: "k",
            models: [{ id: "m1", name: "m1" }],
          },
          broken: {
            api: "openai-completions",
            baseUrl: `${a500.url}/v1`,
            apiKey: "k",
            models: [{ id: "m2", name: "m2" }],
          },
          good: { api: "openai-completions", baseUrl: `${ok.url}/v1`, apiKey: "k", models: [{ id: "m3", name: "m3" }] },
        },
      },
      agents: {
        defaults: {
          model: { primary: "down/m1", fallbacks: ["broken/m2", "steady"] },
          models: { "good/m3": { alias: "steady" } },
        },
      },
    };
    const h = home({ "pincer.json": JSON.stringify(config) });
    const gw = await gatewayOn(h);
    try {
      a500.script({ status: 500, body: { error: { message: "upstream exploded", type: "server_error" } } });
      ok.script({ text: "answered by the third model" });
      const before = ok.requests.length;
      const r = await inbound(gw.url, "hello");
      expect(r).toMatchObject({ httpStatus: 200, reply: "answered by the third model" });
      expect(ok.requests.length).toBe(before + 1);
      expect(ok.requests.at(-1)!.model).toBe("m3");
      const switches = gw.lines().filter((l) => l.msg === "model failed: trying the next fallback");
      expect(switches.map((l) => `${String(l.from)} -> ${String(l.to)}`)).toEqual([
        "down/m1 -> broken/m2",
        "broken/m2 -> good/m3",
      ]);
    } finally {
      await gw.stop(2000);
    }
  }, 30_000);

  it("each OpenClaw API name Pincer drives reaches its wire (ollama under <baseUrl>/v1)", async () => {
    const reg = createProviderRegistry(
      {
        models: {
          providers: {
            am: { api: "anthropic-messages", baseUrl: `${anthropic.url}/v1`, apiKey: "k" },
            oc: { api: "openai-completions", baseUrl: `${ok.url}/v1`, apiKey: "k" },
            ol: { api: "ollama", baseUrl: ok.url },
            // OpenAI's wire by default; its model "c" Anthropic's, at the same base URL.
            mixed: {
              api: "openai-completions",
              baseUrl: `${anthropic.url}/v1`,
              apiKey: "k",
              models: [{ id: "c", name: "c", api: "anthropic-messages" }],
            },
          },
        },
      },
      {},
    );
    const say = async (ref: string) => {
      const { provider, model } = reg.resolve(ref);
      let last: ModelEvent | undefined;
      for await (const e of provider.stream({ model, messages: [{ role: "user", content: "x", timestamp: 1 }] }))
        last = e;
      return last?.type === "finish" ? last.message : undefined;
    };
    for (const [ref, server, api] of [
      ["am/claude-x", anthropic, "anthropic-messages"],
      ["oc/m", ok, "openai-completions"],
      ["ol/llama3", ok, "openai-completions"],
    ] as const) {
      server.script({ text: `hi ${ref}` });
      const before = server.requests.length;
      expect(await say(ref), ref).toMatchObject({ api, content: [{ type: "text", text: `hi ${ref}` }] });
      expect(server.requests.length).toBe(before + 1);
    }
    // A model with its own api inside a provider: that model goes to its own wire.
    anthropic.script({ text: "per-model api" });
    expect(await say("mixed/c")).toMatchObject({ api: "anthropic-messages" });
  });

  it("openai-responses goes to POST <baseUrl>/responses (the AI SDK's Responses model): text, a tool call, usage; a failure falls back", async () => {
    const responses = await startFakeOpenAIResponses();
    try {
      const reg = createProviderRegistry(
        {
          models: {
            providers: {
              or: {
                api: "openai-responses",
                baseUrl: `${responses.url}/v1`,
                apiKey: "sk-r",
                models: [{ id: "gpt-r", name: "gpt-r", contextWindow: 400_000, reasoning: true }],
              },
              good: { api: "openai-completions", baseUrl: `${ok.url}/v1`, apiKey: "k" },
            },
          },
          agents: { defaults: { model: { primary: "or/gpt-r", fallbacks: ["good/m-after"] } } },
        },
        {},
      );
      const { provider, model } = reg.resolve(reg.defaultRef());
      expect(provider.contextWindow(model)).toBe(400_000);
      const tools = [{ name: "lookup", description: "look a word up", parameters: { type: "object", properties: {} } }];
      const run = async () => {
        const events: ModelEvent[] = [];
        for await (const e of provider.stream({
          model,
          system: "be brief",
          messages: [{ role: "user", content: "hello", timestamp: 1 }],
          tools,
        }))
          events.push(e);
        return events;
      };
      responses.script({ text: "hi from responses", toolCalls: [{ id: "call_9", name: "lookup", input: { q: "x" } }] });
      const events = await run();
      expect(events.filter((e) => e.type === "text-delta").map((e) => e.text)).toEqual(["hi from r", "esponses"]);
      expect(events.find((e) => e.type === "tool-call")).toEqual({
        type: "tool-call",
        id: "call_9",
        name: "lookup",
        arguments: { q: "x" },
      });
      expect(events.at(-1)).toMatchObject({
        type: "finish",
        message: {
          api: "openai-responses",
          provider: "or",
          model: "gpt-r",
          stopReason: "toolUse",
          content: [
            { type: "text", text: "hi from responses" },
            { type: "toolCall", id: "call_9", name: "lookup", arguments: { q: "x" } },
          ],
          usage: { input: RESPONSES_USAGE.input_tokens - 10, cacheRead: 10, output: RESPONSES_USAGE.output_tokens },
        },
      });
      const req = responses.requests.at(-1)!;
      expect(req.path).toBe("POST /v1/responses");
      expect(req.body).toMatchObject({
        model: "gpt-r",
        stream: true,
        store: false,
        input: [
          { role: "system", content: "be brief" },
          { role: "user", content: [{ type: "input_text", text: "hello" }] },
        ],
        tools: [{ type: "function", name: "lookup" }],
      });
      // With /think on: the effort and a reasoning summary, as OpenClaw asks; the summary is the thinking block.
      responses.script({ text: "thought it through", reasoningSummary: "weighing it" });
      const thought: ModelEvent[] = [];
      for await (const e of provider.stream({
        model,
        thinking: "high",
        messages: [{ role: "user", content: "think", timestamp: 1 }],
      }))
        thought.push(e);
      expect(responses.requests.at(-1)!.body).toMatchObject({
        store: false,
        reasoning: { effort: "high", summary: "auto" },
        include: ["reasoning.encrypted_content"],
      });
      expect(thought.at(-1)).toMatchObject({
        type: "finish",
        message: {
          content: [
            { type: "thinking", thinking: "weighing it" },
            { type: "text", text: "thought it through" },
          ],
        },
      });
      // A 500 and a response.failed stream, each before any output: the next model answers.
      for (const failure of [
        { status: 500, body: { error: { message: "boom", type: "server_error" } } },
        { failed: "no capacity" },
      ]) {
        responses.script(failure);
        ok.script({ text: "fallback answered" });
        const after = await run();
        expect(after.at(-1)).toMatchObject({ type: "finish", message: { provider: "good", model: "m-after" } });
      }
    } finally {
      await responses.close();
    }
  });

  it("an API Pincer cannot drive is reported at start and fails over; every model failing is one error", async () => {
    const reg = createProviderRegistry(
      {
        models: {
          providers: {
            gem: { api: "google-generative-ai", baseUrl: "http://127.0.0.1:1", models: [{ id: "g", name: "g" }] },
            broken: { api: "openai-completions", baseUrl: `${a500.url}/v1`, apiKey: "k" },
          },
        },
        agents: { defaults: { model: { primary: "gem/g", fallbacks: ["broken/x"] } } },
      },
      {},
    );
    expect(reg.warnings.join("\n")).toContain(
      'models.providers.gem.api: api "google-generative-ai" is not supported by Pincer',
    );
    a500.script({ status: 500, body: { error: { message: "down" } } });
    const { provider, model } = reg.resolve(reg.defaultRef());
    const run = async () => {
      for await (const _ of provider.stream({ model, messages: [{ role: "user", content: "x", timestamp: 1 }] }))
        void _;
    };
    await expect(run()).rejects.toThrow(/every model failed \(gem\/g: .*google-generative-ai.*; broken\/x: /);
  });

  it("an agent's own { primary, fallbacks } replaces the defaults' fallbacks for its primary", async () => {
    const reg = createProviderRegistry(
      {
        models: {
          providers: {
            down: { api: "openai-completions", baseUrl: await refusedUrl(), apiKey: "k" },
            good: { api: "openai-completions", baseUrl: `${ok.url}/v1`, apiKey: "k" },
          },
        },
        agents: {
          defaults: { model: { primary: "down/m0", fallbacks: ["good/not-this"] } },
          list: [{ id: "work", model: { primary: "down/m1", fallbacks: ["good/m-work"] } }],
        },
      },
      {},
    );
    ok.script({ text: "work's fallback" });
    const { provider, model } = reg.resolve("down/m1");
    const events: ModelEvent[] = [];
    for await (const e of provider.stream({ model, messages: [{ role: "user", content: "x", timestamp: 1 }] }))
      events.push(e);
    expect(events.at(-1)).toMatchObject({ type: "finish", message: { provider: "good", model: "m-work" } });
    expect(ok.requests.at(-1)!.model).toBe("m-work");
  });

  it("an agent's { fallbacks } without a primary: the default primary with the agent's fallbacks (gateway turn)", async () => {
    const config = {
      gateway: { auth: { token: TOKEN } },
      models: {
        providers: {
          down: {
            api: "openai-completions",
            baseUrl: await refusedUrl(),
            apiKey: "k",
            models: [{ id: "m0", name: "m0" }],
          },
          good: { api: "openai-completions", baseUrl: `${ok.url}/v1`, apiKey: "k" },
        },
      },
      agents: {
        defaults: { model: { primary: "down/m0", fallbacks: ["good/defaults-fallback"] } },
        list: [{ id: "work", default: true, model: { fallbacks: ["good/m-work"] } }, { id: "other" }],
      },
    };
    const h = home({ "pincer.json": JSON.stringify(config) });
    const gw = await gatewayOn(h);
    try {
      ok.script({ text: "work's own fallback" });
      expect(await inbound(gw.url, "hello")).toMatchObject({ httpStatus: 200, reply: "work's own fallback" });
      expect(ok.requests.at(-1)!.model).toBe("m-work");
      const switches = gw.lines().filter((l) => l.msg === "model failed: trying the next fallback");
      expect(switches.map((l) => `${String(l.from)} -> ${String(l.to)}`)).toEqual(["down/m0 -> good/m-work"]);
      // A turn that names its model (the OpenAI endpoint's `model`) keeps the agent's fallbacks too.
      ok.script({ text: "named model, work's fallback" });
      const named = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ model: "down/m0", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(named.status).toBe(200);
      expect(ok.requests.at(-1)!.model).toBe("m-work");
    } finally {
      await gw.stop(2000);
    }
    // In the registry: the agent's chain for any ref it runs; another agent (or none) keeps the defaults'.
    const reg = createProviderRegistry(config, {});
    const lastModel = async (agentId: string | undefined) => {
      ok.script({ text: "x" });
      const { provider, model } = reg.resolve("down/m0", agentId);
      for await (const _ of provider.stream({ model, messages: [{ role: "user", content: "x", timestamp: 1 }] }))
        void _;
      return ok.requests.at(-1)!.model;
    };
    expect(await lastModel("work")).toBe("m-work");
    expect(await lastModel("other")).toBe("defaults-fallback");
    expect(await lastModel(undefined)).toBe("defaults-fallback");
  }, 30_000);

  it("a failure after output has streamed is the turn's failure, not a fallback; an abort stops", async () => {
    const calls: string[] = [];
    const fake = (name: string, events: ModelEvent[], fail?: Error): ModelProvider => ({
      name,
      api: "test",
      offline: false,
      contextWindow: () => undefined,
      async *stream(req) {
        calls.push(`${name}/${req.model}`);
        for (const e of events) yield e;
        if (fail) throw fail;
      },
    });
    const finish: ModelEvent = {
      type: "finish",
      message: {
        role: "assistant",
        content: [],
        api: "t",
        provider: "b",
        model: "m",
        usage: emptyUsage(),
        stopReason: "stop",
        timestamp: 1,
      },
    };
    const chain = withFallbacks([
      { provider: fake("a", [{ type: "text-delta", text: "partial" }], new ProviderError("cut", 502)), model: "m" },
      { provider: fake("b", [finish]), model: "m" },
    ]);
    const seen: ModelEvent[] = [];
    await expect(
      (async () => {
        for await (const e of chain.stream({ model: "m", messages: [] })) seen.push(e);
      })(),
    ).rejects.toThrow("cut");
    expect(calls).toEqual(["a/m"]);
    expect(seen).toHaveLength(1);
    const ac = new AbortController();
    ac.abort();
    calls.length = 0;
    const aborted = withFallbacks([
      { provider: fake("a", [], new ProviderError("aborted")), model: "m" },
      { provider: fake("b", [finish]), model: "m" },
    ]);
    await expect(
      (async () => {
        for await (const _ of aborted.stream({ model: "m", messages: [], abortSignal: ac.signal })) void _;
      })(),
    ).rejects.toThrow("aborted");
    expect(calls).toEqual(["a/m"]);
  });
});

describe("providers from the environment, and the env block", () => {
  it("anthropic/claude-… with only ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL) set runs", async () => {
    const h = home({
      "pincer.json": JSON.stringify({
        gateway: { auth: { token: TOKEN } },
        agents: { defaults: { model: "anthropic/claude-test" } },
      }),
    });
    const gw = await gatewayOn(h, { ANTHROPIC_API_KEY: "sk-ant-test", ANTHROPIC_BASE_URL: `${anthropic.url}/v1` });
    try {
      anthropic.script({ text: "hi from claude" });
      expect(await inbound(gw.url, "hello")).toMatchObject({ httpStatus: 200, reply: "hi from claude" });
      expect(anthropic.requests.at(-1)!.model).toBe("claude-test");
    } finally {
      await gw.stop(2000);
    }
    // Without the key the config is refused with what to set; models.mode "replace" turns the implied providers off.
    expect(() => createProviderRegistry({ agents: { defaults: { model: "anthropic/claude-test" } } }, {})).toThrow(
      /unknown model provider "anthropic".*set ANTHROPIC_API_KEY/,
    );
    expect(() =>
      createProviderRegistry(
        { models: { mode: "replace" }, agents: { defaults: { model: "openai/gpt-x" } } },
        { OPENAI_API_KEY: "k" },
      ),
    ).toThrow(/unknown model provider "openai"/);
    expect(
      createProviderRegistry(
        { agents: { defaults: { model: "claude-test" } } },
        { ANTHROPIC_API_KEY: "k" },
      ).defaultRef(),
    ).toBe("anthropic/claude-test");
  }, 30_000);

  it("env fills what the environment lacks (vars and top-level strings), never over it, never a blocked or ${} value", () => {
    const h = home({
      "openclaw.json": JSON.stringify({
        env: {
          vars: { MOCK_KEY: "from-config", PRESET: "from-config" },
          OTHER_KEY: "o",
          NODE_OPTIONS: "--inspect",
          LD_PRELOAD: "x",
          REF: "${MOCK_KEY}",
          shellEnv: { enabled: true },
        },
        models: {
          providers: {
            mock: {
              api: "openai-completions",
              baseUrl: `${ok.url}/v1`,
              apiKey: "${MOCK_KEY}",
              models: [{ id: "m", name: "m" }],
            },
          },
        },
      }),
    });
    const env: NodeJS.ProcessEnv = { PINCER_HOME: h, PRESET: "from-env" };
    const loaded = loadConfig({ env });
    expect(env).toMatchObject({ MOCK_KEY: "from-config", PRESET: "from-env", OTHER_KEY: "o" });
    expect(env.NODE_OPTIONS).toBeUndefined();
    expect(env.LD_PRELOAD).toBeUndefined();
    expect(env.REF).toBeUndefined();
    expect(loaded.notices).toEqual(["env.shellEnv: not supported by Pincer (ignored)"]);
    // The provider key reads the variable the config supplied.
    expect(() => createProviderRegistry(loaded.config, env)).not.toThrow();
    expect(
      createProviderRegistry(
        {
          models: {
            providers: { r: { baseUrl: "http://h", apiKey: { source: "env", provider: "default", id: "MOCK_KEY" } } },
          },
        },
        env,
      ).has("r"),
    ).toBe(true);
  });

  it("${VAR} is resolved in every string (from the env block too); $${VAR} is literal; a missing secret is left out", () => {
    const h = home({
      "pincer.json": JSON.stringify({
        env: { vars: { WS_ROOT: "/srv/agents" } },
        agents: {
          defaults: { workspace: "${WS_ROOT}/main", compaction: { customInstructions: "keep $${NOT_A_VAR}" } },
        },
        session: { mainKey: "${MAIN_KEY}" },
        cron: { jobs: [{ id: "j", schedule: "0 9 * * *", message: "hello ${UNSET_GREETING}" }] },
      }),
    });
    const loaded = loadConfig({ env: { PINCER_HOME: h, MAIN_KEY: "work" } });
    expect(loaded.config.agents?.defaults?.workspace).toBe("/srv/agents/main");
    expect(loaded.config.agents?.defaults?.compaction?.customInstructions).toBe("keep ${NOT_A_VAR}");
    expect(loaded.config.session?.mainKey).toBe("work");
    expect(loaded.warnings).toContain(
      'cron.jobs[0].message: environment variable UNSET_GREETING is not set (kept as "${UNSET_GREETING}")',
    );
    const t = home({ "openclaw.json": JSON.stringify({ gateway: { auth: { token: "${OPENCLAW_GATEWAY_TOKEN}" } } }) });
    // The token is left out (the gateway then uses its generated one), never the guessable literal.
    const unset = loadConfig({ env: { PINCER_HOME: t } });
    expect(unset.config.gateway?.auth?.token).toBeUndefined();
    expect(unset.warnings).toContain(
      "gateway.auth.token: environment variable OPENCLAW_GATEWAY_TOKEN is not set (left unset: a secret cannot be the reference itself)",
    );
    const tok = loadConfig({ env: { PINCER_HOME: t, OPENCLAW_GATEWAY_TOKEN: "a-token-of-32-characters-0123456" } });
    expect(tok.config.gateway?.auth?.token).toBe("a-token-of-32-characters-0123456");
  });
});

describe("$include, as OpenClaw splits a config", () => {
  it("includes merge in order (objects deep, arrays concatenated, siblings last), nested; config set validates through them", () => {
    const h = home({
      "openclaw.json": `{
        // the main file
        $include: ["./models.json5", "./agents.json5"],
        agents: { list: [{ id: "ops" }] },
        session: { dmScope: "per-peer" },
      }`,
      "models.json5": `{ models: { providers: { mock: { api: "openai-completions", baseUrl: "http://127.0.0.1:9/v1", apiKey: "k" } } } }`,
      "agents.json5": `{ $include: "./parts/defaults.json5", agents: { list: [{ id: "main" }] } }`,
      "parts/defaults.json5": `{ agents: { defaults: { model: "mock/m1" } } }`,
    });
    const loaded = loadConfig({ env: { PINCER_HOME: h } });
    expect(loaded.config.agents?.list?.map((a) => a.id)).toEqual(["main", "ops"]);
    expect(loaded.config.agents?.defaults?.model).toBe("mock/m1");
    expect(loaded.config.session?.dmScope).toBe("per-peer");
    expect(createProviderRegistry(loaded.config, {}).defaultRef()).toBe("mock/m1");
    expect(cli(h, ["config", "get", "agents.defaults.model"]).stdout.trim()).toBe("mock/m1");
    expect(cli(h, ["config", "set", "session.dmScope", "per-channel-peer"]).status).toBe(0);
    expect(fs.readFileSync(path.join(h, "openclaw.json"), "utf8")).toContain("// the main file");
    expect(loadConfig({ env: { PINCER_HOME: h } }).config.session?.dmScope).toBe("per-channel-peer");
  });

  it("an include outside the config directory (by path or symlink), a circle, or a missing file is refused naming it", () => {
    const outside = home({ "secret.json5": "{ gateway: { port: 1 } }" });
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { "openclaw.json": `{ $include: "../${path.basename(outside)}/secret.json5" }` },
        /outside the config directory/,
      ],
      [
        { "openclaw.json": `{ $include: "./a.json5" }`, "a.json5": `{ $include: "./openclaw.json" }` },
        /circular include/,
      ],
      [{ "openclaw.json": `{ $include: "./nope.json5" }` }, /\$include \.\/nope\.json5: cannot read/],
    ];
    for (const [files, want] of cases) {
      const h = home(files);
      expect(() => loadConfig({ env: { PINCER_HOME: h } })).toThrow(want);
    }
    const h = home({ "openclaw.json": `{ $include: "./link.json5" }` });
    fs.symlinkSync(path.join(outside, "secret.json5"), path.join(h, "link.json5"));
    expect(() => loadConfig({ env: { PINCER_HOME: h } })).toThrow(/outside the config directory \(symlink\)/);
  });
});

describe("legacy keys, OpenClaw-only keys, unknown keys", () => {
  it("top-level agent.* is read as agents.defaults.* (explicit values win) with a warning naming the new place", () => {
    const { config, warnings } = validateConfig(
      {
        agent: { contextPruning: { mode: "cache-ttl", ttl: "5m" }, model: "echo/echo", tools: { deny: ["exec"] } },
        agents: { defaults: { model: "mock/x" } },
      },
      null,
    );
    expect(config.agents?.defaults?.contextPruning).toEqual({ mode: "cache-ttl", ttl: "5m" });
    expect(config.agents?.defaults?.model).toBe("mock/x");
    expect((config.tools as Record<string, unknown>).deny).toEqual(["exec"]);
    expect(warnings).toContain(
      "agent.contextPruning is the old place of agents.defaults.contextPruning: read as agents.defaults.contextPruning (move it there; `pincer doctor --fix` does)",
    );
    expect(warnings.join("\n")).toContain("agent.tools.deny is the old place of tools.deny");
  });

  it("OpenClaw keys Pincer ignores are listed by path; the gateway logs each once; a key neither knows is an error", async () => {
    const raw = {
      gateway: { auth: { token: TOKEN }, mode: "local", bind: "lan", controlUi: { enabled: true } },
      browser: { enabled: true },
      canvasHost: { port: 1 },
      discovery: { mdns: {} },
      plugins: { entries: {} },
      skills: { allowBundled: [] },
      agents: { defaults: { models: { "echo/echo": { alias: "e", params: { temperature: 0 } } }, imageModel: "x/y" } },
      hooks: { enabled: true, token: "t".repeat(32) },
      channels: { whatsapp: { enabled: true } },
      meta: { lastTouchedVersion: "2026.3.13" },
    };
    const { notices } = validateConfig(raw, null);
    expect(notices).toEqual(
      expect.arrayContaining([
        "browser: not supported by Pincer (ignored)",
        "canvasHost: not supported by Pincer (ignored)",
        "discovery: not supported by Pincer (ignored)",
        "plugins: not supported by Pincer (ignored)",
        "skills: not supported by Pincer (ignored)",
        "gateway.bind: not supported by Pincer (ignored)",
        "gateway.controlUi: not supported by Pincer (ignored)",
        'agents.defaults.models["echo/echo"].params: not supported by Pincer (ignored)',
        "agents.defaults.imageModel: not supported by Pincer (ignored)",
        "hooks.enabled: not supported by Pincer (ignored)",
        "channels.whatsapp: not supported by Pincer (ignored)",
      ]),
    );
    // What OpenClaw's wizard writes and Pincer does anyway is not noise.
    expect(notices.some((n) => n.startsWith("gateway.mode") || n.startsWith("meta"))).toBe(false);
    const h = home({ "pincer.json": JSON.stringify(raw) });
    const gw = await gatewayOn(h);
    await gw.stop(2000);
    const logged = gw
      .lines()
      .filter((l) => l.level === 40 && String(l.msg).endsWith("not supported by Pincer (ignored)"));
    expect(logged.map((l) => l.msg).sort()).toEqual([...notices].sort());
    try {
      validateConfig({ browsr: {} }, "f.json");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues[0]).toContain('did you mean "browser"?');
    }
  }, 30_000);

  it('bindings: peer.kind "dm" (any case) is direct and routes; a numeric peer id is its digits', () => {
    const { config } = validateConfig(
      {
        agents: { list: [{ id: "main" }, { id: "work" }] },
        bindings: [
          { agentId: "work", match: { channel: "telegram", peer: { kind: "dm", id: "42" } } },
          { agentId: "work", match: { channel: "telegram", peer: { kind: "DM", id: 43 } } },
        ],
      },
      null,
    );
    expect(config.bindings!.map((b) => b.match.peer)).toEqual([
      { kind: "direct", id: "42" },
      { kind: "direct", id: "43" },
    ]);
    for (const peer of ["42", "43"]) {
      const env = parseEnvelope({ channel: "telegram", chatType: "direct", peerId: peer, senderId: peer, text: "x" });
      expect(resolveRoute(env, config)).toMatchObject({ agentId: "work", matchedBy: "binding.peer" });
    }
  });
});

describe("status and listings use the model the gateway runs", () => {
  const sessionId = "11111111-1111-4111-8111-111111111111";
  it("{ primary } shows its model and the provider's context window, in status and sessions", () => {
    const h = home({
      "openclaw.json": JSON.stringify({
        models: {
          providers: {
            mock: {
              api: "openai-completions",
              baseUrl: "http://127.0.0.1:9/v1",
              apiKey: "k",
              models: [{ id: "mock-1", name: "m", contextWindow: 16000 }],
            },
          },
        },
        agents: { defaults: { model: { primary: "mock/mock-1" } } },
      }),
      "agents/main/sessions/sessions.json": JSON.stringify({ "agent:main:main": { sessionId, updatedAt: Date.now() } }),
    });
    const status = cli(h, ["status", "--json"]);
    expect(status.status).toBe(0);
    const s = JSON.parse(status.stdout) as { sessions: { defaults: { model: string; contextTokens: number } } };
    expect(s.sessions.defaults).toEqual({ model: "mock-1", contextTokens: 16000 });
    const list = cli(h, ["sessions", "--json"]);
    expect(list.status).toBe(0);
    expect(JSON.stringify(JSON.parse(list.stdout))).toContain('"model":"mock-1"');
  });

  it("a config the gateway refuses is refused by status with the same message", () => {
    const h = home({ "pincer.json": JSON.stringify({ agents: { defaults: { model: "ghost/x" } } }) });
    const status = cli(h, ["status"]);
    expect(status.status).not.toBe(0);
    expect(status.stderr).toContain('agents.defaults.model: unknown model provider "ghost"');
  });
});
