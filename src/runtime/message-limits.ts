/**
 * The largest message text a surface may hand to the runtime (`gateway.maxMessageBytes`). Checked
 * in `AgentRuntime.submit`, which every surface goes through, so no channel is left unbounded;
 * surfaces turn the error into their own "too large" answer (HTTP 413, a WS error).
 */
import { PincerError } from "../errors.ts";
export { DEFAULT_MAX_MESSAGE_BYTES } from "../config/gateway-schema.ts";
export const MAX_MESSAGE_BYTES_KEY = "gateway.maxMessageBytes";

export class MessageTooLargeError extends PincerError {
  override readonly code = "message_too_large";
  override readonly httpStatus = 413;
  readonly bytes: number;
  readonly limit: number;
  constructor(bytes: number, limit: number) {
    super(`message text is ${bytes} bytes of UTF-8; the limit is ${limit} bytes (${MAX_MESSAGE_BYTES_KEY})`);
    this.bytes = bytes;
    this.limit = limit;
  }

  override get details(): Record<string, unknown> {
    return { bytes: this.bytes, limit: this.limit };
  }
}

export function assertMessageSize(text: string, limit: number): void {
  // Cheap bound first: UTF-8 takes at most 3 bytes per UTF-16 unit.
  if (text.length * 3 <= limit) return;
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > limit) throw new MessageTooLargeError(bytes, limit);
}
