// @ts-check
/** Renders the session list in the sidebar and the open session's title line from the shared state. */
import { el, h } from "./dom.js";
import { fmtAge, fmtTokens, modelOf, tokensOf } from "./format.js";
import { currentSession, state } from "./state.js";

/** @param {(key: string) => void} onSelect called with the key of the row the user picks */
export function renderSessions(onSelect) {
  const now = Date.now();
  // Rows are rebuilt on every refresh: keep keyboard focus on the row that had it.
  const focusedKey =
    document.activeElement instanceof HTMLElement && el.sessions.contains(document.activeElement)
      ? document.activeElement.closest("li")?.dataset.key
      : undefined;
  const rows = state.sessions.map((s) => {
    const li = h("li");
    li.dataset.key = s.key;
    li.dataset.testid = "session-row";
    const btn = /** @type {HTMLButtonElement} */ (h("button", "session"));
    btn.type = "button";
    if (s.key === state.key) btn.setAttribute("aria-current", "true");
    const name =
      typeof s.label === "string" && s.label
        ? s.label
        : typeof s.displayName === "string" && s.displayName
          ? s.displayName
          : s.key;
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
    const model = modelOf(s, state.defaults);
    if (model) what.append(h("span", "meta-model", model));
    btn.append(where, what);
    btn.addEventListener("click", () => onSelect(s.key));
    li.append(btn);
    return li;
  });
  el.sessions.replaceChildren(...rows);
  el.sessionsEmpty.hidden = rows.length > 0;
  if (focusedKey)
    rows
      .find((li) => li.dataset.key === focusedKey)
      ?.querySelector("button")
      ?.focus();
}

export function renderHeader() {
  el.title.textContent = state.key;
  const s = currentSession();
  if (!s) {
    el.meta.textContent = state.exists ? "" : "New conversation — send a message to start it.";
    return;
  }
  const parts = [
    s.channel ?? s.lastChannel,
    `${fmtTokens(tokensOf(s))} tokens`,
    modelOf(s, state.defaults),
    `${s.compactionCount ?? 0} compaction${s.compactionCount === 1 ? "" : "s"}`,
  ];
  el.meta.textContent = parts.filter(Boolean).join(" · ");
}
