// @ts-check
/**
 * Renders the open conversation: message bubbles, dividers and tool results, keeping the view
 * pinned to the bottom when the reader was already there.
 */
import { el, h } from "./dom.js";

/** @typedef {import("../gateway/protocol.ts").HistoryItem} HistoryItem */
/** @typedef {"user" | "assistant" | "system" | "tool" | "error"} Role */

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/** @type {Record<Role, string>} */
const ROLE_LABEL = { user: "You", assistant: "Assistant", system: "System", tool: "Tool", error: "Error" };

function nearBottom() {
  const m = el.messages;
  return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
}

export function scrollToBottom() {
  el.messages.scrollTop = el.messages.scrollHeight;
}

export function clearMessages() {
  el.messages.replaceChildren();
}

/**
 * @param {Role} role
 * @param {string} text
 * @param {{timestamp?: string | null, extra?: string[]}} [opts]
 */
export function addMessage(role, text, opts = {}) {
  const stick = nearBottom();
  const node = h("article", `msg ${role}`);
  node.dataset.role = role;
  for (const c of opts.extra ?? []) node.classList.add(c);
  const head = h("header", "msg-head");
  head.append(h("span", "who", ROLE_LABEL[role]));
  if (opts.timestamp) {
    const d = new Date(opts.timestamp);
    if (!Number.isNaN(d.getTime())) {
      const t = /** @type {HTMLTimeElement} */ (h("time", "when", timeFmt.format(d)));
      t.dateTime = d.toISOString();
      t.title = d.toLocaleString();
      head.append(t);
    }
  }
  node.append(head, h("div", "body", text));
  el.messages.append(node);
  if (stick || role === "user") scrollToBottom();
  return node;
}

/** @param {HTMLElement} node @param {string} text */
export function setBody(node, text) {
  const stick = nearBottom();
  const body = node.querySelector(".body");
  if (body) body.textContent = text;
  if (stick) scrollToBottom();
}

/** @param {string} text */
export function addDivider(text) {
  const node = h("div", "msg system divider", text);
  node.setAttribute("role", "separator");
  el.messages.append(node);
  return node;
}

/** @param {HistoryItem} m */
export function renderHistoryItem(m) {
  const text = typeof m.text === "string" ? m.text : "";
  if (m.kind === "compaction") {
    addDivider("Earlier messages were compacted into a summary");
    return;
  }
  if (m.role === "user") addMessage("user", text, { timestamp: m.timestamp });
  else if (m.role === "assistant") {
    if (text) addMessage("assistant", text, { timestamp: m.timestamp });
  } else if (m.role === "toolResult" || m.role === "tool") {
    const node = h("details", "msg tool");
    const summary = h("summary", "", "Tool result");
    node.append(summary, h("pre", "body", text));
    el.messages.append(node);
  } else if (text) addMessage("system", text, { timestamp: m.timestamp });
}

/** The bubble's run ended (however it ended): it no longer grows. @param {HTMLElement} node */
export function stopStreaming(node) {
  node.classList.remove("streaming");
  node.removeAttribute("aria-busy");
}

/** A streamed bubble's run ended: show its final text, or drop it when there is nothing to say. @param {HTMLElement} node @param {string} text @param {boolean} delivered */
export function finishRun(node, text, delivered) {
  stopStreaming(node);
  if (!text.trim() || text.trimStart().startsWith("NO_REPLY")) {
    node.remove();
    return;
  }
  setBody(node, text);
  if (!delivered) {
    node.classList.add("undelivered");
    node.title = "This reply was not delivered";
  }
}
