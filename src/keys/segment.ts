/**
 * Percent-encoding of key segment VALUES (peer, group, thread, topic, job, hook ids).
 *
 * Output alphabet: printable ASCII minus `:`, `%` and `A`-`Z`. Everything else is `%xx` of its
 * UTF-8 bytes, hex in lower case so the whole key stays lower-case (OpenClaw lower-cases stored
 * keys). That covers `:` (no id can forge a segment), `%` (round trip), whitespace and C0/DEL/C1
 * controls, and all non-ASCII (invisible or look-alike characters would make keys ambiguous).
 *
 * Case: only ASCII `A`-`Z` is ever folded, and only on case-insensitive channels. Unicode case
 * mapping is never applied: `toLowerCase()` maps KELVIN SIGN (U+212A) onto `k` and folds `Ä` onto
 * `ä`, which would merge ids the platform keeps apart. So folding happens before encoding but
 * touches ASCII only, and any two ids that differ other than by ASCII case get different
 * segments. On case-sensitive channels nothing is folded and `A` becomes `%41`.
 */
import { SessionKeyError, codePointLabel, findControlChar } from "./errors.ts";
import { quoteForError } from "./ids.ts";

/** Channels whose peer/group/thread ids differ by case (Matrix room/event ids, Signal group ids). */
export const CASE_SENSITIVE_CHANNELS: ReadonlySet<string> = new Set(["matrix", "signal"]);

export function isCaseSensitiveChannel(channel: string): boolean {
  return CASE_SENSITIVE_CHANNELS.has(channel.trim().toLowerCase());
}

/** `A`-`Z` → `a`-`z`, nothing else: the only case folding keys ever apply. */
export function asciiLower(value: string): string {
  return value.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/**
 * OpenClaw lower-cases ids with `toLowerCase()`; Pincer folds ASCII only, and nothing where the
 * platform distinguishes case.
 */
export function foldIdCase(value: string, caseSensitive: boolean): string {
  return caseSensitive ? value : asciiLower(value);
}

const utf8 = new TextEncoder();
// fatal: reject invalid sequences; ignoreBOM: keep a leading U+FEFF instead of eating it.
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function isPlainByte(b: number): boolean {
  const printable = b >= 0x21 && b <= 0x7e;
  const upper = b >= 0x41 && b <= 0x5a;
  return printable && !upper && b !== 0x3a && b !== 0x25;
}

/** Encodes one value; `caseSensitive: false` folds ASCII letters to lower case first. */
export function encodeSegment(value: string, opts: { caseSensitive: boolean }): string {
  if (value === "") throw new SessionKeyError("key segment value must not be empty");
  if (!value.isWellFormed()) {
    throw new SessionKeyError(`key segment value ${quoteForError(value)} contains an unpaired surrogate`);
  }
  let out = "";
  for (const b of utf8.encode(foldIdCase(value, opts.caseSensitive))) {
    out += isPlainByte(b) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, "0")}`;
  }
  return out;
}

function hexAt(s: string, i: number): number {
  const h = s.slice(i, i + 2);
  return /^[0-9a-f]{2}$/i.test(h) ? parseInt(h, 16) : -1;
}

/**
 * Decodes one segment. Escapes may use either hex case; raw characters (from hand-typed or legacy
 * keys) pass through literally. Rejects empty segments, malformed escapes, escapes that are not
 * valid UTF-8, raw control characters and unpaired surrogates.
 */
export function decodeSegment(segment: string): string {
  if (segment === "") throw new SessionKeyError("key segment must not be empty");
  const ctl = findControlChar(segment);
  if (ctl) {
    throw new SessionKeyError(
      `key segment ${quoteForError(segment)} contains control character ${codePointLabel(ctl.cp)} at index ${ctl.index}`,
    );
  }
  if (!segment.isWellFormed()) {
    throw new SessionKeyError(`key segment ${quoteForError(segment)} contains an unpaired surrogate`);
  }
  if (!segment.includes("%")) return segment;
  const bytes: number[] = [];
  for (let i = 0; i < segment.length;) {
    if (segment[i] === "%") {
      const b = hexAt(segment, i + 1);
      if (b < 0) {
        throw new SessionKeyError(
          `malformed escape ${quoteForError(segment.slice(i, i + 3))} at index ${i} in key segment ${quoteForError(segment)}: '%' must be followed by two hex digits`,
        );
      }
      bytes.push(b);
      i += 3;
    } else {
      const cp = segment.codePointAt(i) ?? 0;
      const ch = String.fromCodePoint(cp);
      bytes.push(...utf8.encode(ch));
      i += ch.length;
    }
  }
  try {
    return utf8Strict.decode(new Uint8Array(bytes));
  } catch {
    throw new SessionKeyError(`escapes in key segment ${quoteForError(segment)} are not valid UTF-8`);
  }
}
