/**
 * Heartbeat settings and the reply contract, as in OpenClaw: a periodic turn on the agent's main
 * session with a fixed prompt (default: read HEARTBEAT.md, reply HEARTBEAT_OK when nothing needs
 * attention). A reply that starts or ends with HEARTBEAT_OK and has at most `ackMaxChars` other
 * characters is an acknowledgement and is never delivered. The scheduler is the gateway's
 * (gateway/heartbeat.ts); this file holds what the runtime needs to recognise heartbeat turns.
 */
import type { AgentsConfig, HeartbeatConfig } from "../config/agents-schema.ts";
import { parseDurationMs } from "../util/units.ts";
import { defaultAgentIdOf } from "../workspace/layout.ts";
import { DEFAULT_HEARTBEAT_PROMPT, HEARTBEAT_TOKEN } from "./system-prompt.ts";

export const DEFAULT_HEARTBEAT_EVERY = "30m";
export const DEFAULT_ACK_MAX_CHARS = 300;

export interface HeartbeatSettings {
  /**
   * False when `every` is 0; as in OpenClaw, only the default agent runs heartbeats unless some
   * agents have their own `heartbeat` block, then only those do.
   */
  enabled: boolean;
  everyMs: number;
  prompt: string;
  /** `none`: never delivered; `last`: the main session's last route; else a channel name. */
  target: string;
  to: string | undefined;
  activeHours: { start: string; end: string; timezone: string | undefined } | undefined;
  ackMaxChars: number;
}

/** The agent's `heartbeat` merged over `agents.defaults.heartbeat`, key by key. */
export function resolveHeartbeat(agents: AgentsConfig | undefined, agentId: string): HeartbeatSettings {
  const defaults: HeartbeatConfig = agents?.defaults?.heartbeat ?? {};
  const own = agents?.list?.find((a) => a.id.toLowerCase() === agentId)?.heartbeat;
  const someoneHasOwn = agents?.list?.some((a) => a.heartbeat !== undefined) ?? false;
  const merged: HeartbeatConfig = { ...defaults, ...(own ?? {}) };
  const everyMs = parseDurationMs(merged.every ?? DEFAULT_HEARTBEAT_EVERY, "m");
  return {
    enabled: everyMs > 0 && (someoneHasOwn ? own !== undefined : agentId === defaultAgentIdOf(agents)),
    everyMs,
    prompt: merged.prompt ?? DEFAULT_HEARTBEAT_PROMPT,
    target: merged.target ?? "none",
    to: merged.to,
    activeHours: merged.activeHours
      ? { start: merged.activeHours.start, end: merged.activeHours.end, timezone: merged.activeHours.timezone }
      : undefined,
    ackMaxChars: merged.ackMaxChars ?? DEFAULT_ACK_MAX_CHARS,
  };
}

/** The token with optional markdown emphasis around it (`**HEARTBEAT_OK**`). */
const TOKEN_AT_START = new RegExp(`^[*_\`~]*${HEARTBEAT_TOKEN}[*_\`~]*[.!]?`);
const TOKEN_AT_END = new RegExp(`[*_\`~]*${HEARTBEAT_TOKEN}[*_\`~]*[.!]?$`);

/**
 * True when `text` is a heartbeat acknowledgement: HEARTBEAT_OK at its start or end and at most
 * `ackMaxChars` characters besides (outside heartbeat turns pass 0: only a bare token is silent).
 */
export function isHeartbeatAck(text: string, ackMaxChars: number): boolean {
  const t = text.trim();
  let rest: string | null = null;
  if (TOKEN_AT_START.test(t)) rest = t.replace(TOKEN_AT_START, "");
  else if (TOKEN_AT_END.test(t)) rest = t.replace(TOKEN_AT_END, "");
  return rest !== null && rest.trim().length <= ackMaxChars;
}

/** Whether `minuteOfDay` (0-1439) lies in `[start, end)`; a window past midnight (22:00-06:00) wraps. */
export function withinActiveHours(window: { start: string; end: string }, minuteOfDay: number): boolean {
  const toMin = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  const start = toMin(window.start);
  const end = toMin(window.end);
  if (start === end) return true;
  return start < end ? minuteOfDay >= start && minuteOfDay < end : minuteOfDay >= start || minuteOfDay < end;
}

/** Minutes since midnight of `now` in `timeZone` (the host's when undefined). */
export function minuteOfDayIn(now: number, timeZone: string | undefined): number {
  const parts = new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    .formatToParts(new Date(now))
    .reduce<Record<string, string>>((acc, p) => ({ ...acc, [p.type]: p.value }), {});
  return Number(parts.hour) * 60 + Number(parts.minute);
}
