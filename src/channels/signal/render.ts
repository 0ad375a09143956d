/**
 * Markdown → plain text for Signal (no markup on the wire): emphasis markers and code fences are
 * dropped, links keep their URL (`text (url)`), headings and bullets become plain lines.
 */
export function markdownToPlain(markdown: string): string {
  const out: string[] = [];
  let inFence = false;
  for (const line of markdown.replace(/\r\n?/g, "\n").split("\n")) {
    if (/^\s{0,3}(`{3,}|~{3,})/.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (inFence) {
      out.push(line);
      continue;
    }
    let l = line
      .replace(/^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$/, "$1")
      .replace(/^(\s*)[-*+]\s+/, "$1• ")
      .replace(/^\s{0,3}>\s?/, "> ");
    const parts = l.split(/(`[^`\n]+`)/);
    l = parts
      .map((p, i) =>
        i % 2 === 1
          ? p.slice(1, -1)
          : p
              .replace(/!?\[([^\]\n]*)\]\(([^)\s]+)\)/g, (_m, t: string, u: string) =>
                t && t !== u ? `${t} (${u})` : u,
              )
              .replace(/\*\*(?=\S)([^*\n]*?\S)\*\*/g, "$1")
              .replace(/__(?=\S)([^_\n]*?\S)__/g, "$1")
              .replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/g, "$1$2")
              .replace(/(^|[^\w])_(?=\S)([^_\n]*?\S)_(?![\w])/g, "$1$2")
              .replace(/~~(?=\S)([^~\n]*?\S)~~/g, "$1"),
      )
      .join("");
    out.push(l);
  }
  return out.join("\n");
}
