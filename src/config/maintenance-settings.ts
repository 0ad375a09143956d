/** Normalised maintenance settings (`null` = that rule is disabled). */
export interface MaintenanceSettings {
  mode: "warn" | "enforce";
  pruneAfterMs: number | null;
  maxEntries: number | null;
  /** Automatic capping starts above this many rows and cleans back down to `maxEntries`. */
  highWaterEntries: number | null;
  rotateBytes?: number | null;
  /** How long `.reset.` archives are kept; null = forever. */
  resetArchiveRetentionMs: number | null;
  maxDiskBytes: number | null;
  highWaterBytes: number | null;
}
