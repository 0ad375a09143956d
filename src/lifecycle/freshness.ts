/**
 * Whether a session is still fresh. Daily freshness asks when the session *started*
 * (`sessionStartedAt`); idle freshness asks when the user last *spoke* (`lastInteractionAt`).
 * `updatedAt` — any bookkeeping write — never keeps a session alive. Pure and exact.
 */
import type { ResetPolicy } from "./policy.ts";
import { mostRecentBoundary, nextBoundary } from "./zoned-time.ts";

export interface FreshnessInput {
  entry: { sessionStartedAt?: number; lastInteractionAt?: number; updatedAt: number };
  now: number;
  policy: ResetPolicy;
  /** IANA zone for daily boundaries (default: the host's). */
  timeZone?: string;
  /** The transcript header's time, for legacy rows without `sessionStartedAt`. */
  transcriptStartedAt?: number;
  /** The transcript's newest user message, for legacy rows without `lastInteractionAt`. */
  transcriptLastInteractionAt?: number;
}

export interface Freshness {
  fresh: boolean;
  staleReason: "daily" | "idle" | null;
  /** When the session will become (or became) stale if nothing else happens; null = never. */
  nextResetAt: number | null;
  dailyResetAt?: number;
  idleExpiresAt?: number;
}

/** A timestamp from the future (clock skew, a host clock jump backwards) counts as now. */
function clamp(ts: number | undefined, now: number): number | undefined {
  if (ts === undefined || !Number.isFinite(ts)) return undefined;
  return ts > now ? now : ts;
}

export function evaluateFreshness(input: FreshnessInput): Freshness {
  const { entry, now, policy } = input;
  const started =
    clamp(entry.sessionStartedAt, now) ?? clamp(input.transcriptStartedAt, now) ?? clamp(entry.updatedAt, now) ?? 0;
  // A row OpenClaw wrote has no lastInteractionAt: its transcript's newest user message, then the start.
  const lastInteraction =
    clamp(entry.lastInteractionAt, now) ?? clamp(input.transcriptLastInteractionAt, now) ?? started;
  if (policy.mode === "none") return { fresh: true, staleReason: null, nextResetAt: null };

  let dailyStaleAt: number | undefined;
  let dailyResetAt: number | undefined;
  if (policy.mode === "daily") {
    dailyResetAt = mostRecentBoundary(now, policy.atHour, input.timeZone);
    // The first boundary after the session began is when daily expiry takes it.
    dailyStaleAt =
      started < dailyResetAt
        ? nextBoundary(started, policy.atHour, input.timeZone)
        : nextBoundary(now, policy.atHour, input.timeZone);
  }
  const idleExpiresAt = policy.idleMinutes !== undefined ? lastInteraction + policy.idleMinutes * 60_000 : undefined;

  const staleDaily = dailyResetAt !== undefined && started < dailyResetAt;
  const staleIdle = idleExpiresAt !== undefined && now > idleExpiresAt;
  let staleReason: Freshness["staleReason"] = null;
  if (staleDaily && staleIdle) staleReason = dailyStaleAt! <= idleExpiresAt! ? "daily" : "idle";
  else if (staleDaily) staleReason = "daily";
  else if (staleIdle) staleReason = "idle";

  const times = [dailyStaleAt, idleExpiresAt].filter((t): t is number => t !== undefined);
  return {
    fresh: staleReason === null,
    staleReason,
    nextResetAt: times.length ? Math.min(...times) : null,
    ...(dailyResetAt !== undefined ? { dailyResetAt } : {}),
    ...(idleExpiresAt !== undefined ? { idleExpiresAt } : {}),
  };
}
