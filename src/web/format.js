// @ts-check
/** Pure text helpers of the WebChat: ages, token counts, model names, ids, error text. */

/** @typedef {import("../gateway/protocol.ts").SessionRow} SessionRow */
/** @typedef {import("../gateway/protocol.ts").MethodResult<"sessions.list">["defaults"]} SessionDefaults */

/** A random id; crypto.randomUUID only exists in secure contexts (plain http on a LAN is not). */
export function newId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** @param {unknown} err */
export function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}

/** @param {number | undefined} ms */
export function fmtAge(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 45) return "just now";
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.round(h / 24)}d ago`;
}

/** @param {number} n */
export function fmtTokens(n) {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1).replace(/\.0$/, "")}M`;
  if (n >= 1_000) return `${(n / 1_000).toFixed(1).replace(/\.0$/, "")}k`;
  return String(n);
}

/** @param {SessionRow} s */
export function tokensOf(s) {
  if (typeof s.totalTokens === "number") return s.totalTokens;
  const sum =
    (typeof s.inputTokens === "number" ? s.inputTokens : 0) + (typeof s.outputTokens === "number" ? s.outputTokens : 0);
  return sum;
}

/** The session's model, else the gateway's default one, as `provider/model`. @param {SessionRow | undefined} s @param {SessionDefaults | null} defaults */
export function modelOf(s, defaults) {
  const provider = s?.modelProvider ?? defaults?.modelProvider;
  const model = s?.model ?? defaults?.model;
  if (!model) return "";
  return provider ? `${provider}/${model}` : String(model);
}

/** @param {number | undefined} usd */
export function fmtCost(usd) {
  if (typeof usd !== "number" || !Number.isFinite(usd)) return "";
  return usd >= 0.01 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}

/** @param {number | string | null | undefined} t */
export function fmtTime(t) {
  if (t === null || t === undefined) return "";
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}

/** @param {number} bytes */
export function fmtBytes(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${bytes} B`;
}

/**
 * A readable title for a session: its label or display name, else a name made from the key's
 * meaning (never the raw key cut in the middle; the full key stays in a tooltip).
 * @param {{key: string, label?: string, displayName?: string, channel?: string}} s
 */
export function sessionTitle(s) {
  if (s.label) return s.label;
  if (s.displayName) return s.displayName;
  const parts = s.key.split(":");
  const rest = parts.slice(2);
  if (rest.length === 1) return rest[0] === "main" ? "Main conversation" : (rest[0] ?? s.key);
  if (rest[0] === "webchat" && rest[1] === "direct")
    return `Chat ${rest
      .slice(2)
      .join(":")
      .replace(/^chat-/, "")}`;
  if (rest[0] === "cron") return `Cron · ${rest[1] ?? ""}`;
  const [channel, kind, ...peer] = rest;
  if (kind === "direct" || kind === "group" || kind === "channel")
    return `${channel} ${kind === "direct" ? "DM" : kind} · ${peer.join(":")}`;
  return rest.join(":");
}

/** A conversation's label from its first message: one line, at most 40 characters. @param {string} text */
export function labelFrom(text) {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 40 ? `${flat.slice(0, 39)}…` : flat;
}
