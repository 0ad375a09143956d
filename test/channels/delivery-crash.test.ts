/**
 * A real crash: a child process delivers through a DeliveryQueue and is SIGKILLed at a random
 * moment; a new queue on the same outbox finishes the job. What the platform received (its log of
 * idempotency keys) must show every chunk of every acknowledged enqueue exactly once — except a
 * chunk that was with the platform at the moment of the kill: that one is in doubt, not resent
 * (reported uncertain) unless the adapter's sends are idempotent, in which case it is resent with
 * the same key and the platform's dedupe keeps it once.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { DeliveryQueue, type DeliveryEvent } from "../../src/channels/delivery.ts";
import { FAST_LIMITS, ScriptedAdapter, tmpDir } from "./delivery-fakes.ts";

const CHILD = path.join(import.meta.dirname, "delivery-crash-child.ts");
// Node 24 (type stripping) from the repo: the system `node` may be older than the one running vitest.
const REPO_NODE = path.join(import.meta.dirname, "..", "..", "node_modules", ".bin", "node");
const NODE = fs.existsSync(REPO_NODE) ? REPO_NODE : process.execPath;
const MESSAGES = 200;
const CHUNKS = 3;

function lines(file: string): string[] {
  try {
    return fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** Runs the child until the platform log has `killAt` lines, then SIGKILLs it. Returns the acknowledged ids. */
function runAndKill(dir: string, platformLog: string, mode: string, killAt: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [CHILD, dir, platformLog, mode, String(MESSAGES)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const acked: string[] = [];
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      let nl;
      while ((nl = out.indexOf("\n")) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith("enq ")) acked.push(line.slice(4));
      }
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const poll = setInterval(() => {
      if (lines(platformLog).length >= killAt) child.kill("SIGKILL");
    }, 1);
    const guard = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("exit", (code, signal) => {
      clearInterval(poll);
      clearTimeout(guard);
      if (signal === "SIGKILL") resolve(acked);
      else reject(new Error(`child exited ${code} ${signal}: ${err}`));
    });
  });
}

async function recover(dir: string, platformLog: string, idempotent: boolean): Promise<DeliveryEvent[]> {
  const adapter = new ScriptedAdapter({ caps: { maxChars: 25, idempotentSends: idempotent } });
  adapter.script.push(
    ...Array.from({ length: 10_000 }, () => () => {
      const key = adapter.attempts.at(-1)!.idempotencyKey;
      fs.appendFileSync(platformLog, key + "\n");
      return Promise.resolve({ messageIds: [key] });
    }),
  );
  const events: DeliveryEvent[] = [];
  const q = new DeliveryQueue({
    dir,
    adapterFor: () => adapter,
    log: pino({ level: "silent" }),
    limits: FAST_LIMITS,
    onEvent: (e) => events.push(e),
  });
  await q.open();
  await q.idle();
  expect(q.depth()).toBe(0);
  await q.close();
  return events;
}

function counts(keys: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

describe("delivery across a SIGKILL", () => {
  for (const killAt of [7, 50]) {
    it(`non-idempotent adapter, killed after ${killAt} posts: nothing twice; everything once but the in-doubt chunks`, async () => {
      const root = tmpDir();
      const dir = path.join(root, "outbox");
      const platformLog = path.join(root, "platform.log");
      const acked = await runAndKill(dir, platformLog, "plain", killAt);
      expect(acked.length).toBeGreaterThan(0);
      const before = lines(platformLog).length;
      expect(before).toBeLessThan(MESSAGES * CHUNKS); // killed mid-way: the recovery has work to do
      const events = await recover(dir, platformLog, false);
      const got = counts(lines(platformLog));
      for (const [key, n] of got) expect(n, key).toBe(1); // never a duplicate
      const uncertain = new Set(events.filter((e) => e.reason === "uncertain").map((e) => `${e.id}:${e.chunk}`));
      // At most one chunk per chat can have been with the platform when the process died.
      expect(uncertain.size).toBeLessThanOrEqual(5);
      for (const id of acked) {
        for (let i = 0; i < CHUNKS; i++) {
          const key = `${id}:${i}`;
          if (!uncertain.has(key)) expect(got.get(key), key).toBe(1);
        }
      }
    });
  }

  it("idempotent adapter: every chunk of every acknowledged message arrives exactly once", async () => {
    const root = tmpDir();
    const dir = path.join(root, "outbox");
    const platformLog = path.join(root, "platform.log");
    const acked = await runAndKill(dir, platformLog, "idempotent", 20);
    const events = await recover(dir, platformLog, true);
    expect(events.filter((e) => e.reason === "uncertain")).toHaveLength(0);
    // The platform dedupes by idempotency key (Discord's enforce_nonce): what it keeps is the set.
    const delivered = new Set(lines(platformLog));
    for (const id of acked) for (let i = 0; i < CHUNKS; i++) expect(delivered.has(`${id}:${i}`)).toBe(true);
  });
});
