/**
 * The one base of every error Pincer throws on purpose. Each class says, once, what it means to a
 * caller: a stable `code` a client can branch on, the HTTP status it answers with (`httpStatus`;
 * 4xx: the caller's request, 5xx: ours), and whether the same request may succeed later unchanged
 * (`retryable`). The surfaces (HTTP, WebSocket, SSE, the CLI) translate these facts in one place
 * each (`gateway/wire-errors.ts`, `exitCodeFor`) instead of keeping their own instanceof lists.
 *
 * A leaf: imports nothing of Pincer, so every layer may extend it.
 */

export class PincerError extends Error {
  /** Stable and machine-readable: what HTTP answers carry as `error.code`. */
  readonly code: string = "internal_error";
  /** The HTTP status Pincer answers with; 500 means "ours, details only in the log". */
  readonly httpStatus: number = 500;
  /** Whether the same request (same message id) may succeed later, unchanged. */
  readonly retryable: boolean = false;
  /** The process exit code when this error ends a CLI command. */
  readonly exitCode: number = 1;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    // The class name, set here only: subclasses never set `name` themselves.
    this.name = new.target.name;
  }

  /** Structured facts a surface may add to its answer (sizes, limits); none by default. */
  get details(): Record<string, unknown> | undefined {
    return undefined;
  }
}

/** The exit code a CLI command ends with when `err` escapes it: the error's own, else 1. */
export function exitCodeFor(err: unknown): number {
  return err instanceof PincerError ? err.exitCode : 1;
}
