// @ts-check
/**
 * The Control UI's shared state: one plain object, changed with `update()`, read by components
 * through `useStore()` (which re-renders them after each change). What the server says stays
 * on the server: this keeps only what the screens need between requests.
 */
import { useEffect, useState } from "./vendor/preact.js";

/** @typedef {"connecting" | "online" | "offline"} ConnState */

const THEME_KEY = "pincer.theme";
const CHAT_KEY = "pincer.webchat.sessionKey";

/** @param {string} k */
function readLocal(k) {
  try {
    return localStorage.getItem(k);
  } catch {
    return null;
  }
}
/** @param {string} k @param {string} v */
export function writeLocal(k, v) {
  try {
    localStorage.setItem(k, v);
  } catch {
    // Storage may be disabled; the choice then just does not survive a reload.
  }
}

export const state = {
  /** null until /auth/session answered. @type {boolean | null} */
  loggedIn: null,
  /** @type {ConnState} */
  conn: "connecting",
  /** Bumped each time the socket (re)opens: pages reload what they show. */
  epoch: 0,
  route: location.hash || "#/chat",
  /** "light" | "dark" | "" (follow the system). */
  theme: readLocal(THEME_KEY) ?? "",
  chatKey: readLocal(CHAT_KEY) || "agent:main:main",
  loginError: "",
};

const listeners = new Set();

/** @param {Partial<typeof state>} patch */
export function update(patch) {
  Object.assign(state, patch);
  if (patch.theme !== undefined) writeLocal(THEME_KEY, patch.theme);
  if (patch.chatKey !== undefined) writeLocal(CHAT_KEY, patch.chatKey);
  for (const l of [...listeners]) l();
}

/** Re-renders the calling component after every change of the store. */
export function useStore() {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
  return state;
}

/** @param {string} route */
export function navigate(route) {
  if (location.hash !== route) location.hash = route;
  else update({ route });
}
window.addEventListener("hashchange", () => update({ route: location.hash || "#/chat" }));

/** Gateway events handed to whichever page listens ("chat", "session", "log", "dropped"). */
export const bus = {
  /** @type {Map<string, Set<(payload: any) => void>>} */
  handlers: new Map(),
  /** @param {string} name @param {(payload: any) => void} fn @returns {() => void} */
  on(name, fn) {
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  },
  /** @param {string} name @param {unknown} [payload] */
  emit(name, payload) {
    for (const fn of [...(this.handlers.get(name) ?? [])]) fn(payload);
  },
};
