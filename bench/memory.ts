/**
 * Memory under large messages: a gateway in its own process (echo model) receives messages of
 * ~1 MB spread over many sessions (one per sender); its resident set size is read from /proc after every round.
 * Caches are bounded in bytes, so RSS must level off instead of growing with what was sent.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort, rssMiB } from "./processes.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const TOKEN = "bench-token-0123456789abcdef";

export async function benchMemory(
  sessions = 60,
  rounds = 8,
  messageBytes = 1_000_000,
): Promise<Record<string, unknown>> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-bench-mem-"));
  // One session per sender (the default dmScope "main" would put every sender in one session).
  fs.writeFileSync(path.join(home, "pincer.json"), JSON.stringify({ session: { dmScope: "per-channel-peer" } }), {
    mode: 0o600,
  });
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, "bin/pincer.js"), "gateway", "--port", String(port)], {
    env: { ...process.env, PINCER_HOME: home, PINCER_LOG_LEVEL: "warn", PINCER_GATEWAY_TOKEN: TOKEN },
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    for (let i = 0; ; i++) {
      if (i > 200) throw new Error("gateway did not start");
      const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const pid = child.pid!;
    const idle = rssMiB(pid);
    const perRound: number[] = [];
    const text = "x".repeat(messageBytes);
    let failures = 0;
    const started = Date.now();
    for (let round = 0; round < rounds; round++) {
      // Four at a time: enough to keep the gateway busy without measuring the client.
      for (let s = 0; s < sessions; s += 4) {
        await Promise.all(
          Array.from({ length: Math.min(4, sessions - s) }, async (_, j) => {
            const r = await fetch(`http://127.0.0.1:${port}/v1/inbound`, {
              method: "POST",
              headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
              body: JSON.stringify({
                channel: "bench",
                chatType: "direct",
                peerId: `p${s + j}`,
                senderId: `p${s + j}`,
                text,
                messageId: `r${round}-p${s + j}`,
              }),
            });
            await r.arrayBuffer();
            if (r.status !== 200) failures++;
          }),
        );
      }
      perRound.push(rssMiB(pid));
    }
    return {
      sessions,
      rounds,
      messageBytes,
      messages: sessions * rounds,
      failures,
      sentMiB: Math.round((sessions * rounds * messageBytes) / 1024 / 1024),
      rssMiB: { idle, afterEachRound: perRound, peak: Math.max(...perRound) },
      seconds: Math.round((Date.now() - started) / 100) / 10,
      target: { maxRssMiB: 512 },
      pass: failures === 0 && Math.max(...perRound) < 512,
    };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    fs.rmSync(home, { recursive: true, force: true });
  }
}
