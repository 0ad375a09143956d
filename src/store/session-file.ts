/**
 * OpenClaw's `sessionFile`: a row may name its transcript file (`<id>-topic-42.jsonl` for a forum
 * topic or DM topic, or an absolute path in the home it was written in). Pincer honours it by
 * basename only — the name is looked up inside the store's own sessions directory (or, in the
 * database backends, among the transcripts stored under that name) — so no row can make Pincer
 * read or write a file anywhere else, and a home that moved still finds its transcripts.
 */
import * as path from "node:path";
import { isValidSessionId } from "../keys/ids.ts";
import type { SessionEntry } from "./entry.ts";

const JSONL = ".jsonl";

/**
 * The transcript id (file name without `.jsonl`) a row's transcript is stored under: the basename
 * of `sessionFile` when it is a transcript name of this very session (`<sessionId>.jsonl` or
 * `<sessionId>-<suffix>.jsonl`, the shapes OpenClaw writes), else the session id.
 */
export function transcriptIdOf(entry: Pick<SessionEntry, "sessionId" | "sessionFile">): string {
  const file = entry.sessionFile;
  if (typeof file !== "string") return entry.sessionId;
  // Either separator: a home written on another system still resolves by its last component.
  const trimmed = file.trim();
  const base = trimmed.slice(Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\")) + 1);
  if (!base.endsWith(JSONL)) return entry.sessionId;
  const id = base.slice(0, -JSONL.length);
  if (!isValidSessionId(id)) return entry.sessionId;
  // Another session's file is never adopted: a row can only name its own transcript.
  if (id !== entry.sessionId && !id.startsWith(`${entry.sessionId}-`)) return entry.sessionId;
  return id;
}

/**
 * The `sessionFile` to store on a row with this transcript id: the absolute path inside the
 * sessions directory for a store that has one (what OpenClaw records, so OpenClaw finds it too),
 * otherwise the row's own value as long as it still names this transcript (kept verbatim, so a
 * migration back to files finds the same name), or nothing.
 */
export function sessionFileFor(dir: string | undefined, entry: SessionEntry, transcriptId: string): string | undefined {
  if (dir !== undefined) return path.join(dir, `${transcriptId}${JSONL}`);
  if (typeof entry.sessionFile === "string" && transcriptIdOf(entry) === transcriptId) return entry.sessionFile;
  return undefined;
}
