// @ts-check
/**
 * The page's elements (looked up once) and the one way new nodes are made: `h()` writes text with
 * textContent, never as HTML, so server and user text can never become markup.
 */

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

export const el = {
  loginView: byId("login-view"),
  loginForm: /** @type {HTMLFormElement} */ (byId("login-form")),
  token: /** @type {HTMLInputElement} */ (byId("token")),
  login: /** @type {HTMLButtonElement} */ (byId("login")),
  loginError: byId("login-error"),
  appView: byId("app-view"),
  conn: byId("conn"),
  logout: byId("logout"),
  newChat: /** @type {HTMLButtonElement} */ (byId("btn-new")),
  sessions: byId("sessions"),
  sessionsEmpty: byId("sessions-empty"),
  title: byId("session-title"),
  meta: byId("session-meta"),
  btnStatus: /** @type {HTMLButtonElement} */ (byId("btn-status")),
  btnCompact: /** @type {HTMLButtonElement} */ (byId("btn-compact")),
  btnReset: /** @type {HTMLButtonElement} */ (byId("btn-reset")),
  btnDelete: /** @type {HTMLButtonElement} */ (byId("btn-delete")),
  statusPanel: byId("status-panel"),
  statusCard: byId("status-card"),
  statusClose: byId("status-close"),
  notice: byId("notice"),
  messages: byId("messages"),
  composer: /** @type {HTMLFormElement} */ (byId("composer")),
  input: /** @type {HTMLTextAreaElement} */ (byId("input")),
  send: /** @type {HTMLButtonElement} */ (byId("send")),
  abort: /** @type {HTMLButtonElement} */ (byId("btn-abort")),
};

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 */
export function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
