/**
 * `${VAR}` in any string of the config reads VAR from the environment at load, as OpenClaw
 * resolves its config (`botToken: "${TELEGRAM_BOT_TOKEN}"`, `token: "${OPENCLAW_GATEWAY_TOKEN}"`):
 * names are OpenClaw's (`[A-Z_][A-Z0-9_]*`), `$${VAR}` is the literal text `${VAR}`, and a variable
 * that is not set (or empty) leaves the reference as it is and is reported, so a key that needs
 * it (a provider's `apiKey`) still fails naming the variable.
 */
const TOKEN = /\$\$\{([A-Z_][A-Z0-9_]*)\}|\$\{([A-Z_][A-Z0-9_]*)\}/g;

const isPlain = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype;

export function substituteEnvRefs(
  value: unknown,
  env: NodeJS.ProcessEnv,
  onMissing: (name: string, at: string) => void,
  at = "",
): unknown {
  if (typeof value === "string") {
    if (!value.includes("$")) return value;
    return value.replace(TOKEN, (whole, escaped: string | undefined, name: string | undefined) => {
      if (escaped !== undefined) return `\${${escaped}}`;
      const v = env[name!];
      if (v === undefined || v === "") {
        onMissing(name!, at || "(root)");
        return whole;
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => substituteEnvRefs(item, env, onMissing, `${at}[${i}]`));
  if (isPlain(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnvRefs(v, env, onMissing, at ? `${at}.${k}` : k);
    return out;
  }
  return value;
}
