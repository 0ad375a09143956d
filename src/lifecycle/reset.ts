/**
 * What a new session id keeps from the old one: ONE explicit list for every kind of reset (daily,
 * idle, `/new`, `/reset`, API) — user choices and routing survive, per-session-id state does not.
 */
import type { SessionEntry } from "../store/entry.ts";

export const RESET_CARRY_OVER_FIELDS = [
  // Choices the user made for this conversation.
  "modelOverride",
  "providerOverride",
  "thinkingLevel",
  "verboseLevel",
  "reasoningLevel",
  "elevatedLevel",
  "fastMode",
  "responseUsage",
  "ttsAuto",
  "sendPolicy",
  "groupActivation",
  "queueMode",
  "queueDebounceMs",
  "queueCap",
  "queueDrop",
  "label",
  "displayName",
  "pinned",
  // Who and where the conversation is (rebuilt by the next message anyway).
  "chatType",
  "channel",
  "groupId",
  "subject",
  "groupChannel",
  "space",
  "origin",
  "deliveryContext",
  "lastChannel",
  "lastTo",
  "lastAccountId",
  "lastThreadId",
  // Sub-agent lineage is immutable for the key.
  "spawnedBy",
  "spawnDepth",
  "spawnedWorkspaceDir",
  "subagentRole",
  "subagentControlScope",
] as const satisfies ReadonlyArray<keyof SessionEntry | string>;

export interface ResetOptions {
  newSessionId: string;
  now: number;
  /** `/new <model>`: also sets the model override. */
  modelOverride?: { provider?: string; model: string };
}

export function buildResetEntry(previous: SessionEntry | undefined, options: ResetOptions): SessionEntry {
  const next: SessionEntry = {
    sessionId: options.newSessionId,
    updatedAt: options.now,
    sessionStartedAt: options.now,
    lastInteractionAt: options.now,
    compactionCount: 0,
  };
  if (previous) {
    for (const field of RESET_CARRY_OVER_FIELDS) {
      const value = (previous as Record<string, unknown>)[field];
      if (value !== undefined) (next as Record<string, unknown>)[field] = structuredClone(value);
    }
  }
  if (options.modelOverride) {
    next.modelOverride = options.modelOverride.model;
    if (options.modelOverride.provider) next.providerOverride = options.modelOverride.provider;
    else delete next.providerOverride;
  }
  return next;
}

export const DEFAULT_RESET_TRIGGERS = ["/new", "/reset"];

/**
 * Finds a reset trigger at the start of the message (first line only, case-insensitive):
 * `/new` → empty remainder; `/new hello` or `/new: hello` → "hello". `/newx` is not a trigger.
 */
export function detectResetTrigger(
  text: string,
  triggers: readonly string[] | undefined = DEFAULT_RESET_TRIGGERS,
): { trigger: string; remainder: string } | null {
  const list = triggers && triggers.length ? triggers : DEFAULT_RESET_TRIGGERS;
  const newline = text.indexOf("\n");
  const firstLine = (newline < 0 ? text : text.slice(0, newline)).trim();
  const rest = newline < 0 ? "" : text.slice(newline + 1);
  const lower = firstLine.toLowerCase();
  for (const trigger of list) {
    const t = trigger.trim().toLowerCase();
    if (!t) continue;
    if (lower === t || lower === `${t}:`) return { trigger, remainder: rest.trim() };
    const after = lower.slice(t.length, t.length + 1);
    if (lower.startsWith(t) && (after === ":" || /\s/.test(after))) {
      const head = firstLine.slice(t.length).replace(/^:/, "").trim();
      return {
        trigger,
        remainder: [head, rest]
          .filter((s) => s.trim() !== "")
          .join("\n")
          .trim(),
      };
    }
  }
  return null;
}
