// @ts-check
/**
 * Config: the running gateway's resolved config (secrets masked), its load warnings, a checker
 * for an edited copy (`config.validate`: the same messages as `pincer config validate`; nothing is
 * written), and the security audit's findings with their remediations.
 */
import { html, useEffect, useState } from "./vendor/preact.js";
import { messageOf } from "./format.js";
import { useStore } from "./store.js";
import { rpc } from "./transport.js";
import { Badge, Button, Notice, PageHeader } from "./ui.js";

/** @typedef {import("../gateway/protocol.ts").MethodResult<"security.audit">} Audit */
/** @typedef {import("../gateway/protocol.ts").MethodResult<"config.get">} ConfigView */

export function ConfigPage() {
  const s = useStore();
  const [view, setView] = useState(/** @type {ConfigView | null} */ (null));
  const [audit, setAudit] = useState(/** @type {Audit | null} */ (null));
  const [text, setText] = useState("");
  const [result, setResult] = useState(
    /** @type {{ok: boolean, problems: string[], warnings: string[]} | null} */ (null),
  );
  const [error, setError] = useState("");

  useEffect(() => {
    rpc("config.get", {}).then(
      (r) => {
        setView(r);
        setText(JSON.stringify(r.config, null, 2));
      },
      (err) => setError(messageOf(err)),
    );
    rpc("security.audit", {}).then(setAudit, (err) => setError(messageOf(err)));
  }, [s.epoch]);

  const validate = async () => {
    try {
      setResult(await rpc("config.validate", { text }));
    } catch (err) {
      setResult({ ok: false, problems: [messageOf(err)], warnings: [] });
    }
  };

  return html`<div class="config-page">
    <${PageHeader} title="Config">The running gateway's resolved config, read-only; secrets are shown as ***<//>
    <${Notice} notice=${error ? { text: error, kind: "error" } : null} />
    ${
      view && view.warnings.length + view.notices.length > 0
        ? html`<section class="card" aria-labelledby="cfg-notes">
            <h2 id="cfg-notes">Load messages</h2>
            <ul>
              ${[...view.warnings, ...view.notices].map((w) => html`<li>${w}</li>`)}
            </ul>
          </section>`
        : null
    }
    <div class="session-grid">
      <section class="card wide" aria-labelledby="cfg-editor">
        <h2 id="cfg-editor">Check a config</h2>
        <p class="muted">
          Edit a copy (JSON5) and check it before writing it to the config file. Nothing is saved here.
        </p>
        <label for="config-text" class="visually-hidden">Config text</label>
        <textarea
          id="config-text"
          class="code-editor"
          spellcheck="false"
          rows="18"
          value=${text}
          onInput=${(/** @type {Event} */ e) => setText(/** @type {HTMLTextAreaElement} */ (e.target).value)}
        ></textarea>
        <div class="form-actions">
          <${Button} icon="check" label="Validate" kind="primary" onClick=${() => void validate()} testid="validate" />
        </div>
        ${
          result
            ? html`<div class=${`validation ${result.ok ? "ok" : "bad"}`} role="status" data-testid="validation">
                ${result.ok ? html`<p><${Badge} text="valid" kind="ok" /> The config is valid.</p>` : html`<p><${Badge} text="invalid" kind="error" /> ${result.problems.length} problem(s):</p>`}
                <ul>
                  ${[...result.problems, ...result.warnings].map((p) => html`<li><code>${p}</code></li>`)}
                </ul>
              </div>`
            : null
        }
      </section>
      <section class="card wide" aria-labelledby="audit-heading">
        <h2 id="audit-heading">Security audit</h2>
        ${
          audit
            ? html`<p>
                  <${Badge}
                    text=${`${audit.summary.critical} critical`}
                    kind=${audit.summary.critical ? "error" : "ok"}
                  />
                  <${Badge} text=${`${audit.summary.warn} warnings`} kind=${audit.summary.warn ? "warn" : "ok"} />
                  <${Badge} text=${`${audit.summary.info} info`} />
                </p>
                <ul class="findings" data-testid="audit-findings">
                  ${audit.findings.map(
                    (f) =>
                      html`<li class=${`finding sev-${f.severity}`}>
                        <div>
                          <${Badge}
                            text=${f.severity}
                            kind=${f.severity === "critical" ? "error" : f.severity === "warn" ? "warn" : ""}
                          />
                          <strong>${f.title}</strong> <code class="muted">${f.checkId}</code>
                        </div>
                        <p>${f.detail}</p>
                        ${f.remediation ? html`<p class="remedy"><strong>Fix:</strong> ${f.remediation}</p>` : null}
                      </li>`,
                  )}
                </ul>`
            : html`<p class="muted">Running the audit…</p>`
        }
      </section>
      <section class="card wide" aria-labelledby="cfg-resolved">
        <h2 id="cfg-resolved">Resolved config</h2>
        <pre class="pre-card" tabindex="0" data-testid="resolved-config">
${view ? JSON.stringify(view.config, null, 2) : "Loading…"}</pre>
      </section>
    </div>
  </div>`;
}
