import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { PairingStore } from "../../src/channels/pairing-store.ts";
import type { CliIO } from "../../src/cli/io.ts";
import { runCli } from "../../src/cli/main.ts";
import { startGateway, type RunningGateway } from "../../src/gateway/start.ts";
import { ScriptedProvider, TOKEN, until } from "../helpers/gateway-harness.ts";
import { FakePlatform } from "./core-fake-adapter.ts";

const homes: string[] = [];
const gateways: RunningGateway[] = [];
afterEach(async () => {
  for (const g of gateways.splice(0)) await g.stop(1000);
  for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
});

function tmpHome(): string {
  const h = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-chcli-"));
  homes.push(h);
  return h;
}

async function cli(home: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIO = {
    out: (t, nl = true) => void (out += nl && !t.endsWith("\n") ? `${t}\n` : t),
    write: (t) => Promise.resolve(void (out += t)),
    err: (t) => void (err += `${t}\n`),
    isErrTTY: false,
    readStdin: () => Promise.resolve(""),
    now: () => Date.now(),
    env: { PINCER_HOME: home, PINCER_CONFIG: path.join(home, "pincer.json") },
  };
  const code = await runCli(["node", "pincer", ...args], io);
  return { code, out, err };
}

describe("pincer pairing / pincer channels", () => {
  it("list, approve, reject on the credential files; bad input is one error line", async () => {
    const home = tmpHome();
    fs.writeFileSync(path.join(home, "pincer.json"), "{}");
    const store = new PairingStore({ home });
    const a = await store.upsert("telegram", "default", "42", { name: "Ann" });
    const b = await store.upsert("telegram", "default", "43");
    const listed = await cli(home, ["pairing", "list", "telegram"]);
    expect(listed.code).toBe(0);
    expect(listed.out).toContain(`${a.code}  42  account default`);
    expect(listed.out).toContain("name=Ann");
    const json = JSON.parse((await cli(home, ["pairing", "list", "telegram", "--json"])).out) as {
      requests: unknown[];
    };
    expect(json.requests).toHaveLength(2);
    expect(await cli(home, ["pairing", "approve", "telegram", a.code.toLowerCase()])).toMatchObject({
      code: 0,
      out: "Approved telegram sender 42.\n",
    });
    expect(store.readAllowFrom("telegram", "default")).toEqual(["42"]);
    expect(await cli(home, ["pairing", "reject", "telegram", b.code])).toMatchObject({ code: 0 });
    expect((await cli(home, ["pairing", "list", "telegram"])).out).toBe("No pending telegram pairing requests.\n");
    const missing = await cli(home, ["pairing", "approve", "telegram", "ABCDEFGH"]);
    expect(missing).toMatchObject({ code: 1, err: "error: no pending telegram pairing request with code ABCDEFGH\n" });
    expect((await cli(home, ["pairing", "list", "icq"])).err).toMatch(
      /channel: got "icq", expected one of telegram, slack, discord, signal/,
    );
    expect((await cli(home, ["pairing", "approve", "telegram", "../x"])).err).toMatch(
      /expected the 8-character pairing code/,
    );
  });

  it("channels status reads the running gateway; approve --notify goes through it", async () => {
    const home = tmpHome();
    const config = { channels: { telegram: { botToken: "123:abc" } }, gateway: { auth: { token: TOKEN } } };
    fs.writeFileSync(path.join(home, "pincer.json"), JSON.stringify(config));
    const platform = new FakePlatform();
    const provider = new ScriptedProvider();
    const gw = await startGateway({
      config,
      home,
      port: 0,
      env: { PINCER_HOME: home },
      logger: pino({ level: "silent" }),
      resolveModelRef: () => ({ provider, model: "scripted", ref: "scripted/scripted" }),
      channelAdapters: { telegram: platform.factory },
    });
    gateways.push(gw);
    await platform.waitForAdapter((a) => a.running);
    await platform.current!.inject({ chatType: "direct", peerId: "7", senderId: "7", text: "hi" });
    await platform.waitForSent(1);
    const code = /Pairing code: (\w{8})/.exec(platform.sent[0]!.text)![1]!;

    await gw.channels!.idle();
    const status = await cli(home, ["channels", "status", "--url", gw.url, "--probe"]);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(
      /^telegram\/default {2}running {2}connected {2}mode fake {2}in \d+s ago {2}out \d+s ago {2}queue 0 {2}probe ok \(fakebot\)\n$/,
    );
    const json = JSON.parse((await cli(home, ["channels", "status", "--url", gw.url, "--json"])).out) as {
      accounts: Array<{ state: string }>;
    };
    expect(json.accounts).toMatchObject([{ channel: "telegram", accountId: "default", state: "running" }]);

    expect(await cli(home, ["pairing", "approve", "telegram", code, "--notify", "--url", gw.url])).toMatchObject({
      code: 0,
      out: "Approved telegram sender 7 (notified).\n",
    });
    await platform.waitForSent(2);
    expect(platform.sent[1]).toMatchObject({ target: { to: "7" }, text: expect.stringMatching(/approved/) });
    await gw.stop(1000);
    gateways.pop();
    const down = await cli(home, ["channels", "status", "--url", gw.url]);
    expect(down).toMatchObject({ code: 1, err: expect.stringMatching(/cannot reach the gateway/) });
  });

  it("channels status after a revoked token: the account stopped with the fatal error, exit 1", async () => {
    const home = tmpHome();
    const config = { channels: { telegram: { botToken: "123:abc" } }, gateway: { auth: { token: TOKEN } } };
    fs.writeFileSync(path.join(home, "pincer.json"), JSON.stringify(config));
    const platform = new FakePlatform();
    platform.behaviour.fatal = true;
    const provider = new ScriptedProvider();
    const gw = await startGateway({
      config,
      home,
      port: 0,
      env: { PINCER_HOME: home },
      logger: pino({ level: "silent" }),
      resolveModelRef: () => ({ provider, model: "scripted", ref: "scripted/scripted" }),
      channelAdapters: { telegram: platform.factory },
    });
    gateways.push(gw);
    await until(async () => (await gw.channels!.status())[0]!.state === "fatal", 10_000);
    const status = await cli(home, ["channels", "status", "--url", gw.url]);
    expect(status.code).toBe(1);
    expect(status.out).toMatch(
      /^telegram\/default {2}fatal {2}not connected .*error: 401 Unauthorized: token revoked\n$/,
    );
    expect(platform.startAttempts).toBe(1);
    expect(gw.runtime.channelsLine?.()).toBe("📡 Channels: telegram fatal: 401 Unauthorized: token revoked");
  });
});
