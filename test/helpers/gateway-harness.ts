/** Starts a real gateway in this process on a free port with a private home, for tests. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import WebSocket from "ws";
import { startGateway, type RunningGateway } from "../../src/gateway/start.ts";
import type { PincerConfig } from "../../src/config/schema.ts";
import type { ModelProvider, ModelRequest, ModelEvent } from "../../src/providers/types.ts";
import { emptyUsage, type AssistantMessage } from "../../src/transcript/entries.ts";
import type { ToolRegistry } from "../../src/runtime/tool-registry.ts";

export const TOKEN = "test-operator-token-0123456789";

export async function startTestGateway(
  config: PincerConfig = {},
  extra: { provider?: ModelProvider; tools?: ToolRegistry; home?: string } = {},
): Promise<RunningGateway & { home: string; cleanup(): Promise<void> }> {
  // An explicit home is the caller's (a restart test reuses it); cleanup then leaves it in place.
  const home = extra.home ?? fs.mkdtempSync(path.join(os.tmpdir(), "pincer-gw-test-"));
  const gw = await startGateway({
    config: { ...config, gateway: { auth: { token: TOKEN }, ...(config.gateway ?? {}) } },
    home,
    port: 0,
    env: { PINCER_HOME: home },
    logger: pino({ level: process.env.PINCER_TEST_LOG ?? "silent" }),
    tools: extra.tools,
    ...(extra.provider
      ? {
          resolveModelRef: () => ({
            provider: extra.provider!,
            model: "scripted",
            ref: `${extra.provider!.name}/scripted`,
          }),
        }
      : {}),
  });
  return Object.assign(gw, {
    home,
    async cleanup() {
      await gw.stop(2000);
      if (!extra.home) fs.rmSync(home, { recursive: true, force: true });
    },
  });
}

export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}`, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** A WebSocket RPC client speaking the gateway's frames. */
export class WsClient {
  readonly ws: WebSocket;
  readonly events: Array<Record<string, unknown>> = [];
  private nextId = 1;
  private readonly waiting = new Map<number, (frame: Record<string, unknown>) => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data) => {
      const frame = JSON.parse(String(data)) as Record<string, unknown>;
      if (frame.type === "res" && typeof frame.id === "number") this.waiting.get(frame.id)?.(frame);
      else if (frame.type === "event") this.events.push(frame.payload as Record<string, unknown>);
    });
  }

  static async connect(baseUrl: string, token = TOKEN): Promise<WsClient> {
    const ws = new WebSocket(baseUrl.replace(/^http/, "ws") + "/ws", { headers: { authorization: `Bearer ${token}` } });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new WsClient(ws);
  }

  /** Sends without waiting (for bursts); returns the response promise. */
  request(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const p = new Promise<Record<string, unknown>>((resolve) => this.waiting.set(id, resolve));
    this.ws.send(JSON.stringify({ type: "req", id, method, params }));
    return p;
  }

  async call(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const frame = await this.request(method, params);
    if (frame.ok !== true) throw new Error(`${method} failed: ${JSON.stringify(frame.error)}`);
    return frame.payload as Record<string, unknown>;
  }

  async waitForEvent(
    pred: (e: Record<string, unknown>) => boolean,
    timeoutMs = 10_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching event; got ${JSON.stringify(this.events.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * A model under the test's control: each call waits until the test releases it (or answers at
 * once when `autoRelease`), then replies `reply(request)`.
 */
export class ScriptedProvider implements ModelProvider {
  readonly name: string = "scripted";
  readonly api = "scripted";
  readonly offline = true;
  readonly requests: ModelRequest[] = [];
  autoRelease = true;
  private gates: Array<() => void> = [];
  reply: (req: ModelRequest) => AssistantMessage["content"] = (req) => {
    const last = [...req.messages].reverse().find((m) => m.role === "user");
    const text = last && typeof last.content === "string" ? last.content : "";
    return [
      {
        type: "text",
        text:
          req.purpose === "memory-flush"
            ? "NO_REPLY"
            : req.purpose === "summary"
              ? `SUMMARY(${req.messages.length - 1} messages)`
              : `re: ${text}`,
      },
    ];
  };
  failWith: Error | null = null;

  contextWindow(): number | undefined {
    return undefined;
  }

  release(): void {
    const g = this.gates.shift();
    g?.();
  }

  get waiting(): number {
    return this.gates.length;
  }

  async *stream(req: ModelRequest): AsyncIterable<ModelEvent> {
    this.requests.push(req);
    if (!this.autoRelease) {
      await new Promise<void>((resolve, reject) => {
        this.gates.push(resolve);
        req.abortSignal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
      });
    }
    if (this.failWith) throw this.failWith;
    const content = this.reply(req);
    for (const b of content) if (b.type === "text") yield { type: "text-delta", text: b.text };
    const hasTool = content.some((b) => b.type === "toolCall");
    yield {
      type: "finish",
      message: {
        role: "assistant",
        content,
        api: this.api,
        provider: this.name,
        model: "scripted",
        usage: { ...emptyUsage(), input: 100, output: 10, totalTokens: 110 },
        stopReason: hasTool ? "toolUse" : "stop",
        timestamp: Date.now(),
      },
    };
  }
}

export async function until(pred: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
