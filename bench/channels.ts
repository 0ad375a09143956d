/**
 * `npm run bench -- channels`: what the Telegram channel path costs the gateway. A gateway in a
 * child process (the only process whose CPU is counted, utime+stime from /proc) runs its Telegram
 * account against a fast Bot API fake in this process (getUpdates long polling, sendMessage); the
 * echo model answers. 1 000 chats each send their next message as soon as the previous one was
 * answered (1 000 in flight, injected as fast as the fake accepts them): inbound-to-sendMessage
 * latency p50/p99, messages/s and the gateway's CPU per message; before that, one chat's messages
 * one at a time give the path's latency without queueing. Then the same gateway takes the same
 * number of turns through `POST /v1/inbound` (1 000 peers, 50 connections), and the ratio of the
 * two CPU figures is the adapter's cost (target: under 1.5). Telegram's platform rate limits
 * (30/s per bot) are lifted in the child: the limiter is not what this measures. crabline's server
 * is not used here: it appends and locks a recorder file per request (~7 ms), which would measure it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import autocannon from "autocannon";
import { cpuMsOf, freePort } from "./processes.ts";

const TOKEN = "bench-token-0123456789abcdef";
const BOT_TOKEN = "777:bench-telegram-token";
const round3 = (n: number) => Math.round(n * 1000) / 1000;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return round3(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);
}

interface Pending {
  update_id: number;
  message: Record<string, unknown>;
}

/** The smallest Bot API that the adapter needs, kept cheap so the gateway's cost is what shows. */
class FastBotApi {
  private queue: Pending[] = [];
  private nextUpdateId = 1;
  private nextMessageId = 1;
  private waiting: Array<() => void> = [];
  readonly server: http.Server;
  /** chat id → when its in-flight message was injected. */
  private readonly inflight = new Map<number, number>();
  latencies: number[] = [];
  onReply: ((chatId: number) => void) | undefined;
  sends = 0;

  constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => this.handle(req, res, Buffer.concat(chunks).toString("utf8")));
    });
    this.server.keepAliveTimeout = 120_000;
  }

  inject(chatId: number, text: string): void {
    this.inflight.set(chatId, performance.now());
    this.queue.push({
      update_id: this.nextUpdateId++,
      message: {
        message_id: this.nextMessageId++,
        date: Math.floor(Date.now() / 1000),
        chat: { id: chatId, type: "private", first_name: "U" },
        from: { id: chatId, is_bot: false, first_name: "U" },
        text,
      },
    });
    for (const w of this.waiting.splice(0)) w();
  }

  private json(res: http.ServerResponse, result: unknown): void {
    const body = JSON.stringify({ ok: true, result });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, text: string): void {
    const method = (req.url ?? "").split("/").pop()?.split("?")[0] ?? "";
    const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    switch (method) {
      case "getMe":
        return this.json(res, { id: 777, is_bot: true, first_name: "Bench", username: "bench_bot" });
      case "getUpdates":
        return this.getUpdates(res, body);
      case "sendMessage": {
        const chatId = Number(body.chat_id);
        const at = this.inflight.get(chatId);
        if (at !== undefined) {
          this.latencies.push(performance.now() - at);
          this.inflight.delete(chatId);
        }
        this.sends++;
        this.json(res, {
          message_id: this.nextMessageId++,
          date: 0,
          chat: { id: chatId, type: "private" },
          text: body.text,
        });
        if (at !== undefined) this.onReply?.(chatId);
        return;
      }
      default:
        return this.json(res, true);
    }
  }

  private getUpdates(res: http.ServerResponse, body: Record<string, unknown>): void {
    const offset = typeof body.offset === "number" ? body.offset : 0;
    let drop = 0;
    while (drop < this.queue.length && this.queue[drop]!.update_id < offset) drop++;
    if (drop) this.queue = this.queue.slice(drop);
    const answer = () => this.json(res, this.queue.slice(0, 100));
    if (this.queue.length > 0 || !body.timeout) return answer();
    const timer = setTimeout(
      () => {
        this.waiting = this.waiting.filter((w) => w !== wake);
        answer();
      },
      Number(body.timeout) * 1000,
    );
    const wake = () => {
      clearTimeout(timer);
      answer();
    };
    this.waiting.push(wake);
  }
}

/** The gateway child: lifts Telegram's rate limits, then runs the gateway in this process. */
async function runChild(home: string, port: number): Promise<void> {
  const { DEFAULT_LIMITS } = await import("../src/channels/rate-limit.ts");
  const open = { ratePerSec: 1e6, burst: 1e6 };
  DEFAULT_LIMITS.telegram = { chat: open, group: open, account: open };
  const { startGateway } = await import("../src/gateway/start.ts");
  const config = JSON.parse(fs.readFileSync(path.join(home, "pincer.json"), "utf8")) as Record<string, unknown>;
  const pino = (await import("pino")).default;
  const gw = await startGateway({
    config,
    home,
    port,
    env: { ...process.env, PINCER_HOME: home },
    logger: pino({ level: "warn" }, pino.destination(2)),
  });
  process.stdout.write(`listening ${gw.port}\n`);
  process.once("SIGTERM", () => {
    void gw.stop(5000).then(() => process.exit(0));
  });
}

async function startChild(home: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [import.meta.filename, "--gateway-child", home, String(port)], {
    stdio: ["ignore", "pipe", "inherit"],
    // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the gateway alone (as bench -- gateway).
    env: {
      ...process.env,
      ...(process.env.PINCER_BENCH_GATEWAY_NODE_OPTIONS
        ? { NODE_OPTIONS: process.env.PINCER_BENCH_GATEWAY_NODE_OPTIONS }
        : {}),
    },
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString("utf8");
      if (out.includes("listening")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`gateway child exited with ${code} before listening`)));
  });
  return child;
}

async function telegramRun(
  api: FastBotApi,
  pid: number,
  chats: number,
  perChat: number,
  firstChat: number,
): Promise<Record<string, unknown>> {
  api.latencies = [];
  const left = new Map<number, number>();
  const total = chats * perChat;
  let answered = 0;
  const started = performance.now();
  const cpuBefore = cpuMsOf(pid);
  const finished = new Promise<void>((resolve) => {
    api.onReply = (chatId) => {
      answered++;
      const n = left.get(chatId) ?? 0;
      if (n > 0) {
        left.set(chatId, n - 1);
        api.inject(chatId, `m${perChat - n}`);
      }
      if (answered >= total) resolve();
    };
  });
  for (let c = 0; c < chats; c++) {
    left.set(firstChat + c, perChat - 1);
    api.inject(firstChat + c, "m0");
  }
  let guard: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    guard = setTimeout(() => reject(new Error(`telegram run stalled: ${answered} of ${total} answered`)), 300_000);
  });
  await Promise.race([finished, stalled]).finally(() => clearTimeout(guard));
  const wallS = (performance.now() - started) / 1000;
  const cpuAfter = cpuMsOf(pid);
  const sorted = [...api.latencies].sort((a, b) => a - b);
  return {
    chats,
    messages: total,
    wallS: round3(wallS),
    messagesPerSecond: Math.round(total / wallS),
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: round3(sorted.at(-1) ?? NaN),
    },
    gatewayCpuMsPerMessage: cpuBefore === null || cpuAfter === null ? null : round3((cpuAfter - cpuBefore) / total),
  };
}

async function inboundRun(port: number, pid: number, peers: number, total: number): Promise<Record<string, unknown>> {
  let cursor = 0;
  const counts = new Map<number, number>();
  const busy = new Set<number>();
  const cpuBefore = cpuMsOf(pid);
  const started = performance.now();
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: 50,
    amount: total,
    requests: [
      {
        method: "POST",
        path: "/v1/inbound",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        setupRequest: (req: autocannon.Request, ctxObj: object) => {
          let s = 0;
          for (let tries = 0; tries < peers; tries++) {
            s = cursor++ % peers;
            if (!busy.has(s)) break;
          }
          busy.add(s);
          (ctxObj as { s?: number }).s = s;
          const n = counts.get(s) ?? 0;
          counts.set(s, n + 1);
          const peer = `p${s}`;
          return {
            ...req,
            body: JSON.stringify({ channel: "bench", chatType: "direct", peerId: peer, senderId: peer, text: `m${n}` }),
          };
        },
        onResponse: (_status: number, _body: string, ctxObj: object) => {
          busy.delete((ctxObj as { s?: number }).s ?? -1);
        },
      },
    ],
  });
  const wallS = (performance.now() - started) / 1000;
  const cpuAfter = cpuMsOf(pid);
  return {
    peers,
    connections: 50,
    messages: result.requests.total,
    non2xx: result.non2xx,
    wallS: round3(wallS),
    messagesPerSecond: Math.round(result.requests.total / wallS),
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
    gatewayCpuMsPerMessage:
      cpuBefore === null || cpuAfter === null
        ? null
        : round3((cpuAfter - cpuBefore) / Math.max(1, result.requests.total)),
  };
}

export async function benchChannels(chats = 1000, perChat = 5): Promise<Record<string, unknown>> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-bench-ch-"));
  const api = new FastBotApi();
  await new Promise<void>((resolve) => api.server.listen(0, "127.0.0.1", () => resolve()));
  const apiPort = (api.server.address() as { port: number }).port;
  fs.writeFileSync(
    path.join(home, "pincer.json"),
    JSON.stringify({
      gateway: { auth: { token: TOKEN } },
      session: { dmScope: "per-channel-peer", reset: { mode: "none" } },
      agents: { defaults: { compaction: { memoryFlush: { enabled: false } } } },
      channels: {
        telegram: {
          botToken: BOT_TOKEN,
          apiRoot: `http://127.0.0.1:${apiPort}`,
          dmPolicy: "open",
          allowFrom: ["*"],
          pollingTimeoutSec: 30,
        },
      },
    }),
  );
  const port = await freePort();
  const child = await startChild(home, port);
  try {
    // Warm both paths (JIT, connections, first session files) on chats the measured runs do not use.
    await telegramRun(api, child.pid!, 50, 4, 9_000_000);
    await inboundRun(port, child.pid!, 50, 200);
    // One chat, one message at a time: the path's own latency, without 1 000 chats queueing behind each other.
    const oneChat = await telegramRun(api, child.pid!, 1, 100, 8_000_000);
    const telegram = await telegramRun(api, child.pid!, chats, perChat, 1_000_000);
    const inbound = await inboundRun(port, child.pid!, chats, chats * perChat);
    const tg = telegram.gatewayCpuMsPerMessage as number | null;
    const viaHttp = inbound.gatewayCpuMsPerMessage as number | null;
    const ratio = tg === null || viaHttp === null || viaHttp === 0 ? null : round3(tg / viaHttp);
    return {
      telegram,
      telegramOneChat: { messages: oneChat.messages, latencyMs: oneChat.latencyMs },
      inbound,
      cpuPerMessageRatio: ratio,
      adapterOverheadPercent: ratio === null ? null : Math.round((ratio - 1) * 100),
      target: { maxCpuPerMessageRatio: 1.5 },
      pass: ratio !== null && ratio < 1.5,
      note: "Telegram rate limits lifted in the gateway child (the limiter is not measured); Bot API fake in the bench process",
    };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await new Promise<void>((resolve) => api.server.close(() => resolve()));
    api.server.closeAllConnections();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--gateway-child") await runChild(process.argv[3]!, Number(process.argv[4]));
