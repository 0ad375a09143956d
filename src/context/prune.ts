// TEMPORARY STUB (replaced by the full implementation).
import type { AgentMessage } from "../transcript/entries.ts";
import type { PruneSettings } from "./prune-settings.ts";
export function applyCacheTtlPruning(input: { messages: AgentMessage[]; settings: PruneSettings; contextWindowTokens: number; now: number; lastCacheTouchAt: number | undefined; provider: string; modelId: string }): { messages: AgentMessage[]; pruned: boolean; prunedChars: number; lastCacheTouchAt: number | undefined } {
  return { messages: input.messages, pruned: false, prunedChars: 0, lastCacheTouchAt: input.lastCacheTouchAt };
}
export function lastCacheTouchFromEntries(entries: readonly unknown[]): number | undefined {
  void entries;
  return undefined;
}
