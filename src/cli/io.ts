import { PincerError } from "../errors.ts";

/** Output discipline of the CLI: results to stdout, diagnostics to stderr, one-line errors. */
export interface CliIO {
  /** Writes to stdout; a trailing newline is added unless `newline` is false. */
  out(text: string, newline?: boolean): void;
  err(text: string): void;
  isErrTTY: boolean;
  readStdin(): Promise<string>;
  now(): number;
  env: NodeJS.ProcessEnv;
}

export const processIO: CliIO = {
  out: (t, newline = true) => void process.stdout.write(!newline || t.endsWith("\n") ? t : `${t}\n`),
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
