/** Session lifecycle: reset policy, freshness, resets. */
export { systemClock, ManualClock, type Clock } from "./clock.ts";
export { resolveResetPolicy, type ResetPolicy, type ResetConfig, type ResetBlock, type ResetMode } from "./policy.ts";
export { evaluateFreshness, type Freshness, type FreshnessInput } from "./freshness.ts";
export { buildResetEntry, detectResetTrigger, RESET_CARRY_OVER_FIELDS, DEFAULT_RESET_TRIGGERS } from "./reset.ts";
export { mostRecentBoundary, nextBoundary, hostTimeZone, isValidTimeZone } from "./zoned-time.ts";
