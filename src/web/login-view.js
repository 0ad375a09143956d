// @ts-check
/** The login form: the gateway token is exchanged for an HttpOnly cookie (POST /auth/login). */
import { html, useState } from "./vendor/preact.js";
import { Icon } from "./icons.js";
import { messageOf } from "./format.js";
import { state, update } from "./store.js";
import { connect, logIn, setSocketWanted } from "./transport.js";

export function LoginView() {
  const [token, setToken] = useState("");
  // A login that expired while the page was open says so here.
  const [error, setError] = useState(state.loginError);
  const [busy, setBusy] = useState(false);
  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    if (!token.trim()) {
      setError("Enter the gateway token.");
      return;
    }
    setBusy(true);
    try {
      const r = await logIn(token.trim());
      if (!r.ok) {
        setError(
          r.status === 401 ? `Invalid token${r.message ? `: ${r.message}` : ""}` : (r.message ?? `HTTP ${r.status}`),
        );
        return;
      }
      setError("");
      setToken("");
      setSocketWanted(true);
      connect();
      update({ loggedIn: true });
    } catch (err) {
      setError(`The gateway cannot be reached: ${messageOf(err)}`);
    } finally {
      setBusy(false);
    }
  };
  return html`<main id="login-view" class="login-view">
    <form id="login-form" class="login-card" novalidate onSubmit=${submit}>
      <h1 class="brand-title"><${Icon} name="message-square" size=${24} /> Pincer Control</h1>
      <p class="muted">
        Enter the gateway token to sign in. It is printed when the gateway starts and stored in the gateway's home
        directory.
      </p>
      <label for="token">Gateway token</label>
      <input
        id="token"
        name="token"
        type="password"
        autocomplete="current-password"
        spellcheck="false"
        required
        value=${token}
        onInput=${(/** @type {InputEvent} */ e) => setToken(/** @type {HTMLInputElement} */ (e.target).value)}
        aria-invalid=${error ? "true" : "false"}
        aria-describedby="login-error"
      />
      <button id="login" type="submit" class="btn primary" disabled=${busy}>Log in</button>
      <p id="login-error" class="error-text" role="alert" data-testid="login-error">${error}</p>
    </form>
  </main>`;
}
