/**
 * Normalisation of the structural ids that appear in session keys (OpenClaw's rules) and validation
 * of session ids, which are the only ids that ever become file names (no file name comes from a key).
 */
import { PincerError } from "../errors.ts";

export const DEFAULT_AGENT_ID = "main";
export const DEFAULT_ACCOUNT_ID = "default";
export const DEFAULT_MAIN_KEY = "main";
export const MAX_SESSION_KEY_LENGTH = 512;

const STRICT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/i;
const SESSION_ID = /^[a-z0-9][a-z0-9._-]{0,127}$/i;
const SESSION_ID_RULE =
  "must match ^[a-z0-9][a-z0-9._-]{0,127}$ (case-insensitive): 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit";
// Account ids become object keys in OpenClaw's config handling; these would hit the prototype.
const RESERVED_ACCOUNT_IDS = new Set(["__proto__", "prototype", "constructor"]);

/**
 * The shared id transform. Unlike OpenClaw it also strips leading `_` (OpenClaw only strips `-`),
 * so every result satisfies the strict regex, which Pincer requires of every agent id.
 */
function normalizeIdToken(raw: string | null | undefined): string {
  const trimmed = (raw ?? "").trim();
  if (STRICT_ID.test(trimmed)) return trimmed.toLowerCase();
  return trimmed
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 64)
    .replace(/-+$/, "");
}

export function normalizeAgentId(raw: string | null | undefined): string {
  return normalizeIdToken(raw) || DEFAULT_AGENT_ID;
}

export function isValidAgentId(raw: string): boolean {
  return STRICT_ID.test(raw);
}

export function normalizeAccountId(raw: string | null | undefined): string {
  const lower = (raw ?? "").trim().toLowerCase();
  if (RESERVED_ACCOUNT_IDS.has(lower)) return DEFAULT_ACCOUNT_ID;
  const id = normalizeIdToken(raw);
  return id === "" || RESERVED_ACCOUNT_IDS.has(id) ? DEFAULT_ACCOUNT_ID : id;
}

export function normalizeChannel(raw: string | null | undefined): string {
  return (raw ?? "").trim().toLowerCase() || "unknown";
}

export function isValidSessionId(id: unknown): id is string {
  return typeof id === "string" && SESSION_ID.test(id);
}

/** Quotes a value for an error message without letting a huge input flood the log. */
export function quoteForError(value: unknown, max = 80): string {
  if (typeof value !== "string") return value === undefined ? "undefined" : typeof value;
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}

export class InvalidSessionIdError extends PincerError {
  override readonly code = "invalid_session_id";
  override readonly httpStatus = 400;
  readonly value: unknown;
  constructor(value: unknown) {
    super(`Invalid session id ${quoteForError(value)}: ${SESSION_ID_RULE}`);
    this.value = value;
  }
}

export function assertValidSessionId(id: unknown): asserts id is string {
  if (!isValidSessionId(id)) throw new InvalidSessionIdError(id);
}
