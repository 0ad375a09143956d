// @ts-check
/**
 * Everything the Control UI says to the gateway: the WebSocket RPC on /ws (requests matched to
 * responses by id, reconnect with backoff while the user is logged in, events handed to hooks) and
 * the HTTP login calls under /auth (which also keep the CSRF token sent on state-changing requests).
 * The UI reaches this module only through `rpc()`, the auth calls and the hooks it installs.
 */

/** @typedef {import("../gateway/protocol.ts").MethodName} MethodName */
/** @template {MethodName} M @typedef {import("../gateway/protocol.ts").MethodParams<M>} MethodParams */
/** @template {MethodName} M @typedef {import("../gateway/protocol.ts").MethodResult<M>} MethodResult */
/** @typedef {import("../gateway/protocol.ts").ChatEvent} ChatEvent */
/** @typedef {import("../gateway/protocol.ts").SessionEvent} SessionEvent */
/** @typedef {import("../gateway/protocol.ts").LogRecordWire} LogRecordWire */
/** @typedef {import("../gateway/protocol.ts").ServerFrame} ServerFrame */
/** @typedef {import("../gateway/protocol.ts").AuthSessionResult} AuthSessionResult */
/** @typedef {import("../gateway/protocol.ts").LoginResult} LoginResult */
/** @typedef {import("../gateway/protocol.ts").HttpErrorBody} HttpErrorBody */

/**
 * @typedef {object} TransportHooks
 * @property {(s: "connecting" | "online" | "offline") => void} onConnState
 * @property {() => void} onOpen the socket is up (again): reload what it shows
 * @property {() => void} onDropped the socket closed: runs in flight lost their events
 * @property {(message: string) => void} onLoginLost the login cookie is gone
 * @property {(ev: ChatEvent) => void} onChat
 * @property {(ev: SessionEvent) => void} onSession
 * @property {(rec: LogRecordWire) => void} onLog
 */

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;
const CONNECT_WAIT_MS = 10_000;
const LOGIN_EXPIRED = "Your login has expired. Please log in again.";

export class RpcError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** @type {TransportHooks} */
const hooks = {
  onConnState() {},
  onOpen() {},
  onDropped() {},
  onLoginLost() {},
  onChat() {},
  onSession() {},
  onLog() {},
};

/** @param {Partial<TransportHooks>} h */
export function setTransportHooks(h) {
  Object.assign(hooks, h);
}

const link = {
  /** @type {WebSocket | null} */
  ws: null,
  /** The user is logged in and wants a live socket (reconnect on drops). */
  wanted: false,
  retryMs: RETRY_MIN_MS,
  /** @type {ReturnType<typeof setTimeout> | null} */
  retryTimer: null,
  nextId: 1,
  /** @type {Map<number, {resolve: (v: unknown) => void, reject: (e: Error) => void}>} */
  pending: new Map(),
  /** @type {Array<() => void>} */
  openWaiters: [],
};

/** @param {boolean} wanted whether a dropped socket should be reopened */
export function setSocketWanted(wanted) {
  link.wanted = wanted;
}

// ---------------------------------------------------------------------------------------------
// WebSocket RPC

function wsUrl() {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`;
}

export function connect() {
  if (link.retryTimer) clearTimeout(link.retryTimer);
  link.retryTimer = null;
  if (link.ws) return;
  hooks.onConnState("connecting");
  const ws = new WebSocket(wsUrl());
  link.ws = ws;
  ws.addEventListener("open", () => {
    if (link.ws !== ws) return;
    link.retryMs = RETRY_MIN_MS;
    hooks.onConnState("online");
    const waiters = link.openWaiters.splice(0);
    for (const w of waiters) w();
    hooks.onOpen();
  });
  ws.addEventListener("message", (ev) => onFrame(String(ev.data)));
  ws.addEventListener("close", () => {
    if (link.ws !== ws) return;
    link.ws = null;
    failPending(new RpcError("UNAVAILABLE", "the connection to the gateway was lost"));
    hooks.onDropped();
    if (!link.wanted) return;
    hooks.onConnState("offline");
    void afterDrop();
  });
}

/** The socket dropped: log in again if the cookie is gone, else retry with backoff. */
async function afterDrop() {
  if (!(await checkLoggedIn())) {
    if (link.wanted) hooks.onLoginLost(LOGIN_EXPIRED);
    return;
  }
  if (!link.wanted) return;
  const delay = link.retryMs;
  link.retryMs = Math.min(link.retryMs * 2, RETRY_MAX_MS);
  link.retryTimer = setTimeout(connect, delay);
}

export function closeSocket() {
  if (link.retryTimer) clearTimeout(link.retryTimer);
  link.retryTimer = null;
  const ws = link.ws;
  link.ws = null;
  failPending(new RpcError("UNAVAILABLE", "disconnected"));
  if (ws) ws.close(1000, "bye");
}

/** @param {Error} err */
function failPending(err) {
  const pending = [...link.pending.values()];
  link.pending.clear();
  for (const p of pending) p.reject(err);
}

/** @returns {Promise<void>} */
function waitOpen() {
  if (link.ws && link.ws.readyState === WebSocket.OPEN) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      link.openWaiters = link.openWaiters.filter((w) => w !== done);
      reject(new RpcError("UNAVAILABLE", "not connected to the gateway"));
    }, CONNECT_WAIT_MS);
    const done = () => {
      clearTimeout(timer);
      resolve(undefined);
    };
    link.openWaiters.push(done);
  });
}

/**
 * One request/response over the socket, typed by the method's entry in the protocol.
 * @template {MethodName} M
 * @param {M} method
 * @param {MethodParams<M>} params
 * @returns {Promise<MethodResult<M>>} the payload of an ok response; rejects with an RpcError
 */
export async function rpc(method, params) {
  await waitOpen();
  const ws = link.ws;
  if (!ws) throw new RpcError("UNAVAILABLE", "not connected to the gateway");
  const id = link.nextId++;
  try {
    return await new Promise((resolve, reject) => {
      link.pending.set(id, { resolve: (v) => resolve(/** @type {MethodResult<M>} */ (v)), reject });
      ws.send(JSON.stringify({ type: "req", id, method, params }));
    });
  } catch (err) {
    if (err instanceof RpcError && err.code === "UNAUTHORIZED") void authLost();
    throw err;
  }
}

async function authLost() {
  if (!link.wanted) return;
  if (await checkLoggedIn()) {
    // Logged in but the socket predates the login: open a fresh one.
    closeSocket();
    connect();
  } else hooks.onLoginLost(LOGIN_EXPIRED);
}

/** @param {string} data */
function onFrame(data) {
  /** @type {ServerFrame} */
  let frame;
  try {
    frame = JSON.parse(data);
  } catch {
    return;
  }
  if (!frame || typeof frame !== "object") return;
  if (frame.type === "res") {
    // Requests from here carry numeric ids; any other id answers nothing of ours.
    if (typeof frame.id !== "number") return;
    const p = link.pending.get(frame.id);
    if (!p) return;
    link.pending.delete(frame.id);
    if (frame.ok) p.resolve(frame.payload);
    else p.reject(new RpcError(String(frame.error?.code ?? "ERROR"), String(frame.error?.message ?? "request failed")));
  } else if (frame.type === "event" && frame.event === "chat" && frame.payload && typeof frame.payload === "object") {
    hooks.onChat(frame.payload);
  } else if (
    frame.type === "event" &&
    frame.event === "session" &&
    frame.payload &&
    typeof frame.payload === "object"
  ) {
    hooks.onSession(frame.payload);
  } else if (frame.type === "event" && frame.event === "log" && frame.payload && typeof frame.payload === "object") {
    hooks.onLog(frame.payload);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP auth

/** The login's CSRF token (from /auth/login or /auth/session), sent as x-csrf-token. */
let csrfToken = "";

/**
 * Asks the gateway whether the login cookie is still good (and refreshes the CSRF token).
 * @param {boolean} [ifUnreachable] the answer when the gateway cannot be reached: by default the
 *   login is kept and the reconnect loop finds the gateway again
 */
export async function checkLoggedIn(ifUnreachable = true) {
  try {
    const res = await fetch("/auth/session", { credentials: "same-origin", cache: "no-store" });
    if (!res.ok) return false;
    // Partial: the fields are checked before use, whatever the gateway sent.
    /** @type {Partial<Extract<AuthSessionResult, {loggedIn: true}>> | null} */
    const body = await res.json();
    if (typeof body?.csrfToken === "string") csrfToken = body.csrfToken;
    return body?.loggedIn === true;
  } catch {
    return ifUnreachable;
  }
}

/**
 * Exchanges the gateway token for a login cookie. Rejects when the gateway cannot be reached.
 * @param {string} token
 * @returns {Promise<{ok: true} | {ok: false, status: number, message: string | undefined}>}
 */
export async function logIn(token) {
  const res = await fetch("/auth/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token }),
  });
  /** @type {(Partial<LoginResult> & Partial<HttpErrorBody>) | null} */
  const body = await res.json().catch(() => null);
  if (!res.ok) return { ok: false, status: res.status, message: body?.error?.message };
  // Sent back on state-changing requests: a cross-site page cannot read it, so it cannot forge them.
  csrfToken = typeof body?.csrfToken === "string" ? body.csrfToken : "";
  return { ok: true };
}

/**
 * Ends the login on the gateway. A POST is never retried by the browser, so one sent on a keep-alive
 * connection the server had just closed fails: it is sent again (at most 3 times); a 403 means the
 * CSRF token changed (a login elsewhere in this browser): refreshed, then sent again.
 * @returns {Promise<boolean>} whether the gateway confirmed it
 */
export async function logOut() {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const res = await fetch("/auth/logout", {
        method: "POST",
        credentials: "same-origin",
        headers: { "x-csrf-token": csrfToken },
      });
      if (res.ok || res.status === 401) return true;
      if (res.status === 403 && !(await checkLoggedIn())) return true;
    } catch {
      // The request did not get an answer: try again.
    }
  }
  return false;
}
