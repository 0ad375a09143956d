/**
 * A provider failure in Pincer's terms, from its message, HTTP status and response body: a context
 * overflow the runner can recover from (compact and retry), or a plain ProviderError whose status
 * decides whether it is retryable. Shared by the AI SDK adapter and Pincer's own Chat Completions
 * client, so both fail the same way and fallbacks and retries behave the same.
 */
import { ContextOverflowError, ProviderError } from "./types.ts";

const OVERFLOW =
  /context[ _-]?length|prompt is too long|maximum context|too many tokens|context[ _-]?window|context_length_exceeded/i;

export function providerFailure(
  message: string,
  status: number | undefined,
  responseBody: string | undefined,
  cause?: unknown,
): Error {
  const options = cause === undefined ? undefined : { cause };
  if ((status === 400 || status === 413 || status === undefined) && OVERFLOW.test(`${message} ${responseBody ?? ""}`))
    return new ContextOverflowError(message, options);
  return new ProviderError(message, status, options);
}
