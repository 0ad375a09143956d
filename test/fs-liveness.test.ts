/**
 * What a refused connect may prove on the fs store (liveness.ts). Abstract Unix sockets exist per
 * network namespace: a lease holder in another namespace (a container sharing the volume and the
 * host name) refuses every connect while alive, so it must be left to its TTL, never taken over.
 * And the gateway locks are socket files inside the private directory, so nobody can squat the
 * abstract name of a home, and a dead gateway's file does not block the next one.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";
import { livenessSuffix, ownerIsDead, reachScope } from "../src/store/fs/liveness.ts";
import { acquireGatewayLocks, acquireHomeLock, HomeInUseError } from "../src/store/fs/home-lock.ts";

const FS_STORE = path.resolve(import.meta.dirname, "../src/store/fs/fs-store.ts");

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `unshare -n` gives a child its own network namespace; it needs root (CI runs as root). */
const canUnshare = process.platform === "linux" && spawnSync("unshare", ["-n", "true"]).status === 0;

/** A store in a child process that takes the index lease, keeps it (no idle release) and stays alive. */
function holderChild(
  storePath: string,
  ttl: number,
  unshareNet: boolean,
): Promise<{ child: ChildProcess; owner: string }> {
  const script = `
    const { FsSessionStore } = await import(${JSON.stringify(FS_STORE)});
    const store = await FsSessionStore.open({ storePath: ${JSON.stringify(storePath)}, leaseTtlMs: ${ttl}, idleReleaseMs: 600000, snapshotIntervalMs: 0 });
    await store.patch("held", () => ({ sessionId: "held", updatedAt: Date.now() }));
    const fs = await import("node:fs");
    const line = fs.readFileSync(${JSON.stringify(path.dirname(storePath))} + "/" + fs.readdirSync(${JSON.stringify(path.dirname(storePath))}).find((n) => n.startsWith("sessions.journal.")), "utf8").split("\\n").find((l) => l.includes('"op":"lease"'));
    process.stdout.write(JSON.parse(line).o + "\\n");
    process.stdin.resume();
  `;
  const argv = [process.execPath, "--input-type=module", "-e", script];
  const child = unshareNet
    ? spawn("unshare", ["-n", ...argv], { stdio: ["pipe", "pipe", "pipe"] })
    : spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
  cleanups.push(() => {
    child.kill("SIGKILL");
  });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve({ child, owner: out.trim() });
    });
    child.once("exit", (code) => reject(new Error(`holder exited with ${code}: ${err}`)));
  });
}

describe("liveness of fs lease holders", () => {
  it("an owner id says which network namespace and boot can probe it; only those are ever judged dead", async () => {
    const scope = reachScope();
    expect(scope).not.toBeNull();
    const token = "0123456789ab"; // nobody listens for it
    const base = `${os.hostname()}:${process.pid}:abcdef`;
    expect(await ownerIsDead(`${base}${livenessSuffix(token)}`)).toBe(true);
    // Another namespace or boot, an older owner id without a scope, another host: only the TTL decides.
    expect(await ownerIsDead(`${base}:live-${token}-n1b0000000000000000`)).toBe(false);
    expect(await ownerIsDead(`${base}:live-${token}`)).toBe(false);
    expect(await ownerIsDead(`not-${os.hostname()}:${process.pid}:abcdef${livenessSuffix(token)}`)).toBe(false);
  });

  it.skipIf(!canUnshare)(
    "a live lease holder in another network namespace (same host name, same volume) is not taken over",
    { timeout: 30_000 },
    async () => {
      const dir = tempDir("pincer-netns-");
      const storePath = path.join(dir, "sessions.json");
      const ttl = 2500;
      const { owner } = await holderChild(storePath, ttl, true);
      const store = await FsSessionStore.open({ storePath, leaseTtlMs: ttl, snapshotIntervalMs: 0 });
      cleanups.push(() => store.close());
      const started = performance.now();
      await store.patch("mine", () => ({ sessionId: "mine", updatedAt: Date.now() }));
      const waited = performance.now() - started;
      console.log(
        `writer beside a live holder in another network namespace waited ${Math.round(waited)} ms (TTL ${ttl} ms)`,
      );
      const journal = fs
        .readdirSync(dir)
        .filter((n) => n.startsWith("sessions.journal."))
        .map((n) => fs.readFileSync(path.join(dir, n), "utf8"))
        .join("");
      expect(journal, "no takeover of the live holder").not.toContain(`"over":${JSON.stringify(owner)}`);
      // It waited for the holder's lease to run out (less the time the child took to report).
      expect(waited).toBeGreaterThan(ttl / 2);
    },
  );

  it("a killed holder in this namespace is taken over at once", { timeout: 30_000 }, async () => {
    const dir = tempDir("pincer-netns-same-");
    const storePath = path.join(dir, "sessions.json");
    const ttl = 20_000;
    const { child, owner } = await holderChild(storePath, ttl, false);
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    const store = await FsSessionStore.open({ storePath, leaseTtlMs: ttl, snapshotIntervalMs: 0 });
    cleanups.push(() => store.close());
    const started = performance.now();
    await store.patch("mine", () => ({ sessionId: "mine", updatedAt: Date.now() }));
    expect(performance.now() - started).toBeLessThan(2000);
    const journal = fs
      .readdirSync(dir)
      .filter((n) => n.startsWith("sessions.journal."))
      .map((n) => fs.readFileSync(path.join(dir, n), "utf8"))
      .join("");
    expect(journal).toContain(`"over":${JSON.stringify(owner)}`);
  });
});

describe("gateway locks", () => {
  it.skipIf(process.platform !== "linux")(
    "a squatter on the home's abstract socket name does not block the gateway",
    async () => {
      const home = tempDir("pincer-squat-");
      const real = fs.realpathSync(home);
      // What any local user could bind: the abstract name the lock was once derived from.
      const hash = createHash("sha256").update(real).digest("hex").slice(0, 32);
      const squatter = net.createServer((s) => s.end(JSON.stringify({ pid: 1, host: "evil", startedAt: "never" })));
      await new Promise<void>((resolve, reject) => {
        squatter.once("error", reject);
        squatter.listen({ path: `\0pincer-home-${hash}` }, () => resolve());
      });
      cleanups.push(() => new Promise<void>((r) => squatter.close(() => r())));
      const lock = await acquireHomeLock(home, { version: "test" });
      cleanups.push(() => lock.release());
      expect(fs.statSync(path.join(real, ".pincer-gateway.sock")).isSocket()).toBe(true);
    },
  );

  it("a socket file left by a dead gateway does not block the next; a live one still refuses", async () => {
    const home = tempDir("pincer-stale-");
    const sock = path.join(fs.realpathSync(home), ".pincer-gateway.sock");
    // A dead gateway's socket file: bound, then the process gone without unlinking it.
    const dead = spawnSync(process.execPath, [
      "-e",
      `require("net").createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, "SIGKILL"))`,
    ]);
    expect(dead.signal).toBe("SIGKILL");
    expect(fs.statSync(sock).isSocket()).toBe(true);
    const lock = await acquireHomeLock(home, { version: "test" });
    cleanups.push(() => lock.release());
    lock.note("port", 4242);
    const second = await acquireHomeLock(home, { version: "test" }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(second).toBeInstanceOf(HomeInUseError);
    expect(String((second as Error).message)).toContain(`pid ${process.pid}`);
    expect(String((second as Error).message)).toContain("port 4242");
    await lock.release();
    expect(fs.existsSync(sock), "a clean stop removes its socket file").toBe(false);
  });

  it("two starters racing over one dead socket file: exactly one gets the lock", async () => {
    const home = tempDir("pincer-race-");
    const sock = path.join(fs.realpathSync(home), ".pincer-gateway.sock");
    for (let round = 0; round < 10; round++) {
      const dead = spawnSync(process.execPath, [
        "-e",
        `require("net").createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, "SIGKILL"))`,
      ]);
      expect(dead.signal).toBe("SIGKILL");
      const results = await Promise.allSettled([
        acquireHomeLock(home, { version: "a" }),
        acquireHomeLock(home, { version: "b" }),
      ]);
      const won = results.filter((r) => r.status === "fulfilled");
      expect(won, `round ${round}`).toHaveLength(1);
      await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireHomeLock>>>).value.release();
    }
  });

  it("two homes whose session.store points at one directory: the second is refused naming the store and the holder", async () => {
    const shared = tempDir("pincer-shared-store-");
    const homeA = tempDir("pincer-home-a-");
    const homeB = tempDir("pincer-home-b-");
    const a = await acquireGatewayLocks(homeA, [shared], { version: "test" });
    cleanups.push(() => a.release());
    const refused = await acquireGatewayLocks(homeB, [path.join(homeB, "..", path.basename(shared))], {
      version: "test",
    }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(HomeInUseError);
    const msg = (refused as Error).message;
    expect(msg.split("\n")).toHaveLength(1);
    expect(msg).toContain(`session store ${fs.realpathSync(shared)}`);
    expect(msg).toContain(`pid ${process.pid}`);
    expect(msg).toContain(`home ${fs.realpathSync(homeA)}`);
    // The refused one took nothing: its own home is free again.
    const b = await acquireHomeLock(homeB, { version: "test" });
    await b.release();
  });
});
