/** What the sessions directory holds, classified for the disk budget and archive retention. */
import * as fs from "node:fs";
import * as path from "node:path";
import { archiveFileName } from "../transcript-codec.ts";
import { parseArchiveTimestamp } from "./secure-fs.ts";

/** One regular file of the sessions directory, as the backend classifies it (so maintenance needs no naming rules of its own). */
export interface DiskFile {
  name: string;
  size: number;
  mtimeMs: number;
  class: FileClass;
}

export type FileClass =
  | { kind: "transcript"; sessionId: string }
  | { kind: "archive"; reason: "reset" | "deleted" | "bak"; at: number | null }
  | { kind: "index" }
  | { kind: "other" };

const TRANSCRIPT_RE = /^([a-z0-9][a-z0-9._-]{0,127}?)(?:-topic-[^/]+)?\.jsonl$/i;
const ARCHIVE_RE = /\.jsonl\.(reset|deleted|bak)[.-](.+)$/;
const INDEX_BAK_RE = /^sessions\.json\.bak\.(\d+)$/;

export function classify(name: string): FileClass {
  const archive = ARCHIVE_RE.exec(name);
  if (archive)
    return {
      kind: "archive",
      reason: archive[1] as "reset" | "deleted" | "bak",
      at: parseArchiveTimestamp(archive[2]!),
    };
  const bak = INDEX_BAK_RE.exec(name);
  if (bak) return { kind: "archive", reason: "bak", at: Number(bak[1]) };
  if (name === "sessions.json" || name.startsWith("sessions.journal.") || name === "sessions.pincer-meta.json")
    return { kind: "index" };
  const t = TRANSCRIPT_RE.exec(name);
  if (t) return { kind: "transcript", sessionId: t[1]! };
  return { kind: "other" };
}

/**
 * File operations for maintenance, by exact base name inside one sessions directory. Each refuses
 * a name that is not a plain transcript or archive file of that directory, so no row field (such as
 * a crafted `sessionFile`) can make maintenance touch the index or anything outside.
 */
function plainName(dir: string, name: string, kinds: ReadonlyArray<FileClass["kind"]>): string {
  if (name !== path.basename(name) || name === "." || name === ".." || !kinds.includes(classify(name).kind)) {
    throw new Error(
      `refusing to touch ${JSON.stringify(name)} in ${dir}: expected the name of a ${kinds.join(" or ")} file of that directory`,
    );
  }
  return path.join(dir, name);
}

/** The name `archiveDiskFile` gives `<name>` at `now`: `<name>.<reason>.<ts>` (OpenClaw's archive naming). */
export const archiveNameOf: (name: string, reason: "reset" | "deleted", now: number) => string = archiveFileName;

/** Renames `<name>` to its archive name; returns the archive's name. */
export function archiveDiskFile(dir: string, name: string, reason: "reset" | "deleted", now: number): string {
  const from = plainName(dir, name, ["transcript"]);
  const archived = archiveNameOf(name, reason, now);
  const to = path.join(dir, archived);
  if (fs.existsSync(to))
    throw new Error(`cannot archive ${JSON.stringify(name)} in ${dir}: ${JSON.stringify(archived)} already exists`);
  fs.renameSync(from, to);
  return archived;
}

/** Undoes `archiveDiskFile` (a row that could not be removed keeps its transcript). */
export function restoreDiskFile(dir: string, archived: string, name: string): void {
  const from = plainName(dir, archived, ["archive"]);
  const to = plainName(dir, name, ["transcript"]);
  if (fs.existsSync(to))
    throw new Error(`cannot restore ${JSON.stringify(archived)} in ${dir}: ${JSON.stringify(name)} exists again`);
  fs.renameSync(from, to);
}

/** Deletes one transcript or archive file; a file already gone is not an error. */
export function removeDiskFile(dir: string, name: string): void {
  fs.rmSync(plainName(dir, name, ["transcript", "archive"]), { force: true });
}
