/**
 * Heartbeats (OpenClaw's periodic check-ins): every `heartbeat.every` (default 30m) each agent
 * with heartbeats on gets a turn on its main session whose user message is the heartbeat prompt.
 * A heartbeat is skipped outside `activeHours`, while HEARTBEAT.md holds nothing but headings and
 * comments (no model call for nothing), when the main session does not exist or is no longer
 * fresh (a heartbeat never starts a session), and while the session is busy (a run or a queue).
 * Heartbeat turns are not interactions: they never extend idle or daily freshness. A reply of
 * HEARTBEAT_OK is an acknowledgement and is never delivered; another reply goes to the session's
 * last route when `target` is `last` (or that route's channel), at most once per 24h per text.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { mainSessionKey } from "../keys/session-key-helpers.ts";
import type { AgentRuntime } from "../runtime/runtime.ts";
import { minuteOfDayIn, withinActiveHours } from "../runtime/heartbeat.ts";
import { utcDayOf } from "../runtime/usage.ts";
import { HEARTBEAT_FILE } from "../workspace/layout.ts";
import { WorkspaceReader } from "../workspace/bootstrap-files.ts";

/** The same text is not delivered twice within this long (OpenClaw's duplicate suppression). */
const DUPLICATE_WINDOW_MS = 24 * 3600_000;

/** Time and timers, injectable so tests drive the schedule with a manual clock. */
export interface HeartbeatTimers {
  now(): number;
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: HeartbeatTimers = {
  now: () => Date.now(),
  set: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export type HeartbeatSkip =
  | "disabled"
  | "quiet-hours"
  | "empty-heartbeat-file"
  | "no-session"
  | "stale"
  | "busy"
  /** Several gateways share the store: another one runs this heartbeat. */
  | "elsewhere";

export type HeartbeatResult =
  | { status: "skipped"; reason: HeartbeatSkip }
  /** The agent acknowledged (HEARTBEAT_OK): nothing delivered. */
  | { status: "ack" }
  | { status: "replied"; reply: string; delivered: boolean }
  | { status: "error"; error: string };

export interface HeartbeatOptions {
  rt: AgentRuntime;
  agentIds: () => string[];
  logger: Logger;
  timers?: HeartbeatTimers;
  /** Called after each scheduled heartbeat (tests, metrics). */
  onResult?(agentId: string, result: HeartbeatResult): void;
  /** Set when several gateways share the store: a heartbeat runs on the gateway that claims it. */
  claim?(agentId: string, ttlMs: number): Promise<boolean>;
}

/** True when HEARTBEAT.md has no content beyond blank lines, markdown headings and empty list items. */
export function heartbeatFileEmpty(text: string): boolean {
  return text
    .split("\n")
    .map((l) => l.trim())
    .every((l) => l === "" || /^#+(\s|$)/.test(l) || /^[-*+]\s*(\[[ xX]?\]\s*)?$/.test(l) || /^<!--.*-->$/.test(l));
}

export class HeartbeatScheduler {
  private readonly opts: HeartbeatOptions;
  private readonly timers: HeartbeatTimers;
  private readonly handles = new Map<string, unknown>();
  private readonly reader = new WorkspaceReader();
  private stopped = false;

  constructor(opts: HeartbeatOptions) {
    this.opts = opts;
    this.timers = opts.timers ?? realTimers;
  }

  start(): void {
    this.stopped = false;
    for (const agentId of this.opts.agentIds()) {
      const hb = this.opts.rt.settingsFor(agentId).heartbeat;
      if (hb.enabled) this.schedule(agentId, hb.everyMs);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const h of this.handles.values()) this.timers.clear(h);
    this.handles.clear();
  }

  private schedule(agentId: string, ms: number): void {
    if (this.stopped) return;
    this.handles.set(
      agentId,
      this.timers.set(() => {
        void this.claimed(agentId, ms)
          .then((mine) => (mine ? this.runOnce(agentId) : { status: "skipped" as const, reason: "elsewhere" as const }))
          .catch((err: unknown): HeartbeatResult => ({ status: "error", error: String(err) }))
          .then((result) => {
            this.opts.logger.debug({ agentId, heartbeat: result }, "heartbeat");
            this.opts.onResult?.(agentId, result);
            this.schedule(agentId, ms);
          });
      }, ms),
    );
  }

  /** On a shared store, whether this gateway won this heartbeat (the claim outlives clock skew, not the next beat). */
  private async claimed(agentId: string, everyMs: number): Promise<boolean> {
    if (!this.opts.claim) return true;
    return this.opts.claim(agentId, Math.max(1000, Math.floor(everyMs / 2)));
  }

  /** One heartbeat of an agent now (the schedule calls this; so can tests and operators). */
  async runOnce(agentId: string): Promise<HeartbeatResult> {
    const { rt } = this.opts;
    const settings = rt.settingsFor(agentId);
    const hb = settings.heartbeat;
    if (!hb.enabled) return { status: "skipped", reason: "disabled" };
    const now = this.timers.now();
    if (hb.activeHours) {
      const zone = hb.activeHours.timezone ?? settings.userTimezone ?? rt.config.session?.timeZone;
      if (!withinActiveHours(hb.activeHours, minuteOfDayIn(now, zone)))
        return { status: "skipped", reason: "quiet-hours" };
    }
    const file = await this.reader.read(settings.workspace, HEARTBEAT_FILE);
    if (file !== null && heartbeatFileEmpty(file)) return { status: "skipped", reason: "empty-heartbeat-file" };
    const sessionKey = mainSessionKey(agentId, rt.config.session?.mainKey);
    const entry = await rt.manager.get(agentId, sessionKey);
    if (!entry) return { status: "skipped", reason: "no-session" };
    const freshness = await rt.manager.freshnessOf(agentId, sessionKey);
    if (freshness && !freshness.fresh) return { status: "skipped", reason: "stale" };
    // OpenClaw drops a heartbeat that arrives while the session is working.
    if (rt.queueFor(agentId, sessionKey)) return { status: "skipped", reason: "busy" };

    const accepted = await rt.submit(
      {
        channel: "heartbeat",
        chatType: "direct",
        peerId: "heartbeat",
        senderId: "heartbeat",
        senderName: "Heartbeat",
        text: hb.prompt,
      },
      {
        surface: "internal",
        interactive: false,
        commandAuthorized: false,
        touchRoute: false,
        target: { agentId, sessionKey },
        provenance: { kind: "internal_system", sourceTool: "heartbeat" },
      },
    );
    const outcome = await accepted.done;
    if (outcome.status === "silent") return { status: "ack" };
    if (outcome.status !== "ok" || outcome.reply === null)
      return { status: "error", error: outcome.error ?? `heartbeat turn ended ${outcome.status}` };
    return {
      status: "replied",
      reply: outcome.reply,
      delivered: await this.deliver(agentId, sessionKey, outcome.reply),
    };
  }

  /** Sends a heartbeat's alert to the session's last route when the target asks for it, once per text a day. */
  private async deliver(agentId: string, sessionKey: string, text: string): Promise<boolean> {
    const { rt } = this.opts;
    const hb = rt.settingsFor(agentId).heartbeat;
    if (hb.target === "none") return false;
    const entry = await rt.manager.get(agentId, sessionKey);
    if (!entry) return false;
    if (hb.target !== "last" && hb.target !== entry.lastChannel) {
      this.opts.logger.warn(
        { agentId, target: hb.target, lastChannel: entry.lastChannel },
        "heartbeat: target channel is not the session's last route; not delivered",
      );
      return false;
    }
    const now = this.timers.now();
    const sentAt = typeof entry.lastHeartbeatSentAt === "number" ? entry.lastHeartbeatSentAt : undefined;
    if (entry.lastHeartbeatText === text && sentAt !== undefined && now - sentAt < DUPLICATE_WINDOW_MS) return false;
    // Enqueued once per session, day and text even if a crash comes before the row notes it.
    const digest = createHash("sha256").update(text).digest("hex").slice(0, 16);
    const delivered = await rt.deliverToRoute(agentId, sessionKey, text, {
      dedupeId: `heartbeat:${agentId}:${sessionKey}:${utcDayOf(now)}:${digest}`,
    });
    if (delivered)
      await rt.manager.patchSession(agentId, sessionKey, (cur) =>
        cur ? { ...cur, lastHeartbeatText: text, lastHeartbeatSentAt: now } : undefined,
      );
    return delivered;
  }
}
