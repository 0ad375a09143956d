/**
 * Small HTTP helpers: bounded JSON bodies, JSON replies, and errors with a stable code. Malformed
 * input (a bad escape in a path, JSON nested past any sane depth) becomes a 4xx here, never a
 * RangeError or URIError deeper down.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { PincerError } from "../errors.ts";

export class HttpError extends PincerError {
  override readonly code: string;
  override readonly httpStatus: number;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.httpStatus = status;
    this.code = code;
  }

  get status(): number {
    return this.httpStatus;
  }
}

/** Reads the whole body, refusing more than `limit` bytes with 413 as soon as it is exceeded. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit)
    throw new HttpError(413, "payload_too_large", `request body is ${declared} bytes; the limit is ${limit}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, "payload_too_large", `request body exceeds the limit of ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Deeper than any request Pincer accepts; recursive steps later (JSON.stringify, validators) stay far from the stack limit. */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether JSON text nests arrays/objects deeper than `max`: one pass, no recursion, brackets
 * inside strings ignored. Run before JSON.parse so nothing recursive ever sees such a value.
 */
export function jsonDepthExceeds(text: string, max: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers["content-type"] ?? "";
  if (!/^application\/json\b/i.test(type))
    throw new HttpError(
      415,
      "unsupported_media_type",
      `expected Content-Type: application/json, got ${JSON.stringify(type)}`,
    );
  const text = (await readBody(req, limit)).toString("utf8");
  if (jsonDepthExceeds(text))
    throw new HttpError(
      400,
      "json_too_deep",
      `JSON body nests arrays/objects more than ${MAX_JSON_DEPTH} levels deep (the limit is ${MAX_JSON_DEPTH})`,
    );
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(
      400,
      "invalid_json",
      `malformed JSON body: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** The request URL, or a 400 when the request target cannot be parsed (`//[`, for one). */
export function requestUrl(rawUrl: string | undefined): URL {
  try {
    return new URL(rawUrl ?? "/", "http://localhost");
  } catch {
    throw new HttpError(
      400,
      "invalid_url",
      `request target ${JSON.stringify((rawUrl ?? "").slice(0, 200))} is not a valid URL path`,
    );
  }
}

/** A percent-decoded path segment; a malformed escape (`%`, `%E0%A4%A`) is the caller's 400. */
export function decodePathSegment(segment: string, what: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(
      400,
      "invalid_path",
      `${what}: got ${JSON.stringify(segment.slice(0, 200))}, expected a correctly percent-encoded path segment`,
    );
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    // Cut a half-written answer; one already ended (a stream that sent its own error event) stays as it is.
    if (!res.writableEnded) res.destroy();
    return;
  }
  sendJson(
    res,
    err.status,
    { error: { code: err.code, message: err.message } },
    err.status === 401 ? { "www-authenticate": 'Bearer realm="pincer"' } : {},
  );
}
