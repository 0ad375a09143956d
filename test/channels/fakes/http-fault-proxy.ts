/**
 * A loopback HTTP + WebSocket proxy in front of a platform fake, for the faults the fake itself
 * cannot produce: a dropped live connection, a 429 on the next matching request, a revoked token.
 * Requests pass through unchanged except that the upstream origin in response bodies is rewritten
 * to the proxy's (so a Gateway URL handed out by the fake leads back here). It also records every
 * request it forwards, which is how tests see what the bot posted.
 */
import * as http from "node:http";
import * as net from "node:net";
import { WebSocket, WebSocketServer, type RawData } from "ws";

export interface ProxiedRequest {
  method: string;
  path: string;
  body: string;
  status: number;
}

export interface FaultResponse {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

export interface HttpFaultProxy {
  readonly url: string;
  /** Requests that reached the upstream, in order, with the upstream's status. */
  readonly requests: ProxiedRequest[];
  /** Answers the next request matching `match` with `response` instead of forwarding it. */
  failNext(match: (method: string, path: string) => boolean, response: FaultResponse): void;
  /** Answers every later request with `response`, and every WebSocket upgrade with a close of `wsCloseCode`. */
  failAll(response: FaultResponse, wsCloseCode?: number): void;
  /** Destroys every live upgraded (WebSocket) connection; new ones are accepted. */
  dropConnections(): void;
  close(): Promise<void>;
}

export async function startHttpFaultProxy(upstream: string): Promise<HttpFaultProxy> {
  const target = new URL(upstream);
  const requests: ProxiedRequest[] = [];
  const oneShot: Array<{ match: (method: string, path: string) => boolean; response: FaultResponse }> = [];
  let always: { response: FaultResponse; wsCloseCode?: number } | null = null;
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true });
  let selfOrigin = "";
  const rewrite = (text: string) => text.split(target.host).join(new URL(selfOrigin).host);

  const answer = (res: http.ServerResponse, r: FaultResponse) => {
    res.writeHead(r.status, { "content-type": "application/json", ...r.headers });
    res.end(JSON.stringify(r.body));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const method = req.method ?? "GET";
      // Real platforms decode percent-escapes in path segments (discord.js sends `users/%40me`);
      // some fakes match the raw text, so the proxy hands them the decoded form.
      const pathName = (req.url ?? "/").replace(/%40/gi, "@");
      const body = Buffer.concat(chunks);
      if (always) return answer(res, always.response);
      const i = oneShot.findIndex((f) => f.match(method, pathName));
      if (i >= 0) return answer(res, oneShot.splice(i, 1)[0]!.response);
      const headers = { ...req.headers, host: target.host };
      const up = http.request(
        { host: target.hostname, port: target.port, method, path: pathName, headers },
        (upRes) => {
          const parts: Buffer[] = [];
          upRes.on("data", (c: Buffer) => parts.push(c));
          upRes.on("end", () => {
            const text = rewrite(Buffer.concat(parts).toString("utf8"));
            requests.push({ method, path: pathName, body: body.toString("utf8"), status: upRes.statusCode ?? 0 });
            const outHeaders = { ...upRes.headers };
            delete outHeaders["content-length"];
            delete outHeaders["transfer-encoding"];
            res.writeHead(upRes.statusCode ?? 502, outHeaders);
            res.end(text);
          });
        },
      );
      up.on("error", () => {
        res.writeHead(502);
        res.end();
      });
      up.end(body);
    });
  });

  server.on("upgrade", (req, socket, head) => {
    if (always) {
      const code = always.wsCloseCode;
      wss.handleUpgrade(req, socket, head, (ws) => ws.close(code ?? 1008, "refused"));
      return;
    }
    // WebSocket traffic is relayed message by message (not as raw bytes) so the upstream origin in
    // server messages (a resume URL) can be rewritten like HTTP bodies.
    wss.handleUpgrade(req, socket, head, (client) => {
      const upstreamUrl = `ws://${target.host}${req.url ?? "/"}`;
      const up = new WebSocket(upstreamUrl);
      const pending: Array<{ data: RawData; isBinary: boolean }> = [];
      const close = () => {
        sockets.delete(client);
        client.terminate();
        up.terminate();
      };
      sockets.add(client);
      up.on("open", () => {
        for (const m of pending.splice(0)) up.send(m.data, { binary: m.isBinary });
      });
      up.on("message", (data, isBinary) => {
        if (isBinary) client.send(data, { binary: true });
        else client.send(rewrite(data.toString()));
      });
      client.on("message", (data, isBinary) => {
        if (up.readyState === WebSocket.OPEN) up.send(data, { binary: isBinary });
        else pending.push({ data, isBinary });
      });
      up.on("close", (code) => {
        sockets.delete(client);
        if (client.readyState === WebSocket.OPEN) client.close(code >= 3000 && code < 5000 ? code : 1011);
      });
      up.on("error", close);
      client.on("error", close);
      client.on("close", () => {
        sockets.delete(client);
        up.terminate();
      });
    });
  });

  /** A dead connection (no close frame), as when a network path breaks. */
  const dropConnections = () => {
    for (const s of sockets) s.terminate();
    sockets.clear();
  };

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  selfOrigin = `http://127.0.0.1:${port}`;
  return {
    url: selfOrigin,
    requests,
    failNext(match, response) {
      oneShot.push({ match, response });
    },
    failAll(response, wsCloseCode) {
      always = { response, ...(wsCloseCode !== undefined ? { wsCloseCode } : {}) };
      dropConnections();
    },
    dropConnections,
    async close() {
      dropConnections();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
