/** Runs `pincer gateway` as a real child process on a private home with a given config (multi-gateway tests, benches). */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "./postgres-server.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
export const PROCESS_TOKEN = "multi-gateway-token-0123456789abcdef";

export interface GatewayProcess {
  url: string;
  home: string;
  child: ChildProcess;
  /** What the process wrote (its logs at warn and above, and stderr). */
  stderr(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startGatewayProcess(
  config: Record<string, unknown>,
  options: { logLevel?: string; root?: string } = {},
): Promise<GatewayProcess> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-gw-proc-"));
  fs.writeFileSync(path.join(home, "pincer.json"), JSON.stringify(config), { mode: 0o600 });
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [path.join(options.root ?? ROOT, "bin/pincer.js"), "gateway", "--port", String(port)],
    {
      env: {
        ...process.env,
        PINCER_HOME: home,
        PINCER_LOG_LEVEL: options.logLevel ?? "warn",
        PINCER_GATEWAY_TOKEN: PROCESS_TOKEN,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let err = "";
  // Logs (pino, stdout) and diagnostics (stderr) together, for failure messages.
  child.stdout!.on("data", (d: Buffer) => (err += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}: ${err}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`gateway did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    home,
    child,
    stderr: () => err,
    async kill(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill(signal);
      await exited;
    },
  };
}

export async function inbound(
  url: string,
  body: Record<string, unknown>,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}/v1/inbound`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${PROCESS_TOKEN}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
