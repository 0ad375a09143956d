/**
 * A TCP proxy in front of Redis that counts the commands clients send (each top-level RESP array;
 * a script call is one command however many it runs inside, unlike INFO commandstats). The store
 * bench's Redis counting runs go through it.
 */
import * as fs from "node:fs";
import { startWireProxy } from "./wire-proxy.ts";

/** `PINCER_BENCH_WIRE_LOG=<file>`: each command's name (and an EVALSHA's script hash), one a line. */
const LOG_FILE = process.env.PINCER_BENCH_WIRE_LOG || undefined;

export interface RedisWireCounter {
  url: string;
  commands(): number;
  close(): Promise<void>;
}

/** Consumes complete RESP command arrays from `buf`; returns how many and what is left. */
function takeCommands(buf: Buffer): { n: number; rest: Buffer; names: string[] } {
  let n = 0;
  const names: string[] = [];
  let at = 0;
  outer: for (;;) {
    const lineEnd = buf.indexOf("\r\n", at);
    if (lineEnd < 0 || buf[at] !== 0x2a /* '*' */) break;
    const count = Number(buf.toString("latin1", at + 1, lineEnd));
    let p = lineEnd + 2;
    const words: string[] = [];
    for (let i = 0; i < count; i++) {
      const e = buf.indexOf("\r\n", p);
      if (e < 0) break outer;
      const len = Number(buf.toString("latin1", p + 1, e));
      if (LOG_FILE && i < 2) words.push(buf.toString("latin1", e + 2, e + 2 + Math.min(len, 12)));
      p = e + 2 + len + 2;
      if (p > buf.length) break outer;
    }
    n++;
    if (LOG_FILE) names.push(words[0]!.toLowerCase() === "evalsha" ? words.join(" ") : words[0]!);
    at = p;
  }
  return { n, rest: buf.subarray(at), names };
}

export async function startRedisWireCounter(upstreamUrl: string): Promise<RedisWireCounter> {
  let total = 0;
  const proxy = await startWireProxy(upstreamUrl, () => {
    let pending: Buffer = Buffer.alloc(0);
    return {
      client(b) {
        const got = takeCommands(pending.length ? Buffer.concat([pending, b]) : b);
        total += got.n;
        if (LOG_FILE && got.names.length) fs.appendFileSync(LOG_FILE, got.names.map((x) => `${x}\n`).join(""));
        pending = Buffer.from(got.rest);
      },
    };
  });
  return { url: proxy.url.toString().replace(/\/$/, ""), commands: () => total, close: () => proxy.close() };
}
