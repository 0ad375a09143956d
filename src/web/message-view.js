// @ts-check
/**
 * One conversation's lines: user lines with the sender's name and channel badge, assistant
 * lines as sanitised markdown, tool calls as collapsible cards holding their results, and the
 * dividers (compaction, "Stopped"). A streaming reply is drawn at most once per animation frame;
 * a very long one as plain text until it ends, so a 50 000-character stream keeps the page
 * responsive.
 */
import { html, useEffect, useMemo, useRef, useState } from "./vendor/preact.js";
import { Icon } from "./icons.js";
import { renderMarkdown } from "./markdown.js";
import { fmtBytes, fmtTime } from "./format.js";
import { Badge } from "./ui.js";

/** @typedef {import("../gateway/protocol.ts").HistoryItem} HistoryItem */
/**
 * A line as the view keeps it: a history item, or a local one (sent, streaming, an error).
 * @typedef {HistoryItem & {local?: string, streaming?: boolean, runId?: string, failed?: boolean}} Line
 */

/** Markdown of long streams is deferred to the end (parsing it on every delta is quadratic). */
const STREAM_MARKDOWN_LIMIT = 20_000;

/** @param {{text: string, streaming?: boolean}} p */
function Markdown({ text, streaming }) {
  const plain = streaming && text.length > STREAM_MARKDOWN_LIMIT;
  const htmlText = useMemo(() => (plain ? "" : renderMarkdown(text)), [text, plain]);
  if (plain) return html`<div class="body plain">${text}</div>`;
  return html`<div class="body markdown" dangerouslySetInnerHTML=${{ __html: htmlText }}></div>`;
}

/**
 * @param {{call: {id: string, name: string, args: string}, result?: Line}} p
 */
function ToolCard({ call, result }) {
  let args = call.args;
  try {
    args = JSON.stringify(JSON.parse(call.args), null, 2);
  } catch {
    // Arguments cut at the bound are shown as they are.
  }
  const state = result ? (result.isError ? "error" : "done") : "pending";
  return html`<details class=${`tool-card ${state}`} data-testid="tool-card">
    <summary>
      <${Icon} name="wrench" size=${16} />
      <span class="tool-name">${call.name}</span>
      <span class="tool-state">${state === "pending" ? "running…" : state === "error" ? "failed" : "done"}</span>
    </summary>
    <div class="tool-body">
      <div class="tool-label">Arguments</div>
      <pre>${args}</pre>
      ${
        result
          ? html`<div class="tool-label">Result</div>
              <pre class="tool-result">${result.text}</pre>`
          : null
      }
    </div>
  </details>`;
}

/** @param {{files: Line["attachments"]}} p */
function Attachments({ files }) {
  if (!files || files.length === 0) return null;
  return html`<ul class="attachments" aria-label="Attachments">
    ${files.map(
      (f) =>
        html`<li class="attachment" title=${f.mimeType}>
          <${Icon} name="archive" size=${14} /> ${`${f.name} `} <span class="muted">${fmtBytes(f.bytes)}</span>
        </li>`,
    )}
  </ul>`;
}

/** @param {Line} m */
function senderOf(m) {
  if (m.channel && m.channel !== "webchat") return m.senderName ?? m.senderId ?? "Someone";
  if (m.senderId && m.senderId !== "operator" && m.channel !== "webchat") return m.senderName ?? m.senderId;
  return m.senderName ?? "You";
}

/** @param {{m: Line, results: Map<string, Line>}} p */
function LineView({ m, results }) {
  if (m.kind === "compaction")
    return html`<div class="divider" role="separator">Earlier messages were compacted into a summary</div>`;
  if (m.local === "divider") return html`<div class="divider" role="separator">${m.text}</div>`;
  if (m.role === "error" || m.local === "error")
    return html`<div class="msg error" role="alert"><div class="body">${m.text}</div></div>`;
  if (m.role === "toolResult") return null;
  const time = fmtTime(m.timestamp);
  if (m.role === "user") {
    const who = senderOf(m);
    return html`<div
      class=${`msg user ${m.failed ? "failed" : ""} ${m.text.trimStart().startsWith("/") ? "command" : ""}`}
    >
      <div class="meta">
        <span class="sender">${who}</span>
        ${m.channel ? html`<${Badge} text=${m.channel} kind=${`ch ch-${m.channel}`} />` : null}
        ${time ? html`<time>${time}</time>` : null}
      </div>
      <div class="body">${m.text}</div>
      <${Attachments} files=${m.attachments} />
    </div>`;
  }
  const aborted = m.stopReason === "aborted";
  const calls = m.toolCalls ?? [];
  // "[tool call: x]" lines are the text form of the cards below.
  const text = calls.length > 0 ? m.text.replace(/^\[tool call: [^\]]*\]$/gm, "").trim() : m.text;
  return html`<div
    class=${`msg assistant ${m.streaming ? "streaming" : ""} ${aborted ? "aborted" : ""} ${m.local === "command" ? "command" : ""}`}
    aria-busy=${m.streaming ? "true" : undefined}
  >
    <div class="meta">
      <span class="sender">Assistant</span>
      ${aborted ? html`<${Badge} text="Stopped" kind="warn" />` : null} ${time ? html`<time>${time}</time>` : null}
    </div>
    ${text || m.streaming ? html`<${Markdown} text=${text} streaming=${m.streaming} />` : null}
    ${calls.map((c) => html`<${ToolCard} key=${c.id} call=${c} result=${results.get(c.id)} />`)}
    <${Attachments} files=${m.attachments} />
  </div>`;
}

/**
 * @param {{lines: Line[], label?: string, testid?: string}} p
 */
export function MessageList({ lines, label, testid }) {
  const ref = useRef(/** @type {HTMLDivElement | null} */ (null));
  const stick = useRef(true);
  const results = useMemo(() => {
    const map = new Map();
    for (const m of lines) if (m.role === "toolResult" && m.toolCallId) map.set(m.toolCallId, m);
    return map;
  }, [lines]);
  useEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  });
  return html`<div
    id="messages"
    class="messages"
    role="log"
    aria-live="polite"
    aria-label=${label ?? "Conversation"}
    tabindex="0"
    data-testid=${testid ?? "messages"}
    ref=${ref}
    onScroll=${() => {
      const el = ref.current;
      if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    }}
  >
    ${lines.length === 0 ? html`<p class="muted empty">No messages yet.</p>` : null}
    ${lines.map((m, i) => html`<${LineView} key=${m.id ?? m.runId ?? `l${i}`} m=${m} results=${results} />`)}
  </div>`;
}

/**
 * Coalesces re-renders to one per animation frame (deltas may arrive far faster).
 * @returns {() => void}
 */
export function useFrameRender() {
  const [, setTick] = useState(0);
  const pending = useRef(false);
  return () => {
    if (pending.current) return;
    pending.current = true;
    window.requestAnimationFrame(() => {
      pending.current = false;
      setTick((t) => t + 1);
    });
  };
}
