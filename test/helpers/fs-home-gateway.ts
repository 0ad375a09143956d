/**
 * A real `pincer gateway` child on a home the test chooses (so it can be restarted, or joined by a
 * second gateway or the CLI on the same home), a steady inbound load against it, and the real CLI.
 * For the fs-home lock, crash-restart and live-snapshot tests.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "./postgres-server.ts";
import { inbound, PROCESS_TOKEN } from "./gateway-process.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "bin/pincer.js");

export interface HomeGateway {
  url: string;
  port: number;
  child: ChildProcess;
  /** When /healthz first answered (performance.now()). */
  readyAt: number;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function makeHome(config: Record<string, unknown>): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-fs-home-"));
  fs.writeFileSync(path.join(home, "pincer.json"), JSON.stringify(config), { mode: 0o600 });
  return home;
}

function childEnv(home: string): NodeJS.ProcessEnv {
  return { ...process.env, PINCER_HOME: home, PINCER_LOG_LEVEL: "warn", PINCER_GATEWAY_TOKEN: PROCESS_TOKEN };
}

export function spawnGateway(
  home: string,
  port: number,
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, "gateway", "--port", String(port)], {
    env: childEnv(home),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Starts a gateway on `home` and waits until it answers /healthz. */
export async function startHomeGateway(home: string, port?: number): Promise<HomeGateway> {
  const p = port ?? (await freePort());
  const { child, output } = spawnGateway(home, p);
  const url = `http://127.0.0.1:${p}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}: ${output()}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`gateway did not start: ${output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url,
    port: p,
    child,
    readyAt: performance.now(),
    output,
    async kill(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill(signal);
      await exited;
    },
  };
}

export function envelope(peer: string, n: number): Record<string, unknown> {
  return {
    channel: "telegram",
    chatType: "direct",
    peerId: peer,
    senderId: peer,
    text: `m${n}`,
    messageId: `${peer}-${n}`,
  };
}

/** `workers` loops posting inbound messages until stopped; counts acknowledged (200) turns. */
export function startLoad(
  url: string,
  workers: number,
  peerOf: (worker: number, n: number) => string,
): { stop(): Promise<void>; acked(): number; errors(): string[] } {
  let running = true;
  let acked = 0;
  const errors: string[] = [];
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let n = 0; running; n++) {
      try {
        const res = await inbound(url, envelope(peerOf(w, n), n));
        if (res.status === 200) acked++;
        else errors.push(`${res.status} ${JSON.stringify(res.json)}`);
      } catch (err) {
        if (running) errors.push(String(err));
        return;
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
    acked: () => acked,
    errors: () => errors,
  };
}

/** Runs the real CLI on `home`; resolves with its exit code, output and duration. */
export function runCli(
  home: string,
  args: string[],
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { env: childEnv(home), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Math.round(performance.now() - started) });
    });
  });
}

export function storePathOf(home: string): string {
  return path.join(home, "agents", "main", "sessions", "sessions.json");
}

/** True when `sessions.json` exists and lists `key` (what a reader of the OpenClaw layout sees). */
export function snapshotHas(storePath: string, key: string): boolean {
  try {
    return key in (JSON.parse(fs.readFileSync(storePath, "utf8")) as Record<string, unknown>);
  } catch {
    return false;
  }
}
