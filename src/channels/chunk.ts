/**
 * Splits a markdown reply into messages a platform accepts. The limit is checked on the RENDERED
 * text (Telegram's HTML escaping makes text longer: OpenClaw PR #57924 sent chunks that were under
 * 4096 as markdown and over it as HTML), so every candidate chunk is rendered with the adapter's
 * own `render` and measured in the platform's unit. Cuts prefer a paragraph break, then a line
 * break, then a space, and only then a code point. A code fence cut in two is closed at the end of
 * the first chunk and reopened — same opening line, info string included — at the start of the
 * next, so each message renders as code. Nothing is lost: the source slices of the chunks
 * partition the input (`splitMarkdown` returns them; tests check it).
 */

export interface ChunkOptions {
  /** Largest rendered message in `countUnit` (Telegram 4096, Slack 4000, Discord 2000). */
  maxChars: number;
  /** Largest number of rendered lines (Discord 17); absent: no line limit. */
  maxLines?: number;
  countUnit: "utf16" | "chars";
  render(md: string): string;
}

export interface MarkdownPiece {
  /** The markdown of this chunk, fence repairs included, surrounding blank lines trimmed. */
  markdown: string;
  /** `[start, end)` of the input this chunk carries; consecutive pieces partition the input. */
  source: [number, number];
  /** The fence opening line prepended because the chunk starts inside a code block. */
  reopened?: string;
  /** The fence closing line appended because the chunk ends inside a code block. */
  closed?: string;
}

/** Rendered chunks, each within the limits after rendering (see the file comment). */
export function chunkMarkdown(markdown: string, opts: ChunkOptions): string[] {
  return splitMarkdown(markdown, opts).map((p) => opts.render(p.markdown));
}

/** Rendered size of `text` in the platform's unit. */
export function measure(text: string, unit: "utf16" | "chars"): number {
  if (unit === "utf16") return text.length;
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function lineCount(text: string): number {
  let n = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

const FENCE_RE = /^( {0,3})(`{3,}|~{3,})(.*)$/;

interface Fence {
  /** The opening line as written (indent, marker, info string). */
  open: string;
  /** What closes it: the same indent and marker. */
  close: string;
  marker: string;
}

/**
 * Per line of the input: its start offset and the fence open AFTER the line (undefined: outside
 * code). `lineStarts[i]` … the i-th line; `fenceAfter[i]` the state once line i is complete.
 */
interface LineMap {
  starts: number[];
  fenceAfter: Array<Fence | undefined>;
  /** Line i is a fence delimiter (opening or closing): never cut inside it. */
  isDelimiter: boolean[];
}

function mapLines(md: string): LineMap {
  const starts: number[] = [];
  const fenceAfter: Array<Fence | undefined> = [];
  const isDelimiter: boolean[] = [];
  let fence: Fence | undefined;
  let pos = 0;
  while (pos <= md.length) {
    const nl = md.indexOf("\n", pos);
    const end = nl < 0 ? md.length : nl;
    const line = md.slice(pos, end).replace(/\r$/, "");
    starts.push(pos);
    const m = FENCE_RE.exec(line);
    let delim = false;
    if (m) {
      const marker = m[2]!;
      const info = m[3]!;
      if (!fence) {
        // Backtick fences may not have a backtick in the info string (CommonMark).
        if (!(marker[0] === "`" && info.includes("`"))) {
          fence = { open: line, close: m[1]! + marker, marker };
          delim = true;
        }
      } else if (marker[0] === fence.marker[0] && marker.length >= fence.marker.length && info.trim() === "") {
        fence = undefined;
        delim = true;
      }
    }
    fenceAfter.push(fence);
    isDelimiter.push(delim);
    if (nl < 0) break;
    pos = nl + 1;
  }
  return { starts, fenceAfter, isDelimiter };
}

/** Whether `markdown` ends inside a code fence it opened (tests; the chunker's own fence reading). */
export function fenceOpenAtEnd(markdown: string): boolean {
  return mapLines(markdown).fenceAfter.at(-1) !== undefined;
}

/** Index of the line containing offset `pos` (binary search over line starts). */
function lineOf(map: LineMap, pos: number): number {
  let lo = 0;
  let hi = map.starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (map.starts[mid]! <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The fence open at offset `pos` (a cut there): the state after the last complete line before it. */
function fenceAt(map: LineMap, pos: number): Fence | undefined {
  const li = lineOf(map, pos);
  // `pos` at a line start: the state after the previous line; mid-line: the state before this line
  // still holds for the text before `pos` (a delimiter line is never cut inside).
  return li === 0 ? undefined : map.fenceAfter[li - 1];
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

export function splitMarkdown(markdown: string, opts: ChunkOptions): MarkdownPiece[] {
  if (!(opts.maxChars > 0)) throw new RangeError(`chunkMarkdown: maxChars must be positive, got ${opts.maxChars}`);
  const md = markdown;
  const map = mapLines(md);
  const pieces: MarkdownPiece[] = [];
  // Rendering is the costly part; a candidate window far past the limit cannot fit unless the
  // renderer shrinks text a lot, so the search looks at most this far ahead.
  const window = Math.max(opts.maxChars * 4, 1024);

  const build = (p: number, q: number): MarkdownPiece => {
    const startFence = fenceAt(map, p);
    const endFence = q >= md.length ? undefined : fenceAt(map, q);
    let body = md.slice(p, q);
    body = body.replace(/^(?:[ \t]*\r?\n)+/, "").replace(/\s+$/, "");
    let text = body;
    const piece: MarkdownPiece = { markdown: "", source: [p, q] };
    if (startFence) {
      piece.reopened = startFence.open;
      text = text.length > 0 ? `${startFence.open}\n${text}` : startFence.open;
    }
    if (endFence) {
      piece.closed = endFence.close;
      text = `${text}\n${endFence.close}`;
    }
    piece.markdown = text;
    return piece;
  };
  const fits = (piece: MarkdownPiece): boolean => {
    const rendered = opts.render(piece.markdown);
    if (measure(rendered, opts.countUnit) > opts.maxChars) return false;
    return opts.maxLines === undefined || lineCount(rendered) <= opts.maxLines;
  };
  /** A cut may not fall inside a fence delimiter line nor split a surrogate pair. */
  const cuttable = (q: number): boolean => {
    if (q >= md.length) return true;
    if (isHighSurrogate(md.charCodeAt(q - 1))) return false;
    const li = lineOf(map, q);
    return !(map.isDelimiter[li] && q > map.starts[li]!);
  };
  const hasContent = (p: number, q: number): boolean => /\S/.test(md.slice(p, q));

  if (!/\S/.test(md)) return [];
  let p = 0;
  while (p < md.length) {
    if (!hasContent(p, md.length)) {
      // Only whitespace left: it belongs to the previous chunk's slice (trimmed there).
      pieces[pieces.length - 1]!.source[1] = md.length;
      break;
    }
    const whole = build(p, md.length);
    if (fits(whole)) {
      pieces.push(whole);
      break;
    }
    // Largest q in (p, hi] whose chunk fits, by binary search (rendered size grows with q nearly monotonically).
    const hi = Math.min(md.length, p + window);
    let lo = p; // fits (vacuously)
    let top = hi;
    while (lo < top) {
      let mid = Math.ceil((lo + top) / 2);
      while (mid < top && !cuttable(mid)) mid++;
      if (!cuttable(mid)) {
        top = Math.ceil((lo + top) / 2) - 1;
        continue;
      }
      if (fits(build(p, mid))) lo = mid;
      else top = mid - 1;
    }
    let cut = lo;
    if (cut > p) {
      const preferred = preferredCut(md, map, p, cut, (q) => cuttable(q) && hasContent(p, q) && fits(build(p, q)));
      if (preferred !== undefined) cut = preferred;
    }
    if (cut <= p || !hasContent(p, cut)) {
      // Not even one code point fits with its fence repairs: send the smallest possible piece, over
      // the limit (the platform rejects it as "too long" → permanent, counted), rather than loop.
      cut = p + 1;
      while (cut < md.length && !cuttable(cut)) cut++;
      while (cut < md.length && !hasContent(p, cut)) cut++;
    }
    pieces.push(build(p, cut));
    p = cut;
  }
  return pieces;
}

/**
 * The best cut in (p, max]: after the last blank line, else after the last line break, else after
 * the last space run; each candidate is checked (rendering is not strictly monotonic). Undefined:
 * keep `max`.
 */
function preferredCut(
  md: string,
  map: LineMap,
  p: number,
  max: number,
  ok: (q: number) => boolean,
): number | undefined {
  const span = md.slice(p, max);
  const tries = 4;
  const classes: RegExp[] = [/\n[ \t]*\r?\n(?:[ \t]*\r?\n)*/g, /\n/g, /[ \t]+/g];
  for (const re of classes) {
    const ends: number[] = [];
    for (const m of span.matchAll(re)) ends.push(p + m.index + m[0].length);
    for (let k = ends.length - 1, n = 0; k >= 0 && n < tries; k--, n++) {
      const q = ends[k]!;
      // Right after a fence's opening line, or right before its closing line, would leave an
      // empty code block behind in one of the two chunks.
      const li = lineOf(map, q);
      if (q < md.length && q === map.starts[li]) {
        if (li > 0 && map.isDelimiter[li - 1] && map.fenceAfter[li - 1]) continue;
        if (map.isDelimiter[li] && !map.fenceAfter[li]) continue;
      }
      if (q > p && ok(q)) return q;
    }
  }
  return undefined;
}
