// @ts-check
/**
 * What the user's buttons and the composer do: send a message (the run id is the idempotency key),
 * stop a run, and the session actions (status, compact, reset, delete), each with the buttons
 * disabled while it runs and its outcome in the notice line.
 */
import { autosize, hideNotice, hideStatus, setBusy, showNotice, updateBusy } from "./chrome.js";
import { addMessage, clearMessages } from "./conversation-view.js";
import { el } from "./dom.js";
import { fmtTokens, messageOf, newId } from "./format.js";
import { renderHeader } from "./list-view.js";
import { loadHistory, refreshSessions, showSessions } from "./sessions.js";
import { DEFAULT_KEY, state, storeKey } from "./state.js";
import { rpc, RpcError } from "./transport.js";

/** @param {SubmitEvent} e */
export async function onSend(e) {
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
export function onInputKey(e) {
  if (e.key === "Enter" && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing) {
    e.preventDefault();
    el.composer.requestSubmit();
  }
}

export async function onAbort() {
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

export async function onStatus() {
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

export async function onCompact() {
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
export async function onReset() {
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
      clearMessages();
    }
    await refreshSessions();
    return `New conversation started in ${key}.`;
  });
  el.input.focus();
}

export async function onDelete() {
  const key = state.key;
  if (!window.confirm(`Delete the session ${key}? Its transcript is archived on the gateway.`)) return;
  hideStatus();
  await action("Deleting", async () => {
    await rpc("sessions.delete", { key });
    state.sessions = state.sessions.filter((s) => s.key !== key);
    if (key === state.key) {
      state.exists = false;
      state.runs.clear();
      clearMessages();
      if (key !== DEFAULT_KEY) {
        state.key = DEFAULT_KEY;
        storeKey(DEFAULT_KEY);
        void loadHistory();
      }
    }
    showSessions();
    renderHeader();
    await refreshSessions();
    return `Deleted ${key}.`;
  });
}
