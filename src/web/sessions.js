// @ts-check
/**
 * Loads what the open screen shows from the gateway: the session list (coalesced when events ask
 * for it) and the open session's history; and switches the open session. A load that a newer one
 * overtook is dropped, so a slow answer never paints over the session the user moved to.
 */
import { hideNotice, hideStatus, showNotice, updateActions, updateBusy } from "./chrome.js";
import { el } from "./dom.js";
import { messageOf } from "./format.js";
import { clearMessages, renderHistoryItem, scrollToBottom } from "./conversation-view.js";
import { renderHeader, renderSessions } from "./list-view.js";
import { state, storeKey } from "./state.js";
import { rpc, RpcError } from "./transport.js";

export async function refreshSessions() {
  try {
    const r = await rpc("sessions.list", { limit: 200 });
    state.sessions = Array.isArray(r?.sessions) ? r.sessions : [];
    state.defaults = r?.defaults ?? null;
    if (state.sessions.some((s) => s.key === state.key)) state.exists = true;
    showSessions();
    renderHeader();
    updateActions();
  } catch (err) {
    if (err instanceof RpcError && err.code === "UNAVAILABLE") return;
    showNotice(`Could not list sessions: ${messageOf(err)}`, "error");
  }
}

/** Redraws the sidebar; picking a row opens that session. */
export function showSessions() {
  renderSessions(selectSession);
}

/** Coalesces the list refreshes that events trigger. */
export function scheduleRefresh() {
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(() => {
    state.refreshTimer = null;
    void refreshSessions();
  }, 250);
}

export async function loadHistory() {
  const seq = ++state.historySeq;
  const key = state.key;
  try {
    const r = await rpc("chat.history", { sessionKey: key, limit: 200 });
    if (seq !== state.historySeq || key !== state.key) return;
    state.runs.clear();
    clearMessages();
    for (const m of Array.isArray(r?.messages) ? r.messages : []) renderHistoryItem(m);
    state.exists = true;
  } catch (err) {
    if (seq !== state.historySeq || key !== state.key) return;
    if (err instanceof RpcError && err.code === "NOT_FOUND") {
      clearMessages();
      state.exists = false;
    } else if (!(err instanceof RpcError && err.code === "UNAVAILABLE"))
      showNotice(`Could not load the history: ${messageOf(err)}`, "error");
  }
  renderHeader();
  updateActions();
  scrollToBottom();
}

/** @param {string} key */
export function selectSession(key) {
  if (key !== state.key) {
    state.key = key;
    storeKey(key);
    state.exists = state.sessions.some((s) => s.key === key);
    hideNotice();
  }
  hideStatus();
  state.runs.clear();
  clearMessages();
  showSessions();
  renderHeader();
  updateActions();
  updateBusy();
  void loadHistory();
  el.input.focus();
}
