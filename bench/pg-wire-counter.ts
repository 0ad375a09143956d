/**
 * A TCP proxy in front of PostgreSQL that counts what clients send: statements (each extended
 * protocol Execute and each simple Query message) and round trips (a burst of client bytes after
 * the server last spoke on that connection). The store bench runs its counting phase through it,
 * so per-turn figures come from the wire, not from the code's own idea of what it sends.
 */
import * as fs from "node:fs";
import { startWireProxy } from "./wire-proxy.ts";

/** `PINCER_BENCH_WIRE_LOG=<file>`: every statement, one a line, with its connection and round trip. */
const LOG_FILE = process.env.PINCER_BENCH_WIRE_LOG || undefined;
const cstr = (b: Buffer, at: number): [string, number] => {
  const end = b.indexOf(0, at);
  return [b.toString("utf8", at, end), end + 1];
};

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
  const names = new Map<string, string>();
  let connections = 0;
  const proxy = await startWireProxy(upstreamUrl, () => {
    const conn = ++connections;
    let bound = "";
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
            if (LOG_FILE) {
              if (type === "P") {
                const [name, at] = cstr(pending, 5);
                names.set(name, cstr(pending, at)[0]);
                bound = cstr(pending, at)[0];
              } else if (type === "B") {
                const [, at] = cstr(pending, 5);
                const name = cstr(pending, at)[0];
                if (name) bound = names.get(name) ?? name;
              }
              const sql = type === "Q" ? cstr(pending, 5)[0] : type === "E" ? bound : null;
              if (sql !== null)
                fs.appendFileSync(
                  LOG_FILE,
                  `c${conn} rt${totals.roundTrips} ${sql.replace(/\s+/g, " ").slice(0, 160)}\n`,
                );
            }
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
