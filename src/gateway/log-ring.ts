/**
 * The last few thousand log records, kept in memory for the Control UI's live tail (`logs.tail` and
 * the `log` event). Fed by a tee in front of the gateway's pino destination, so it sees the same
 * JSON lines the operator's terminal does; bounded, so a chatty gateway never grows it.
 */
import type { LogDestination } from "./logger.ts";

export interface LogRecord {
  /** Increasing per process: a client resumes a tail after the last one it saw. */
  seq: number;
  time: number;
  /** pino's level name (trace … fatal). */
  level: string;
  msg: string;
  /** The record's other fields, as JSON text (bounded). */
  fields: string;
}

const LEVEL_NAMES: Record<number, string> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};
export const LEVEL_ORDER = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
const MAX_FIELDS_CHARS = 2000;

export class LogRing {
  private readonly records: LogRecord[] = [];
  private readonly listeners = new Set<(r: LogRecord) => void>();
  private seq = 0;
  private partial = "";

  private readonly capacity: number;

  constructor(capacity = 2000) {
    this.capacity = capacity;
  }

  /** A destination that writes to `out` and keeps each JSON line here too. */
  tee(out: LogDestination): LogDestination {
    return {
      isTTY: out.isTTY,
      write: (chunk: string) => {
        this.ingest(chunk);
        return out.write(chunk);
      },
    };
  }

  /** Takes pino's output (whole lines, possibly several per chunk). A line that is not JSON is skipped. */
  ingest(chunk: string): void {
    this.partial += chunk;
    let nl: number;
    while ((nl = this.partial.indexOf("\n")) >= 0) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      if (line.trim() !== "") this.add(line);
    }
    // A runaway line without a newline is dropped rather than kept growing.
    if (this.partial.length > 1_000_000) this.partial = "";
  }

  private add(line: string): void {
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (obj === null || typeof obj !== "object") return;
    const { level, time, msg, pid: _pid, hostname: _host, service: _service, ...rest } = obj;
    let fields = Object.keys(rest).length > 0 ? JSON.stringify(rest) : "";
    if (fields.length > MAX_FIELDS_CHARS) fields = `${fields.slice(0, MAX_FIELDS_CHARS)}…`;
    const record: LogRecord = {
      seq: ++this.seq,
      time: typeof time === "number" ? time : Date.now(),
      level: typeof level === "number" ? (LEVEL_NAMES[level] ?? String(level)) : String(level ?? "info"),
      msg: typeof msg === "string" ? msg : "",
      fields,
    };
    this.records.push(record);
    if (this.records.length > this.capacity) this.records.splice(0, this.records.length - this.capacity);
    for (const l of this.listeners) l(record);
  }

  /** The newest records matching, oldest first: at least `level`, containing `search` (case-insensitive). */
  tail(opts: { limit: number; level?: string; search?: string; afterSeq?: number }): LogRecord[] {
    const out: LogRecord[] = [];
    for (let i = this.records.length - 1; i >= 0 && out.length < opts.limit; i--) {
      const r = this.records[i]!;
      if (opts.afterSeq !== undefined && r.seq <= opts.afterSeq) break;
      if (matches(r, opts.level, opts.search)) out.push(r);
    }
    return out.reverse();
  }

  subscribe(listener: (r: LogRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function matches(r: LogRecord, level: string | undefined, search: string | undefined): boolean {
  if (level) {
    const min = LEVEL_ORDER.indexOf(level as (typeof LEVEL_ORDER)[number]);
    const at = LEVEL_ORDER.indexOf(r.level as (typeof LEVEL_ORDER)[number]);
    if (min >= 0 && at >= 0 && at < min) return false;
  }
  if (search) {
    const s = search.toLowerCase();
    if (!r.msg.toLowerCase().includes(s) && !r.fields.toLowerCase().includes(s)) return false;
  }
  return true;
}
