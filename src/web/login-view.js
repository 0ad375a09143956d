// @ts-check
/**
 * Switches between the login screen and the app: logging in (the gateway token for a cookie),
 * logging out, and falling back to the login screen when the cookie is gone. The app view opens
 * the socket; the login view closes it and forgets everything the app showed.
 */
import { hideNotice, hideStatus, updateActions } from "./chrome.js";
import { clearMessages } from "./conversation-view.js";
import { el } from "./dom.js";
import { messageOf } from "./format.js";
import { renderHeader } from "./list-view.js";
import { state } from "./state.js";
import { closeSocket, connect, logIn, logOut, setSocketWanted } from "./transport.js";

/** @param {string} [message] */
export function showLogin(message) {
  setSocketWanted(false);
  closeSocket();
  state.sessions = [];
  state.runs.clear();
  state.myRuns.clear();
  clearMessages();
  el.sessions.replaceChildren();
  el.appView.hidden = true;
  el.loginView.hidden = false;
  el.loginError.textContent = message ?? "";
  el.token.setAttribute("aria-invalid", message ? "true" : "false");
  el.token.focus();
}

export function showApp() {
  el.loginView.hidden = true;
  el.appView.hidden = false;
  el.loginError.textContent = "";
  hideNotice();
  hideStatus();
  renderHeader();
  updateActions();
  setSocketWanted(true);
  connect();
  el.input.focus();
}

/** @param {SubmitEvent} e */
export async function onLogin(e) {
  e.preventDefault();
  const token = el.token.value.trim();
  if (!token) {
    loginError("Enter the gateway token.");
    return;
  }
  el.login.disabled = true;
  el.loginError.textContent = "";
  try {
    const r = await logIn(token);
    if (!r.ok) {
      if (r.status === 401) loginError("Invalid token. Check it and try again.");
      else if (r.status === 429) loginError("Too many attempts. Wait a moment and try again.");
      else loginError(`Login failed: ${r.message ?? `HTTP ${r.status}`}`);
      return;
    }
    el.token.value = "";
    el.token.setAttribute("aria-invalid", "false");
    showApp();
  } catch (err) {
    loginError(`Cannot reach the gateway (${messageOf(err)}).`);
  } finally {
    el.login.disabled = false;
  }
}

/** @param {string} text */
function loginError(text) {
  el.loginError.textContent = text;
  el.token.setAttribute("aria-invalid", "true");
  el.token.focus();
  el.token.select();
}

export async function onLogout() {
  setSocketWanted(false);
  await logOut();
  showLogin();
}
