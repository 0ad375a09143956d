// @ts-check
/**
 * The chat: a list of conversations (every session the login may use; "New chat" makes a new
 * WebChat session, the old ones stay in the list), the open conversation streamed from `chat`
 * events, and the composer. After a run ends (or the socket comes back) the history is reloaded
 * from the gateway, which replaces what the screen shows: no line is lost or shown twice.
 */
import { html, useEffect, useRef, useState } from "./vendor/preact.js";
import { Composer } from "./composer.js";
import { ConversationList, newChatKey, useSessionList } from "./conversation-list.js";
import { fmtTokens, labelFrom, messageOf, modelOf, newId, sessionTitle, tokensOf } from "./format.js";
import { applyChatEvent } from "./chat-lines.js";
import { MessageList, useFrameRender } from "./message-view.js";
import { bus, state, update, useStore } from "./store.js";
import { rpc, RpcError } from "./transport.js";
import { Button, ConfirmDialog, Notice, useNotice } from "./ui.js";

/** @typedef {import("../gateway/protocol.ts").SessionRow} SessionRow */
/** @typedef {import("../gateway/protocol.ts").ChatEvent} ChatEvent */
/** @typedef {import("./message-view.js").Line} Line */

export function ChatPage() {
  const s = useStore();
  const key = s.chatKey;
  const { rows, defaults, setRows } = useSessionList();
  const lines = useRef(/** @type {Line[]} */ ([]));
  const runs = useRef(/** @type {Map<string, Line>} */ (new Map()));
  const myRuns = useRef(/** @type {Set<string>} */ (new Set()));
  const historySeq = useRef(0);
  const [exists, setExists] = useState(false);
  const [status, setStatus] = useState(/** @type {string | null} */ (null));
  const [confirm, setConfirm] = useState(/** @type {"reset" | "delete" | null} */ (null));
  const [busy, setBusy] = useState(false);
  const { notice, setNotice, run } = useNotice();
  const redraw = useFrameRender();
  const reloadTimer = useRef(/** @type {ReturnType<typeof setTimeout> | null} */ (null));

  const refreshBusy = () => setBusy(myRuns.current.size > 0 || runs.current.size > 0);

  const loadHistory = async () => {
    const seq = ++historySeq.current;
    const k = state.chatKey;
    try {
      const r = await rpc("chat.history", { sessionKey: k, limit: 200 });
      if (seq !== historySeq.current || k !== state.chatKey) return;
      // Runs still streaming keep their line at the end (their text arrives with the final).
      lines.current = [...r.messages, ...runs.current.values()];
      setExists(true);
    } catch (err) {
      if (seq !== historySeq.current || k !== state.chatKey) return;
      if (err instanceof RpcError && err.code === "NOT_FOUND") {
        lines.current = [];
        setExists(false);
      } else if (!(err instanceof RpcError && err.code === "UNAVAILABLE"))
        setNotice({ text: `Could not load the history: ${messageOf(err)}`, kind: "error" });
    }
    redraw();
  };
  const reloadSoon = () => {
    if (reloadTimer.current) clearTimeout(reloadTimer.current);
    reloadTimer.current = setTimeout(() => {
      reloadTimer.current = null;
      void loadHistory();
    }, 150);
  };

  // Open (or reopen after a reconnect) the selected conversation.
  useEffect(() => {
    runs.current.clear();
    lines.current = [];
    setStatus(null);
    redraw();
    void loadHistory();
  }, [key, s.epoch]);

  useEffect(() => {
    const offChat = bus.on("chat", (/** @type {ChatEvent} */ ev) => {
      const ids = Array.isArray(ev.runIds) ? ev.runIds : [ev.runId];
      if (ev.state !== "delta") for (const id of ids) myRuns.current.delete(id);
      if (ev.sessionKey !== state.chatKey) {
        refreshBusy();
        return;
      }
      lines.current = applyChatEvent(lines.current, runs.current, ev);
      if (ev.state === "delta") {
        refreshBusy();
        redraw();
        return;
      }
      refreshBusy();
      redraw();
      // The gateway's transcript is the truth: reload it once nothing streams (commands answer without one).
      if (runs.current.size === 0 && ev.status !== "command") reloadSoon();
    });
    const offSession = bus.on("session", (/** @type {{sessionKey: string, change: string}} */ ev) => {
      if (ev.sessionKey === state.chatKey && ev.change !== "message") reloadSoon();
    });
    const offDrop = bus.on("dropped", () => {
      for (const l of runs.current.values()) l.streaming = false;
      runs.current.clear();
      myRuns.current.clear();
      refreshBusy();
    });
    return () => {
      offChat();
      offSession();
      offDrop();
    };
  }, []);

  /** @param {string} text */
  const send = async (text) => {
    const k = state.chatKey;
    const runId = newId();
    /** @type {Line} */
    const line = {
      id: null,
      role: "user",
      text,
      timestamp: new Date().toISOString(),
      kind: "message",
      local: "sent",
      runId: `u-${runId}`,
    };
    lines.current = [...lines.current, line];
    myRuns.current.add(runId);
    // A history read already on its way may predate this message: its answer must not replace the lines.
    historySeq.current++;
    refreshBusy();
    redraw();
    const first = !exists && !rows.some((r) => r.key === k);
    try {
      await rpc("chat.send", { sessionKey: k, message: text, idempotencyKey: runId });
      // Reads that started before the message was durable are stale; later ones include it.
      historySeq.current++;
      setExists(true);
      // A new WebChat conversation is named after its first message (the label is editable later).
      if (first && k.includes(":webchat:") && !text.trimStart().startsWith("/"))
        void rpc("sessions.patch", { key: k, label: labelFrom(text) }).catch(() => undefined);
    } catch (err) {
      myRuns.current.delete(runId);
      lines.current = lines.current.map((l) => (l === line ? { ...l, failed: true } : l));
      lines.current = [
        ...lines.current,
        {
          id: null,
          role: "error",
          text: `Not sent: ${messageOf(err)}`,
          timestamp: null,
          kind: "message",
          local: "error",
        },
      ];
      refreshBusy();
      redraw();
    }
  };

  const stop = () =>
    void rpc("chat.abort", { sessionKey: state.chatKey })
      .then((r) => !r.aborted && setNotice({ text: "Nothing to stop." }))
      .catch((err) => setNotice({ text: `Could not stop the run: ${messageOf(err)}`, kind: "error" }));

  /** @param {string} k */
  const open = (k) => {
    if (k === state.chatKey) return;
    setNotice(null);
    update({ chatKey: k });
    document.getElementById("input")?.focus();
  };

  const newChat = () => {
    setNotice(null);
    update({ chatKey: newChatKey() });
    document.getElementById("input")?.focus();
  };

  const current = rows.find((r) => r.key === key);
  const doReset = () =>
    run("Resetting", async () => {
      await rpc("sessions.reset", { key });
      await loadHistory();
      return `Started over in ${sessionTitle(current ?? { key })}.`;
    });
  const doDelete = () =>
    run("Deleting", async () => {
      await rpc("sessions.delete", { key });
      setRows(rows.filter((r) => r.key !== key));
      runs.current.clear();
      lines.current = [];
      setExists(false);
      if (key === "agent:main:main") redraw();
      else update({ chatKey: "agent:main:main" });
      return `Deleted ${sessionTitle(current ?? { key })}.`;
    });

  return html`<div class="chat-page">
    <${ConversationList} rows=${rows} current=${key} onOpen=${open} onNew=${newChat} />
    <section class="conversation" aria-labelledby="session-title">
      <div class="chat-head">
        <div class="chat-title">
          <h2 id="session-title" data-testid="session-title" title=${key}>${sessionTitle(current ?? { key })}</h2>
          <p id="session-meta" class="muted small-text">
            ${modelOf(current, defaults)}${current ? ` · ${fmtTokens(tokensOf(current))} tokens` : ""}
          </p>
        </div>
        <div class="actions" role="toolbar" aria-label="Session actions">
          <${Button}
            icon="circle-alert"
            label="Status"
            id="btn-status"
            testid="btn-status"
            disabled=${!exists}
            onClick=${() =>
              run("Loading status", async () => {
                setStatus((await rpc("sessions.status", { key })).card);
              })}
          />
          <${Button}
            icon="archive"
            label="Compact"
            id="btn-compact"
            disabled=${!exists || busy}
            onClick=${() =>
              run("Compacting", async () => {
                const r = await rpc("sessions.compact", { key });
                await loadHistory();
                return r.compacted
                  ? `Compacted: ${r.tokensBefore} → ${r.tokensAfter} tokens.`
                  : `Not compacted (${r.status}${r.reason ? `: ${r.reason}` : ""}).`;
              })}
          />
          <${Button}
            icon="rotate-ccw"
            label="Reset"
            disabled=${!exists || busy}
            onClick=${() => setConfirm("reset")}
            id="btn-reset"
            testid="btn-reset"
          />
          <${Button}
            icon="trash"
            label="Delete"
            kind="danger"
            disabled=${!exists || busy}
            onClick=${() => setConfirm("delete")}
            id="btn-delete"
            testid="btn-delete"
          />
        </div>
      </div>
      ${
        status !== null
          ? html`<section class="status-panel" aria-labelledby="status-heading">
              <div class="status-panel-head">
                <h3 id="status-heading">Session status</h3>
                <${Button} icon="x" label="Close status" id="status-close" iconOnly onClick=${() => setStatus(null)} />
              </div>
              <pre id="status-card" tabindex="0" data-testid="status-card">${status}</pre>
            </section>`
          : null
      }
      <${Notice} notice=${notice} />
      <${MessageList} lines=${lines.current} />
      <${Composer} onSend=${(/** @type {string} */ t) => void send(t)} onStop=${stop} busy=${busy} />
    </section>
    <${ConfirmDialog}
      open=${confirm === "reset"}
      title="Reset this conversation?"
      body="The session starts over with an empty history; the old transcript is archived on the gateway."
      confirm="Reset"
      onConfirm=${() => {
        setConfirm(null);
        void doReset();
      }}
      onCancel=${() => setConfirm(null)}
    />
    <${ConfirmDialog}
      open=${confirm === "delete"}
      title="Delete this conversation?"
      body=${`${sessionTitle(current ?? { key })} is removed from the list; its transcript is archived on the gateway.`}
      confirm="Delete"
      danger
      onConfirm=${() => {
        setConfirm(null);
        void doDelete();
      }}
      onCancel=${() => setConfirm(null)}
    />
  </div>`;
}
