/**
 * A TCP proxy on a free loopback port in front of a database, handing each connection's bytes
 * to a per-connection observer: the store bench's wire counters (pg-wire-counter.ts,
 * redis-wire-counter.ts) are a parser each on top of it.
 */
import * as net from "node:net";

export interface ConnectionObserver {
  /** Bytes the client sent, in order. */
  client(b: Buffer): void;
  /** Bytes the server sent back. */
  server?(b: Buffer): void;
}

export interface WireProxy {
  /** `upstreamUrl` with its port replaced by the proxy's. */
  url: URL;
  close(): Promise<void>;
}

export async function startWireProxy(upstreamUrl: string, observe: () => ConnectionObserver): Promise<WireProxy> {
  const target = new URL(upstreamUrl);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    // No Nagle delay on either leg: a proxy must not add latency the direct connection has not.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const observer = observe();
    client.on("data", (b: Buffer) => {
      upstream.write(b);
      observer.client(b);
    });
    upstream.on("data", (b: Buffer) => {
      observer.server?.(b);
      client.write(b);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on("error", end);
      s.on("close", end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(upstreamUrl);
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
