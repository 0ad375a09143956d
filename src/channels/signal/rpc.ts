/**
 * The signal-cli daemon's HTTP API: JSON-RPC 2.0 at `POST /api/v1/rpc`, `GET /api/v1/check`.
 * Failures become the layer's send-failure kinds from structured facts: the HTTP status, the
 * JSON-RPC error code (signal-cli: -1 user error such as an unknown recipient or group, -3 I/O
 * towards Signal's servers, -4 untrusted identity, -5 rate limit), and the network error code.
 */
import { randomUUID } from "node:crypto";
import { ChannelSendError, type SendFailureKind } from "../types.ts";

const TIMEOUT_MS = 15_000;
/** Signal's rate limits last minutes; without a hint, wait this long. */
const DEFAULT_RATE_LIMIT_MS = 60_000;

export class SignalRpcError extends Error {
  readonly kind: SendFailureKind;
  readonly status?: number;
  readonly rpcCode?: number;
  readonly retryAfterMs?: number;
  constructor(
    message: string,
    facts: { kind: SendFailureKind; status?: number; rpcCode?: number; retryAfterMs?: number },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "SignalRpcError";
    this.kind = facts.kind;
    if (facts.status !== undefined) this.status = facts.status;
    if (facts.rpcCode !== undefined) this.rpcCode = facts.rpcCode;
    if (facts.retryAfterMs !== undefined) this.retryAfterMs = facts.retryAfterMs;
  }
}

function netCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let i = 0; i < 5 && cur && typeof cur === "object"; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string") return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A fetch that failed before any answer: refused/unresolvable is safe to retry, anything else may have been sent. */
export function networkFailure(err: unknown, what: string): SignalRpcError {
  const code = netCode(err);
  const before =
    code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "UND_ERR_CONNECT_TIMEOUT";
  return new SignalRpcError(
    `signal ${what}: ${code ?? (err instanceof Error ? err.message : String(err))}`,
    {
      kind: before ? "transient" : "unknown",
    },
    { cause: err },
  );
}

export function httpFailure(status: number, what: string, retryAfter?: string | null): SignalRpcError {
  if (status === 401 || status === 403)
    return new SignalRpcError(`signal ${what}: HTTP ${status}`, { kind: "auth", status });
  if (status === 429) {
    const sec = Number(retryAfter);
    return new SignalRpcError(`signal ${what}: HTTP 429`, {
      kind: "rate-limited",
      status,
      retryAfterMs: Number.isFinite(sec) && sec >= 0 ? sec * 1000 : DEFAULT_RATE_LIMIT_MS,
    });
  }
  return new SignalRpcError(`signal ${what}: HTTP ${status}`, {
    kind: status >= 500 ? "transient" : "permanent",
    status,
  });
}

function rpcFailure(error: { code?: unknown; message?: unknown; data?: unknown }, method: string): SignalRpcError {
  const code = typeof error.code === "number" ? error.code : undefined;
  const msg = typeof error.message === "string" ? error.message : "error";
  let kind: SendFailureKind = "permanent";
  let retryAfterMs: number | undefined;
  if (code === -5) {
    kind = "rate-limited";
    const data = error.data as { retryAfterSeconds?: unknown } | undefined;
    const sec = typeof data?.retryAfterSeconds === "number" ? data.retryAfterSeconds : undefined;
    retryAfterMs = sec !== undefined ? sec * 1000 : DEFAULT_RATE_LIMIT_MS;
  } else if (code === -3 || code === -32603) kind = "transient";
  return new SignalRpcError(`signal ${method}: RPC ${code ?? "?"} ${msg}`, {
    kind,
    ...(code !== undefined ? { rpcCode: code } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

export class SignalRpc {
  readonly baseUrl: string;
  private readonly account: string;

  constructor(baseUrl: string, account: string) {
    this.baseUrl = baseUrl;
    this.account = account;
  }

  async call(method: string, params: Record<string, unknown>): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/api/v1/rpc`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          jsonrpc: "2.0",
          method,
          params: { ...params, account: this.account },
          id: randomUUID(),
        }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw networkFailure(err, method);
    }
    // signal-cli answers a notification-like success with 201 and no body.
    if (res.status === 201 || res.status === 204) return undefined;
    const text = await res.text().catch(() => "");
    let body: { result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } } | undefined;
    try {
      body = text ? (JSON.parse(text) as typeof body) : undefined;
    } catch {
      body = undefined;
    }
    if (body?.error && typeof body.error === "object") throw rpcFailure(body.error, method);
    if (!res.ok) throw httpFailure(res.status, method, res.headers.get("retry-after"));
    if (!body || !("result" in body)) {
      throw new SignalRpcError(`signal ${method}: malformed JSON-RPC answer`, { kind: "unknown", status: res.status });
    }
    return body.result;
  }

  /** `GET /api/v1/check`: the daemon is up. Throws SignalRpcError. */
  async check(): Promise<void> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/api/v1/check`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (err) {
      throw networkFailure(err, "check");
    }
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw httpFailure(res.status, "check");
  }
}

export function toSendError(err: unknown, what: string): ChannelSendError {
  if (err instanceof SignalRpcError)
    return new ChannelSendError(err.message, err.kind, err.retryAfterMs, { cause: err });
  return new ChannelSendError(`signal ${what}: ${String(err)}`, "unknown", undefined, { cause: err });
}
