// @ts-check
/**
 * Pincer WebChat: a plain-browser client for the gateway, loaded as ES modules with no build step.
 * It logs in with the gateway token (POST /auth/login sets an HttpOnly cookie), then speaks the
 * gateway's WebSocket RPC on /ws: sessions.list / chat.history / chat.send / chat.abort /
 * sessions.{reset,compact,delete,status}, and renders the streamed `chat` events (deltas, then a
 * final) as they arrive.
 *
 * This module only wires the others together: transport (socket and HTTP), sessions (loading),
 * chat-stream (events), the views and the actions. Served under a strict CSP (script-src 'self',
 * style-src 'self'): no inline scripts, styles or handlers, and every piece of server or user text
 * is written with textContent, never as HTML.
 */
import { onAbort, onCompact, onDelete, onInputKey, onReset, onSend, onStatus } from "./actions.js";
import { forgetRuns, onChatEvent, onSessionEvent } from "./chat-stream.js";
import { autosize, hideStatus, setConn } from "./chrome.js";
import { el } from "./dom.js";
import { onLogin, onLogout, showApp, showLogin } from "./login-view.js";
import { loadHistory, refreshSessions, showSessions } from "./sessions.js";
import { state } from "./state.js";
import { checkLoggedIn, setTransportHooks } from "./transport.js";

setTransportHooks({
  onConnState: setConn,
  onOpen() {
    void refreshSessions();
    void loadHistory();
  },
  onDropped: forgetRuns,
  onLoginLost: showLogin,
  onChat: onChatEvent,
  onSession: onSessionEvent,
});

el.loginForm.addEventListener("submit", (e) => void onLogin(/** @type {SubmitEvent} */ (e)));
el.logout.addEventListener("click", () => void onLogout());
el.composer.addEventListener("submit", (e) => void onSend(/** @type {SubmitEvent} */ (e)));
el.input.addEventListener("keydown", onInputKey);
el.input.addEventListener("input", autosize);
el.abort.addEventListener("click", () => void onAbort());
el.newChat.addEventListener("click", () => void onReset());
el.btnReset.addEventListener("click", () => void onReset());
el.btnCompact.addEventListener("click", () => void onCompact());
el.btnDelete.addEventListener("click", () => void onDelete());
el.btnStatus.addEventListener("click", () => void onStatus());
el.statusClose.addEventListener("click", () => {
  hideStatus();
  el.btnStatus.focus();
});
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && !el.statusPanel.hidden) {
    hideStatus();
    el.btnStatus.focus();
  }
});
// Keep the relative ages in the sidebar current.
setInterval(() => {
  if (!el.appView.hidden && state.sessions.length > 0) showSessions();
}, 30_000);

void (async () => {
  // Unreachable at page load means not logged in (unlike a drop later, which keeps the login).
  if (await checkLoggedIn(false)) showApp();
  else showLogin();
})();
