// TEMPORARY STUB (replaced by the full implementation).
export interface PruneSettings { mode: "off" | "cache-ttl"; ttlMs: number }
export function resolvePruneSettings(raw: unknown): PruneSettings {
  const mode = (raw as { mode?: unknown } | undefined)?.mode === "cache-ttl" ? "cache-ttl" : "off";
  return { mode, ttlMs: 300_000 };
}
export function isCacheTtlEligible(provider: string, modelId: string): boolean {
  return provider === "anthropic" || modelId.startsWith("anthropic/");
}
