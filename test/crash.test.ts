/**
 * SIGKILL at random moments while a child process ingests: after every kill the store loads, every
 * acknowledged message is present, and nothing is recorded twice (a retried delivery is deduped).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";

const CHILD = path.join(import.meta.dirname, "fixtures", "ingest-child.ts");

interface RoundResult {
  acks: number[];
  dups: number[];
}

function runUntilKilled(home: string, firstSeq: number, killAfterMs: number): Promise<RoundResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, home, String(firstSeq)], { stdio: ["ignore", "pipe", "pipe"] });
    const acks: number[] = [];
    const dups: number[] = [];
    let buf = "";
    let stderr = "";
    let timer: NodeJS.Timeout | null = null;
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith("ack ")) acks.push(Number(line.slice(4)));
        if (line.startsWith("dup ")) dups.push(Number(line.slice(4)));
        // Start the kill timer once the child is really ingesting.
        if (!timer) timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve({ acks, dups });
      else reject(new Error(`child exited ${code} ${signal}: ${stderr}`));
    });
    setTimeout(() => child.kill("SIGKILL"), 20_000).unref();
  });
}

async function recordedTexts(storePath: string): Promise<{ texts: string[]; rows: number }> {
  const store = await FsSessionStore.open({ storePath, readOnly: true });
  try {
    const texts: string[] = [];
    const rows = await store.all();
    for (const r of rows) {
      const read = await store.readTranscript(r.entry.sessionId);
      for (const line of read.lines) {
        const msg = line.message as { content?: unknown } | undefined;
        if (!msg) continue;
        const content = msg.content;
        texts.push(typeof content === "string" ? content : ((content as Array<{ text?: string }>)[0]?.text ?? ""));
      }
    }
    return { texts, rows: rows.length };
  } finally {
    await store.close();
  }
}

describe("crash safety", () => {
  it(
    "survives 20 SIGKILLs mid-ingest without losing or duplicating an acknowledged message",
    { timeout: 180_000 },
    async () => {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-crash-"));
      fs.writeFileSync(
        path.join(home, "pincer.json"),
        JSON.stringify({
          session: { dmScope: "per-channel-peer", reset: { mode: "none" }, store: { backend: "fs", leaseTtlMs: 300 } },
        }),
      );
      const storePath = path.join(home, "agents", "main", "sessions", "sessions.json");
      const acked: number[] = [];
      const deduped: number[] = [];
      let next = 1;
      try {
        for (let round = 0; round < 20; round++) {
          const { acks, dups } = await runUntilKilled(home, next, 20 + Math.floor(Math.random() * 250));
          acked.push(...acks);
          deduped.push(...dups);
          // A real bridge re-sends what was not acknowledged: start again at the first unacked message.
          next = Math.max(0, ...acked, ...dups) + 1;
          const { texts } = await recordedTexts(storePath);
          const counts = new Map<string, number>();
          for (const t of texts) counts.set(t, (counts.get(t) ?? 0) + 1);
          for (const seq of acked) {
            expect(counts.get(`m${seq}`), `user message ${seq} after round ${round}`).toBe(1);
            expect(counts.get(`r${seq}`), `reply ${seq} after round ${round}`).toBe(1);
          }
          // A retried delivery that had already been recorded is recorded once, not twice.
          for (const seq of deduped) expect(counts.get(`m${seq}`), `retried message ${seq}`).toBe(1);
          const dupes = [...counts].filter(([, n]) => n > 1);
          expect(dupes).toEqual([]);
        }
        expect(acked.length).toBeGreaterThan(100);
        // Every session's row points at a transcript that exists.
        const store = await FsSessionStore.open({ storePath, readOnly: true });
        for (const r of await store.all()) expect(await store.transcriptExists(r.entry.sessionId)).toBe(true);
        await store.close();
      } finally {
        fs.rmSync(home, { recursive: true, force: true });
      }
    },
  );
});
