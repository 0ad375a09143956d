/**
 * The conformance kit every `SessionStore` backend must pass, by capability, for Pincer's own
 * backends and any third-party one: call `runStoreConformance(harness)` from a vitest file (or run
 * single capabilities with the `*Cases` functions). Test-only: it imports vitest, so production
 * code never imports this folder.
 */
import { appendAndPatchCases } from "./append-and-patch.ts";
import { archiveCases } from "./archive.ts";
import { eventCases } from "./events.ts";
import type { StoreHarness } from "./harness.ts";
import { leaseCases } from "./leases.ts";
import { listCases } from "./list.ts";
import { migrationCases } from "./migration.ts";
import { rowCases } from "./rows.ts";
import { schemaVersionCases } from "./schema-version.ts";
import { transcriptCases } from "./transcripts.ts";
import { twoWriterCases } from "./two-writers.ts";
import { unreachableCases } from "./unreachable.ts";

export { CASES, type CaseName, type StoreHarness } from "./harness.ts";
export {
  appendAndPatchCases,
  archiveCases,
  eventCases,
  leaseCases,
  listCases,
  migrationCases,
  rowCases,
  schemaVersionCases,
  transcriptCases,
  twoWriterCases,
  unreachableCases,
};

export function runStoreConformance(harness: StoreHarness): void {
  rowCases(harness);
  listCases(harness);
  transcriptCases(harness);
  appendAndPatchCases(harness);
  archiveCases(harness);
  twoWriterCases(harness);
  leaseCases(harness);
  migrationCases(harness);
  eventCases(harness);
  schemaVersionCases(harness);
  unreachableCases(harness);
}
