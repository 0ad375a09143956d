/**
 * Kernel-released liveness endpoints for the single-host fs store. A process listens on a Unix
 * socket. The kernel closes it when the process dies, however it dies, so a refused connect means
 * "nobody is there" with no PID guessing, while a live but stalled process still accepts at the
 * kernel level. Node has no flock; this is the equivalent it does have.
 *
 * Used for the gateway locks (one gateway per home and per store directory, home-lock.ts: a socket
 * file inside the private directory being locked) and for lease holders (the Linux abstract
 * namespace, so no file is left behind): a waiter that finds the holder of a journal lease dead
 * takes it over at once instead of waiting for its TTL. Abstract names exist per network namespace,
 * so a holder is judged by a refused connect only when it advertised this process's namespace and
 * boot (`reachScope`); any other holder (another container sharing the volume, another machine, an
 * older Pincer) is left to its TTL.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

/** What a listening endpoint says about its process when asked. */
export type EndpointInfo = Record<string, string | number>;

export type ProbeResult = { alive: false } | { alive: true; info: EndpointInfo | null };

/** Socket address for `identity` within `kind` (e.g. "home", "live"); fits the 107-byte limit. */
export function socketAddress(kind: string, identity: string): string {
  const hash = createHash("sha256").update(identity).digest("hex").slice(0, 32);
  if (process.platform === "linux") return `\0pincer-${kind}-${hash}`;
  return path.join(os.tmpdir(), `pincer-${kind}-${hash}.sock`);
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/**
 * Asks whether anyone listens at `address`. Only a refused connect (or a missing socket file) means
 * dead; a timeout or any other error counts as alive, so a takeover never rests on a guess.
 */
export function probe(address: string, timeoutMs = 1000, options: { info?: boolean } = {}): Promise<ProbeResult> {
  const wantInfo = options.info ?? true;
  return new Promise((resolve) => {
    let settled = false;
    let text = "";
    let connected = false;
    const socket = net.connect({ path: address });
    const done = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const answer = (): ProbeResult => {
      try {
        const info = JSON.parse(text) as unknown;
        return { alive: true, info: info && typeof info === "object" ? (info as EndpointInfo) : null };
      } catch {
        return { alive: true, info: null };
      }
    };
    const timer = setTimeout(() => done({ alive: true, info: null }), timeoutMs);
    timer.unref();
    socket.setEncoding("utf8");
    socket.on("connect", () => {
      connected = true;
      // Accepted by the kernel: alive, even if its event loop is too busy to answer.
      if (!wantInfo) done({ alive: true, info: null });
    });
    socket.on("data", (chunk: string) => {
      text += chunk;
      if (text.length > 64 * 1024) done({ alive: true, info: null });
    });
    socket.on("end", () => done(answer()));
    socket.on("error", (err) => {
      const code = errnoOf(err);
      done(!connected && (code === "ECONNREFUSED" || code === "ENOENT") ? { alive: false } : answer());
    });
  });
}

function listenOnce(server: net.Server, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off("listening", onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen({ path: address, exclusive: true });
  });
}

/**
 * Listens at `address`, answering every connection with `info` (one JSON document). Returns null
 * when a live process already listens there. The server never keeps the process alive by itself.
 */
export async function listenExclusive(address: string, info: EndpointInfo): Promise<net.Server | null> {
  const server = net.createServer((socket) => {
    socket.on("error", () => {}); // a prober that hangs up early is not our problem
    socket.end(JSON.stringify(info));
  });
  server.on("error", () => {}); // after listening, accept errors must not end the process
  for (let attempt = 0; ; attempt++) {
    try {
      await listenOnce(server, address);
      server.unref();
      return server;
    } catch (err) {
      if (errnoOf(err) !== "EADDRINUSE") throw err;
      if ((await probe(address)).alive) return null;
      // An abstract name dies with its process; a socket file is left behind by a dead one.
      if (address.startsWith("\0") || attempt >= 2) return null;
      await removeDeadSocketFile(address);
    }
  }
}

/**
 * Removes a socket file nobody listens at, never a live one: two processes starting at once may
 * both find it dead, and the second must not delete the socket the first has just bound there. So
 * the file is first renamed to a unique name (atomic), what was moved is probed again, and a live
 * one is linked back under its name. (A third starter binding in that instant could still win the
 * name; two never can.)
 */
async function removeDeadSocketFile(address: string): Promise<void> {
  const moved = path.join(path.dirname(address), `.pincer-stale-${randomBytes(4).toString("hex")}`);
  try {
    fs.renameSync(address, moved);
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return;
    throw err;
  }
  try {
    if ((await probe(moved, 1000, { info: false })).alive) fs.linkSync(moved, address);
  } catch {
    // someone else holds the name now; the caller probes it again
  } finally {
    fs.rmSync(moved, { force: true });
  }
}

/** Longest path a Unix socket can be bound at (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * The lock socket of a private (0700) directory: a socket FILE inside it, so no other user can
 * bind it first or answer in its place (abstract names have no permissions). Only when that path is
 * too long for a Unix socket does it fall back to an abstract name derived from the directory —
 * which any local user could squat, and which is per network namespace.
 */
export function lockSocketAddress(dir: string, fileName: string, kind: string): string {
  const file = path.join(dir, fileName);
  return Buffer.byteLength(file) <= MAX_SOCKET_PATH ? file : socketAddress(kind, dir);
}

// ---------------------------------------------------------------- lease holders

let processEndpoint: Promise<string | null> | null = null;

/**
 * This process's liveness token, listening on first use; null when no endpoint could be opened
 * (then this process's leases are judged by their TTL only, as before).
 */
export function processLivenessToken(): Promise<string | null> {
  processEndpoint ??= (async () => {
    // Where nobody could probe us (scope unknown), an endpoint would never be asked.
    if (reachScope() === null) return null;
    const token = randomBytes(6).toString("hex");
    try {
      const server = await listenExclusive(socketAddress("live", livenessIdentity(os.hostname(), process.pid, token)), {
        pid: process.pid,
        host: os.hostname(),
        startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
      });
      return server ? token : null;
    } catch {
      return null;
    }
  })();
  return processEndpoint;
}

function livenessIdentity(host: string, pid: number, token: string): string {
  return `${host}:${pid}:${token}`;
}

/**
 * The owner-id suffix that says its process has a liveness endpoint, and where it can be reached:
 * `:live-<token>-<scope>`. (Owner ids of older versions end at the token; they are judged by TTL.)
 */
export function livenessSuffix(token: string): string {
  return `:live-${token}-${reachScope() ?? "unknown"}`;
}

let scope: string | null | undefined;

/**
 * Who can reach this process's abstract sockets: on Linux, processes in the same network namespace
 * (the inode of /proc/self/ns/net) of the same running kernel (its boot id); null when either cannot
 * be read. Elsewhere the endpoints are socket files in the temp directory: "tmp".
 *
 * A different boot id is deliberately not taken as proof of death: it is as likely another machine
 * with the same host name sharing the volume (containers), and after a real reboot the TTL is over
 * by the time anyone asks.
 */
export function reachScope(): string | null {
  if (scope !== undefined) return scope;
  if (process.platform !== "linux") return (scope = "tmp");
  try {
    const netns = fs.statSync("/proc/self/ns/net").ino;
    const boot = fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim().replaceAll("-", "").toLowerCase();
    scope = /^[0-9a-f]{32}$/.test(boot) && netns > 0 ? `n${netns.toString(36)}b${boot.slice(0, 16)}` : null;
  } catch {
    scope = null;
  }
  return scope;
}

const OWNER_RE = /^([^:]+):(\d+):[0-9a-f]+:live-([0-9a-f]{12})(?:-([0-9a-z]+))?$/;

/**
 * True only when the owner's process is known to be gone: its id names a liveness endpoint on this
 * host, in this network namespace and boot, and nobody listens there. Owners from other hosts,
 * namespaces or boots, or without an endpoint, are never "dead": their leases expire by TTL.
 */
export async function ownerIsDead(owner: string): Promise<boolean> {
  const m = OWNER_RE.exec(owner);
  const here = reachScope();
  if (!m || m[1] !== os.hostname() || here === null || m[4] !== here) return false;
  const result = await probe(socketAddress("live", livenessIdentity(m[1], Number(m[2]), m[3]!)), 1000, { info: false });
  return !result.alive;
}
