/**
 * Issue 11 item 4, with real processes on one fs home: a second gateway is refused with one line
 * naming the home and the running process; a gateway restarted after a SIGKILL mid-load writes at
 * once (the dead holder's lease is taken over, not waited out); and the CLI beside a loaded gateway
 * gets its turn at the index lease.
 */
import * as fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "./helpers/postgres-server.ts";
import { inbound } from "./helpers/gateway-process.ts";
import { envelope, makeHome, runCli, spawnGateway, startHomeGateway, startLoad, type HomeGateway } from "./helpers/fs-home-gateway.ts";

// A long TTL: waiting it out (the old behaviour) cannot pass for "at once".
const config = { session: { dmScope: "per-channel-peer", reset: { mode: "none" }, store: { backend: "fs", leaseTtlMs: 20_000 } } };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function track(gw: HomeGateway, home?: string): HomeGateway {
  cleanups.push(async () => {
    await gw.kill("SIGKILL");
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });
  return gw;
}

describe("one gateway per fs home", () => {
  it("refuses a second gateway on the same home with one line naming the home and the running process", { timeout: 60_000 }, async () => {
    const home = makeHome(config);
    const first = track(await startHomeGateway(home), home);
    const second = spawnGateway(home, await freePort());
    const code = await Promise.race([second.exited, new Promise<"running">((r) => setTimeout(() => r("running"), 15_000))]);
    if (code === "running") second.child.kill("SIGKILL");
    expect(code, `second gateway must exit; it printed: ${second.output()}`).not.toBe("running");
    expect(code).not.toBe(0);
    const lines = second.output().trim().split("\n");
    expect(lines, second.output()).toHaveLength(1);
    expect(lines[0]).toContain(fs.realpathSync(home));
    expect(lines[0]).toContain(`pid ${first.child.pid}`);
    expect(lines[0]).toContain(`port ${first.port}`);
    // The first gateway is unharmed.
    expect((await inbound(first.url, envelope("alice", 1))).status).toBe(200);
  });

  it("a gateway restarted after SIGKILL mid-load acknowledges its first write at once, not after the lease TTL", { timeout: 60_000 }, async () => {
    const home = makeHome(config);
    const gw = track(await startHomeGateway(home), home);
    const load = startLoad(gw.url, 8, (w) => `peer${w}`);
    const until = Date.now() + 10_000;
    while (load.acked() < 200 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(load.acked()).toBeGreaterThanOrEqual(200);
    await gw.kill("SIGKILL");
    await load.stop();

    const restarted = track(await startHomeGateway(home, gw.port));
    const res = await inbound(restarted.url, envelope("peer0", 1_000_000));
    const firstWriteMs = performance.now() - restarted.readyAt;
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    console.log(`first acknowledged write ${Math.round(firstWriteMs)} ms after the restarted gateway answered /healthz (lease TTL 20000 ms)`);
    expect(firstWriteMs).toBeLessThan(2000);
  });
});

describe("the CLI beside a loaded gateway", () => {
  it("sessions delete, reset and cleanup succeed while the gateway is under load", { timeout: 120_000 }, async () => {
    const home = makeHome(config);
    const gw = track(await startHomeGateway(home), home);
    for (const peer of ["victim-a", "victim-b"]) expect((await inbound(gw.url, envelope(peer, 0))).status).toBe(200);
    const load = startLoad(gw.url, 12, (w, n) => `load${w}-${n % 5}`);
    try {
      await new Promise((r) => setTimeout(r, 500));
      const before = load.acked();
      const results = [];
      for (const args of [
        ["sessions", "delete", "agent:main:telegram:direct:victim-a", "--json"],
        ["sessions", "reset", "agent:main:telegram:direct:victim-b", "--json"],
        ["sessions", "cleanup", "--enforce", "--json"],
      ]) {
        const r = await runCli(home, args);
        results.push(r);
        expect(r.code, `${args.join(" ")} (${r.ms} ms): ${r.stderr}${r.stdout}`).toBe(0);
        expect(r.ms, args.join(" ")).toBeLessThan(8000);
      }
      console.log(`CLI beside a loaded gateway: ${results.map((r) => `${r.ms} ms`).join(", ")}`);
      // The gateway kept serving meanwhile.
      expect(load.acked()).toBeGreaterThan(before);
    } finally {
      await load.stop();
    }
    expect(load.errors()).toEqual([]);
    const list = await runCli(home, ["sessions", "--json"]);
    const keys = (JSON.parse(list.stdout) as { sessions: Array<{ key: string }> }).sessions.map((s) => s.key);
    expect(keys).not.toContain("agent:main:telegram:direct:victim-a");
    expect(keys).toContain("agent:main:telegram:direct:victim-b");
  });
});
