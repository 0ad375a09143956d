/**
 * OpenClaw's bootstrap truncation warning (`agents.defaults.bootstrapPromptTruncationWarning`,
 * `off | once | always`, default `once`): when workspace files were cut to fit the caps, the system
 * prompt tells the agent which ones and by how much, so it reads the rest itself. `once` shows a
 * given truncation (its signature: the caps and each cut file's sizes) once per session; the
 * signatures seen are kept on the row's `systemPromptReport.bootstrapTruncation`, as OpenClaw
 * keeps them, so a restart does not repeat the warning.
 */
import type { InjectedFileStats } from "./context-report.ts";

export type TruncationWarningMode = "off" | "once" | "always";
export const TRUNCATION_WARNING_MODES: readonly TruncationWarningMode[] = ["off", "once", "always"];
export const DEFAULT_TRUNCATION_WARNING_MODE: TruncationWarningMode = "once";

const NEAR_LIMIT_RATIO = 0.85;
const MAX_FILES_LISTED = 3;
const MAX_SIGNATURES = 32;

/** What OpenClaw's report stores under `bootstrapTruncation`. */
export interface BootstrapTruncationMeta {
  warningMode: TruncationWarningMode;
  warningShown: boolean;
  promptWarningSignature?: string;
  warningSignaturesSeen?: string[];
  truncatedFiles: number;
  nearLimitFiles: number;
  totalNearLimit: boolean;
}

export interface TruncationWarning {
  /** The warning's lines for the system prompt (empty: nothing to say this turn). */
  lines: string[];
  meta: BootstrapTruncationMeta;
}

/** The signatures a row's stored report has seen (OpenClaw's `resolveBootstrapWarningSignaturesSeen`). */
export function seenSignatures(report: unknown): string[] {
  const t = (report as { bootstrapTruncation?: Record<string, unknown> } | null | undefined)?.bootstrapTruncation;
  if (!t || typeof t !== "object") return [];
  const list = Array.isArray(t.warningSignaturesSeen)
    ? t.warningSignaturesSeen.filter((s): s is string => typeof s === "string" && s.trim() !== "")
    : [];
  if (list.length > 0) return [...new Set(list)];
  if (t.warningMode === "off") return [];
  return typeof t.promptWarningSignature === "string" && t.promptWarningSignature.trim() !== ""
    ? [t.promptWarningSignature]
    : [];
}

export function truncationWarning(
  files: readonly InjectedFileStats[],
  caps: { maxChars: number; totalMaxChars: number },
  mode: TruncationWarningMode,
  seen: readonly string[],
): TruncationWarning {
  const present = files.filter((f) => !f.missing);
  const injectedChars = present.reduce((n, f) => n + f.injectedChars, 0);
  const totalOver = injectedChars >= caps.totalMaxChars;
  const totalNearLimit = injectedChars >= Math.ceil(caps.totalMaxChars * NEAR_LIMIT_RATIO);
  const cut = present
    .filter((f) => f.truncated)
    .map((f) => ({
      ...f,
      causes: [...(f.rawChars > caps.maxChars ? ["per-file-limit"] : []), ...(totalOver ? ["total-limit"] : [])],
    }));
  const nearLimitFiles = present.filter((f) => f.rawChars >= Math.ceil(caps.maxChars * NEAR_LIMIT_RATIO)).length;
  const signature =
    cut.length === 0
      ? undefined
      : JSON.stringify({
          bootstrapMaxChars: caps.maxChars,
          bootstrapTotalMaxChars: caps.totalMaxChars,
          files: cut
            .map((f) => ({ path: f.path, rawChars: f.rawChars, injectedChars: f.injectedChars, causes: f.causes }))
            .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
        });
  const shown = mode !== "off" && signature !== undefined && (mode === "always" || !seen.includes(signature));
  const seenNow = signature && mode !== "off" && !seen.includes(signature) ? [...seen, signature] : [...seen];
  const lines: string[] = [];
  if (shown) {
    for (const f of cut.slice(0, MAX_FILES_LISTED)) {
      const pct = f.rawChars > 0 ? Math.round(((f.rawChars - f.injectedChars) / f.rawChars) * 100) : 0;
      const causes = f.causes.map((c) => (c === "per-file-limit" ? "max/file" : "max/total")).join(", ");
      lines.push(
        `${f.name}: ${f.rawChars} raw -> ${f.injectedChars} injected (~${Math.max(0, pct)}% removed${causes ? `; ${causes}` : ""}).`,
      );
    }
    if (cut.length > MAX_FILES_LISTED) lines.push(`+${cut.length - MAX_FILES_LISTED} more truncated file(s).`);
    lines.push(
      "If unintentional, raise agents.defaults.bootstrapMaxChars and/or agents.defaults.bootstrapTotalMaxChars.",
    );
  }
  return {
    lines,
    meta: {
      warningMode: mode,
      warningShown: shown,
      ...(signature ? { promptWarningSignature: signature } : {}),
      ...(seenNow.length > 0 ? { warningSignaturesSeen: seenNow.slice(-MAX_SIGNATURES) } : {}),
      truncatedFiles: cut.length,
      nearLimitFiles,
      totalNearLimit,
    },
  };
}
