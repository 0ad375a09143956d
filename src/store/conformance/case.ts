/** Declares one kit case: skipped (with the harness's reason in its title) or run. */
import { it } from "vitest";
import { skipReason, type CaseName, type StoreHarness } from "./harness.ts";

export function storeCase(
  h: StoreHarness,
  name: CaseName,
  title: string,
  run: () => Promise<void>,
  timeoutMs?: number,
): void {
  const reason = skipReason(h, name);
  if (reason) it.skip(`${name}: ${title} (skipped: ${reason})`, run);
  else it(`${name}: ${title}`, run, timeoutMs);
}
