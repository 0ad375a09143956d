/**
 * The gateway's logger: pino, writing JSON lines (for log processors) or, on a terminal, one
 * readable line per record (`12:00:01.234 INFO  turn failed sessionKey=agent:main:main …`).
 * Format: `--log-format pretty|json` (`pincer gateway`), else `PINCER_LOG_FORMAT`, else pretty on
 * a TTY and JSON otherwise. Level: `PINCER_LOG_LEVEL`, else `logging.level`, else `info`. The
 * pretty form is a pino destination of our own (pino-pretty is not a dependency): it reads each
 * JSON line pino writes and prints it on one line, so nothing a record holds can break a line.
 */
import pino, { type Logger } from "pino";
import { PincerError } from "../errors.ts";

export const LOG_FORMATS = ["pretty", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ["silent", "fatal", "error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class LogSettingsError extends PincerError {
  override readonly code = "invalid_log_settings";
  override readonly httpStatus = 400;
}

export interface LogDestination {
  write(line: string): unknown;
  isTTY?: boolean;
}

/** The format in effect: the flag, then `PINCER_LOG_FORMAT`, then pretty on a TTY, JSON otherwise. */
export function resolveLogFormat(flag: string | undefined, env: NodeJS.ProcessEnv, isTTY: boolean): LogFormat {
  for (const [value, source] of [
    [flag, "--log-format"],
    [env.PINCER_LOG_FORMAT, "PINCER_LOG_FORMAT"],
  ] as const) {
    if (value === undefined || value === "") continue;
    if ((LOG_FORMATS as readonly string[]).includes(value)) return value as LogFormat;
    throw new LogSettingsError(`${source}: got ${JSON.stringify(value)}, expected one of ${LOG_FORMATS.join(", ")}`);
  }
  return isTTY ? "pretty" : "json";
}

export function resolveLogLevel(env: NodeJS.ProcessEnv, configured: string | undefined): LogLevel {
  const value = env.PINCER_LOG_LEVEL;
  if (value === undefined || value === "") return (configured as LogLevel | undefined) ?? "info";
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new LogSettingsError(
    `PINCER_LOG_LEVEL: got ${JSON.stringify(value)}, expected one of ${LOG_LEVELS.join(", ")}`,
  );
}

const LEVEL_NAMES: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};
const LEVEL_COLORS: Record<number, string> = { 10: "90", 20: "36", 30: "32", 40: "33", 50: "31", 60: "35" };
/** pino's own fields, shown in the line's head rather than as `key=value`. */
const HEAD_FIELDS = new Set(["level", "time", "msg", "pid", "hostname", "service"]);

function pad2(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** A value as `key=value` shows it: bare when it has no space or quote, else JSON (escapes newlines). */
function showValue(value: unknown): string {
  if (value instanceof Object && "message" in value && "stack" in value) {
    const e = value as { type?: unknown; message?: unknown; code?: unknown };
    return JSON.stringify(`${typeof e.type === "string" ? `${e.type}: ` : ""}${String(e.message)}`);
  }
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** One JSON line from pino as one readable line (no trailing newline). */
export function prettyLine(json: string, color: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.replace(/\r?\n/g, "\\n");
  }
  const level = typeof rec.level === "number" ? rec.level : 30;
  const t = new Date(typeof rec.time === "number" ? rec.time : Date.now());
  const time = `${pad2(t.getHours())}:${pad2(t.getMinutes())}:${pad2(t.getSeconds())}.${pad2(t.getMilliseconds(), 3)}`;
  const name = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
  const head = color ? `\x1b[90m${time}\x1b[0m \x1b[${LEVEL_COLORS[level] ?? "0"}m${name}\x1b[0m` : `${time} ${name}`;
  const msg = typeof rec.msg === "string" ? rec.msg.replace(/\r?\n/g, "\\n") : "";
  const fields = Object.entries(rec)
    .filter(([k, v]) => !HEAD_FIELDS.has(k) && v !== undefined)
    .map(([k, v]) => `${color ? `\x1b[2m${k}=\x1b[0m` : `${k}=`}${showValue(v)}`);
  return [head, msg, ...fields].filter((p) => p !== "").join(" ");
}

/** A pino destination that prints each record as one readable line. */
export function prettyDestination(out: LogDestination, color: boolean): LogDestination {
  let partial = "";
  return {
    write(chunk: string) {
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf("\n")) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (line.trim() !== "") out.write(`${prettyLine(line, color)}\n`);
      }
      return true;
    },
  };
}

export function createGatewayLogger(options: {
  level: LogLevel;
  format: LogFormat;
  destination?: LogDestination;
  /** ANSI colours in the pretty form (default: when the destination is a TTY). */
  color?: boolean;
  /**
   * Wraps the stream of JSON lines pino writes, in front of the formatting: a tee there (the
   * Control UI's log tail) sees JSON records whatever the terminal is shown.
   */
  tap?: (json: LogDestination) => LogDestination;
}): Logger {
  const out = options.destination ?? process.stdout;
  const base = { service: "pincer-gateway" };
  const json = options.format === "json" ? out : prettyDestination(out, options.color ?? out.isTTY === true);
  const dest = options.tap ? options.tap(json) : json;
  return pino({ level: options.level, base }, dest as pino.DestinationStream);
}
