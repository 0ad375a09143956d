/**
 * Wall-clock boundaries in an IANA time zone without a date library: Intl tells the wall time of
 * an instant; we solve for the instant of a wall time, handling DST gaps (a skipped hour uses the
 * first valid instant after the gap) and overlaps (a repeated hour counts once: its first
 * occurrence).
 */
interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

let hostZone: string | null = null;

/** The host's zone, read once (resolving it costs more than the rest of a freshness check). */
export function hostTimeZone(): string {
  hostZone ??= Intl.DateTimeFormat().resolvedOptions().timeZone;
  return hostZone;
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function wallTime(ms: number, timeZone: string): WallTime {
  const parts = formatter(timeZone).formatToParts(new Date(ms));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return {
    year: get("year"),
    month: get("month"),
    day: get("day"),
    hour: get("hour"),
    minute: get("minute"),
    second: get("second"),
  };
}

/** The wall time read as if it were UTC: the reference point for offsets. */
function wallAsUtc(w: WallTime): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

/** UTC offset of the zone at instant `ms`, in ms (whole seconds). */
function offsetAt(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallAsUtc(wallTime(whole, timeZone)) - whole;
}

const HOUR = 3_600_000;

/** The first instant at which the zone's wall clock shows `year-month-day hour:00`, or the first after a gap. */
export function instantOfWallHour(year: number, month: number, day: number, hour: number, timeZone: string): number {
  const target = Date.UTC(year, month - 1, day, hour, 0, 0);
  // Offsets on either side of any transition near the target (transitions are months apart).
  const before = offsetAt(target - 14 * HOUR, timeZone);
  const after = offsetAt(target + 14 * HOUR, timeZone);
  const candidates = [target - before, target - after].filter((t) => wallAsUtc(wallTime(t, timeZone)) === target);
  if (candidates.length) return Math.min(...candidates);
  // The wall time does not exist (spring forward): find the first instant whose wall time is past it.
  let lo = Math.min(target - before, target - after);
  let hi = Math.max(target - before, target - after);
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (wallAsUtc(wallTime(mid, timeZone)) >= target) hi = mid;
    else lo = mid;
  }
  return hi;
}

function shiftDay(year: number, month: number, day: number, delta: number): [number, number, number] {
  const d = new Date(Date.UTC(year, month - 1, day + delta));
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
}

/**
 * Per zone and hour, a few recent boundary intervals [from, to): nearly every call on the message
 * path falls inside one of them, so the Intl arithmetic runs about once a day per zone.
 */
const intervalCache = new Map<string, Array<{ from: number; to: number }>>();
const INTERVALS_KEPT = 4;

function boundaryInterval(ms: number, atHour: number, timeZone: string): { from: number; to: number } {
  const cacheKey = `${timeZone}|${atHour}`;
  const list = intervalCache.get(cacheKey) ?? [];
  const hit = list.find((iv) => ms >= iv.from && ms < iv.to);
  if (hit) return hit;
  const from = computeMostRecentBoundary(ms, atHour, timeZone);
  const iv = { from, to: computeNextBoundary(from, atHour, timeZone) };
  list.unshift(iv);
  if (list.length > INTERVALS_KEPT) list.pop();
  intervalCache.set(cacheKey, list);
  return iv;
}

/** The latest instant ≤ now at which the wall clock reached atHour:00 in the zone. */
export function mostRecentBoundary(nowMs: number, atHour: number, timeZone: string = hostTimeZone()): number {
  return boundaryInterval(nowMs, atHour, timeZone).from;
}

function computeMostRecentBoundary(nowMs: number, atHour: number, timeZone: string): number {
  const w = wallTime(nowMs, timeZone);
  for (let delta = 0; delta >= -2; delta--) {
    const [y, m, d] = shiftDay(w.year, w.month, w.day, delta);
    const b = instantOfWallHour(y, m, d, atHour, timeZone);
    if (b <= nowMs) return b;
  }
  const [y, m, d] = shiftDay(w.year, w.month, w.day, -3);
  return instantOfWallHour(y, m, d, atHour, timeZone);
}

/** The first instant strictly after `ms` at which the wall clock reaches atHour:00 in the zone. */
export function nextBoundary(ms: number, atHour: number, timeZone: string = hostTimeZone()): number {
  return boundaryInterval(ms, atHour, timeZone).to;
}

function computeNextBoundary(ms: number, atHour: number, timeZone: string): number {
  const w = wallTime(ms, timeZone);
  for (let delta = -1; delta <= 2; delta++) {
    const [y, m, d] = shiftDay(w.year, w.month, w.day, delta);
    const b = instantOfWallHour(y, m, d, atHour, timeZone);
    if (b > ms) return b;
  }
  const [y, m, d] = shiftDay(w.year, w.month, w.day, 3);
  return instantOfWallHour(y, m, d, atHour, timeZone);
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
