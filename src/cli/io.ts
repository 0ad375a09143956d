import { PincerError } from "../errors.ts";

/** Output discipline of the CLI: results to stdout, diagnostics to stderr, one-line errors. */
export interface CliIO {
  /** Writes to stdout; a trailing newline is added unless `newline` is false. */
  out(text: string, newline?: boolean): void;
  /** Writes to stdout as is and resolves once stdout can take more (backpressure for long output). */
  write(text: string): Promise<void>;
  err(text: string): void;
  isErrTTY: boolean;
  readStdin(): Promise<string>;
  now(): number;
  env: NodeJS.ProcessEnv;
}

export const processIO: CliIO = {
  out: (t, newline = true) => void process.stdout.write(!newline || t.endsWith("\n") ? t : `${t}\n`),
  write: (t) =>
    process.stdout.write(t)
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const done = (): void => {
            process.stdout.off("drain", done).off("close", done);
            resolve();
          };
          process.stdout.once("drain", done).once("close", done);
        }),
  err: (t) => void process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
  isErrTTY: Boolean(process.stderr.isTTY),
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
  now: () => Date.now(),
  env: process.env,
};

/** A user-facing failure: printed as one line, exit code 1 (or the code given). */
export class CliError extends PincerError {
  override readonly code = "cli_error";
  override readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

export function parsePositiveInt(value: string, what: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) {
    throw new CliError(`${what} must be a positive integer`);
  }
  return Number(value);
}

/**
 * Output gathered into ~64 KB writes, each waiting for stdout to take it: a 100 000-row listing is
 * written as it is produced, never held whole.
 */
export class ChunkedOut {
  private parts: string[] = [];
  private size = 0;
  private readonly io: CliIO;
  private readonly chunkChars: number;
  constructor(io: CliIO, chunkChars = 64 * 1024) {
    this.io = io;
    this.chunkChars = chunkChars;
  }

  async add(text: string): Promise<void> {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= this.chunkChars) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const text = this.parts.join("");
    this.parts = [];
    this.size = 0;
    await this.io.write(text);
  }
}
