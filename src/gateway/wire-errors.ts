/**
 * How any error is answered, decided in one place for every surface: the HTTP status, code and
 * Retry-After; the WebSocket RPC code and `retryable` flag; the message a remote caller may read;
 * the level it is logged at. An error Pincer did not raise on purpose (a bug, a raw library error)
 * is a 500 whose message stays in the log. A full disk is recognised whatever raised it (a
 * StorageFullError, or a raw ENOSPC from fs or SQLite), and its answer never names a path.
 */
import { PincerError } from "../errors.ts";
import { isStorageFull } from "../store/types.ts";

/** The WebSocket RPC error codes, with the HTTP status each stands for. */
const RPC_CODE_STATUS = {
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNAVAILABLE: 503,
} as const;

export type RpcCode = keyof typeof RPC_CODE_STATUS;
export type WireLogLevel = "debug" | "warn" | "error";

export interface MappedError {
  /** HTTP status. */
  status: number;
  /** HTTP `error.code`. */
  code: string;
  /** WebSocket RPC `error.code`. */
  rpcCode: RpcCode;
  message: string;
  /** The same request (same message id) may succeed later, unchanged. */
  retryable: boolean;
  /** Seconds, for an HTTP Retry-After header. */
  retryAfter?: number;
  details?: Record<string, unknown>;
  logLevel: WireLogLevel;
}

export const STORAGE_FULL_MESSAGE = "the gateway's disk is full: nothing was recorded; retry once space is freed";
export const INTERNAL_MESSAGE = "internal error (see the gateway log)";
/** A store outage is usually a failover or a restart; a second is enough for the store's own retries to matter again. */
const STORE_RETRY_AFTER_SECONDS = 1;

function isRpcCode(code: string): code is RpcCode {
  return Object.hasOwn(RPC_CODE_STATUS, code);
}

/** The HTTP status an RPC error code stands for (an unknown code: the caller's request, 400). */
export function httpStatusOfRpcCode(code: string): number {
  return isRpcCode(code) ? RPC_CODE_STATUS[code] : 400;
}

function rpcCodeOfStatus(status: number): RpcCode {
  if (status >= 500) return "UNAVAILABLE";
  for (const [code, s] of Object.entries(RPC_CODE_STATUS)) if (s === status) return code as RpcCode;
  return "INVALID_REQUEST";
}

export function toWire(err: unknown): MappedError {
  if (isStorageFull(err)) {
    return {
      status: 507,
      code: "insufficient_storage",
      rpcCode: "UNAVAILABLE",
      message: STORAGE_FULL_MESSAGE,
      retryable: true,
      logLevel: "error",
    };
  }
  if (err instanceof PincerError && err.httpStatus !== 500) {
    const status = err.httpStatus;
    const details = err.details;
    return {
      status,
      code: err.code,
      rpcCode: isRpcCode(err.code) ? err.code : rpcCodeOfStatus(status),
      message: err.message,
      retryable: err.retryable,
      ...(err.retryable && status === 503 ? { retryAfter: STORE_RETRY_AFTER_SECONDS } : {}),
      ...(details ? { details } : {}),
      // A caller's mistake is not the operator's problem; a deliberate 5xx (outage, shutdown) is worth a look.
      logLevel: status >= 500 ? "warn" : "debug",
    };
  }
  return {
    status: 500,
    code: "internal_error",
    rpcCode: "UNAVAILABLE",
    message: INTERNAL_MESSAGE,
    retryable: false,
    logLevel: "error",
  };
}

/** The `error` object of a WebSocket RPC answer; `retryable` appears only when true, as before. */
export function rpcErrorBody(wire: MappedError): {
  code: RpcCode;
  message: string;
  retryable?: true;
  details?: Record<string, unknown>;
} {
  return {
    code: wire.rpcCode,
    message: wire.message,
    ...(wire.retryable ? { retryable: true as const } : {}),
    ...(wire.details ? { details: wire.details } : {}),
  };
}
