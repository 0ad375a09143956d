/**
 * `${VAR}` in any string of the config reads VAR from the environment at load, as OpenClaw
 * resolves its config (`botToken: "${TELEGRAM_BOT_TOKEN}"`, `token: "${OPENCLAW_GATEWAY_TOKEN}"`):
 * names are OpenClaw's (`[A-Z_][A-Z0-9_]*`), `$${VAR}` is the literal text `${VAR}`, and a variable
 * that is not set (or empty) leaves the reference as it is and is reported, so a key that needs
 * it (a provider's `apiKey`) still fails naming the variable. A secret (a token, a password) whose
 * variable is unset is left out instead: the literal `${VAR}` would be a secret anyone can guess.
 */
const TOKEN = /\$\$\{([A-Z_][A-Z0-9_]*)\}|\$\{([A-Z_][A-Z0-9_]*)\}/g;

/** Keys whose value is a secret the gateway or a channel authenticates with. */
const SECRET_KEY = /^(token|password|botToken|appToken|signingSecret|secret)$/i;

const isPlain = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype;

export function substituteEnvRefs(
  value: unknown,
  env: NodeJS.ProcessEnv,
  onMissing: (name: string, at: string, dropped: boolean) => void,
  at = "",
  key = "",
): unknown {
  if (typeof value === "string") {
    if (!value.includes("$")) return value;
    const unset: string[] = [];
    const text = value.replace(TOKEN, (whole, escaped: string | undefined, name: string | undefined) => {
      if (escaped !== undefined) return `\${${escaped}}`;
      const v = env[name!];
      if (v === undefined || v === "") {
        unset.push(name!);
        return whole;
      }
      return v;
    });
    const drop = unset.length > 0 && SECRET_KEY.test(key);
    for (const name of unset) onMissing(name, at || "(root)", drop);
    return drop ? undefined : text;
  }
  if (Array.isArray(value)) return value.map((item, i) => substituteEnvRefs(item, env, onMissing, `${at}[${i}]`, key));
  if (isPlain(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = substituteEnvRefs(v, env, onMissing, at ? `${at}.${k}` : k, k);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return value;
}
