// @ts-check
/**
 * Logs: the gateway's recent records and a live tail (`logs.tail {follow: true}` then `log`
 * events), filtered by level and text on the server; the screen keeps the last 1000 lines.
 */
import { html, useEffect, useRef, useState } from "./vendor/preact.js";
import { messageOf } from "./format.js";
import { bus, useStore } from "./store.js";
import { rpc } from "./transport.js";
import { Button, Notice, PageHeader } from "./ui.js";
import { useFrameRender } from "./message-view.js";

/** @typedef {import("../gateway/protocol.ts").LogRecordWire} LogRecord */
/** @typedef {"trace" | "debug" | "info" | "warn" | "error" | "fatal"} Level */

const MAX_LINES = 1000;
const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"];

export function LogsPage() {
  const s = useStore();
  const [level, setLevel] = useState(/** @type {Level} */ ("info"));
  const [search, setSearch] = useState("");
  const [query, setQuery] = useState("");
  const [paused, setPaused] = useState(false);
  const [error, setError] = useState("");
  const lines = useRef(/** @type {LogRecord[]} */ ([]));
  const box = useRef(/** @type {HTMLDivElement | null} */ (null));
  const redraw = useFrameRender();

  useEffect(() => {
    const t = setTimeout(() => setQuery(search.trim()), 250);
    return () => clearTimeout(t);
  }, [search]);

  useEffect(() => {
    let alive = true;
    const off = bus.on("log", (/** @type {LogRecord} */ r) => {
      if (!alive || paused) return;
      const last = lines.current[lines.current.length - 1];
      if (last && r.seq <= last.seq) return;
      lines.current = [...lines.current, r].slice(-MAX_LINES);
      redraw();
    });
    rpc("logs.tail", { limit: 300, level, ...(query ? { search: query } : {}), follow: !paused }).then(
      (r) => {
        if (!alive) return;
        lines.current = r.records;
        setError("");
        redraw();
      },
      (err) => setError(messageOf(err)),
    );
    return () => {
      alive = false;
      off();
      void rpc("logs.tail", { limit: 1, follow: false }).catch(() => undefined);
    };
  }, [level, query, paused, s.epoch]);

  useEffect(() => {
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  });

  return html`<div class="logs-page">
    <${PageHeader}
      title="Logs"
      actions=${html`<${Button} icon=${paused ? "play" : "square"} label=${paused ? "Resume" : "Pause"} onClick=${() => setPaused(!paused)} />`}
    >
      Live tail of this gateway's log (the last 2000 records are kept in memory)
    <//>
    <form class="filters" role="search" onSubmit=${(/** @type {Event} */ e) => e.preventDefault()}>
      <label
        >Level
        <select
          id="log-level"
          value=${level}
          onChange=${(/** @type {Event} */ e) => setLevel(/** @type {Level} */ (/** @type {HTMLSelectElement} */ (e.target).value))}
        >
          ${LEVELS.map((l) => html`<option value=${l}>${l} and above</option>`)}
        </select></label
      >
      <label
        >Search
        <input
          id="log-search"
          type="search"
          value=${search}
          onInput=${(/** @type {Event} */ e) => setSearch(/** @type {HTMLInputElement} */ (e.target).value)}
      /></label>
    </form>
    <${Notice} notice=${error ? { text: error, kind: "error" } : null} />
    <div class="log-box" ref=${box} role="log" aria-label="Log records" tabindex="0" data-testid="log-lines">
      ${lines.current.length === 0 ? html`<p class="muted">No records yet.</p>` : null}
      ${lines.current.map(
        (r) =>
          html`<div class=${`log-line lvl-${r.level}`} key=${r.seq}>
            <time>${new Date(r.time).toLocaleTimeString()}</time>
            <span class="lvl">${r.level}</span>
            <span class="msg">${r.msg}</span>
            ${r.fields ? html`<span class="fields">${r.fields}</span>` : null}
          </div>`,
      )}
    </div>
  </div>`;
}
