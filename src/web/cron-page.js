// @ts-check
/** Cron: the configured jobs with schedule, next and last run, last result and delivery target; run now, enable/disable. */
import { html, useEffect, useState } from "./vendor/preact.js";
import { fmtTime, messageOf } from "./format.js";
import { useStore } from "./store.js";
import { rpc } from "./transport.js";
import { Badge, Button, Notice, PageHeader, useNotice } from "./ui.js";

/** @typedef {import("../gateway/protocol.ts").MethodResult<"cron.list">["jobs"][number]} CronJob */

export function CronPage() {
  const s = useStore();
  const [jobs, setJobs] = useState(/** @type {CronJob[] | null} */ (null));
  const [error, setError] = useState("");
  const { notice, run } = useNotice();
  const load = () =>
    rpc("cron.list", {}).then(
      (r) => {
        setJobs(r.jobs);
        setError("");
      },
      (err) => setError(messageOf(err)),
    );
  useEffect(() => {
    void load();
    // Poll while the page is open: next runs move on and runs finish.
    const t = setInterval(() => void load(), 1000);
    return () => clearInterval(t);
  }, [s.epoch]);

  return html`<div class="cron-page">
    <${PageHeader} title="Cron"
      >Scheduled agent turns (cron.jobs in the config; enable/disable is written back to the config file, or kept by the
      gateway when it runs without one)<//
    >
    <${Notice} notice=${notice ?? (error ? { text: error, kind: "error" } : null)} />
    ${jobs?.length === 0 ? html`<p class="muted">No cron jobs are configured.</p>` : null}
    ${
      jobs && jobs.length > 0
        ? html`<div class="table-wrap">
            <table class="table" data-testid="cron-table">
              <thead>
                <tr>
                  <th scope="col">Job</th>
                  <th scope="col">Schedule</th>
                  <th scope="col">Next run</th>
                  <th scope="col">Last run</th>
                  <th scope="col">Last result</th>
                  <th scope="col">Delivers to</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                ${jobs.map(
                  (j) =>
                    html`<tr key=${j.id} data-job=${j.id}>
                      <td>
                        <strong>${j.name ?? j.id}</strong>
                        <div class="muted small-text">${j.agentId}</div>
                      </td>
                      <td><code>${j.schedule}</code>${j.tz ? html` <span class="muted">${j.tz}</span>` : null}</td>
                      <td>${j.enabled ? fmtTime(j.nextRunAt) : html`<${Badge} text="disabled" />`}</td>
                      <td>
                        ${j.running ? html`<${Badge} text="running" kind="warn" />` : fmtTime(j.last?.at) || "never"}
                      </td>
                      <td class="last-result">
                        ${
                          j.last
                            ? html`<${Badge} text=${j.last.status} kind=${j.last.status === "ok" ? "ok" : "error"} />
                                <div class="small-text clip" title=${j.last.error ?? j.last.reply ?? ""}>
                                  ${j.last.error ?? j.last.reply ?? ""}
                                </div>`
                            : ""
                        }
                      </td>
                      <td>
                        ${j.deliver ? `${j.deliver.channel} → ${j.deliver.to}` : html`<span class="muted">last route</span>`}
                      </td>
                      <td class="row-actions">
                        <${Button}
                          icon="play"
                          label="Run now"
                          kind="small"
                          disabled=${j.running}
                          testid="cron-run"
                          onClick=${() =>
                            run(`Running ${j.id}`, async () => {
                              const r = await rpc("cron.run", { id: j.id });
                              await load();
                              return r.started ? `Started ${j.id}.` : `${j.id} is already running.`;
                            })}
                        />
                        <label class="switch">
                          <input
                            type="checkbox"
                            checked=${j.enabled}
                            data-testid="cron-enabled"
                            onChange=${(/** @type {Event} */ e) =>
                              run(j.enabled ? "Disabling" : "Enabling", async () => {
                                const r = await rpc("cron.update", {
                                  id: j.id,
                                  enabled: /** @type {HTMLInputElement} */ (e.target).checked,
                                });
                                await load();
                                const what = `${j.name ?? j.id} ${r.job.enabled ? "enabled" : "disabled"}`;
                                return r.savedTo === "config" ? `${what}; saved in ${r.file}` : `${what}; ${r.note}`;
                              })}
                          />
                          Enabled
                        </label>
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : null
    }
  </div>`;
}
