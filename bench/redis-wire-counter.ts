/**
 * A TCP proxy in front of Redis that counts the commands clients send (each top-level RESP array;
 * a script call is one command however many it runs inside, unlike INFO commandstats). The store
 * bench's Redis counting runs go through it.
 */
import * as net from "node:net";

export interface RedisWireCounter {
  url: string;
  commands(): number;
  close(): Promise<void>;
}

/** Consumes complete RESP command arrays from `buf`; returns how many and what is left. */
function takeCommands(buf: Buffer): { n: number; rest: Buffer } {
  let n = 0;
  let at = 0;
  outer: for (;;) {
    const lineEnd = buf.indexOf("\r\n", at);
    if (lineEnd < 0 || buf[at] !== 0x2a /* '*' */) break;
    const count = Number(buf.toString("latin1", at + 1, lineEnd));
    let p = lineEnd + 2;
    for (let i = 0; i < count; i++) {
      const e = buf.indexOf("\r\n", p);
      if (e < 0) break outer;
      const len = Number(buf.toString("latin1", p + 1, e));
      p = e + 2 + len + 2;
      if (p > buf.length) break outer;
    }
    n++;
    at = p;
  }
  return { n, rest: buf.subarray(at) };
}

export async function startRedisWireCounter(upstreamUrl: string): Promise<RedisWireCounter> {
  const target = new URL(upstreamUrl);
  let total = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    // No Nagle delay on either leg: a proxy must not add latency the direct connection has not.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    client.on("data", (b: Buffer) => {
      upstream.write(b);
      const got = takeCommands(pending.length ? Buffer.concat([pending, b]) : b);
      total += got.n;
      pending = Buffer.from(got.rest);
    });
    upstream.on("data", (b: Buffer) => client.write(b));
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
    url: url.toString().replace(/\/$/, ""),
    commands: () => total,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
