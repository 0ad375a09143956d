/**
 * A TCP proxy in front of PostgreSQL that counts what clients send: statements (each extended
 * protocol Execute and each simple Query message) and round trips (a burst of client bytes after
 * the server last spoke on that connection). The store bench runs its counting phase through it,
 * so per-turn figures come from the wire, not from the code's own idea of what it sends.
 */
import { startWireProxy } from "./wire-proxy.ts";

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
  const totals: WireCounts = { statements: 0, roundTrips: 0 };
  const proxy = await startWireProxy(upstreamUrl, () => {
    let serverSpoke = true;
    let started = false; // the startup message has no type byte
    let pending: Buffer = Buffer.alloc(0);
    return {
      client(b) {
        if (serverSpoke) totals.roundTrips++;
        serverSpoke = false;
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
      },
      server() {
        serverSpoke = true;
      },
    };
  });
  return { url: proxy.url.toString(), counts: () => ({ ...totals }), close: () => proxy.close() };
}
