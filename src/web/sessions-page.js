// @ts-check
/**
 * Every agent's sessions as a table, paged by the server (`sessions.query`): search, filters
 * (agent, channel, kind, active within, label) and sort (last activity, tokens) are the server's,
 * so 10 000 sessions cost one page of rows here. A row opens the session's page.
 */
import { html, useEffect, useRef, useState } from "./vendor/preact.js";
import { fmtAge, fmtCost, fmtTokens, messageOf, sessionTitle } from "./format.js";
import { navigate, useStore } from "./store.js";
import { rpc } from "./transport.js";
import { Badge, Button, Notice, PageHeader } from "./ui.js";

/** @typedef {import("../gateway/protocol.ts").ControlSessionRow} ControlSessionRow */
/** @typedef {import("../gateway/protocol.ts").MethodParams<"sessions.query">} QueryParams */

const PAGE_SIZE = 50;
const ACTIVE = [
  ["", "Any time"],
  ["60", "Last hour"],
  ["1440", "Last day"],
  ["10080", "Last week"],
  ["43200", "Last 30 days"],
];

/** @param {ControlSessionRow} r */
const tokensOf = (r) => r.usageTokens ?? (r.inputTokens ?? 0) + (r.outputTokens ?? 0);

export function SessionsPage() {
  const s = useStore();
  const [filters, setFilters] = useState({ search: "", agentId: "", channel: "", kind: "", active: "", label: "" });
  const [sort, setSort] = useState(
    /** @type {{by: "updated" | "tokens", order: "desc" | "asc"}} */ ({ by: "updated", order: "desc" }),
  );
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState(
    /** @type {import("../gateway/protocol.ts").MethodResult<"sessions.query"> | null} */ (null),
  );
  const [error, setError] = useState("");
  const seq = useRef(0);
  // Typing in the search box waits for a pause before asking the server.
  const [debounced, setDebounced] = useState(filters);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(filters), 200);
    return () => clearTimeout(t);
  }, [filters]);
  useEffect(() => setOffset(0), [debounced, sort]);

  useEffect(() => {
    const mine = ++seq.current;
    /** @type {QueryParams} */
    const params = { offset, limit: PAGE_SIZE, sort: sort.by, order: sort.order };
    if (debounced.search.trim()) params.search = debounced.search.trim();
    if (debounced.agentId.trim()) params.agentId = debounced.agentId.trim();
    if (debounced.channel) params.channel = debounced.channel;
    if (debounced.kind === "direct" || debounced.kind === "group") params.kind = debounced.kind;
    if (debounced.active) params.activeMinutes = Number(debounced.active);
    if (debounced.label.trim()) params.label = debounced.label.trim();
    rpc("sessions.query", params).then(
      (r) => {
        if (mine !== seq.current) return;
        setPage(r);
        setError("");
      },
      (err) => mine === seq.current && setError(messageOf(err)),
    );
  }, [debounced, sort, offset, s.epoch]);

  /** @param {keyof typeof filters} k @returns {(e: Event) => void} */
  const set = (k) => (e) => setFilters({ ...filters, [k]: /** @type {HTMLInputElement} */ (e.target).value });
  /** @param {"updated" | "tokens"} by */
  const sortBy = (by) =>
    setSort(sort.by === by ? { by, order: sort.order === "desc" ? "asc" : "desc" } : { by, order: "desc" });
  /** @param {"updated" | "tokens"} by */
  const ariaSort = (by) => (sort.by === by ? (sort.order === "desc" ? "descending" : "ascending") : "none");
  const total = page?.total ?? 0;
  const rows = page?.sessions ?? [];

  return html`<div class="sessions-page">
    <${PageHeader} title="Sessions">${page ? `${total.toLocaleString()} sessions` : "Loading…"}<//>
    <form class="filters" role="search" onSubmit=${(/** @type {Event} */ e) => e.preventDefault()}>
      <label
        >Search
        <input
          type="search"
          id="session-search"
          value=${filters.search}
          onInput=${set("search")}
          placeholder="key, id, label"
      /></label>
      <label
        >Agent <input id="filter-agent" value=${filters.agentId} onInput=${set("agentId")} placeholder="any" size="8"
      /></label>
      <label
        >Channel
        <select id="filter-channel" value=${filters.channel} onChange=${set("channel")}>
          <option value="">Any</option>
          ${(page?.channels ?? []).map((c) => html`<option value=${c}>${c}</option>`)}
        </select></label
      >
      <label
        >Kind
        <select id="filter-kind" value=${filters.kind} onChange=${set("kind")}>
          <option value="">Any</option>
          <option value="direct">Direct</option>
          <option value="group">Group</option>
        </select></label
      >
      <label
        >Active
        <select id="filter-active" value=${filters.active} onChange=${set("active")}>
          ${ACTIVE.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
        </select></label
      >
      <label
        >Label <input id="filter-label" value=${filters.label} onInput=${set("label")} placeholder="any" size="10"
      /></label>
    </form>
    <${Notice} notice=${error ? { text: error, kind: "error" } : null} />
    <div class="table-wrap">
      <table class="table" data-testid="sessions-table" aria-rowcount=${total}>
        <caption class="visually-hidden">
          Sessions, ${sort.by === "tokens" ? "by tokens" : "by last activity"}
        </caption>
        <thead>
          <tr>
            <th scope="col">Session</th>
            <th scope="col">Agent</th>
            <th scope="col">Channel</th>
            <th scope="col">Kind</th>
            <th scope="col" aria-sort=${ariaSort("updated")}>
              <button type="button" class="th-sort" onClick=${() => sortBy("updated")} id="sort-updated">
                Last activity
              </button>
            </th>
            <th scope="col" aria-sort=${ariaSort("tokens")} class="num">
              <button type="button" class="th-sort" onClick=${() => sortBy("tokens")} id="sort-tokens">Tokens</button>
            </th>
            <th scope="col" class="num hide-narrow">Cost</th>
          </tr>
        </thead>
        <tbody>
          ${rows.map(
            (r) =>
              html`<tr key=${r.key} data-key=${r.key}>
                <td>
                  <a href=${`#/sessions/${encodeURIComponent(r.key)}`} title=${r.key}>${sessionTitle(r)}</a>
                  ${r.pinned ? html` <${Badge} text="pinned" />` : null}
                </td>
                <td>${r.agentId}</td>
                <td>${r.channel ? html`<${Badge} text=${r.channel} kind=${`ch ch-${r.channel}`} />` : ""}</td>
                <td>${r.kind}</td>
                <td>${fmtAge(Date.now() - r.updatedAt)}</td>
                <td class="num">${fmtTokens(tokensOf(r))}</td>
                <td class="num hide-narrow">${r.usageCost ? fmtCost(r.usageCost) : ""}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${page && rows.length === 0 ? html`<p class="muted empty">No sessions match.</p>` : null}
    </div>
    <div class="pager">
      <${Button}
        label="Previous"
        icon="arrow-left"
        disabled=${offset === 0}
        onClick=${() => setOffset(Math.max(0, offset - PAGE_SIZE))}
      />
      <span class="muted" data-testid="pager"
        >${total === 0 ? "0" : `${offset + 1}–${Math.min(total, offset + PAGE_SIZE)} of ${total.toLocaleString()}`}</span
      >
      <${Button}
        label="Next"
        icon="chevron-right"
        disabled=${offset + PAGE_SIZE >= total}
        onClick=${() => setOffset(offset + PAGE_SIZE)}
      />
    </div>
  </div>`;
}

/** @param {string} key */
export function openSession(key) {
  navigate(`#/sessions/${encodeURIComponent(key)}`);
}
