/**
 * A TCP proxy in front of PostgreSQL that counts what clients send: statements (each extended
 * protocol Execute and each simple Query message) and round trips (a burst of client bytes after
 * the server last spoke on that connection). The store bench runs its counting phase through it,
 * so per-turn figures come from the wire, not from the code's own idea of what it sends.
 */
import * as net from "node:net";

export interface WireCounts {
  statements: number;
  roundTrips: number;
}

export interface WireCounter {
  /** `url` with its port replaced by the proxy's. */
  url: string;
  counts(): WireCounts;
  close(): Promise<void>;
}

export async function startPgWireCounter(upstreamUrl: string): Promise<WireCounter> {
  const target = new URL(upstreamUrl);
  const totals: WireCounts = { statements: 0, roundTrips: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    // No Nagle delay on either leg: a proxy must not add latency the direct connection has not.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    let serverSpoke = true;
    let started = false; // the startup message has no type byte
    let pending: Buffer = Buffer.alloc(0);
    client.on("data", (b: Buffer) => {
      if (serverSpoke) totals.roundTrips++;
      serverSpoke = false;
      upstream.write(b);
      pending = pending.length ? Buffer.concat([pending, b]) : b;
      for (;;) {
        const head = started ? 1 : 0;
        if (pending.length < head + 4) break;
        const len = pending.readInt32BE(head);
        if (pending.length < head + len) break;
        if (started) {
          const type = String.fromCharCode(pending[0]!);
          if (type === "E" || type === "Q") totals.statements++;
        } else if (len !== 8) started = true; // an SSLRequest (length 8) is followed by the real startup
        pending = pending.subarray(head + len);
      }
    });
    upstream.on("data", (b: Buffer) => {
      serverSpoke = true;
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
    url: url.toString(),
    counts: () => ({ ...totals }),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
