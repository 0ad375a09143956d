// @ts-check
/**
 * The Chat page's conversation list: every session as a button (title, channel badge, age,
 * tokens), the selected one marked, "New chat" starting a new WebChat session. The list is
 * refreshed on session and chat events, coalesced.
 */
import { html, useEffect, useState } from "./vendor/preact.js";
import { fmtAge, fmtTokens, newId, sessionTitle, tokensOf } from "./format.js";
import { bus, useStore } from "./store.js";
import { rpc } from "./transport.js";
import { Badge, Button } from "./ui.js";

/** @typedef {import("../gateway/protocol.ts").SessionRow} SessionRow */
/** @typedef {import("../gateway/protocol.ts").ChatEvent} ChatEvent */

/** A new WebChat conversation: its own session, keyed like a channel DM (`webchat` / `direct`). */
export function newChatKey() {
  return `agent:main:webchat:direct:chat-${newId().replace(/-/g, "").slice(0, 8)}`;
}

/** The conversation list, refreshed on session events (coalesced). */
export function useSessionList() {
  const [rows, setRows] = useState(/** @type {SessionRow[]} */ ([]));
  const [defaults, setDefaults] = useState(/** @type {{modelProvider: string, model: string} | null} */ (null));
  const s = useStore();
  useEffect(() => {
    let timer = /** @type {ReturnType<typeof setTimeout> | null} */ (null);
    let alive = true;
    const load = async () => {
      try {
        const r = await rpc("sessions.list", { limit: 200 });
        if (!alive) return;
        setRows(r.sessions);
        setDefaults(r.defaults);
      } catch {
        // Offline: the list comes back with the socket.
      }
    };
    const soon = () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        void load();
      }, 250);
    };
    void load();
    const off1 = bus.on("session", soon);
    const off2 = bus.on("chat", (/** @type {ChatEvent} */ ev) => ev.state !== "delta" && soon());
    return () => {
      alive = false;
      off1();
      off2();
      if (timer) clearTimeout(timer);
    };
  }, [s.epoch]);
  return { rows, defaults, setRows };
}

/**
 * @param {{ rows: SessionRow[], current: string, onOpen: (key: string) => void, onNew: () => void }} props
 */
export function ConversationList({ rows, current, onOpen, onNew }) {
  return html`<section class="conversations" aria-labelledby="conv-heading">
    <div class="conv-head">
      <h2 id="conv-heading">Conversations</h2>
      <${Button} icon="plus" label="New chat" kind="primary small" onClick=${onNew} testid="new-chat" />
    </div>
    <ul id="sessions" class="conv-list" data-testid="sessions">
      ${
        !rows.some((r) => r.key === current)
          ? html`<li data-key=${current} class="conv-new">
              <button type="button" class="conv-item" aria-current="true">
                <span class="conv-title">${sessionTitle({ key: current })}</span
                ><span class="conv-meta muted">new</span>
              </button>
            </li>`
          : null
      }
      ${rows.map(
        (r) =>
          html`<li key=${r.key} data-key=${r.key}>
            <button
              type="button"
              class="conv-item"
              aria-current=${r.key === current ? "true" : undefined}
              title=${r.key}
              onClick=${() => onOpen(r.key)}
            >
              <span class="conv-title">${sessionTitle(r)}</span>
              <span class="conv-meta muted">
                ${r.channel ? html`<${Badge} text=${r.channel} kind=${`ch ch-${r.channel}`} />` : null}
                ${fmtAge(Date.now() - r.updatedAt)} · ${fmtTokens(tokensOf(r))} tokens
              </span>
            </button>
          </li>`,
      )}
    </ul>
  </section>`;
}
