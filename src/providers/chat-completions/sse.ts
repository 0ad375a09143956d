/**
 * An incremental server-sent-events reader on Buffers: bytes in, each event's `data` out. Lines
 * end at LF, CRLF or CR; a line is only decoded (UTF-8) once it is complete, so a multi-byte
 * character split across network chunks decodes whole. `event:`, `id:`, `retry:` and comments are
 * ignored (the Chat Completions stream carries everything in `data`), and an event only counts
 * once its blank line arrived: a stream cut mid-event drops that event, as the AI SDK's parser
 * (eventsource-parser) does.
 */

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const COLON = 0x3a;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** "data" */
const DATA = Buffer.from("data", "latin1");

/** A line this long is not a Chat Completions chunk: the stream fails instead of buffering on. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

export class SseReader {
  /** The unfinished line's bytes, in pieces: joined only once a line end arrives. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private lines: string[] = [];
  private atStart = true;

  private readonly onData: (data: string) => void;

  constructor(onData: (data: string) => void) {
    this.onData = onData;
  }

  /** Throws when a line outgrows MAX_LINE_BYTES. */
  push(chunk: Buffer): void {
    if (this.pendingBytes > 0 && !this.atStart && chunk.indexOf(LF) === -1 && chunk.indexOf(CR) === -1) {
      this.hold(chunk);
      return;
    }
    let buf = this.pendingBytes === 0 ? chunk : Buffer.concat([...this.pending, chunk]);
    this.pending = [];
    this.pendingBytes = 0;
    if (this.atStart) {
      // A UTF-8 byte order mark opens the stream at most once (TextDecoder drops it too).
      const n = Math.min(buf.length, 3);
      if (buf.subarray(0, n).equals(BOM.subarray(0, n))) {
        if (n < 3) {
          this.hold(buf);
          return;
        }
        buf = buf.subarray(3);
      }
      if (buf.length > 0) this.atStart = false;
    }
    const hasCr = buf.indexOf(CR) !== -1;
    let pos = 0;
    while (pos < buf.length) {
      let end: number;
      let next: number;
      if (!hasCr) {
        end = buf.indexOf(LF, pos);
        if (end === -1) break;
        next = end + 1;
      } else {
        const lf = buf.indexOf(LF, pos);
        const cr = buf.indexOf(CR, pos);
        if (cr !== -1 && (lf === -1 || cr < lf)) {
          // A CR last in the buffer may be the first half of a CRLF: wait for the next byte.
          if (cr === buf.length - 1) break;
          end = cr;
          next = buf[cr + 1] === LF ? cr + 2 : cr + 1;
        } else if (lf !== -1) {
          end = lf;
          next = lf + 1;
        } else break;
      }
      this.line(buf, pos, end);
      pos = next;
    }
    if (pos < buf.length) this.hold(buf.subarray(pos));
  }

  private hold(piece: Buffer): void {
    this.pendingBytes += piece.length;
    if (this.pendingBytes > MAX_LINE_BYTES) throw new Error(`an event-stream line longer than ${MAX_LINE_BYTES} bytes`);
    this.pending.push(piece);
  }

  private line(buf: Buffer, start: number, end: number): void {
    if (start === end) {
      if (this.lines.length > 0) {
        const data = this.lines.length === 1 ? this.lines[0]! : this.lines.join("\n");
        this.lines = [];
        this.onData(data);
      }
      return;
    }
    // Only `data` matters: `data: x`, `data:x`, or a bare `data` (an empty value).
    if (end - start < 4 || buf.compare(DATA, 0, 4, start, start + 4) !== 0) return;
    let from = start + 4;
    if (from < end) {
      if (buf[from] !== COLON) return;
      from++;
      if (buf[from] === SPACE && from < end) from++;
    }
    this.lines.push(buf.toString("utf8", from, end));
  }
}
