// @ts-check
/**
 * The frame around every page: a top bar (brand, connection state, theme toggle, logout) and the
 * navigation between pages (a sidebar on wide screens, a scrollable bar at phone width). Pages are
 * addressed by the URL hash (#/chat, #/sessions, #/sessions/<key>, …), so Back and reload work.
 */
import { html } from "./vendor/preact.js";
import { Icon } from "./icons.js";
import { state, update, useStore } from "./store.js";
import { logOut, setSocketWanted, closeSocket } from "./transport.js";

export const PAGES = [
  { route: "#/chat", label: "Chat", icon: "message-square" },
  { route: "#/sessions", label: "Sessions", icon: "table" },
  { route: "#/channels", label: "Channels", icon: "radio" },
  { route: "#/usage", label: "Usage", icon: "chart-column" },
  { route: "#/cron", label: "Cron", icon: "clock" },
  { route: "#/logs", label: "Logs", icon: "scroll-text" },
  { route: "#/config", label: "Config", icon: "settings" },
];

const CONN_TEXT = { connecting: "Connecting…", online: "Connected", offline: "Reconnecting…" };

function nextTheme() {
  const dark =
    state.theme === "dark" || (state.theme === "" && window.matchMedia("(prefers-color-scheme: dark)").matches);
  return dark ? "light" : "dark";
}

/** @param {string} theme */
export function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

async function onLogout() {
  setSocketWanted(false);
  closeSocket();
  const confirmed = await logOut();
  update({
    loggedIn: false,
    ...(confirmed ? {} : { loginError: "The gateway did not confirm the logout: the login may still be valid." }),
  });
}

// A change of the system theme re-renders the toggle (its icon names the other theme).
window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => update({}));

/** @param {{children: unknown}} p */
export function Layout({ children }) {
  const s = useStore();
  const active = PAGES.find((p) => s.route === p.route || s.route.startsWith(`${p.route}/`))?.route ?? "#/chat";
  const toTheme = nextTheme();
  return html`<div id="app-view" class="app-view">
    <a
      class="skip-link"
      href="#main"
      onClick=${(/** @type {Event} */ e) => {
        // The hash is the page's route: move focus without navigating.
        e.preventDefault();
        document.getElementById("main")?.focus();
      }}
      >Skip to content</a
    >
    <header class="topbar">
      <span class="brand"><${Icon} name="message-square" size=${20} /> Pincer</span>
      <span id="conn" class="conn" role="status" data-state=${s.conn}>${CONN_TEXT[s.conn]}</span>
      <button
        type="button"
        id="theme-toggle"
        class="btn ghost icon-only"
        aria-label=${`Switch to ${toTheme} theme`}
        title=${`Switch to ${toTheme} theme`}
        onClick=${() => {
          update({ theme: toTheme });
          applyTheme(toTheme);
        }}
      >
        <${Icon} name=${toTheme === "dark" ? "moon" : "sun"} />
      </button>
      <button id="logout" type="button" class="btn ghost" onClick=${() => void onLogout()}>
        <${Icon} name="log-out" /><span class="hide-narrow">Log out</span>
      </button>
    </header>
    <div class="frame">
      <nav class="nav" aria-label="Pages">
        <ul>
          ${PAGES.map(
            (p) =>
              html`<li>
                <a
                  href=${p.route}
                  class="nav-link"
                  aria-current=${active === p.route ? "page" : undefined}
                  data-page=${p.label.toLowerCase()}
                >
                  <${Icon} name=${p.icon} /><span>${p.label}</span>
                </a>
              </li>`,
          )}
        </ul>
      </nav>
      <main id="main" class="page" tabindex="-1">${children}</main>
    </div>
  </div>`;
}
