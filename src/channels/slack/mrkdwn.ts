/**
 * Markdown as models write it → Slack mrkdwn. Slack reads `&`, `<` and `>` as control characters
 * everywhere (code included), so they are escaped first; then bold `**x**` → `*x*`, italics
 * `*x*`/`_x_` → `_x_`, strike `~~x~~` → `~x~`, links `[t](u)` → `<u|t>`, headings → bold lines,
 * bullets → `•`. Code spans and fences keep their content (escaped) and lose the info string,
 * which Slack does not understand.
 */

const BOLD = "\u0001";

function escapeSlack(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Link text may not hold `|` (it ends the URL part) — it is the only character replaced. */
function linkText(text: string): string {
  return text.replace(/\|/g, "¦");
}

function inlineSegment(text: string): string {
  let out = escapeSlack(text);
  // Images and links; the URL keeps its escaped `&amp;` (Slack unescapes it).
  out = out.replace(/!?\[([^\]\n]*)\]\(([^)\s]+)\)/g, (_m, label: string, url: string) =>
    label.trim() === "" || label === url ? `&lt;${url}&gt;` : `\u0002${url}|${linkText(label)}\u0003`,
  );
  // Markdown autolinks `<https://…>` (escaped above) become Slack links again.
  out = out.replace(/&lt;((?:https?|mailto):[^\s&]*(?:&amp;[^\s&]*)*)&gt;/g, "\u0002$1\u0003");
  out = out.replace(/\*\*(?=\S)([^*\n]*?\S)\*\*/g, `${BOLD}$1${BOLD}`);
  out = out.replace(/__(?=\S)([^_\n]*?\S)__/g, `${BOLD}$1${BOLD}`);
  out = out.replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/g, "$1_$2_");
  out = out.replace(/~~(?=\S)([^~\n]*?\S)~~/g, "~$1~");
  return out
    .replace(/\u0001/g, "*")
    .replace(/\u0002/g, "<")
    .replace(/\u0003/g, ">");
}

/** Inline code spans are kept verbatim (escaped); the rest of the line is converted. */
function inlineLine(line: string): string {
  const parts = line.split(/(`[^`\n]+`)/);
  return parts.map((p, i) => (i % 2 === 1 ? escapeSlack(p) : inlineSegment(p))).join("");
}

function blockLine(line: string): string {
  const heading = /^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
  if (heading) return `*${inlineLine(heading[1] ?? "").replace(/^\*|\*$/g, "")}*`;
  const quote = /^(\s{0,3}>+\s?)(.*)$/.exec(line);
  if (quote) return `> ${inlineLine(quote[2] ?? "")}`;
  const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(line);
  if (bullet) return `${bullet[1] ?? ""}• ${inlineLine(bullet[2] ?? "")}`;
  if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) return "―――";
  return inlineLine(line);
}

export function markdownToMrkdwn(markdown: string): string {
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  let fence: string | undefined;
  for (const line of lines) {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence === undefined && marker) {
      fence = marker[1] ?? "```";
      out.push("```");
      continue;
    }
    if (fence !== undefined) {
      const close = marker?.[1] ?? "";
      if (close[0] === fence[0] && close.length >= fence.length && line.trim() === close) {
        fence = undefined;
        out.push("```");
      } else {
        out.push(escapeSlack(line));
      }
      continue;
    }
    out.push(blockLine(line));
  }
  return out.join("\n");
}
