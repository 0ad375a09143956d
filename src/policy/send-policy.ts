/**
 * Send policy: decides whether a session's replies may be delivered. Evaluated as OpenClaw does:
 * the session's `/send` override, else the first matching deny rule, else allow if any rule
 * matched, else `default`.
 * In Pincer a deny blocks outbound delivery only — the turn still runs and is recorded.
 */
import { deriveChatTypeFromKey } from "../keys/session-key-helpers.ts";
import type { SessionEntry } from "../store/entry.ts";

export type SendDecision = "allow" | "deny";

export interface SendPolicyRule {
  action: string;
  match?: { channel?: string; chatType?: string; keyPrefix?: string; rawKeyPrefix?: string; provider?: string };
}

export interface SendPolicyConfig {
  default?: SendDecision;
  rules?: readonly SendPolicyRule[];
}

function normalizeChatType(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const v = value.toLowerCase();
  return v === "dm" ? "direct" : v;
}

function stripAgentPrefix(key: string): string {
  const m = /^agent:[^:]+:(.*)$/.exec(key);
  return m ? m[1]! : key;
}

/** `<ch>:group:…` / `<ch>:channel:…` keys name their channel; direct keys under `main` scope do not. */
function channelFromKey(key: string): string | undefined {
  const m = /^([^:]+):(group|channel):/.exec(stripAgentPrefix(key).toLowerCase());
  return m ? m[1] : undefined;
}

export function resolveSendPolicy(
  policy: SendPolicyConfig | undefined,
  entry: Pick<SessionEntry, "sendPolicy" | "channel" | "lastChannel" | "chatType"> | undefined,
  sessionKey: string,
  context: { channel?: string; chatType?: string } = {},
): SendDecision {
  if (entry?.sendPolicy === "allow" || entry?.sendPolicy === "deny") return entry.sendPolicy;
  if (!policy) return "allow";
  const channel = (
    context.channel ??
    entry?.channel ??
    entry?.lastChannel ??
    channelFromKey(sessionKey)
  )?.toLowerCase();
  const derived = deriveChatTypeFromKey(sessionKey);
  const chatType =
    normalizeChatType(context.chatType ?? entry?.chatType) ?? (derived === "unknown" ? undefined : derived);
  const raw = sessionKey.toLowerCase();
  const stripped = stripAgentPrefix(raw);
  let allowed = false;
  for (const rule of policy.rules ?? []) {
    const match = rule.match ?? {};
    const wantChannel = match.channel ?? match.provider;
    if (wantChannel && wantChannel.toLowerCase() !== channel) continue;
    if (match.chatType && normalizeChatType(match.chatType) !== chatType) continue;
    if (match.rawKeyPrefix && !raw.startsWith(match.rawKeyPrefix.toLowerCase())) continue;
    if (match.keyPrefix) {
      const p = match.keyPrefix.toLowerCase();
      if (!raw.startsWith(p) && !stripped.startsWith(p)) continue;
    }
    // Unknown actions count as allow (as in OpenClaw); the first matching deny wins at once.
    if (rule.action?.toLowerCase() === "deny") return "deny";
    allowed = true;
  }
  return allowed ? "allow" : (policy.default ?? "allow");
}
