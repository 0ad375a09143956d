/**
 * A Server-Sent Events parser (the WHATWG event-stream format): fields `event`, `data` (lines
 * joined with "\n"), `id`, `retry`; `:` comments (signal-cli's keep-alives) ignored; CRLF, CR or
 * LF line ends, also split across chunks; an event is dispatched at its blank line. Bounded: a
 * line longer than `maxLineBytes` is a protocol error, not unbounded memory.
 */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export class SseParser {
  private buffer = "";
  private event = "";
  private data: string[] = [];
  private id: string | undefined;
  private hasData = false;
  private readonly maxLine: number;

  constructor(opts: { maxLineBytes?: number } = {}) {
    this.maxLine = opts.maxLineBytes ?? 8 * 1024 * 1024;
  }

  /** Feeds decoded text; returns the events completed by it. */
  push(text: string): SseEvent[] {
    this.buffer += text;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A lone CR at the very end may be the first half of CRLF: wait for the next chunk.
      if (m[0] === "\r" && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    if (this.buffer.length > this.maxLine) throw new Error(`SSE line longer than ${this.maxLine} bytes`);
    return out;
  }

  private line(line: string): SseEvent | undefined {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") {
      this.data.push(value);
      this.hasData = true;
    } else if (field === "id" && !value.includes("\0")) this.id = value;
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const ev: SseEvent | undefined = this.hasData
      ? {
          event: this.event || "message",
          data: this.data.join("\n"),
          ...(this.id !== undefined ? { id: this.id } : {}),
        }
      : undefined;
    this.event = "";
    this.data = [];
    this.hasData = false;
    return ev;
  }
}
