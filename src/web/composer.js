// @ts-check
/**
 * The message box: Enter sends, Shift+Enter breaks the line, and a line starting with "/" offers
 * the chat commands (an ARIA combobox: arrows move, Tab or Enter completes, Escape closes).
 */
import { html, useRef, useState } from "./vendor/preact.js";
import { Icon } from "./icons.js";

/** The chat commands the gateway answers (runtime/command-parse.ts), with what they do. */
/** @type {Array<[string, string]>} */
export const COMMANDS = [
  ["/status", "Session status card"],
  ["/context", "What the model sees (add: detail)"],
  ["/usage", "Usage footer: off, tokens or full"],
  ["/new", "Start a fresh conversation in this session"],
  ["/reset", "Same as /new"],
  ["/compact", "Summarise older messages"],
  ["/stop", "Stop the running reply"],
  ["/model", "Show or set this session's model"],
  ["/think", "Thinking level: off … high"],
  ["/whoami", "Who the gateway thinks you are"],
  ["/queue", "Queue mode for messages during a run"],
  ["/send", "Send policy: on, off, inherit"],
  ["/activation", "Group activation: mention or always"],
  ["/help", "List the commands"],
];

/**
 * @param {{onSend: (text: string) => void, onStop: () => void, busy: boolean, disabled?: boolean}} p
 */
export function Composer({ onSend, onStop, busy, disabled }) {
  const [text, setText] = useState("");
  const [active, setActive] = useState(0);
  const [closed, setClosed] = useState(false);
  const ref = useRef(/** @type {HTMLTextAreaElement | null} */ (null));
  const matches =
    !closed && /^\/\S*$/.test(text) ? COMMANDS.filter(([c]) => c.startsWith(text.toLowerCase()) && c !== text) : [];
  const open = matches.length > 0;

  /** @param {string} cmd */
  const complete = (cmd) => {
    setText(`${cmd} `);
    setActive(0);
    ref.current?.focus();
  };
  const submit = () => {
    if (!text.trim()) return;
    onSend(text);
    setText("");
    setClosed(false);
  };
  /** @param {KeyboardEvent} e */
  const onKey = (e) => {
    if (open && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      setActive((a) => (a + (e.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length);
      return;
    }
    if (open && (e.key === "Tab" || (e.key === "Enter" && !e.shiftKey))) {
      e.preventDefault();
      complete(matches[Math.min(active, matches.length - 1)]?.[0] ?? text);
      return;
    }
    if (open && e.key === "Escape") {
      e.preventDefault();
      setClosed(true);
      return;
    }
    if (e.key === "Enter" && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  };
  const activeId = open ? `cmd-${Math.min(active, matches.length - 1)}` : undefined;
  return html`<form
    id="composer"
    class="composer"
    novalidate
    onSubmit=${(/** @type {Event} */ e) => {
      e.preventDefault();
      submit();
    }}
  >
    ${
      open
        ? html`<ul
            id="command-list"
            class="command-list"
            role="listbox"
            aria-label="Commands"
            data-testid="command-list"
          >
            ${matches.map(
              ([c, d], i) =>
                html`<li
                  id=${`cmd-${i}`}
                  role="option"
                  aria-selected=${i === active ? "true" : "false"}
                  onMouseDown=${(/** @type {Event} */ e) => {
                    e.preventDefault();
                    complete(c);
                  }}
                >
                  <code>${c}</code> <span class="muted">${d}</span>
                </li>`,
            )}
          </ul>`
        : null
    }
    <label for="input" class="visually-hidden">Message</label>
    <textarea
      id="input"
      ref=${ref}
      rows="2"
      placeholder="Message… (Enter to send, Shift+Enter for a new line, / for commands)"
      autocomplete="off"
      role="combobox"
      aria-expanded=${open ? "true" : "false"}
      aria-controls=${open ? "command-list" : undefined}
      aria-autocomplete="list"
      aria-activedescendant=${activeId}
      value=${text}
      disabled=${disabled}
      onInput=${(/** @type {InputEvent} */ e) => {
        setText(/** @type {HTMLTextAreaElement} */ (e.target).value);
        setClosed(false);
        setActive(0);
      }}
      onKeyDown=${onKey}
    ></textarea>
    ${
      busy
        ? html`<button id="btn-abort" type="button" class="btn" onClick=${onStop}>
            <${Icon} name="square" /><span>Stop</span>
          </button>`
        : null
    }
    <button id="send" type="submit" class="btn primary" disabled=${disabled}>
      <${Icon} name="send" /><span>Send</span>
    </button>
  </form>`;
}
