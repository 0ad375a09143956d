/**
 * Markdown as models write it → Telegram's HTML subset (`parse_mode: "HTML"`): b, i, s, code, pre,
 * a, blockquote, tg-spoiler. Every other `<`, `>` and `&` is escaped, so no model output can inject
 * markup. A tag is only emitted around a recursively rendered span whose closing delimiter was
 * found, so the output is always well formed, even for a chunk cut in the middle of a construct
 * (the chunker renders each piece on its own): an unmatched delimiter stays literal text.
 */

const MAX_DEPTH = 16;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));
}

function escapeAttr(text: string): string {
  return escapeHtml(text).replace(/"/g, "&quot;");
}

/** The rendered HTML back to the text a reader sees: the plain-text fallback when Telegram refuses the markup. */
export function htmlToPlain(html: string): string {
  return html
    .replace(/<[^>]*>/g, "")
    .replace(/&(lt|gt|quot|amp);/g, (_, e: string) => (e === "lt" ? "<" : e === "gt" ? ">" : e === "quot" ? '"' : "&"));
}

export function renderTelegramHtml(markdown: string): string {
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const fence = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)[^\n]*$/.exec(line);
    if (fence) {
      const marker = fence[1]!;
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.trimStart().startsWith(marker)) body.push(lines[i++]!);
      i++; // the closing fence (or the end of the text: an unclosed fence runs to the end)
      const lang = fence[2] ? ` class="language-${escapeAttr(fence[2])}"` : "";
      out.push(`<pre><code${lang}>${escapeHtml(body.join("\n"))}</code></pre>`);
      continue;
    }
    if (/^ {0,3}>/.test(line)) {
      const quoted: string[] = [];
      while (i < lines.length && /^ {0,3}>/.test(lines[i]!)) quoted.push(lines[i++]!.replace(/^ {0,3}> ?/, ""));
      out.push(`<blockquote>${quoted.map((q) => renderInline(q, 0)).join("\n")}</blockquote>`);
      continue;
    }
    out.push(renderLine(line));
    i++;
  }
  return out.join("\n");
}

function renderLine(line: string): string {
  const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
  if (heading) return `<b>${renderInline(heading[1]!, 1)}</b>`;
  if (/^ {0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) return "——————";
  const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(line);
  if (bullet) return `${bullet[1]}• ${renderInline(bullet[2]!, 0)}`;
  return renderInline(line, 0);
}

interface Span {
  open: string;
  close: string;
  tag: string;
  /** `_`-style delimiters only count at word boundaries (snake_case stays as written). */
  wordBound?: boolean;
}

const SPANS: Span[] = [
  { open: "**", close: "**", tag: "b" },
  { open: "__", close: "__", tag: "b", wordBound: true },
  { open: "~~", close: "~~", tag: "s" },
  { open: "||", close: "||", tag: "tg-spoiler" },
  { open: "*", close: "*", tag: "i" },
  { open: "_", close: "_", tag: "i", wordBound: true },
];

const isWord = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{N}_]/u.test(c);
const isSpace = (c: string | undefined): boolean => c === undefined || /\s/.test(c);

function findClose(text: string, span: Span, from: number): number {
  let at = text.indexOf(span.close, from);
  while (at !== -1) {
    const before = text[at - 1];
    const after = text[at + span.close.length];
    const ok = !isSpace(before) && !(span.wordBound && isWord(after)) && after !== span.close[0];
    if (ok && at > from) return at;
    at = text.indexOf(span.close, at + 1);
  }
  return -1;
}

/** Sticky and bounded: a text full of `[` must not make each one scan the rest of the text. */
const LINK = /\[([^\]\n]{1,1000})\]\(\s*([^)\s]{1,2048})\s*\)/y;
const TICKS = /`+/y;
const SAFE_URL = /^(https?:\/\/|tg:\/\/|mailto:)/i;

function renderInline(text: string, depth: number): string {
  if (depth > MAX_DEPTH) return escapeHtml(text);
  let out = "";
  let plainFrom = 0;
  // A delimiter whose search failed at some position has no closer anywhere later: never search again.
  const exhausted = new Set<string>();
  let i = 0;
  const flush = (to: number) => {
    out += escapeHtml(text.slice(plainFrom, to));
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === "\\" && i + 1 < text.length && /[\\`*_~|[\]()#>!-]/.test(text[i + 1]!)) {
      flush(i);
      out += escapeHtml(text[i + 1]!);
      i += 2;
      plainFrom = i;
      continue;
    }
    if (c === "`") {
      TICKS.lastIndex = i;
      const run = TICKS.exec(text)![0];
      const end = exhausted.has(run) ? -1 : text.indexOf(run, i + run.length);
      if (end === -1) {
        exhausted.add(run);
        i += run.length;
        continue;
      } else if (end > i + run.length) {
        flush(i);
        out += `<code>${escapeHtml(text.slice(i + run.length, end))}</code>`;
        i = end + run.length;
        plainFrom = i;
        continue;
      }
    }
    if (c === "[" && !exhausted.has("](")) {
      LINK.lastIndex = i;
      const link = LINK.exec(text);
      if (link && SAFE_URL.test(link[2]!)) {
        flush(i);
        out += `<a href="${escapeAttr(link[2]!)}">${renderInline(link[1]!, depth + 1)}</a>`;
        i += link[0].length;
        plainFrom = i;
        continue;
      }
      if (!text.includes("](", i)) exhausted.add("](");
    }
    let matched = false;
    for (const span of SPANS) {
      if (!text.startsWith(span.open, i) || exhausted.has(span.open)) continue;
      if (span.wordBound && isWord(text[i - 1])) continue;
      if (isSpace(text[i + span.open.length])) continue;
      const end = findClose(text, span, i + span.open.length);
      if (end === -1) {
        exhausted.add(span.open);
        continue;
      }
      flush(i);
      out += `<${span.tag}>${renderInline(text.slice(i + span.open.length, end), depth + 1)}</${span.tag}>`;
      i = end + span.close.length;
      plainFrom = i;
      matched = true;
      break;
    }
    if (!matched) {
      // Skip the whole delimiter run so `***` is not re-examined one character at a time.
      const run = /^([*_~|])\1*/.exec(text.slice(i, i + 8));
      i += run ? run[0].length : 1;
    }
  }
  flush(text.length);
  return out;
}
