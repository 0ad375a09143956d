/**
 * `buildSessionKey` / `parseSessionKey`: the string form of SessionKeyParts.
 *
 * Every family is a fixed sequence of keyword and value positions, and no two families share a
 * (length, keyword positions) pair, so any value — even one equal to a keyword such as `thread` —
 * round-trips. Values are percent-encoded (segment.ts), so they never contain `:`.
 */
import { SessionKeyError, codePointLabel, findControlChar } from "./errors.ts";
import {
  DEFAULT_MAIN_KEY,
  MAX_SESSION_KEY_LENGTH,
  isValidAgentId,
  isValidSessionId,
  normalizeAccountId,
  normalizeChannel,
  quoteForError,
} from "./ids.ts";
import { decodePeerSegment, encodePeerSegment } from "./peer-segment.ts";
import type { PeerValue } from "./peer-segment.ts";
import { asciiLower, decodeSegment, encodeSegment, foldIdCase, isCaseSensitiveChannel } from "./segment.ts";
import type { AgentKeyParts, KeyCodecOptions, SessionKeyParts, ThreadableKeyParts } from "./session-key-parts.ts";

function enc(field: string, value: string, caseSensitive: boolean): string {
  try {
    return encodeSegment(value, { caseSensitive });
  } catch (err) {
    throw new SessionKeyError(`${field}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function dec(field: string, segment: string, caseSensitive: boolean): string {
  try {
    return foldIdCase(decodeSegment(segment), caseSensitive);
  } catch (err) {
    throw new SessionKeyError(`${field}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function peerSeg(peer: PeerValue, caseSensitive: boolean): string {
  try {
    return encodePeerSegment(peer, caseSensitive);
  } catch (err) {
    throw new SessionKeyError(`peerId: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function peerDec(segment: string, caseSensitive: boolean): PeerValue {
  try {
    return decodePeerSegment(segment, caseSensitive);
  } catch (err) {
    throw new SessionKeyError(`peerId: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function agentSegment(agentId: string): string {
  if (!isValidAgentId(agentId)) {
    throw new SessionKeyError(`agentId ${quoteForError(agentId)} must match ^[a-z0-9][a-z0-9_-]{0,63}$`);
  }
  return asciiLower(agentId);
}

/** Channel ids are structural: normalised, lower-case, encoded like values so `:` cannot appear. */
function channelSegment(channel: string): string {
  return enc("channel", normalizeChannel(channel), false);
}

/** DM threads of channel-less keys keep case; everything else folds by its channel. */
function threadCase(parts: ThreadableKeyParts): boolean {
  if (parts.kind === "main" || (parts.kind === "direct" && parts.scope === "per-peer")) return true;
  return isCaseSensitiveChannel(parts.channel);
}

function threadableSegments(parts: ThreadableKeyParts): string[] {
  switch (parts.kind) {
    case "main":
      return [enc("mainKey", parts.mainKey, false)];
    case "direct": {
      if (parts.scope === "per-peer") return ["direct", peerSeg(parts, true)];
      const peer = ["direct", peerSeg(parts, isCaseSensitiveChannel(parts.channel))];
      if (parts.scope === "per-channel-peer") return [channelSegment(parts.channel), ...peer];
      return [channelSegment(parts.channel), normalizeAccountId(parts.accountId), ...peer];
    }
    case "group":
      return [
        channelSegment(parts.channel),
        "group",
        enc("groupId", parts.groupId, isCaseSensitiveChannel(parts.channel)),
      ];
    case "channel":
      return [
        channelSegment(parts.channel),
        "channel",
        enc("channelId", parts.channelId, isCaseSensitiveChannel(parts.channel)),
      ];
    case "topic": {
      const cs = isCaseSensitiveChannel(parts.channel);
      return [
        channelSegment(parts.channel),
        "group",
        enc("chatId", parts.chatId, cs),
        "topic",
        enc("topicId", parts.topicId, cs),
      ];
    }
  }
}

function restSegments(parts: AgentKeyParts): string[] {
  switch (parts.kind) {
    case "cron":
      return ["cron", enc("jobId", parts.jobId, false)];
    case "cron-run":
      if (!isValidSessionId(parts.sessionId)) {
        throw new SessionKeyError(`sessionId ${quoteForError(parts.sessionId)} is not a valid session id`);
      }
      return ["cron", enc("jobId", parts.jobId, false), "run", enc("sessionId", parts.sessionId, false)];
    case "hook":
      return ["hook", enc("hookId", parts.hookId, false)];
    case "subagent":
      return ["subagent", enc("subagentId", parts.subagentId, false)];
    case "other":
      return otherRestSegments(parts.rest);
    default: {
      const segs = threadableSegments(parts);
      if (parts.threadId === undefined) return segs;
      const chat = (parts.kind === "main" || parts.kind === "direct") && parts.threadChatId;
      if (chat !== undefined && chat !== false) {
        if (!TELEGRAM_CHAT_ID.test(chat)) {
          throw new SessionKeyError(`threadChatId ${quoteForError(chat)} must be a Telegram chat id (an integer)`);
        }
        return [...segs, "thread", chat, enc("threadId", parts.threadId, threadCase(parts))];
      }
      return [...segs, "thread", enc("threadId", parts.threadId, threadCase(parts))];
    }
  }
}

function otherRestSegments(rest: string): string[] {
  const segs = asciiLower(rest).split(":");
  for (const s of segs) dec("rest", s, false);
  return segs;
}

export function buildSessionKey(parts: SessionKeyParts, opts: KeyCodecOptions = {}): string {
  if (parts.kind === "global" || parts.kind === "unknown") return parts.kind;
  const key = ["agent", agentSegment(parts.agentId), ...restSegments(parts)].join(":");
  if (key.length > MAX_SESSION_KEY_LENGTH) {
    throw new SessionKeyError(
      `session key would be ${key.length} characters; the limit is ${MAX_SESSION_KEY_LENGTH} (key starts ${quoteForError(key, 60)})`,
    );
  }
  // An `other` rest that reads back as a modelled family would not round-trip: refuse it.
  if (parts.kind === "other" && parseSessionKey(key, opts).kind !== "other") {
    throw new SessionKeyError(`rest ${quoteForError(parts.rest)} is a modelled key family; build it from its parts`);
  }
  return key;
}

const isDirectWord = (s: string | undefined): boolean => s === "direct" || s === "dm";

/**
 * The chat of a Telegram DM topic key (`…:thread:<chatId>:<threadId>`). Only an integer, so it can
 * never be a keyword and the two-value thread form cannot be mistaken for any other family.
 */
const TELEGRAM_CHAT_ID = /^-?\d{1,20}$/;

/** Main, DM, group, channel and topic shapes (the ones a `:thread:` suffix may follow). */
function parseThreadable(agentId: string, segs: string[], mainKeys: Set<string>): ThreadableKeyParts | undefined {
  const kw = segs.map(asciiLower);
  const n = segs.length;
  const at = (i: number): string => segs[i] ?? "";
  if (n === 1 && mainKeys.has(kw[0] ?? "")) {
    return { kind: "main", agentId, mainKey: dec("mainKey", at(0), false) };
  }
  if (n === 2 && isDirectWord(kw[0])) {
    return { kind: "direct", scope: "per-peer", agentId, ...peerDec(at(1), true) };
  }
  const shape =
    n === 3 && isDirectWord(kw[1])
      ? "c"
      : n === 4 && isDirectWord(kw[2])
        ? "a"
        : n === 3 && (kw[1] === "group" || kw[1] === "channel")
          ? "g"
          : n === 5 && kw[1] === "group" && kw[3] === "topic"
            ? "t"
            : undefined;
  if (shape === undefined) return undefined;
  // Decode the channel only once the shape is known, so errors name the right field.
  const channel = normalizeChannel(dec("channel", at(0), false));
  const cs = isCaseSensitiveChannel(channel);
  if (shape === "c") {
    return { kind: "direct", scope: "per-channel-peer", agentId, channel, ...peerDec(at(2), cs) };
  }
  if (shape === "a") {
    const accountId = normalizeAccountId(dec("accountId", at(1), false));
    return { kind: "direct", scope: "per-account-channel-peer", agentId, channel, accountId, ...peerDec(at(3), cs) };
  }
  if (shape === "g" && kw[1] === "group")
    return { kind: "group", agentId, channel, groupId: dec("groupId", at(2), cs) };
  if (shape === "g") return { kind: "channel", agentId, channel, channelId: dec("channelId", at(2), cs) };
  return { kind: "topic", agentId, channel, chatId: dec("chatId", at(2), cs), topicId: dec("topicId", at(4), cs) };
}

function parseFixed(agentId: string, segs: string[]): AgentKeyParts | undefined {
  const kw = segs.map(asciiLower);
  const v = (field: string, i: number): string => dec(field, segs[i] ?? "", false);
  if (segs.length === 2 && kw[0] === "cron") return { kind: "cron", agentId, jobId: v("jobId", 1) };
  if (segs.length === 2 && kw[0] === "hook") return { kind: "hook", agentId, hookId: v("hookId", 1) };
  if (segs.length === 2 && kw[0] === "subagent") return { kind: "subagent", agentId, subagentId: v("subagentId", 1) };
  if (segs.length === 4 && kw[0] === "cron" && kw[2] === "run") {
    const sessionId = v("sessionId", 3);
    if (!isValidSessionId(sessionId)) {
      throw new SessionKeyError(`cron run key: sessionId ${quoteForError(sessionId)} is not a valid session id`);
    }
    return { kind: "cron-run", agentId, jobId: v("jobId", 1), sessionId };
  }
  return undefined;
}

function parseAgentRest(agentId: string, segs: string[], mainKeys: Set<string>): AgentKeyParts {
  const n = segs.length;
  if (n >= 3 && asciiLower(segs[n - 2] ?? "") === "thread") {
    const base = parseThreadable(agentId, segs.slice(0, n - 2), mainKeys);
    if (base) return { ...base, threadId: dec("threadId", segs[n - 1] ?? "", threadCase(base)) };
  }
  if (n >= 4 && asciiLower(segs[n - 3] ?? "") === "thread" && TELEGRAM_CHAT_ID.test(segs[n - 2] ?? "")) {
    const base = parseThreadable(agentId, segs.slice(0, n - 3), mainKeys);
    if (base && (base.kind === "main" || base.kind === "direct")) {
      return { ...base, threadChatId: segs[n - 2]!, threadId: dec("threadId", segs[n - 1] ?? "", threadCase(base)) };
    }
  }
  const parts = parseThreadable(agentId, segs, mainKeys) ?? parseFixed(agentId, segs);
  if (parts) return parts;
  for (const s of segs) dec("rest", s, false);
  return { kind: "other", agentId, rest: asciiLower(segs.join(":")) };
}

/** Checks shared by parsing and normalising: type, emptiness, length, control characters. */
export function checkRawKey(key: unknown): string {
  if (typeof key !== "string") throw new SessionKeyError(`session key must be a string, got ${typeof key}`);
  const ctl = findControlChar(key);
  if (ctl) {
    throw new SessionKeyError(
      `session key ${quoteForError(key)} contains control character ${codePointLabel(ctl.cp)} at index ${ctl.index}`,
    );
  }
  const trimmed = key.trim();
  if (trimmed === "") throw new SessionKeyError("session key is empty");
  if (trimmed.length > MAX_SESSION_KEY_LENGTH) {
    throw new SessionKeyError(
      `session key is ${trimmed.length} characters; the limit is ${MAX_SESSION_KEY_LENGTH} (key starts ${quoteForError(trimmed, 60)})`,
    );
  }
  return trimmed;
}

/**
 * Parses a canonical (agent-scoped, `global` or `unknown`) key. Structural words match
 * case-insensitively; empty segments are ignored as in OpenClaw. Legacy bare keys (`main`,
 * `cron:x`) are refused: run them through normalizeSessionKey first.
 */
export function parseSessionKey(key: string, opts: KeyCodecOptions = {}): SessionKeyParts {
  const trimmed = checkRawKey(key);
  const lower = asciiLower(trimmed);
  if (lower === "global" || lower === "unknown") return { kind: lower };
  if (!lower.startsWith("agent:")) {
    throw new SessionKeyError(
      `session key ${quoteForError(trimmed)} is not agent-scoped (expected "agent:<agentId>:<rest>"); normalise legacy keys first`,
    );
  }
  const segs = trimmed.split(":").filter((s) => s !== "");
  const agentId = segs[1] ?? "";
  if (segs.length < 3 || !isValidAgentId(agentId)) {
    throw new SessionKeyError(
      `malformed agent key ${quoteForError(trimmed)}: expected "agent:<agentId>:<rest>" with agentId matching ^[a-z0-9][a-z0-9_-]{0,63}$ and a non-empty rest`,
    );
  }
  // Compared in encoded form: the set holds what buildSessionKey would emit for each main key.
  const mainKeys = new Set([
    DEFAULT_MAIN_KEY,
    encodeSegment(opts.mainKey || DEFAULT_MAIN_KEY, { caseSensitive: false }),
  ]);
  return parseAgentRest(asciiLower(agentId), segs.slice(2), mainKeys);
}
