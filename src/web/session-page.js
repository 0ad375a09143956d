// @ts-check
/**
 * One session: its history, the `/status` card, the `/context detail` breakdown, and the
 * per-session overrides (model, thinking, send policy, queue mode, label, pin) saved through
 * `sessions.patch` (the gateway validates them; its message is shown beside the form). Reset,
 * compact and delete ask first.
 */
import { html, useEffect, useState } from "./vendor/preact.js";
import { fmtTokens, messageOf, sessionTitle } from "./format.js";
import { MessageList } from "./message-view.js";
import { navigate, update, useStore } from "./store.js";
import { rpc } from "./transport.js";
import { Badge, Button, ConfirmDialog, Notice, PageHeader, useNotice } from "./ui.js";

/** @typedef {import("../gateway/protocol.ts").ControlSessionRow} ControlSessionRow */
/** @typedef {import("../gateway/protocol.ts").HistoryItem} HistoryItem */

const THINKING = ["", "off", "minimal", "low", "medium", "high", "xhigh", "adaptive"];
const QUEUE = ["", "collect", "followup", "steer", "steer-backlog", "interrupt", "queue"];

/** @param {ControlSessionRow | null} row */
function formOf(row) {
  return {
    model: row?.modelOverride ?? "",
    thinkingLevel: row?.thinkingLevel ?? "",
    sendPolicy: row?.sendPolicy ?? "",
    queueMode: row?.queueMode ?? "",
    label: row?.label ?? "",
    pinned: row?.pinned === true,
  };
}

/** @param {{sessionKey: string}} p */
export function SessionPage({ sessionKey }) {
  const s = useStore();
  const [row, setRow] = useState(/** @type {ControlSessionRow | null} */ (null));
  const [history, setHistory] = useState(/** @type {HistoryItem[]} */ ([]));
  const [card, setCard] = useState("");
  const [context, setContext] = useState("");
  const [form, setForm] = useState(formOf(null));
  const [formError, setFormError] = useState("");
  const [confirm, setConfirm] = useState(/** @type {"reset" | "compact" | "delete" | null} */ (null));
  const [missing, setMissing] = useState(false);
  const { notice, run } = useNotice();

  const load = async () => {
    try {
      const q = await rpc("sessions.query", { search: sessionKey, limit: 50 });
      const found = q.sessions.find((r) => r.key === sessionKey) ?? null;
      setRow(found);
      setMissing(!found);
      if (!found) return;
      setForm(formOf(found));
      const [h, st, cx] = await Promise.all([
        rpc("chat.history", { sessionKey, limit: 200 }),
        rpc("sessions.status", { key: sessionKey }),
        rpc("sessions.context", { key: sessionKey }).catch((/** @type {unknown} */ err) => ({
          text: `(${messageOf(err)})`,
        })),
      ]);
      setHistory(h.messages);
      setCard(st.card);
      setContext(cx.text);
    } catch (err) {
      setCard(`Could not load the session: ${messageOf(err)}`);
    }
  };
  useEffect(() => void load(), [sessionKey, s.epoch]);

  /** @param {Event} e */
  const save = async (e) => {
    e.preventDefault();
    if (!row) return;
    const label = form.label.trim();
    if (label.length > 64) {
      setFormError("label: at most 64 characters");
      return;
    }
    const before = formOf(row);
    /** @type {import("../gateway/protocol.ts").MethodParams<"sessions.patch">} */
    const patch = { key: sessionKey };
    // Only what changed is sent; an emptied field goes back to the default (null).
    if (form.model.trim() !== before.model) patch.model = form.model.trim() || null;
    if (form.thinkingLevel !== before.thinkingLevel)
      patch.thinkingLevel = /** @type {any} */ (form.thinkingLevel || null);
    if (form.sendPolicy !== before.sendPolicy) patch.sendPolicy = /** @type {any} */ (form.sendPolicy || null);
    if (form.queueMode !== before.queueMode) patch.queueMode = /** @type {any} */ (form.queueMode || null);
    if (label !== before.label) patch.label = label || null;
    if (form.pinned !== before.pinned) patch.pinned = form.pinned || null;
    if (Object.keys(patch).length === 1) {
      setFormError("Nothing changed.");
      return;
    }
    try {
      const r = await rpc("sessions.patch", patch);
      setFormError("");
      await load();
      await run("Saving", async () => `Saved. Model now ${r.resolved.modelProvider}/${r.resolved.model}.`);
    } catch (err) {
      setFormError(messageOf(err));
    }
  };

  /** @param {keyof ReturnType<typeof formOf>} k @returns {(e: Event) => void} */
  const set = (k) => (e) => {
    const t = /** @type {HTMLInputElement} */ (e.target);
    setForm({ ...form, [k]: t.type === "checkbox" ? t.checked : t.value });
  };

  const actions = {
    reset: () =>
      run("Resetting", async () => {
        await rpc("sessions.reset", { key: sessionKey });
        await load();
        return "The session starts over.";
      }),
    compact: () =>
      run("Compacting", async () => {
        const r = await rpc("sessions.compact", { key: sessionKey });
        await load();
        return r.compacted ? `Compacted: ${r.tokensBefore} → ${r.tokensAfter} tokens.` : `Not compacted (${r.status}).`;
      }),
    delete: () =>
      run("Deleting", async () => {
        await rpc("sessions.delete", { key: sessionKey });
        navigate("#/sessions");
      }),
  };
  const titles = {
    reset: ["Reset this session?", "Its history starts over; the transcript is archived.", "Reset"],
    compact: ["Compact this session?", "Older messages are replaced by a summary.", "Compact"],
    delete: ["Delete this session?", "The row is removed; its transcript is archived.", "Delete"],
  };

  if (missing)
    return html`<div>
      <${PageHeader} title="Session not found">${sessionKey}<//><a href="#/sessions">Back to sessions</a>
    </div>`;
  return html`<div class="session-page">
    <${PageHeader}
      title=${row ? sessionTitle(row) : "Session"}
      actions=${html` <${Button}
          icon="message-square"
          label="Open in chat"
          onClick=${() => {
            update({ chatKey: sessionKey });
            navigate("#/chat");
          }}
        />
        <${Button} icon="archive" label="Compact" onClick=${() => setConfirm("compact")} testid="session-compact" />
        <${Button} icon="rotate-ccw" label="Reset" onClick=${() => setConfirm("reset")} testid="session-reset" />
        <${Button}
          icon="trash"
          label="Delete"
          kind="danger"
          onClick=${() => setConfirm("delete")}
          testid="session-delete"
        />`}
    >
      <code class="key">${sessionKey}</code>
      ${row?.channel ? html` <${Badge} text=${row.channel} kind=${`ch ch-${row.channel}`} />` : null}
      ${row ? ` · ${fmtTokens(row.usageTokens ?? 0)} tokens in total` : null}
    <//>
    <${Notice} notice=${notice} />
    <div class="session-grid">
      <section class="card" aria-labelledby="overrides-heading">
        <h2 id="overrides-heading">Overrides</h2>
        <form id="overrides" class="form-grid" novalidate onSubmit=${save}>
          <label for="ov-model">Model</label>
          <input
            id="ov-model"
            value=${form.model}
            onInput=${set("model")}
            placeholder="agent default"
            aria-describedby="overrides-error"
          />
          <label for="ov-thinking">Thinking</label>
          <select id="ov-thinking" value=${form.thinkingLevel} onChange=${set("thinkingLevel")}>
            ${THINKING.map((v) => html`<option value=${v}>${v || "default"}</option>`)}
          </select>
          <label for="ov-send">Send policy</label>
          <select id="ov-send" value=${form.sendPolicy} onChange=${set("sendPolicy")}>
            <option value="">default</option>
            <option value="allow">allow</option>
            <option value="deny">deny</option>
          </select>
          <label for="ov-queue">Queue mode</label>
          <select id="ov-queue" value=${form.queueMode} onChange=${set("queueMode")}>
            ${QUEUE.map((v) => html`<option value=${v}>${v || "default"}</option>`)}
          </select>
          <label for="ov-label">Label</label>
          <input
            id="ov-label"
            value=${form.label}
            onInput=${set("label")}
            maxlength="80"
            aria-describedby="overrides-error"
          />
          <label for="ov-pinned">Pinned</label>
          <input id="ov-pinned" type="checkbox" checked=${form.pinned} onChange=${set("pinned")} />
          <div class="form-actions">
            <button type="submit" class="btn primary" id="ov-save">Save overrides</button>
          </div>
          <p id="overrides-error" class="error-text" role="alert" data-testid="overrides-error">${formError}</p>
        </form>
      </section>
      <section class="card" aria-labelledby="status-heading">
        <h2 id="status-heading">Status</h2>
        <pre id="status-card" class="pre-card" tabindex="0" data-testid="status-card">${card}</pre>
      </section>
      <section class="card" aria-labelledby="context-heading">
        <h2 id="context-heading">Context</h2>
        <pre class="pre-card" tabindex="0" data-testid="context-detail">${context}</pre>
      </section>
      <section class="card wide" aria-labelledby="history-heading">
        <h2 id="history-heading">History</h2>
        <${MessageList} lines=${history} label="Session history" testid="session-history" />
      </section>
    </div>
    ${
      confirm
        ? html`<${ConfirmDialog}
            open=${true}
            title=${titles[confirm][0]}
            body=${titles[confirm][1]}
            confirm=${titles[confirm][2]}
            danger=${confirm === "delete"}
            onConfirm=${() => {
              const a = confirm;
              setConfirm(null);
              void actions[a]();
            }}
            onCancel=${() => setConfirm(null)}
          />`
        : null
    }
  </div>`;
}
