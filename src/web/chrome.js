// @ts-check
/**
 * The page's small status surfaces: the notice line, the connection badge, which buttons are
 * enabled, the Stop button, the status panel and the composer's height. Each reads the shared
 * state and writes a few attributes; none talks to the gateway.
 */
import { el } from "./dom.js";
import { state } from "./state.js";

/** @param {string} text @param {"info" | "ok" | "error"} [kind] */
export function showNotice(text, kind = "info") {
  el.notice.textContent = text;
  el.notice.dataset.kind = kind;
  el.notice.hidden = false;
}

export function hideNotice() {
  el.notice.hidden = true;
  el.notice.textContent = "";
}

/** @param {"connecting" | "online" | "offline"} s */
export function setConn(s) {
  el.conn.dataset.state = s;
  el.conn.textContent = s === "online" ? "Connected" : s === "connecting" ? "Connecting…" : "Offline — reconnecting";
}

export function updateActions() {
  const disabled = state.busy || !state.exists;
  for (const b of [el.btnStatus, el.btnCompact, el.btnReset, el.btnDelete]) b.disabled = disabled;
  el.newChat.disabled = state.busy;
}

/** @param {boolean} busy */
export function setBusy(busy) {
  state.busy = busy;
  updateActions();
}

/** Stop is offered while a run this tab sent to the open session is going. */
export function updateBusy() {
  const running = [...state.myRuns.values()].includes(state.key);
  el.abort.hidden = !running;
}

export function hideStatus() {
  el.statusPanel.hidden = true;
  el.btnStatus.setAttribute("aria-expanded", "false");
}

export function autosize() {
  el.input.style.height = "auto";
  el.input.style.height = `${Math.min(el.input.scrollHeight, 240)}px`;
}
