/**
 * OpenClaw's thread fork: a thread session (a Discord thread, keyed as its own channel) whose
 * parent channel has a session starts as a branch of the parent's transcript at its current leaf,
 * in a new file whose header names the parent's as `parentSession`; a parent over
 * `session.parentForkMaxTokens` tokens (default 100 000, 0 = no limit) is not copied. The thread
 * then goes its own way: later parent messages never reach it.
 */
import type { SessionEntry } from "../store/entry.ts";
import type { SessionStore, TranscriptLine } from "../store/types.ts";
import { activeBranch } from "../transcript/branch.ts";
import { makeHeader } from "../transcript/entries.ts";

export const DEFAULT_PARENT_FORK_MAX_TOKENS = 100_000;

export interface ThreadFork {
  /** The parent's active branch to copy, or null when the parent is too large to copy. */
  branch: TranscriptLine[] | null;
  /** What the new header's `parentSession` names: the parent's file, or its transcript id. */
  parentSession: string;
  parentKey: string;
}

/** What a new thread session starts from; null when the parent channel has no session. */
export async function planThreadFork(
  store: SessionStore,
  parentKey: string,
  opts: { maxTokens: number | undefined; transcriptId: (parent: SessionEntry) => string },
): Promise<ThreadFork | null> {
  const parent = await store.get(parentKey);
  if (!parent) return null;
  const id = opts.transcriptId(parent);
  const parentSession = typeof parent.sessionFile === "string" ? parent.sessionFile : id;
  const max = opts.maxTokens ?? DEFAULT_PARENT_FORK_MAX_TOKENS;
  const tokens = typeof parent.totalTokens === "number" ? parent.totalTokens : 0;
  if (max > 0 && tokens > max) return { branch: null, parentSession, parentKey };
  const read = await store.readTranscript(id);
  return { branch: activeBranch(read.lines), parentSession, parentKey };
}

/**
 * The forked transcript's lines: its own header, then the parent's branch. The header says (in
 * Pincer's own field) whose messages were copied and up to which entry, so the isolation guard
 * admits exactly those (see `forkAllowance`).
 */
export function forkedLines(fork: ThreadFork, sessionId: string, now: number, cwd: string): TranscriptLine[] {
  const branch = fork.branch ?? [];
  const leaf = branch.at(-1)?.id;
  const header = {
    ...makeHeader(sessionId, now, cwd),
    parentSession: fork.parentSession,
    ...(typeof leaf === "string" ? { pincer: { forkedFrom: fork.parentKey, forkLeaf: leaf } } : {}),
  };
  return [header as unknown as TranscriptLine, ...branch];
}
