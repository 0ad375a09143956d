// @ts-check
/**
 * Pincer Control UI: chat, sessions, channels, usage, cron, logs and config, in a plain browser
 * with no build step (Preact + htm, served by the gateway with its libraries under /vendor/).
 * It logs in with the gateway token (POST /auth/login sets an HttpOnly cookie), then speaks the
 * gateway's typed WebSocket RPC on /ws; events are handed to the pages through the store's bus.
 *
 * Served under a strict CSP (script-src 'self', style-src 'self'): no inline scripts, styles or
 * handlers; server and user text is rendered as text, markdown through DOMPurify.
 */
import { html, render } from "./vendor/preact.js";
import { ChannelsPage } from "./channels-page.js";
import { ChatPage } from "./chat-page.js";
import { ConfigPage } from "./config-page.js";
import { CronPage } from "./cron-page.js";
import { applyTheme, Layout } from "./layout.js";
import { LoginView } from "./login-view.js";
import { LogsPage } from "./logs-page.js";
import { SessionPage } from "./session-page.js";
import { SessionsPage } from "./sessions-page.js";
import { bus, state, update, useStore } from "./store.js";
import { checkLoggedIn, connect, setSocketWanted, setTransportHooks } from "./transport.js";
import { UsagePage } from "./usage-page.js";

setTransportHooks({
  onConnState: (conn) => update({ conn }),
  onOpen: () => update({ epoch: state.epoch + 1 }),
  onDropped: () => bus.emit("dropped"),
  onLoginLost: (message) => {
    setSocketWanted(false);
    update({ loggedIn: false, loginError: message });
  },
  onChat: (ev) => bus.emit("chat", ev),
  onSession: (ev) => bus.emit("session", ev),
  onLog: (rec) => bus.emit("log", rec),
});

/** @param {string} route */
function pageFor(route) {
  const [, page, ...rest] = route.replace(/^#/, "").split("/");
  switch (page) {
    case "sessions":
      return rest.length > 0
        ? html`<${SessionPage} key=${rest.join("/")} sessionKey=${decodeURIComponent(rest.join("/"))} />`
        : html`<${SessionsPage} />`;
    case "channels":
      return html`<${ChannelsPage} />`;
    case "usage":
      return html`<${UsagePage} />`;
    case "cron":
      return html`<${CronPage} />`;
    case "logs":
      return html`<${LogsPage} />`;
    case "config":
      return html`<${ConfigPage} />`;
    default:
      return html`<${ChatPage} />`;
  }
}

function App() {
  const s = useStore();
  if (s.loggedIn === null) return html`<p class="muted loading">Loading…</p>`;
  if (!s.loggedIn) return html`<${LoginView} />`;
  return html`<${Layout}>${pageFor(s.route)}<//>`;
}

applyTheme(state.theme);
const root = document.getElementById("root");
if (root) render(html`<${App} />`, root);

void (async () => {
  // Unreachable at page load means not logged in (unlike a drop later, which keeps the login).
  const ok = await checkLoggedIn(false);
  if (ok) {
    setSocketWanted(true);
    connect();
  }
  update({ loggedIn: ok });
})();
