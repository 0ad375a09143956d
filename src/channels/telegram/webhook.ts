/**
 * Webhook mode: the adapter's own `node:http` listener (`webhookHost`:`webhookPort`, path
 * `webhookPath`), so the gateway's router stays untouched. Telegram signs each delivery with the
 * `secret_token` given to setWebhook in `X-Telegram-Bot-Api-Secret-Token`; anything else is a
 * 401. The answer is sent only after the update was taken: a 500 makes Telegram deliver it again
 * (the inbound dedupe absorbs a delivery that was in fact taken).
 */
import * as http from "node:http";
import { timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";

const MAX_BODY_BYTES = 1024 * 1024;

export interface WebhookDeps {
  host: string;
  port: number;
  path: string;
  secret: string;
  handle(update: unknown): Promise<boolean>;
  /** A request the listener refused (bad secret, bad body): counted, never ingested. */
  rejected(reason: string): void;
  onRequest(): void;
}

function sameSecret(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export class WebhookListener {
  private readonly deps: WebhookDeps;
  private readonly server: http.Server;
  private readonly inflight = new Set<Promise<unknown>>();
  private closing = false;

  constructor(deps: WebhookDeps) {
    this.deps = deps;
    this.server = http.createServer((req, res) => {
      const job = this.serve(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
      this.inflight.add(job);
      void job.finally(() => this.inflight.delete(job));
    });
    this.server.requestTimeout = 15_000;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.deps.port, this.deps.host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await Promise.allSettled([...this.inflight]);
    this.server.closeAllConnections();
    await closed;
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? "").split("?")[0];
    if (req.method !== "POST" || path !== this.deps.path) return void res.writeHead(404).end();
    if (!sameSecret(req.headers["x-telegram-bot-api-secret-token"], this.deps.secret)) {
      req.resume();
      this.deps.rejected("webhook_bad_secret");
      return void res.writeHead(401).end();
    }
    if (this.closing) return void res.writeHead(503).end();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        this.deps.rejected("webhook_body_too_large");
        return void res.writeHead(413, { connection: "close" }).end();
      }
      chunks.push(chunk);
    }
    let update: unknown;
    try {
      update = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      this.deps.rejected("webhook_bad_json");
      return void res.writeHead(400).end();
    }
    this.deps.onRequest();
    const taken = await this.deps.handle(update);
    res.writeHead(taken ? 200 : 500, { "content-type": "application/json" }).end(taken ? "{}" : "");
  }
}
