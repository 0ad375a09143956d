// @ts-check
/**
 * Assistant text as markdown: marked (GFM: tables, fenced code) turned into HTML with any raw HTML
 * of the reply escaped to text, then DOMPurify (scripts, handlers, styles the CSP would refuse),
 * links opened in a new tab with rel=noopener, and a Copy button on every code block (wired by
 * one delegated click handler, so no inline handlers).
 */
import { Marked } from "./vendor/marked.js";
import DOMPurify from "./vendor/purify.js";

/** @param {string} s */
const escapeHtml = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

// Raw HTML in a reply is shown as text, never parsed (DOMPurify below is the second line of defence).
const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: { html: ({ text }) => escapeHtml(text) },
});

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.getAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

/** @param {string} text */
export function renderMarkdown(text) {
  const raw = /** @type {string} */ (marked.parse(text));
  const clean = DOMPurify.sanitize(raw, {
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe"],
    FORBID_ATTR: ["style"],
  });
  // Each code block gets a Copy button above it (the handler is installed once, below).
  return clean
    .replace(
      /<pre>/g,
      '<div class="code-block"><button type="button" class="copy-code" aria-label="Copy code">Copy</button><pre>',
    )
    .replace(/<\/pre>/g, "</pre></div>")
    .trim();
}

document.addEventListener("click", (e) => {
  const target = /** @type {HTMLElement | null} */ (
    e.target instanceof HTMLElement ? e.target.closest(".copy-code") : null
  );
  if (!target) return;
  const code = target.parentElement?.querySelector("pre")?.textContent ?? "";
  const done = () => {
    target.textContent = "Copied";
    setTimeout(() => (target.textContent = "Copy"), 1500);
  };
  if (window.navigator.clipboard)
    window.navigator.clipboard.writeText(code).then(done, () => (target.textContent = "Copy failed"));
});
