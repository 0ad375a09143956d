// @ts-check
/**
 * Channels: a card per channel account from `channels.status` (connected, last inbound and
 * outbound, error, delivery queue depth; Probe asks each adapter again), and the DM pairing
 * requests of each channel with Approve / Reject (`pairing.*`).
 */
import { html, useEffect, useState } from "./vendor/preact.js";
import { fmtAge, messageOf } from "./format.js";
import { useStore } from "./store.js";
import { rpc } from "./transport.js";
import { Badge, Button, Notice, PageHeader, useNotice } from "./ui.js";

/** @typedef {import("../gateway/protocol.ts").MethodResult<"channels.status">["accounts"][number]} Account */
/** @typedef {import("../gateway/protocol.ts").MethodResult<"pairing.list">["requests"][number]} PairingRequest */
/** @typedef {"telegram" | "slack" | "discord" | "signal"} ChannelName */

const CHANNELS = ["telegram", "slack", "discord", "signal"];

/** @param {number | undefined} t */
const ago = (t) => (typeof t === "number" ? fmtAge(Date.now() - t) : "never");

export function ChannelsPage() {
  const s = useStore();
  const [accounts, setAccounts] = useState(/** @type {Account[] | null} */ (null));
  const [pairing, setPairing] = useState(/** @type {Array<PairingRequest & {channel: ChannelName}>} */ ([]));
  const [error, setError] = useState("");
  const { notice, run } = useNotice();

  /** @param {boolean} probe */
  const load = async (probe) => {
    try {
      const st = await rpc("channels.status", probe ? { probe: true } : {});
      setAccounts(st.accounts);
      const names = [...new Set(st.accounts.map((a) => a.channel))].filter((c) => CHANNELS.includes(c));
      const lists = await Promise.all(
        names.map((c) =>
          rpc("pairing.list", { channel: /** @type {ChannelName} */ (c) }).then(
            (r) => r.requests.map((q) => ({ ...q, channel: /** @type {ChannelName} */ (c) })),
            () => [],
          ),
        ),
      );
      setPairing(lists.flat());
      setError("");
    } catch (err) {
      setError(messageOf(err));
    }
  };
  useEffect(() => {
    void load(false);
    const t = setInterval(() => void load(false), 5000);
    return () => clearInterval(t);
  }, [s.epoch]);

  /** @param {PairingRequest & {channel: ChannelName}} q @param {"approve" | "reject"} what */
  const decide = (q, what) =>
    run(what === "approve" ? "Approving" : "Rejecting", async () => {
      if (what === "approve") {
        const r = await rpc("pairing.approve", { channel: q.channel, code: q.code, notify: true });
        await load(false);
        return r.approved
          ? `Approved ${q.meta?.username ?? q.id} on ${q.channel}.`
          : "That request is no longer pending.";
      }
      const r = await rpc("pairing.reject", { channel: q.channel, code: q.code });
      await load(false);
      return r.rejected ? `Rejected ${q.meta?.username ?? q.id}.` : "That request is no longer pending.";
    });

  return html`<div class="channels-page">
    <${PageHeader}
      title="Channels"
      actions=${html`<${Button} icon="refresh-cw" label="Probe" onClick=${() => run("Probing", async () => void (await load(true)))} testid="probe" />`}
    >
      Native channel accounts and DM pairing requests
    <//>
    <${Notice} notice=${notice ?? (error ? { text: error, kind: "error" } : null)} />
    <div class="cards">
      ${accounts?.length === 0 ? html`<p class="muted">No native channels are configured (channels.telegram, …).</p>` : null}
      ${(accounts ?? []).map(
        (a) =>
          html`<article class="card channel-card" data-channel=${a.channel} data-account=${a.accountId}>
            <h2>${a.channel} <span class="muted">· ${a.accountId}</span></h2>
            <p>
              <${Badge}
                text=${a.connected ? "connected" : a.state}
                kind=${a.connected ? "ok" : a.error ? "error" : "warn"}
              />
              ${a.enabled ? null : html` <${Badge} text="disabled" />`}
            </p>
            <dl class="facts">
              <dt>Last inbound</dt>
              <dd>${ago(a.lastInboundAt)}</dd>
              <dt>Last outbound</dt>
              <dd>${ago(a.lastOutboundAt)}</dd>
              <dt>Delivery queue</dt>
              <dd>${a.queueDepth}</dd>
              ${
                a.error
                  ? html`<dt>Error</dt>
                      <dd class="error-text">${a.error}</dd>`
                  : null
              }
            </dl>
          </article>`,
      )}
    </div>
    <section class="card" aria-labelledby="pairing-heading">
      <h2 id="pairing-heading">Pairing requests</h2>
      ${
        pairing.length === 0
          ? html`<p class="muted" data-testid="no-pairing">
              No pending requests. A sender who DMs a channel with dmPolicy "pairing" shows up here.
            </p>`
          : html`<div class="table-wrap">
              <table class="table" data-testid="pairing-table">
                <thead>
                  <tr>
                    <th scope="col">Channel</th>
                    <th scope="col">Code</th>
                    <th scope="col">Sender</th>
                    <th scope="col">Age</th>
                    <th scope="col">Decision</th>
                  </tr>
                </thead>
                <tbody>
                  ${pairing.map(
                    (q) =>
                      html`<tr key=${`${q.channel}:${q.code}`} data-code=${q.code}>
                        <td>${q.channel}</td>
                        <td><code>${q.code}</code></td>
                        <td>${q.meta?.username ? `${q.meta.username} (${q.id})` : (q.meta?.name ?? q.id)}</td>
                        <td>${fmtAge(Date.now() - Date.parse(q.createdAt))}</td>
                        <td class="row-actions">
                          <${Button}
                            icon="check"
                            label="Approve"
                            kind="primary small"
                            onClick=${() => decide(q, "approve")}
                            testid="approve"
                          />
                          <${Button}
                            icon="x"
                            label="Reject"
                            kind="small"
                            onClick=${() => decide(q, "reject")}
                            testid="reject"
                          />
                        </td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
      }
    </section>
  </div>`;
}
