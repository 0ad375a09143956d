/**
 * A `fetch` for the AI SDK's provider packages (their documented `fetch` option) over node:http
 * and node:https with one keep-alive agent per provider. The global fetch (undici) costs about a
 * third of a streamed model call's CPU in its own request/response machinery; this one only
 * translates a POST/GET with a string body to an http request and the response to a `Response`.
 * Anything it does not handle (a `Request` object, a stream or form body) goes to the global fetch.
 * Failures look like the global fetch's: an abort rejects with an AbortError, a connection error
 * with `TypeError("fetch failed")` carrying the cause, which the SDK turns into a retryable
 * APICallError ("Cannot connect to API").
 */
import * as http from "node:http";
import * as https from "node:https";
import { Readable } from "node:stream";

/** undici's default body and headers timeouts: a silent server does not hold a call forever. */
const IDLE_TIMEOUT_MS = 300_000;
/** Statuses whose Response may not carry a body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

type FetchInput = Parameters<typeof globalThis.fetch>[0];

/** The SDK passes a plain object; a `Headers` or an array goes to the global fetch. */
function plainHeaders(init: RequestInit["headers"]): Record<string, string> | null {
  if (init === undefined) return {};
  if (init instanceof Headers || Array.isArray(init)) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(init as Record<string, unknown>)) {
    if (typeof v === "string") out[k] = v;
    else if (v !== undefined) return null;
  }
  return out;
}

function responseHeaders(raw: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === "string") headers.append(k, v);
    else if (Array.isArray(v)) for (const one of v) headers.append(k, one);
  }
  return headers;
}

export function createHttpFetch(): { fetch: typeof globalThis.fetch; close(): void } {
  const agents = {
    "http:": new http.Agent({ keepAlive: true }),
    "https:": new https.Agent({ keepAlive: true }),
  };
  const fetch = (input: FetchInput, init: RequestInit = {}): Promise<Response> => {
    const url = typeof input === "string" ? new URL(input) : input instanceof URL ? input : null;
    const headers = plainHeaders(init.headers);
    const body = init.body;
    if (
      url === null ||
      headers === null ||
      (url.protocol !== "http:" && url.protocol !== "https:") ||
      (body !== undefined && body !== null && typeof body !== "string" && !(body instanceof Uint8Array)) ||
      (init.redirect !== undefined && init.redirect !== "follow")
    )
      return globalThis.fetch(input, init);
    const signal = init.signal ?? undefined;
    return new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) {
        reject(
          signal.reason instanceof Error ? signal.reason : new DOMException("This operation was aborted", "AbortError"),
        );
        return;
      }
      const request = (url.protocol === "https:" ? https : http).request(
        url,
        { method: init.method ?? "GET", headers, agent: agents[url.protocol as "http:" | "https:"], signal },
        (res) => {
          const status = res.statusCode ?? 0;
          const nullBody = NULL_BODY.has(status) || init.method === "HEAD";
          if (nullBody) res.resume();
          resolve(
            new Response(nullBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
              status,
              statusText: res.statusMessage ?? "",
              headers: responseHeaders(res.headers),
            }),
          );
        },
      );
      request.setTimeout(IDLE_TIMEOUT_MS, () =>
        request.destroy(new Error(`no data from ${url.origin} for ${IDLE_TIMEOUT_MS} ms`)),
      );
      request.once("error", (err) => {
        if (err.name === "AbortError") reject(err);
        else reject(new TypeError("fetch failed", { cause: err }));
      });
      request.end(body ?? undefined);
    });
  };
  return {
    fetch: fetch as typeof globalThis.fetch,
    close() {
      agents["http:"].destroy();
      agents["https:"].destroy();
    },
  };
}
