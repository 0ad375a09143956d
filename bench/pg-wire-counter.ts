/**
 * A TCP proxy in front of PostgreSQL that counts what clients send: statements (each extended
 * protocol Execute and each simple Query message) and round trips (a burst of client bytes after
 * the server last spoke on that connection). The store bench runs its counting phase through it,
 * so per-turn figures come from the wire, not from the code's own idea of what it sends.
 *
 * Commits are read from the server's replies: a COMMIT's CommandComplete, plus every statement run
 * outside a transaction block (its own implicit transaction: ReadyForQuery says idle before and
 * after). pg_stat_database counts the same, but a busy backend reports its counts up to 10 s late
 * (PostgreSQL 15+: at most once a second, and an idle one only after PGSTAT_IDLE_INTERVAL), so a
 * short window read from it carries commits of the minutes before.
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
  /** Transactions that committed: explicit (COMMIT) and implicit (a statement outside a block). */
  commits: number;
}

export interface WireCounter {
  /** `url` with its port replaced by the proxy's. */
  url: string;
  counts(): WireCounts;
  close(): Promise<void>;
}

export async function startPgWireCounter(upstreamUrl: string): Promise<WireCounter> {
  const totals: WireCounts = { statements: 0, roundTrips: 0, commits: 0 };
  const names = new Map<string, string>();
  let connections = 0;
  const proxy = await startWireProxy(upstreamUrl, () => {
    const conn = ++connections;
    let bound = "";
    let serverSpoke = true;
    let started = false; // the startup message has no type byte
    let pending: Buffer = Buffer.alloc(0);
    // Server side: messages are type byte + length, except the one-byte answer to an SSLRequest.
    let sslAnswers = 0;
    let fromServer: Buffer = Buffer.alloc(0);
    let idle = true; // the transaction status of the last ReadyForQuery
    let completedSinceReady = 0; // statements completed since it, other than BEGIN/COMMIT/ROLLBACK
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
          } else if (len !== 8)
            started = true; // an SSLRequest (length 8) is followed by the real startup
          else sslAnswers++;
          pending = pending.subarray(head + len);
        }
      },
      server(b) {
        serverSpoke = true;
        fromServer = fromServer.length ? Buffer.concat([fromServer, b]) : b;
        while (sslAnswers > 0 && fromServer.length > 0) {
          sslAnswers--;
          fromServer = fromServer.subarray(1);
        }
        while (fromServer.length >= 5) {
          const len = fromServer.readInt32BE(1);
          if (fromServer.length < 1 + len) break;
          const type = String.fromCharCode(fromServer[0]!);
          if (type === "C") {
            const tag = cstr(fromServer, 5)[0];
            if (tag === "COMMIT") totals.commits++;
            else if (tag !== "BEGIN" && tag !== "ROLLBACK") completedSinceReady++;
          } else if (type === "Z") {
            const nowIdle = fromServer[5] === 0x49; // 'I'
            if (idle && nowIdle && completedSinceReady > 0) totals.commits++;
            idle = nowIdle;
            completedSinceReady = 0;
          }
          fromServer = fromServer.subarray(1 + len);
        }
      },
    };
  });
  return { url: proxy.url.toString(), counts: () => ({ ...totals }), close: () => proxy.close() };
}
