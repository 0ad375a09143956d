/**
 * OpenClaw's bootstrap truncation warning: lines as OpenClaw words them, `once` per truncation
 * signature (seen signatures read from a stored report), `always` every turn, `off` never; a
 * different truncation (a file grew) is a new signature and warns again.
 */
import { describe, expect, it } from "vitest";
import { seenSignatures, truncationWarning } from "../src/runtime/bootstrap-warning.ts";
import type { InjectedFileStats } from "../src/runtime/context-report.ts";

const caps = { maxChars: 100, totalMaxChars: 150 };
const file = (name: string, rawChars: number, injectedChars: number): InjectedFileStats => ({
  name,
  path: `/ws/${name}`,
  missing: false,
  rawChars,
  injectedChars,
  truncated: injectedChars < rawChars,
});

describe("truncationWarning", () => {
  const files = [file("AGENTS.md", 40, 40), file("SOUL.md", 400, 100), file("USER.md", 90, 10)];

  it("words the warning as OpenClaw does and keeps the signature as seen", () => {
    const w = truncationWarning(files, caps, "once", []);
    expect(w.lines).toEqual([
      "SOUL.md: 400 raw -> 100 injected (~75% removed; max/file, max/total).",
      "USER.md: 90 raw -> 10 injected (~89% removed; max/total).",
      "If unintentional, raise agents.defaults.bootstrapMaxChars and/or agents.defaults.bootstrapTotalMaxChars.",
    ]);
    expect(w.meta).toMatchObject({ warningMode: "once", warningShown: true, truncatedFiles: 2, totalNearLimit: true });
    expect(w.meta.warningSignaturesSeen).toEqual([w.meta.promptWarningSignature]);
  });

  it("once: not again for the same truncation, again for another; always: every time; off: never", () => {
    const first = truncationWarning(files, caps, "once", []);
    const seen = seenSignatures({ bootstrapTruncation: first.meta });
    expect(truncationWarning(files, caps, "once", seen).lines).toEqual([]);
    const grown = [file("AGENTS.md", 40, 40), file("SOUL.md", 500, 100), file("USER.md", 90, 10)];
    const again = truncationWarning(grown, caps, "once", seen);
    expect(again.meta.warningShown).toBe(true);
    expect(again.meta.warningSignaturesSeen).toHaveLength(2);
    expect(truncationWarning(files, caps, "always", seen).meta.warningShown).toBe(true);
    expect(truncationWarning(files, caps, "off", []).lines).toEqual([]);
    expect(truncationWarning([file("AGENTS.md", 40, 40)], caps, "always", []).lines).toEqual([]);
    expect(seenSignatures({ bootstrapTruncation: { warningMode: "off", promptWarningSignature: "x" } })).toEqual([]);
    expect(seenSignatures(undefined)).toEqual([]);
  });
});
