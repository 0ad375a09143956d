/**
 * No network in tests: every TCP/TLS/UDP connection attempt and every DNS lookup for a host that
 * is not loopback throws `NoNetworkError` at the call site, so `fetch` (undici), `http`, `ws`, the
 * platform client libraries and anything else that reaches `net`/`tls`/`dgram`/`dns` fails loudly
 * instead of quietly talking to the internet. Unix sockets and loopback (127/8, ::1, localhost) are
 * untouched — the embedded Postgres, Redis, Chromium's CDP and every local fake server use those.
 * Registered in vitest.config.ts `setupFiles`; it runs once per worker before each test file.
 */
import dgram from "node:dgram";
import dns from "node:dns";
import net from "node:net";
import tls from "node:tls";

export class NoNetworkError extends Error {
  readonly code = "ENONETWORK";
  constructor(what: string, host: string) {
    super(`no-network guard: ${what} to non-loopback host "${host}" refused (tests may only use loopback)`);
  }
}

const GUARD = Symbol.for("pincer.test.no-network");

export function isLoopbackHost(raw: string): boolean {
  const host = raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw;
  const lower = host.toLowerCase();
  if (lower === "localhost" || lower.endsWith(".localhost")) return true;
  const kind = net.isIP(lower);
  if (kind === 4) return lower.startsWith("127.") || lower === "0.0.0.0";
  if (kind === 6) {
    if (lower === "::1" || lower === "::" || lower === "0:0:0:0:0:0:0:1") return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    return mapped !== null && mapped[1]!.startsWith("127.");
  }
  return false;
}

function refuse(what: string, host: string): never {
  const err = new NoNetworkError(what, host);
  // Also on stderr: some libraries swallow connection errors into a retry loop.
  console.error(err.message);
  throw err;
}

/** The host a `Socket#connect` / `net.connect` / `tls.connect` call aims at, or undefined for a unix socket. */
function connectHost(args: unknown[]): string | undefined {
  let first = args[0];
  // net.connect() hands Socket#connect its normalised [options, cb] array.
  if (Array.isArray(first)) first = first[0];
  if (first !== null && typeof first === "object") {
    const o = first as { host?: unknown; path?: unknown; hostname?: unknown };
    if (typeof o.path === "string" && o.host === undefined) return undefined;
    if (typeof o.host === "string" && o.host !== "") return o.host;
    if (typeof o.hostname === "string" && o.hostname !== "") return o.hostname;
    return "localhost";
  }
  if (typeof first === "string" && !/^\d+$/.test(first)) return undefined; // a unix socket path
  return typeof args[1] === "string" && args[1] !== "" ? args[1] : "localhost";
}

function install(): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[GUARD]) return;
  g[GUARD] = true;

  const socketConnect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    const host = connectHost(args);
    if (host !== undefined && !isLoopbackHost(host)) refuse("TCP connect", host);
    return (socketConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;

  for (const [mod, name] of [
    [net, "connect"],
    [net, "createConnection"],
    [tls, "connect"],
  ] as const) {
    const original = (mod as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
    (mod as unknown as Record<string, unknown>)[name] = function guarded(...args: unknown[]) {
      const host = connectHost(args);
      if (host !== undefined && !isLoopbackHost(host))
        refuse(`${name === "connect" && mod === tls ? "TLS" : "TCP"} connect`, host);
      return original.apply(this, args);
    };
  }

  const dnsLookup = dns.lookup;
  (dns as { lookup: unknown }).lookup = function guardedLookup(hostname: string, ...rest: unknown[]) {
    if (typeof hostname === "string" && !isLoopbackHost(hostname)) refuse("DNS lookup", hostname);
    return (dnsLookup as (...a: unknown[]) => unknown).call(dns, hostname, ...rest);
  };
  const promiseLookup = dns.promises.lookup;
  (dns.promises as { lookup: unknown }).lookup = async function guardedPromiseLookup(
    hostname: string,
    ...rest: unknown[]
  ) {
    if (typeof hostname === "string" && !isLoopbackHost(hostname)) refuse("DNS lookup", hostname);
    return (promiseLookup as (...a: unknown[]) => Promise<unknown>).call(dns.promises, hostname, ...rest);
  };

  const udpSend = dgram.Socket.prototype.send;
  dgram.Socket.prototype.send = function guardedSend(this: dgram.Socket, ...args: unknown[]) {
    // send(msg, [offset, length,] port, [address], [cb]): the address is the only string after msg.
    const address = args.slice(1).find((a) => typeof a === "string");
    if (typeof address === "string" && !isLoopbackHost(address)) refuse("UDP send", address);
    return (udpSend as (...a: unknown[]) => void).apply(this, args);
  } as typeof dgram.Socket.prototype.send;
  const udpConnect = dgram.Socket.prototype.connect;
  dgram.Socket.prototype.connect = function guardedUdpConnect(this: dgram.Socket, ...args: unknown[]) {
    const address = args[1];
    if (typeof address === "string" && !isLoopbackHost(address)) refuse("UDP connect", address);
    return (udpConnect as (...a: unknown[]) => void).apply(this, args);
  } as typeof dgram.Socket.prototype.connect;
}

install();
