// @ts-check
/**
 * Usage: tokens and cost per day (a uPlot chart), per model, channel and agent, and the top
 * sessions, from `usage.summary` (the chart from the rows' per-day ledger, the rest from their
 * running totals; read once per row).
 */
import { html, useEffect, useRef, useState } from "./vendor/preact.js";
import uPlot from "./vendor/uplot.js";
import { fmtCost, fmtTokens, messageOf, sessionTitle } from "./format.js";
import { useStore } from "./store.js";
import { rpc } from "./transport.js";
import { Notice, PageHeader } from "./ui.js";

/** @typedef {import("../gateway/protocol.ts").MethodResult<"usage.summary">} Summary */
/** @typedef {Summary["totals"]} Totals */

/** @param {{title: string, rows: Record<string, Totals>, testid: string}} p */
function Breakdown({ title, rows, testid }) {
  const entries = Object.entries(rows).sort(([, a], [, b]) => b.totalTokens - a.totalTokens);
  return html`<section class="card" aria-label=${title}>
    <h2>${title}</h2>
    ${
      entries.length === 0
        ? html`<p class="muted">No usage yet.</p>`
        : html`<table class="table compact" data-testid=${testid}>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" class="num">Tokens</th>
                <th scope="col" class="num">Cost</th>
                <th scope="col" class="num">Calls</th>
              </tr>
            </thead>
            <tbody>
              ${entries.map(
                ([k, t]) =>
                  html`<tr key=${k}>
                    <td>${k}</td>
                    <td class="num">${fmtTokens(t.totalTokens)}</td>
                    <td class="num">${fmtCost(t.cost)}</td>
                    <td class="num">${t.calls}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
  </section>`;
}

/** @param {{days: Summary["byDay"]}} p */
function DayChart({ days }) {
  const ref = useRef(/** @type {HTMLDivElement | null} */ (null));
  useEffect(() => {
    const el = ref.current;
    if (!el || days.length === 0) return;
    const xs = days.map((d) => Date.parse(`${d.day}T12:00:00Z`) / 1000);
    const dark = window.getComputedStyle(document.documentElement).getPropertyValue("--text").trim() || "#888";
    const accent = window.getComputedStyle(document.documentElement).getPropertyValue("--accent").trim() || "#c2410c";
    const ok = window.getComputedStyle(document.documentElement).getPropertyValue("--focus").trim() || "#2563eb";
    const width = Math.max(280, el.clientWidth || 600);
    const plot = new uPlot(
      {
        width,
        height: 240,
        scales: {
          // The period's days and one either side (from the data, not the scale's own padding), so a
          // single day is a bar in the middle rather than at the edge.
          x: { time: true, range: () => [(xs[0] ?? 0) - 86_400, (xs.at(-1) ?? 0) + 86_400] },
          tokens: { auto: true, range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] },
          cost: { auto: true, range: (_u, _min, max) => [0, Math.max(0.01, max) * 1.1] },
        },
        axes: [
          { stroke: dark },
          { scale: "tokens", stroke: dark, values: (_u, vals) => vals.map((v) => fmtTokens(v)) },
          {
            scale: "cost",
            side: 1,
            stroke: dark,
            grid: { show: false },
            values: (_u, vals) => vals.map((v) => fmtCost(v)),
          },
        ],
        series: [
          {},
          {
            label: "Tokens",
            scale: "tokens",
            stroke: accent,
            fill: `${accent}55`,
            width: 1,
            // One bar per day (a day with no calls has no bar, not a line through zero).
            paths: uPlot.paths.bars?.({ size: [0.6, 48] }),
            points: { show: false },
          },
          { label: "Cost (USD)", scale: "cost", stroke: ok, width: 2, points: { show: true } },
        ],
      },
      [xs, days.map((d) => d.totalTokens), days.map((d) => d.cost)],
      el,
    );
    return () => plot.destroy();
  }, [days]);
  return html`<div
    class="chart"
    ref=${ref}
    data-testid="usage-chart"
    role="img"
    aria-label=${`Tokens and cost per day over ${days.length} days`}
  ></div>`;
}

export function UsagePage() {
  const s = useStore();
  const [days, setDays] = useState(30);
  const [data, setData] = useState(/** @type {Summary | null} */ (null));
  const [error, setError] = useState("");
  useEffect(() => {
    rpc("usage.summary", { days }).then(
      (r) => {
        setData(r);
        setError("");
      },
      (err) => setError(messageOf(err)),
    );
  }, [days, s.epoch]);
  const t = data?.totals;
  return html`<div class="usage-page">
    <${PageHeader}
      title="Usage"
      actions=${html`<label
        >Period
        <select
          id="usage-days"
          value=${String(days)}
          onChange=${(/** @type {Event} */ e) => setDays(Number(/** @type {HTMLSelectElement} */ (e.target).value))}
        >
          <option value="1">Today</option>
          <option value="7">7 days</option>
          <option value="30">30 days</option>
          <option value="90">90 days</option>
        </select></label
      >`}
    >
      Per day from each session's daily ledger (UTC days, the last 90 kept per session); the breakdowns are the running
      totals of the sessions active in the period
    <//>
    <${Notice} notice=${error ? { text: error, kind: "error" } : null} />
    ${
      t
        ? html`<div class="stats" data-testid="usage-totals">
            <div class="stat">
              <span class="stat-value">${fmtTokens(t.totalTokens)}</span><span class="muted">tokens</span>
            </div>
            <div class="stat">
              <span class="stat-value">${fmtCost(t.cost) || "$0.00"}</span><span class="muted">cost</span>
            </div>
            <div class="stat"><span class="stat-value">${t.calls}</span><span class="muted">model calls</span></div>
            <div class="stat">
              <span class="stat-value">${data?.rows ?? 0}</span><span class="muted">sessions</span>
            </div>
          </div>`
        : null
    }
    <section class="card" aria-labelledby="per-day">
      <h2 id="per-day">Per day</h2>
      ${data && data.byDay.length === 0 ? html`<p class="muted">No usage in this period.</p>` : null}
      ${data ? html`<${DayChart} days=${data.byDay} />` : null}
    </section>
    ${
      data
        ? html`<div class="cards">
              <${Breakdown} title="Per model" rows=${data.byModel} testid="usage-models" />
              <${Breakdown} title="Per channel" rows=${data.byChannel} testid="usage-channels" />
              <${Breakdown} title="Per agent" rows=${data.byAgent} testid="usage-agents" />
            </div>
            <section class="card" aria-labelledby="top-sessions">
              <h2 id="top-sessions">Top sessions</h2>
              <table class="table compact" data-testid="usage-top">
                <thead>
                  <tr>
                    <th scope="col">Session</th>
                    <th scope="col">Channel</th>
                    <th scope="col" class="num">Tokens</th>
                    <th scope="col" class="num">Cost</th>
                  </tr>
                </thead>
                <tbody>
                  ${data.topSessions.map(
                    (r) =>
                      html`<tr key=${r.key}>
                        <td>
                          <a href=${`#/sessions/${encodeURIComponent(r.key)}`} title=${r.key}>${sessionTitle(r)}</a>
                        </td>
                        <td>${r.channel ?? ""}</td>
                        <td class="num">${fmtTokens(r.totalTokens)}</td>
                        <td class="num">${fmtCost(r.cost)}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </section>`
        : null
    }
  </div>`;
}
