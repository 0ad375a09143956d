// @ts-check
/** Small building blocks shared by the pages: buttons with icons, badges, notices, a confirm dialog. */
import { html, useEffect, useRef, useState } from "./vendor/preact.js";
import { Icon } from "./icons.js";
import { messageOf } from "./format.js";

/**
 * @param {{icon?: string, label: string, onClick?: (e: Event) => void, kind?: string, disabled?: boolean,
 *   iconOnly?: boolean, type?: string, testid?: string, title?: string, id?: string}} p
 */
export function Button(p) {
  return html`<button
    id=${p.id}
    type=${p.type ?? "button"}
    class=${`btn ${p.kind ?? ""} ${p.iconOnly ? "icon-only" : ""}`}
    onClick=${p.onClick}
    disabled=${p.disabled}
    aria-label=${p.iconOnly ? p.label : undefined}
    title=${p.title ?? (p.iconOnly ? p.label : undefined)}
    data-testid=${p.testid}
  >
    ${p.icon ? html`<${Icon} name=${p.icon} />` : null}${p.iconOnly ? null : html`<span>${p.label}</span>`}
  </button>`;
}

/** @param {{text: string, kind?: string, title?: string}} p */
export function Badge({ text, kind, title }) {
  return html`<span class=${`badge ${kind ?? ""}`} title=${title}>${text}</span>`;
}

/** @param {{notice: {text: string, kind?: string} | null}} p */
export function Notice({ notice }) {
  if (!notice) return null;
  return html`<p
    class="notice"
    data-kind=${notice.kind ?? "info"}
    role=${notice.kind === "error" ? "alert" : "status"}
    data-testid="notice"
  >
    ${notice.text}
  </p>`;
}

/** A notice line and an async runner that reports into it. */
export function useNotice() {
  const [notice, setNotice] = useState(/** @type {{text: string, kind?: string} | null} */ (null));
  /**
   * @param {string} label
   * @param {() => Promise<string | void>} fn
   */
  const run = async (label, fn) => {
    setNotice({ text: `${label}…` });
    try {
      const r = await fn();
      setNotice(r ? { text: r, kind: "ok" } : null);
    } catch (err) {
      setNotice({ text: `${label} failed: ${messageOf(err)}`, kind: "error" });
    }
  };
  return { notice, setNotice, run };
}

/**
 * A modal confirmation (the native <dialog>: focus moves in, Escape cancels, focus returns).
 * @param {{open: boolean, title: string, body: string, confirm: string, danger?: boolean,
 *   onConfirm: () => void, onCancel: () => void}} p
 */
export function ConfirmDialog(p) {
  const ref = useRef(/** @type {HTMLDialogElement | null} */ (null));
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (p.open && !d.open) d.showModal();
    if (!p.open && d.open) d.close();
  }, [p.open]);
  return html`<dialog
    ref=${ref}
    class="dialog"
    aria-labelledby="confirm-title"
    onClose=${() => p.open && p.onCancel()}
    data-testid="confirm-dialog"
  >
    <h2 id="confirm-title">${p.title}</h2>
    <p>${p.body}</p>
    <div class="dialog-actions">
      <button type="button" class="btn" onClick=${p.onCancel} data-testid="confirm-cancel">Cancel</button>
      <button
        type="button"
        class=${`btn ${p.danger ? "danger" : "primary"}`}
        onClick=${p.onConfirm}
        data-testid="confirm-ok"
      >
        ${p.confirm}
      </button>
    </div>
  </dialog>`;
}

/** @param {{title: string, children?: unknown, actions?: unknown}} p */
export function PageHeader({ title, children, actions }) {
  return html`<div class="page-head">
    <div>
      <h1 class="page-title">${title}</h1>
      ${children ? html`<p class="muted">${children}</p>` : null}
    </div>
    ${actions ? html`<div class="page-actions">${actions}</div>` : null}
  </div>`;
}
