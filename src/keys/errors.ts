import { PincerError } from "../errors.ts";

/** Raised for any session key or key segment that cannot be built or parsed. */
export class SessionKeyError extends PincerError {
  override readonly code = "invalid_session_key";
  override readonly httpStatus = 400;
}

/**
 * A message no session may take: OpenClaw's named-account rule refuses a group message on a
 * non-default account that no binding routes (one bot's groups must not land in the default agent).
 */
export class UnroutableMessageError extends PincerError {
  override readonly code = "binding_required";
  override readonly httpStatus = 403;
}

/** Hex code point label for messages, e.g. `U+0007`. */
export function codePointLabel(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Index and code point of the first C0, DEL or C1 control character, if any. */
export function findControlChar(value: string): { index: number; cp: number } | undefined {
  const m = /[\u0000-\u001f\u007f-\u009f]/.exec(value);
  return m ? { index: m.index, cp: m[0].charCodeAt(0) } : undefined;
}
