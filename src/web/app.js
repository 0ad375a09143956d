/* global document, window, location, fetch, WebSocket, localStorage, crypto, HTMLElement */
/**
 * Pincer WebChat: a plain-browser client for the gateway. It logs in with the gateway token
 * (POST /auth/login sets an HttpOnly cookie), then speaks the gateway's WebSocket RPC on /ws:
 * sessions.list / chat.history / chat.send / chat.abort / sessions.{reset,compact,delete,status},
 * and renders the streamed `chat` events (deltas, then a final) as they arrive.
 *
 * Served under a strict CSP (script-src 'self', style-src 'self'): no inline scripts, styles or
 * handlers, and every piece of server or user text is written with textContent, never as HTML.
 */

/**
 * @typedef {{key: string, label?: string, displayName?: string, channel?: string, lastChannel?: string, chatType?: string,
 *   updatedAt: number, totalTokens?: number, inputTokens?: number, outputTokens?: number, model?: string,
 *   modelProvider?: string, compactionCount?: number}} SessionRow
 * @typedef {{model?: string, modelProvider?: string, contextTokens?: number}} Defaults
 * @typedef {{role: string, text: string, timestamp?: string | null, kind?: string}} HistoryItem
 * @typedef {{runId: string, runIds?: string[], sessionKey: string, seq: number, state: string, text?: string,
 *   message?: string, errorMessage?: string, delivered?: boolean, status?: string}} ChatEvent
 */

const DEFAULT_KEY = "agent:main:main";
const STORAGE_KEY = "pincer.webchat.sessionKey";
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;
const CONNECT_WAIT_MS = 10_000;

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const el = {
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

const state = {
  /** @type {WebSocket | null} */
  ws: null,
  /** The user is logged in and wants a live socket (reconnect on drops). */
  wantSocket: false,
  retryMs: RETRY_MIN_MS,
  /** @type {ReturnType<typeof setTimeout> | null} */
  retryTimer: null,
  nextId: 1,
  /** @type {Map<number, {resolve: (v: unknown) => void, reject: (e: Error) => void}>} */
  pending: new Map(),
  /** @type {Array<() => void>} */
  openWaiters: [],
  /** @type {SessionRow[]} */
  sessions: [],
  /** @type {Defaults | null} */
  defaults: null,
  key: readStoredKey(),
  /** The selected session is known to exist on the gateway. */
  exists: false,
  /** Streaming assistant bubbles by run id. @type {Map<string, {node: HTMLElement, text: string}>} */
  runs: new Map(),
  /** Runs sent from this tab that have not finished yet: run id -> session key. @type {Map<string, string>} */
  myRuns: new Map(),
  historySeq: 0,
  /** A run we did not start finished while another was streaming: reload history afterwards. */
  reloadWhenIdle: false,
  /** @type {ReturnType<typeof setTimeout> | null} */
  refreshTimer: null,
  busy: false,
};

class RpcError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function readStoredKey() {
  try {
    return localStorage.getItem(STORAGE_KEY) || DEFAULT_KEY;
  } catch {
    return DEFAULT_KEY;
  }
}

/** @param {string} key */
function storeKey(key) {
  try {
    localStorage.setItem(STORAGE_KEY, key);
  } catch {
    // Storage may be disabled; the selection then just does not survive a reload.
  }
}

/** A random id; crypto.randomUUID only exists in secure contexts (plain http on a LAN is not). */
function newId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** @param {unknown} err */
function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}

/** @param {number | undefined} ms */
function fmtAge(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 45) return "just now";
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.round(h / 24)}d ago`;
}

/** @param {number} n */
function fmtTokens(n) {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1).replace(/\.0$/, "")}M`;
  if (n >= 1_000) return `${(n / 1_000).toFixed(1).replace(/\.0$/, "")}k`;
  return String(n);
}

/** @param {SessionRow} s */
function tokensOf(s) {
  if (typeof s.totalTokens === "number") return s.totalTokens;
  const sum = (typeof s.inputTokens === "number" ? s.inputTokens : 0) + (typeof s.outputTokens === "number" ? s.outputTokens : 0);
  return sum;
}

/** @param {SessionRow | undefined} s */
function modelOf(s) {
  const provider = s?.modelProvider ?? state.defaults?.modelProvider;
  const model = s?.model ?? state.defaults?.model;
  if (!model) return "";
  return provider ? `${provider}/${model}` : String(model);
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 */
function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---------------------------------------------------------------------------------------------
// Views

/** @param {string} [message] */
function showLogin(message) {
  state.wantSocket = false;
  closeSocket();
  state.sessions = [];
  state.runs.clear();
  state.myRuns.clear();
  el.messages.replaceChildren();
  el.sessions.replaceChildren();
  el.appView.hidden = true;
  el.loginView.hidden = false;
  el.loginError.textContent = message ?? "";
  el.token.setAttribute("aria-invalid", message ? "true" : "false");
  el.token.focus();
}

function showApp() {
  el.loginView.hidden = true;
  el.appView.hidden = false;
  el.loginError.textContent = "";
  hideNotice();
  hideStatus();
  renderHeader();
  updateActions();
  state.wantSocket = true;
  connect();
  el.input.focus();
}

/** @param {string} text @param {"info" | "ok" | "error"} [kind] */
function showNotice(text, kind = "info") {
  el.notice.textContent = text;
  el.notice.dataset.kind = kind;
  el.notice.hidden = false;
}

function hideNotice() {
  el.notice.hidden = true;
  el.notice.textContent = "";
}

/** @param {"connecting" | "online" | "offline"} s */
function setConn(s) {
  el.conn.dataset.state = s;
  el.conn.textContent = s === "online" ? "Connected" : s === "connecting" ? "Connecting…" : "Offline — reconnecting";
}

// ---------------------------------------------------------------------------------------------
// WebSocket RPC

function wsUrl() {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`;
}

function connect() {
  if (state.retryTimer) clearTimeout(state.retryTimer);
  state.retryTimer = null;
  if (state.ws) return;
  setConn("connecting");
  const ws = new WebSocket(wsUrl());
  state.ws = ws;
  ws.addEventListener("open", () => {
    if (state.ws !== ws) return;
    state.retryMs = RETRY_MIN_MS;
    setConn("online");
    const waiters = state.openWaiters.splice(0);
    for (const w of waiters) w();
    void refreshSessions();
    void loadHistory();
  });
  ws.addEventListener("message", (ev) => onFrame(String(ev.data)));
  ws.addEventListener("close", () => {
    if (state.ws !== ws) return;
    state.ws = null;
    failPending(new RpcError("UNAVAILABLE", "the connection to the gateway was lost"));
    // Runs in flight keep going on the gateway; their events are lost with this socket.
    for (const run of state.runs.values()) run.node.classList.remove("streaming");
    state.runs.clear();
    state.myRuns.clear();
    updateBusy();
    if (!state.wantSocket) return;
    setConn("offline");
    void afterDrop();
  });
}

/** The socket dropped: log in again if the cookie is gone, else retry with backoff. */
async function afterDrop() {
  if (!(await checkLoggedIn())) {
    if (state.wantSocket) showLogin("Your login has expired. Please log in again.");
    return;
  }
  if (!state.wantSocket) return;
  const delay = state.retryMs;
  state.retryMs = Math.min(state.retryMs * 2, RETRY_MAX_MS);
  state.retryTimer = setTimeout(connect, delay);
}

function closeSocket() {
  if (state.retryTimer) clearTimeout(state.retryTimer);
  state.retryTimer = null;
  const ws = state.ws;
  state.ws = null;
  failPending(new RpcError("UNAVAILABLE", "disconnected"));
  if (ws) ws.close(1000, "bye");
}

/** @param {Error} err */
function failPending(err) {
  const pending = [...state.pending.values()];
  state.pending.clear();
  for (const p of pending) p.reject(err);
}

function waitOpen() {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      state.openWaiters = state.openWaiters.filter((w) => w !== done);
      reject(new RpcError("UNAVAILABLE", "not connected to the gateway"));
    }, CONNECT_WAIT_MS);
    const done = () => {
      clearTimeout(timer);
      resolve(undefined);
    };
    state.openWaiters.push(done);
  });
}

/**
 * One request/response over the socket.
 * @param {string} method
 * @param {Record<string, unknown>} [params]
 * @returns {Promise<unknown>} the payload of an ok response; rejects with an RpcError
 */
async function rpc(method, params = {}) {
  await waitOpen();
  const ws = state.ws;
  if (!ws) throw new RpcError("UNAVAILABLE", "not connected to the gateway");
  const id = state.nextId++;
  try {
    return await new Promise((resolve, reject) => {
      state.pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ type: "req", id, method, params }));
    });
  } catch (err) {
    if (err instanceof RpcError && err.code === "UNAUTHORIZED") void authLost();
    throw err;
  }
}

async function authLost() {
  if (!state.wantSocket) return;
  if (await checkLoggedIn()) {
    // Logged in but the socket predates the login: open a fresh one.
    closeSocket();
    connect();
  } else showLogin("Your login has expired. Please log in again.");
}

/** @param {string} data */
function onFrame(data) {
  let frame;
  try {
    frame = JSON.parse(data);
  } catch {
    return;
  }
  if (!frame || typeof frame !== "object") return;
  if (frame.type === "res") {
    const p = state.pending.get(frame.id);
    if (!p) return;
    state.pending.delete(frame.id);
    if (frame.ok) p.resolve(frame.payload);
    else p.reject(new RpcError(String(frame.error?.code ?? "ERROR"), String(frame.error?.message ?? "request failed")));
  } else if (frame.type === "event" && frame.event === "chat" && frame.payload && typeof frame.payload === "object") {
    onChatEvent(frame.payload);
  } else if (frame.type === "event" && frame.event === "session" && frame.payload && typeof frame.payload === "object") {
    onSessionEvent(frame.payload);
  }
}

// ---------------------------------------------------------------------------------------------
// Auth

/** The login's CSRF token (from /auth/login or /auth/session), sent as x-csrf-token. */
let csrfToken = "";

async function checkLoggedIn() {
  try {
    const res = await fetch("/auth/session", { credentials: "same-origin", cache: "no-store" });
    if (!res.ok) return false;
    const body = await res.json();
    if (typeof body?.csrfToken === "string") csrfToken = body.csrfToken;
    return body?.loggedIn === true;
  } catch {
    // Gateway unreachable: keep the session and let the reconnect loop find it again.
    return true;
  }
}

/** @param {SubmitEvent} e */
async function onLogin(e) {
  e.preventDefault();
  const token = el.token.value.trim();
  if (!token) {
    loginError("Enter the gateway token.");
    return;
  }
  el.login.disabled = true;
  el.loginError.textContent = "";
  try {
    const res = await fetch("/auth/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token }),
    });
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      if (res.status === 401) loginError("Invalid token. Check it and try again.");
      else if (res.status === 429) loginError("Too many attempts. Wait a moment and try again.");
      else loginError(`Login failed: ${body?.error?.message ?? `HTTP ${res.status}`}`);
      return;
    }
    const body = await res.json().catch(() => null);
    // Sent back on state-changing requests: a cross-site page cannot read it, so it cannot forge them.
    csrfToken = typeof body?.csrfToken === "string" ? body.csrfToken : "";
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

async function onLogout() {
  state.wantSocket = false;
  try {
    const logout = () => fetch("/auth/logout", { method: "POST", credentials: "same-origin", headers: { "x-csrf-token": csrfToken } });
    // A login made elsewhere in this browser changes the token: refresh it once and retry.
    if ((await logout()).status === 403 && (await checkLoggedIn())) await logout();
  } catch {
    // Gateway unreachable: show the login anyway; the server-side login expires on its own.
  }
  showLogin();
}

// ---------------------------------------------------------------------------------------------
// Sessions sidebar

async function refreshSessions() {
  try {
    const r = await rpc("sessions.list", { limit: 200 });
    state.sessions = Array.isArray(r?.sessions) ? r.sessions : [];
    state.defaults = r?.defaults ?? null;
    if (state.sessions.some((s) => s.key === state.key)) state.exists = true;
    renderSessions();
    renderHeader();
    updateActions();
  } catch (err) {
    if (err instanceof RpcError && err.code === "UNAVAILABLE") return;
    showNotice(`Could not list sessions: ${messageOf(err)}`, "error");
  }
}

/** Coalesces the list refreshes that events trigger. */
function scheduleRefresh() {
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(() => {
    state.refreshTimer = null;
    void refreshSessions();
  }, 250);
}

function renderSessions() {
  const now = Date.now();
  // Rows are rebuilt on every refresh: keep keyboard focus on the row that had it.
  const focusedKey = document.activeElement instanceof HTMLElement && el.sessions.contains(document.activeElement) ? document.activeElement.closest("li")?.dataset.key : undefined;
  const rows = state.sessions.map((s) => {
    const li = h("li");
    li.dataset.key = s.key;
    li.dataset.testid = "session-row";
    const btn = /** @type {HTMLButtonElement} */ (h("button", "session"));
    btn.type = "button";
    if (s.key === state.key) btn.setAttribute("aria-current", "true");
    const name = typeof s.label === "string" && s.label ? s.label : typeof s.displayName === "string" && s.displayName ? s.displayName : s.key;
    btn.append(h("span", "session-name", name));
    if (name !== s.key) btn.append(h("span", "session-key", s.key));
    // Two short lines: where and when, then size and model.
    const where = h("span", "session-meta");
    const channel = s.channel ?? s.lastChannel ?? s.chatType;
    if (channel) where.append(h("span", "meta-channel", channel));
    const age = fmtAge(now - s.updatedAt);
    if (age) {
      const t = /** @type {HTMLTimeElement} */ (h("time", "meta-age", age));
      t.dateTime = new Date(s.updatedAt).toISOString();
      t.title = `Updated ${new Date(s.updatedAt).toLocaleString()}`;
      where.append(t);
    }
    const what = h("span", "session-meta");
    what.append(h("span", "meta-tokens", `${fmtTokens(tokensOf(s))} tokens`));
    const model = modelOf(s);
    if (model) what.append(h("span", "meta-model", model));
    btn.append(where, what);
    btn.addEventListener("click", () => selectSession(s.key));
    li.append(btn);
    return li;
  });
  el.sessions.replaceChildren(...rows);
  el.sessionsEmpty.hidden = rows.length > 0;
  if (focusedKey) rows.find((li) => li.dataset.key === focusedKey)?.querySelector("button")?.focus();
}

function currentSession() {
  return state.sessions.find((s) => s.key === state.key);
}

function renderHeader() {
  el.title.textContent = state.key;
  const s = currentSession();
  if (!s) {
    el.meta.textContent = state.exists ? "" : "New conversation — send a message to start it.";
    return;
  }
  const parts = [s.channel ?? s.lastChannel, `${fmtTokens(tokensOf(s))} tokens`, modelOf(s), `${s.compactionCount ?? 0} compaction${s.compactionCount === 1 ? "" : "s"}`];
  el.meta.textContent = parts.filter(Boolean).join(" · ");
}

/** @param {string} key */
function selectSession(key) {
  if (key !== state.key) {
    state.key = key;
    storeKey(key);
    state.exists = state.sessions.some((s) => s.key === key);
    hideNotice();
  }
  hideStatus();
  state.runs.clear();
  el.messages.replaceChildren();
  renderSessions();
  renderHeader();
  updateActions();
  updateBusy();
  void loadHistory();
  el.input.focus();
}

function updateActions() {
  const disabled = state.busy || !state.exists;
  for (const b of [el.btnStatus, el.btnCompact, el.btnReset, el.btnDelete]) b.disabled = disabled;
  el.newChat.disabled = state.busy;
}

/** @param {boolean} busy */
function setBusy(busy) {
  state.busy = busy;
  updateActions();
}

// ---------------------------------------------------------------------------------------------
// Messages

function nearBottom() {
  const m = el.messages;
  return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
}

function scrollToBottom() {
  el.messages.scrollTop = el.messages.scrollHeight;
}

const ROLE_LABEL = { user: "You", assistant: "Assistant", system: "System", tool: "Tool", error: "Error" };

/**
 * @param {"user" | "assistant" | "system" | "tool" | "error"} role
 * @param {string} text
 * @param {{timestamp?: string | null, extra?: string[]}} [opts]
 */
function addMessage(role, text, opts = {}) {
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
function setBody(node, text) {
  const stick = nearBottom();
  const body = node.querySelector(".body");
  if (body) body.textContent = text;
  if (stick) scrollToBottom();
}

/** @param {string} text */
function addDivider(text) {
  const node = h("div", "msg system divider", text);
  node.setAttribute("role", "separator");
  el.messages.append(node);
  return node;
}

/** @param {HistoryItem} m */
function renderHistoryItem(m) {
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

async function loadHistory() {
  const seq = ++state.historySeq;
  const key = state.key;
  try {
    const r = await rpc("chat.history", { sessionKey: key, limit: 200 });
    if (seq !== state.historySeq || key !== state.key) return;
    state.runs.clear();
    el.messages.replaceChildren();
    for (const m of Array.isArray(r?.messages) ? r.messages : []) renderHistoryItem(m);
    state.exists = true;
  } catch (err) {
    if (seq !== state.historySeq || key !== state.key) return;
    if (err instanceof RpcError && err.code === "NOT_FOUND") {
      el.messages.replaceChildren();
      state.exists = false;
    } else if (!(err instanceof RpcError && err.code === "UNAVAILABLE")) showNotice(`Could not load the history: ${messageOf(err)}`, "error");
  }
  renderHeader();
  updateActions();
  scrollToBottom();
}

/** @param {ChatEvent} ev */
function onChatEvent(ev) {
  const runIds = Array.isArray(ev.runIds) ? ev.runIds : [ev.runId];
  const mine = runIds.some((id) => state.myRuns.has(id));
  const done = ev.state !== "delta";
  if (done) {
    for (const id of runIds) state.myRuns.delete(id);
    updateBusy();
    scheduleRefresh();
  }
  if (ev.sessionKey !== state.key) return;
  if (done && ev.state !== "error") state.exists = true;
  const run = state.runs.get(ev.runId);
  switch (ev.state) {
    case "delta": {
      if (typeof ev.text !== "string" || ev.text === "") return;
      if (run) {
        run.text += ev.text;
        setBody(run.node, run.text);
      } else {
        const node = addMessage("assistant", ev.text, { extra: ["streaming"] });
        node.setAttribute("aria-busy", "true");
        state.runs.set(ev.runId, { node, text: ev.text });
      }
      return;
    }
    case "final": {
      state.runs.delete(ev.runId);
      const text = typeof ev.message === "string" ? ev.message : run?.text ?? "";
      if (ev.status === "command") {
        run?.node.remove();
        if (text) addMessage("assistant", text, { extra: ["command"] });
      } else if (ev.status === "duplicate" || ev.status === "dropped" || ev.status === "not-mentioned") {
        run?.node.remove();
        if (text) addMessage("assistant", text);
        else addDivider(ev.status === "duplicate" ? "Already sent" : "The message was not answered");
      } else if (run) {
        finishRun(run.node, text, ev.delivered !== false);
      } else if (text && ev.delivered !== false) {
        addMessage("assistant", text);
      }
      if (!mine && ev.status !== "command") reloadSoon();
      break;
    }
    case "aborted": {
      state.runs.delete(ev.runId);
      if (run) {
        run.node.classList.remove("streaming");
        run.node.removeAttribute("aria-busy");
        run.node.classList.add("aborted");
      }
      addDivider("Stopped");
      break;
    }
    case "error": {
      state.runs.delete(ev.runId);
      if (run) {
        run.node.classList.remove("streaming");
        run.node.removeAttribute("aria-busy");
        if (!run.text) run.node.remove();
      }
      addMessage("error", typeof ev.errorMessage === "string" && ev.errorMessage ? ev.errorMessage : "The run failed.");
      break;
    }
    default:
      return;
  }
  renderHeader();
  updateActions();
  if (state.runs.size === 0 && state.reloadWhenIdle) {
    state.reloadWhenIdle = false;
    void loadHistory();
  }
}

/** @param {HTMLElement} node @param {string} text @param {boolean} delivered */
function finishRun(node, text, delivered) {
  node.classList.remove("streaming");
  node.removeAttribute("aria-busy");
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

/**
 * A message arrived, or a session was reset or deleted, here or on another gateway. The list
 * always refreshes; the open conversation reloads on a reset or deletion (a new message shows with
 * the run that answers it, through its chat events).
 * @param {{ sessionKey?: string, change?: string }} ev
 */
function onSessionEvent(ev) {
  scheduleRefresh();
  if (ev.sessionKey === state.key && (ev.change === "reset" || ev.change === "deleted")) reloadSoon();
}

/** A turn started elsewhere (another tab or channel) finished: show its user message too. */
function reloadSoon() {
  if (state.runs.size > 0 || [...state.myRuns.values()].includes(state.key)) state.reloadWhenIdle = true;
  else void loadHistory();
}

function updateBusy() {
  const running = [...state.myRuns.values()].includes(state.key);
  el.abort.hidden = !running;
}

// ---------------------------------------------------------------------------------------------
// Composer and actions

/** @param {SubmitEvent} e */
async function onSend(e) {
  e.preventDefault();
  const text = el.input.value;
  if (!text.trim()) return;
  const key = state.key;
  const runId = newId();
  el.input.value = "";
  autosize();
  const isCommand = text.trimStart().startsWith("/");
  const node = addMessage("user", text, { timestamp: new Date().toISOString(), extra: isCommand ? ["command"] : [] });
  state.myRuns.set(runId, key);
  updateBusy();
  try {
    await rpc("chat.send", { sessionKey: key, message: text, idempotencyKey: runId });
  } catch (err) {
    state.myRuns.delete(runId);
    updateBusy();
    node.classList.add("failed");
    addMessage("error", `Not sent: ${messageOf(err)}`);
    if (!el.input.value) {
      el.input.value = text;
      autosize();
    }
  }
}

/** @param {KeyboardEvent} e */
function onInputKey(e) {
  if (e.key === "Enter" && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing) {
    e.preventDefault();
    el.composer.requestSubmit();
  }
}

function autosize() {
  el.input.style.height = "auto";
  el.input.style.height = `${Math.min(el.input.scrollHeight, 240)}px`;
}

async function onAbort() {
  try {
    const r = await rpc("chat.abort", { sessionKey: state.key });
    if (!r?.aborted) showNotice("Nothing to stop.");
  } catch (err) {
    showNotice(`Could not stop the run: ${messageOf(err)}`, "error");
  }
}

/**
 * Runs a session action with the buttons disabled and the outcome in the notice line.
 * @param {string} label
 * @param {() => Promise<string | void>} fn
 */
async function action(label, fn) {
  setBusy(true);
  showNotice(`${label}…`);
  try {
    const result = await fn();
    if (result) showNotice(result, "ok");
    else hideNotice();
  } catch (err) {
    showNotice(`${label} failed: ${messageOf(err)}`, "error");
  } finally {
    setBusy(false);
  }
}

function hideStatus() {
  el.statusPanel.hidden = true;
  el.btnStatus.setAttribute("aria-expanded", "false");
}

async function onStatus() {
  const key = state.key;
  await action("Loading status", async () => {
    const r = await rpc("sessions.status", { key });
    if (key !== state.key) return;
    el.statusCard.textContent = typeof r?.card === "string" ? r.card : "";
    el.statusPanel.hidden = false;
    el.btnStatus.setAttribute("aria-expanded", "true");
  });
  if (!el.statusPanel.hidden) el.statusClose.focus();
}

async function onCompact() {
  const key = state.key;
  await action("Compacting", async () => {
    const r = await rpc("sessions.compact", { key });
    await Promise.all([refreshSessions(), key === state.key ? loadHistory() : Promise.resolve()]);
    const before = typeof r?.tokensBefore === "number" ? fmtTokens(r.tokensBefore) : "?";
    const after = typeof r?.tokensAfter === "number" ? fmtTokens(r.tokensAfter) : "?";
    if (r?.compacted) return `Compacted: ${before} → ${after} tokens.`;
    return `Not compacted (${r?.status ?? "skipped"}${r?.reason ? `: ${r.reason}` : ""}).`;
  });
}

/** Reset = "New chat": the session key stays, its conversation starts over. */
async function onReset() {
  const key = state.key;
  hideStatus();
  await action("Starting a new conversation", async () => {
    if (state.exists) {
      try {
        await rpc("sessions.reset", { key });
      } catch (err) {
        if (!(err instanceof RpcError && err.code === "NOT_FOUND")) throw err;
      }
    }
    if (key === state.key) {
      state.runs.clear();
      el.messages.replaceChildren();
    }
    await refreshSessions();
    return `New conversation started in ${key}.`;
  });
  el.input.focus();
}

async function onDelete() {
  const key = state.key;
  if (!window.confirm(`Delete the session ${key}? Its transcript is archived on the gateway.`)) return;
  hideStatus();
  await action("Deleting", async () => {
    await rpc("sessions.delete", { key });
    state.sessions = state.sessions.filter((s) => s.key !== key);
    if (key === state.key) {
      state.exists = false;
      state.runs.clear();
      el.messages.replaceChildren();
      if (key !== DEFAULT_KEY) {
        state.key = DEFAULT_KEY;
        storeKey(DEFAULT_KEY);
        void loadHistory();
      }
    }
    renderSessions();
    renderHeader();
    await refreshSessions();
    return `Deleted ${key}.`;
  });
}

// ---------------------------------------------------------------------------------------------
// Wiring

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
  if (!el.appView.hidden && state.sessions.length > 0) renderSessions();
}, 30_000);

void (async () => {
  let loggedIn = false;
  try {
    const res = await fetch("/auth/session", { credentials: "same-origin", cache: "no-store" });
    const body = res.ok ? await res.json() : null;
    loggedIn = body?.loggedIn === true;
    if (typeof body?.csrfToken === "string") csrfToken = body.csrfToken;
  } catch {
    loggedIn = false;
  }
  if (loggedIn) showApp();
  else showLogin();
})();
