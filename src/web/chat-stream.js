// @ts-check
/**
 * Turns the gateway's `chat` events (deltas, then one final, aborted or error per run) into
 * streaming bubbles, and `session` events into list refreshes and history reloads. Runs this tab
 * started are tracked until their end so the Stop button and the reload-when-idle rule know them.
 */
import { updateActions, updateBusy } from "./chrome.js";
import { addDivider, addMessage, finishRun, setBody, stopStreaming } from "./conversation-view.js";
import { renderHeader } from "./list-view.js";
import { loadHistory, scheduleRefresh } from "./sessions.js";
import { state } from "./state.js";

/** @typedef {import("../gateway/protocol.ts").ChatEvent} ChatEvent */
/** @typedef {import("../gateway/protocol.ts").SessionEvent} SessionEvent */

/** @param {ChatEvent} ev */
export function onChatEvent(ev) {
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
      const text = typeof ev.message === "string" ? ev.message : (run?.text ?? "");
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
        stopStreaming(run.node);
        run.node.classList.add("aborted");
      }
      addDivider("Stopped");
      break;
    }
    case "error": {
      state.runs.delete(ev.runId);
      if (run) {
        stopStreaming(run.node);
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

/**
 * A message arrived, or a session was reset or deleted, here or on another gateway. The list
 * always refreshes; the open conversation reloads on a reset or deletion (a new message shows with
 * the run that answers it, through its chat events).
 * @param {SessionEvent} ev
 */
export function onSessionEvent(ev) {
  scheduleRefresh();
  if (ev.sessionKey === state.key && (ev.change === "reset" || ev.change === "deleted")) reloadSoon();
}

/** A turn started elsewhere (another tab or channel) finished: show its user message too. */
function reloadSoon() {
  if (state.runs.size > 0 || [...state.myRuns.values()].includes(state.key)) state.reloadWhenIdle = true;
  else void loadHistory();
}

/** The socket dropped: runs in flight keep going on the gateway, but their events are lost with it. */
export function forgetRuns() {
  for (const run of state.runs.values()) run.node.classList.remove("streaming");
  state.runs.clear();
  state.myRuns.clear();
  updateBusy();
}
