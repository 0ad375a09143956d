// @ts-check
/**
 * The WebChat's shared UI state: which session is open, what the gateway last said about the
 * session list, and which runs are streaming. One object, imported by the modules that read it,
 * so a module never keeps its own copy of the selection.
 */

/** @typedef {import("../gateway/protocol.ts").SessionRow} SessionRow */
/** @typedef {import("../gateway/protocol.ts").MethodResult<"sessions.list">["defaults"]} SessionDefaults */

export const DEFAULT_KEY = "agent:main:main";
const STORAGE_KEY = "pincer.webchat.sessionKey";

function readStoredKey() {
  try {
    return localStorage.getItem(STORAGE_KEY) || DEFAULT_KEY;
  } catch {
    return DEFAULT_KEY;
  }
}

/** @param {string} key */
export function storeKey(key) {
  try {
    localStorage.setItem(STORAGE_KEY, key);
  } catch {
    // Storage may be disabled; the selection then just does not survive a reload.
  }
}

export const state = {
  /** @type {SessionRow[]} */
  sessions: [],
  /** @type {SessionDefaults | null} */
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

/** The row of the open session, when the last list had it. */
export function currentSession() {
  return state.sessions.find((s) => s.key === state.key);
}
