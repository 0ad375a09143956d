/**
 * The active branch of a transcript: the entries on the path from the root to the current leaf
 * (the last entry written), root first — what pi's `createBranchedSession` copies into a new file
 * when a thread session is forked from its parent. The header and `label` entries are left out.
 */
import type { TranscriptLine } from "../store/types.ts";

export function activeBranch(lines: readonly TranscriptLine[]): TranscriptLine[] {
  const byId = new Map<string, TranscriptLine>();
  let leaf: TranscriptLine | undefined;
  for (const line of lines) {
    if (line.type === "session" || typeof line.id !== "string") continue;
    byId.set(line.id, line);
    leaf = line;
  }
  const path: TranscriptLine[] = [];
  // A hand-edited file may loop: each entry is taken once.
  const seen = new Set<string>();
  for (let cur = leaf; cur !== undefined && !seen.has(cur.id as string);) {
    seen.add(cur.id as string);
    path.push(cur);
    cur = typeof cur.parentId === "string" ? byId.get(cur.parentId) : undefined;
  }
  return path.reverse().filter((line) => line.type !== "label");
}
