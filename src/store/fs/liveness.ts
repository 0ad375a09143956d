/**
 * Kernel-released liveness endpoints for the single-host fs store. A process listens on a Unix
 * socket (Linux: the abstract namespace, so no file is left behind; elsewhere a socket file in the
 * temp directory). The kernel closes it when the process dies, however it dies, so a refused
 * connect means "nobody is there" with no PID guessing, while a live but stalled process still
 * accepts at the kernel level. Node has no flock; this is the equivalent it does have.
 *
 * Used for the home lock (one gateway per home, home-lock.ts) and for lease holders: a waiter that
 * finds the holder of a journal lease dead takes it over at once instead of waiting for its TTL.
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
      // A socket file left by a dead process (not on Linux, where the name dies with the process).
      if (address.startsWith("\0") || attempt >= 2) return null;
      fs.rmSync(address, { force: true });
    }
  }
}

// ---------------------------------------------------------------- lease holders

let processEndpoint: Promise<string | null> | null = null;

/**
 * This process's liveness token, listening on first use; null when no endpoint could be opened
 * (then this process's leases are judged by their TTL only, as before).
 */
export function processLivenessToken(): Promise<string | null> {
  processEndpoint ??= (async () => {
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

/** The owner-id suffix that says its process has a liveness endpoint. */
export function livenessSuffix(token: string): string {
  return `:live-${token}`;
}

const OWNER_RE = /^([^:]+):(\d+):[0-9a-f]+:live-([0-9a-f]{12})$/;

/**
 * True only when the owner's process is known to be gone: its id names a liveness endpoint on this
 * host and nobody listens there. Owners from other hosts or without an endpoint are never "dead".
 */
export async function ownerIsDead(owner: string): Promise<boolean> {
  const m = OWNER_RE.exec(owner);
  if (!m || m[1] !== os.hostname()) return false;
  const result = await probe(socketAddress("live", livenessIdentity(m[1], Number(m[2]), m[3]!)), 1000, { info: false });
  return !result.alive;
}
