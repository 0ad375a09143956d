/**
 * How every backend stores a transcript: one JSON text per line, kept exactly as written (so an
 * imported text exports byte-identical), parsed on read with bad lines reported and skipped, and
 * archived under OpenClaw's name `<id>.jsonl.<reason>.<ISO time with - for :>`. One copy of these
 * rules, so the backends cannot drift apart (the fs backend adds byte offsets and torn tails on
 * top, in fs/transcript-files.ts).
 */
import type { ArchiveReason, ReadIssue, TranscriptLine } from "./types.ts";

/** One stored line text and its 1-based line number in the transcript. */
export interface StoredLine {
  text: string;
  line: number;
}

/** Parses stored line texts; a line that is not a JSON object is reported against `file` and skipped. */
export function parseStoredLines(
  file: string,
  stored: Iterable<StoredLine>,
): { lines: TranscriptLine[]; issues: ReadIssue[] } {
  const lines: TranscriptLine[] = [];
  const issues: ReadIssue[] = [];
  for (const { text, line } of stored) {
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      issues.push({ file, line, byteOffset: 0, reason: "malformed JSON" });
      continue;
    }
    if (value && typeof value === "object" && !Array.isArray(value)) lines.push(value as TranscriptLine);
    else issues.push({ file, line, byteOffset: 0, reason: "not a JSON object" });
  }
  return { lines, issues };
}

/** Line texts numbered from `firstLine` on (the common case: a contiguous run of lines). */
export function numberedFrom(firstLine: number, texts: readonly string[]): StoredLine[] {
  return texts.map((text, i) => ({ text, line: firstLine + i }));
}

/** JSONL text to line texts: split on "\n", dropping only the empty piece after the final newline. */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const parts = text.split("\n");
  if (parts[parts.length - 1] === "") parts.pop();
  return parts;
}

/** Line texts back to JSONL: each line followed by "\n" (the inverse of splitLines for such text). */
export function joinLines(lines: readonly string[]): string {
  return lines.length ? lines.join("\n") + "\n" : "";
}

/** ISO time with `:` replaced by `-`, as OpenClaw names archives. */
export function archiveTimestamp(ms: number): string {
  return new Date(ms).toISOString().replaceAll(":", "-");
}

/** The archive name of a transcript file (`<file>.<reason>.<ts>`). */
export function archiveFileName(fileName: string, reason: ArchiveReason, now: number): string {
  return `${fileName}.${reason}.${archiveTimestamp(now)}`;
}

/** The archive name of a session's transcript (`<id>.jsonl.<reason>.<ts>`). */
export function archiveName(sessionId: string, reason: ArchiveReason, now: number): string {
  return archiveFileName(`${sessionId}.jsonl`, reason, now);
}
