/**
 * OpenClaw's `cache-ttl` context pruning as pure functions. The result only
 * replaces what is sent to the model for one call; the transcript is never touched.
 */
import { compileGlob } from "../util/glob.ts";
import type { AgentMessage, ToolResultMessage } from "../transcript/entries.ts";
import { isCacheTtlEligible, type PruneSettings } from "./prune-settings.ts";

const CHARS_PER_TOKEN = 4;
// Images are priced as a fixed chunk of text so a screenshot-heavy history still trips the ratios.
const IMAGE_CHARS = 8_000;
const UNKNOWN_ROLE_CHARS = 256;
const TOOL_CALL_ARGS_FALLBACK_CHARS = 128;
const IMAGE_MARKER = "[image removed during context pruning]";
export const CACHE_TTL_CUSTOM_TYPE = "openclaw.cache-ttl";

type ToolResultContent = ToolResultMessage["content"];

/** OpenClaw's cheap size estimate in characters; it must match OpenClaw's so the ratios trip at the same point. */
export function estimateMessageChars(message: AgentMessage): number {
  switch (message.role) {
    case "user": {
      if (typeof message.content === "string") return message.content.length;
      let chars = 0;
      for (const block of message.content)
        chars += block.type === "text" ? block.text.length : block.type === "image" ? IMAGE_CHARS : 0;
      return chars;
    }
    case "assistant": {
      let chars = 0;
      for (const block of message.content) {
        if (block.type === "text") chars += block.text.length;
        else if (block.type === "thinking") chars += block.thinking.length;
        else if (block.type === "toolCall") chars += toolCallArgsChars(block.arguments);
      }
      return chars;
    }
    case "toolResult":
      return toolResultChars(message.content);
    default:
      return UNKNOWN_ROLE_CHARS;
  }
}

function toolCallArgsChars(args: unknown): number {
  try {
    return JSON.stringify(args ?? {}).length;
  } catch {
    // Circular or BigInt arguments: count something rather than crash the context build.
    return TOOL_CALL_ARGS_FALLBACK_CHARS;
  }
}

function toolResultChars(content: ToolResultContent): number {
  let chars = 0;
  for (const block of content)
    chars += block.type === "text" ? block.text.length : block.type === "image" ? IMAGE_CHARS : 0;
  return chars;
}

/** Soft-trimmed copy of a tool result, or null when it is already small enough and has no images. */
function softTrim(message: ToolResultMessage, s: PruneSettings["softTrim"]): ToolResultMessage | null {
  const hasImages = message.content.some((b) => b.type === "image");
  const parts: string[] = [];
  for (const block of message.content) {
    if (block.type === "text") parts.push(block.text);
    else if (block.type === "image") parts.push(IMAGE_MARKER);
  }
  const joined = parts.join("\n");
  const len = joined.length;
  if (len <= s.maxChars || s.headChars + s.tailChars >= len) {
    // Images are replaced even when the text is short: they are the expensive part of the payload.
    return hasImages ? { ...message, content: [{ type: "text", text: joined }] } : null;
  }
  const head = joined.slice(0, s.headChars);
  const tail = s.tailChars > 0 ? joined.slice(len - s.tailChars) : "";
  const text = `${head}\n...\n${tail}\n\n[Tool result trimmed: kept first ${s.headChars} chars and last ${s.tailChars} chars of ${len} chars.]`;
  return { ...message, content: [{ type: "text", text }] };
}

/** Case-insensitive `*` globs; deny wins, an empty allow list allows everything. */
function toolPredicate(tools: PruneSettings["tools"]): (toolName: string) => boolean {
  const compile = (patterns: readonly string[]) => patterns.filter((p) => p.trim() !== "").map(compileGlob);
  const deny = compile(tools.deny);
  const allow = compile(tools.allow);
  return (toolName) => {
    if (deny.some((m) => m(toolName))) return false;
    return allow.length === 0 || allow.some((m) => m(toolName));
  };
}

/**
 * OpenClaw's algorithm exactly: soft-trim prunable tool results between the first user message and the
 * keepLastAssistants-th last assistant, then, if still over hardClearRatio, clear them oldest first.
 * Returns a new array; changed messages are new objects, unchanged ones are the input's.
 */
export function pruneContextMessages(
  messages: readonly AgentMessage[],
  settings: PruneSettings,
  contextWindowTokens: number,
): AgentMessage[] {
  const out = messages.slice();
  const charWindow = contextWindowTokens * CHARS_PER_TOKEN;
  if (!(charWindow > 0)) return out;

  // Recent turns are what the model is working with (and sit in the freshest cache segment).
  let cutoff = out.length;
  if (settings.keepLastAssistants > 0) {
    let remaining = settings.keepLastAssistants;
    let found = -1;
    for (let i = out.length - 1; i >= 0; i--) {
      if (out[i]!.role !== "assistant") continue;
      if (--remaining === 0) {
        found = i;
        break;
      }
    }
    if (found < 0) return out;
    cutoff = found;
  }
  // Before the first user message sit bootstrap reads (workspace files) that must survive.
  let start = out.findIndex((m) => m.role === "user");
  if (start < 0) start = out.length;

  let total = 0;
  for (const m of out) total += estimateMessageChars(m);
  if (total / charWindow < settings.softTrimRatio) return out;

  const isPrunable = toolPredicate(settings.tools);
  const prunable: number[] = [];
  for (let i = start; i < cutoff; i++) {
    const msg = out[i]!;
    if (msg.role !== "toolResult" || !isPrunable(msg.toolName)) continue;
    prunable.push(i);
    const trimmed = softTrim(msg, settings.softTrim);
    if (!trimmed) continue;
    total += estimateMessageChars(trimmed) - estimateMessageChars(msg);
    out[i] = trimmed;
  }

  if (total / charWindow < settings.hardClearRatio || !settings.hardClear.enabled) return out;
  let prunableChars = 0;
  for (const i of prunable) prunableChars += estimateMessageChars(out[i]!);
  // Clearing a handful of small results would bust the cache for almost no gain.
  if (prunableChars < settings.minPrunableToolChars) return out;

  for (const i of prunable) {
    if (total / charWindow < settings.hardClearRatio) break;
    const msg = out[i] as ToolResultMessage;
    const cleared: ToolResultMessage = { ...msg, content: [{ type: "text", text: settings.hardClear.placeholder }] };
    total += estimateMessageChars(cleared) - estimateMessageChars(msg);
    out[i] = cleared;
  }
  return out;
}

export interface CacheTtlPruneInput {
  messages: readonly AgentMessage[];
  settings: PruneSettings;
  contextWindowTokens: number;
  now: number;
  lastCacheTouchAt: number | undefined;
  provider: string;
  modelId: string;
}

export interface CacheTtlPruneResult {
  messages: AgentMessage[];
  pruned: boolean;
  prunedChars: number;
  lastCacheTouchAt: number | undefined;
}

/**
 * The cache-TTL gate: prune only once the provider's prompt cache has expired, because rewriting
 * history while the cache is warm would turn cheap cache reads into a full cache write.
 */
export function applyCacheTtlPruning(input: CacheTtlPruneInput): CacheTtlPruneResult {
  const { messages, settings, lastCacheTouchAt, now } = input;
  const unchanged: CacheTtlPruneResult = {
    messages: messages.slice(),
    pruned: false,
    prunedChars: 0,
    lastCacheTouchAt,
  };
  if (settings.mode !== "cache-ttl" || !isCacheTtlEligible(input.provider, input.modelId)) return unchanged;
  if (lastCacheTouchAt === undefined || settings.ttlMs <= 0 || now - lastCacheTouchAt < settings.ttlMs)
    return unchanged;

  const next = pruneContextMessages(messages, settings, input.contextWindowTokens);
  let changed = false;
  let delta = 0;
  for (let i = 0; i < next.length; i++) {
    if (next[i] === messages[i]) continue;
    changed = true;
    delta += estimateMessageChars(messages[i]!) - estimateMessageChars(next[i]!);
  }
  if (!changed) return unchanged;
  // The pruned prompt is written to the cache by this call, so the TTL restarts now.
  return { messages: next, pruned: true, prunedChars: Math.max(0, delta), lastCacheTouchAt: now };
}

/** The newest `openclaw.cache-ttl` custom entry's timestamp (epoch ms; ISO strings accepted). */
export function lastCacheTouchFromEntries(entries: readonly unknown[]): number | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i];
    if (typeof entry !== "object" || entry === null) continue;
    const e = entry as { type?: unknown; customType?: unknown; data?: unknown };
    if (e.type !== "custom" || e.customType !== CACHE_TTL_CUSTOM_TYPE) continue;
    const raw =
      typeof e.data === "object" && e.data !== null ? (e.data as { timestamp?: unknown }).timestamp : undefined;
    const ts =
      typeof raw === "number"
        ? raw
        : typeof raw === "string"
          ? /^\s*-?\d+(\.\d+)?\s*$/.test(raw)
            ? Number(raw)
            : Date.parse(raw)
          : Number.NaN;
    // A malformed entry is skipped rather than trusted, like the reference does.
    if (Number.isFinite(ts)) return ts;
  }
  return undefined;
}
