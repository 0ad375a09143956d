/** What the sessions directory holds, classified for the disk budget and archive retention. */
import { parseArchiveTimestamp } from "./secure-fs.ts";

export interface DiskFile {
  name: string;
  size: number;
  mtimeMs: number;
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
  if (archive) return { kind: "archive", reason: archive[1] as "reset" | "deleted" | "bak", at: parseArchiveTimestamp(archive[2]!) };
  const bak = INDEX_BAK_RE.exec(name);
  if (bak) return { kind: "archive", reason: "bak", at: Number(bak[1]) };
  if (name === "sessions.json" || name.startsWith("sessions.journal.") || name === "sessions.pincer-meta.json") return { kind: "index" };
  const t = TRANSCRIPT_RE.exec(name);
  if (t) return { kind: "transcript", sessionId: t[1]! };
  return { kind: "other" };
}
