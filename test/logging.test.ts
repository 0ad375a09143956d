/**
 * Logs a person can read: one pretty line per record on a terminal (or `--log-format pretty`),
 * JSON lines otherwise, `PINCER_LOG_LEVEL` checked; and a turn that fails because the model
 * server refuses the connection leaves one line naming the session key, provider, model and
 * reason (through the real gateway and the real AI SDK client).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  createGatewayLogger,
  prettyLine,
  resolveLogFormat,
  resolveLogLevel,
  LogSettingsError,
} from "../src/gateway/logger.ts";
import { startGateway, type RunningGateway } from "../src/gateway/start.ts";
import { post, TOKEN } from "./helpers/gateway-harness.ts";

const homes: string[] = [];
let gw: RunningGateway | null = null;
afterEach(async () => {
  await gw?.stop(2000);
  gw = null;
  for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
});
const tmpHome = () => {
  const h = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-log-"));
  homes.push(h);
  return h;
};

function capture(): { lines: string[]; write(s: string): boolean } {
  const lines: string[] = [];
  return {
    lines,
    write(s: string) {
      lines.push(...s.split("\n").filter(Boolean));
      return true;
    },
  };
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("formats", () => {
  it("pretty: one line per record, level and message first, fields as key=value, newlines escaped", () => {
    const out = capture();
    const log = createGatewayLogger({ level: "info", format: "pretty", destination: out });
    log.info({ sessionKey: "agent:main:main", note: "two\nlines", n: 3 }, "turn done");
    log.error({ err: new Error("boom\nsecond") }, "failed");
    log.debug("hidden at info");
    expect(out.lines).toHaveLength(2);
    expect(out.lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}turn done sessionKey=agent:main:main note="two\\nlines" n=3$/,
    );
    expect(out.lines[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} ERROR failed err="Error: boom\\nsecond"$/);
    expect(prettyLine("not json\nat all", false)).toBe("not json\\nat all");
  });

  it("a tap in front of the formatting sees JSON records while the terminal gets pretty lines", () => {
    const out = capture();
    const seen: string[] = [];
    const log = createGatewayLogger({
      level: "info",
      format: "pretty",
      destination: out,
      tap: (json) => ({ write: (chunk: string) => (seen.push(chunk), json.write(chunk)) }),
    });
    log.warn({ k: "v" }, "tapped");
    expect(JSON.parse(seen[0]!)).toMatchObject({ level: 40, msg: "tapped", k: "v" });
    expect(out.lines[0]).toMatch(/ WARN {2}tapped k=v$/);
  });

  it("json: every line is a JSON record", () => {
    const out = capture();
    createGatewayLogger({ level: "debug", format: "json", destination: out }).debug({ a: 1 }, "hello");
    expect(JSON.parse(out.lines[0]!)).toMatchObject({ level: 20, msg: "hello", a: 1, service: "pincer-gateway" });
  });

  it("picks the flag, then PINCER_LOG_FORMAT, then the terminal; refuses unknown values naming the source", () => {
    expect(resolveLogFormat(undefined, {}, true)).toBe("pretty");
    expect(resolveLogFormat(undefined, {}, false)).toBe("json");
    expect(resolveLogFormat(undefined, { PINCER_LOG_FORMAT: "pretty" }, false)).toBe("pretty");
    expect(resolveLogFormat("json", { PINCER_LOG_FORMAT: "pretty" }, true)).toBe("json");
    expect(() => resolveLogFormat("fancy", {}, true)).toThrow(
      /--log-format: got "fancy", expected one of pretty, json/,
    );
    expect(resolveLogLevel({ PINCER_LOG_LEVEL: "debug" }, "warn")).toBe("debug");
    expect(resolveLogLevel({}, "warn")).toBe("warn");
    expect(() => resolveLogLevel({ PINCER_LOG_LEVEL: "loud" }, undefined)).toThrow(LogSettingsError);
  });
});

describe("a failed turn is logged", () => {
  it("a refused connection to the model server leaves a line with key, provider, model and reason", async () => {
    const port = await closedPort();
    const out = capture();
    const home = tmpHome();
    gw = await startGateway({
      config: {
        gateway: { auth: { token: TOKEN } },
        models: {
          providers: { openai: { api: "openai", baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: "sk-test" } },
        },
        agents: { defaults: { model: "openai/gpt-test" } },
      },
      home,
      port: 0,
      env: { PINCER_HOME: home },
      logger: createGatewayLogger({ level: "info", format: "json", destination: out }),
    });
    const r = await post(`${gw.url}/v1/inbound`, {
      channel: "telegram",
      chatType: "direct",
      peerId: "alice",
      senderId: "alice",
      text: "hello?",
    });
    expect(r.json.status).toBe("error");
    const failed = out.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === "turn failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      level: 50,
      sessionKey: "agent:main:main",
      agentId: "main",
      provider: "openai",
      model: "gpt-test",
    });
    expect(String(failed[0]!.reason)).toMatch(/ECONNREFUSED|connect/i);
  });
});

describe("pincer gateway --log-format", () => {
  async function firstLine(format: string): Promise<string> {
    const home = tmpHome();
    const bin = path.join(import.meta.dirname, "..", "bin", "pincer.js");
    const child = spawn(process.execPath, [bin, "gateway", "--port", "0", "--log-format", format], {
      env: { ...process.env, PINCER_HOME: home, PINCER_CONFIG: "", PINCER_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let buf = "";
      return await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (c: Buffer) => {
          buf += c.toString("utf8");
          const line = buf.split("\n").find((l) => l.includes("gateway listening"));
          if (line) resolve(line);
        });
        child.on("exit", (code) => reject(new Error(`gateway exited ${code}: ${buf}`)));
      });
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
  }

  it("pretty prints one readable line; json prints a JSON record", async () => {
    expect(await firstLine("pretty")).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}gateway listening.* url=http:\/\/127\.0\.0\.1:\d+/,
    );
    expect(JSON.parse(await firstLine("json"))).toMatchObject({
      level: 30,
      msg: expect.stringContaining("gateway listening"),
    });
  });
});
