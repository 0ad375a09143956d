/**
 * A session's built context kept between turns and extended with the lines appended since, so a
 * turn's cost follows what changed, not the length of the history. It is the same build as
 * `buildContext` + `foreignEntries` (the reference; test/context-cache.test.ts checks the two
 * agree), with the isolation guard run once per line as it is taken in: every received message
 * in the context was checked when it joined it. The state lives beside the parsed transcript it
 * came from (TranscriptView.keep), so it is dropped whenever those lines are (eviction, reset, a
 * foreign write the writer could not follow) and its bytes count against the same budget. A
 * compaction line starts the build over.
 */
import { lastCacheTouchFromEntries } from "../context/prune.ts";
import type { TranscriptLine } from "../store/types.ts";
import type { AgentMessage } from "../transcript/entries.ts";
import type { TranscriptDerived, TranscriptView } from "../transcript/parsed-cache.ts";
import {
  buildContext,
  COMPACTION_SUMMARY_PREFIX,
  foreignEntries,
  forkAllowance,
  isHeartbeatAckLine,
  messageChars,
} from "./context-build.ts";
import { isGroupSessionKey, withSenderName } from "./sender-lines.ts";

/** Memory of one message in the state beyond the message itself (shared with the parsed lines). */
const SLOT_BYTES = 16;
/** Memory of one remembered id (a set entry; the string is shared with the lines). */
const ID_BYTES = 48;

/** What one model call of a run is built from. */
export interface RunContext {
  /** The prompt's messages; may be the cache's own array: read it, never change it. */
  messages: readonly AgentMessage[];
  /** The last transcript entry in the context (a run's output is anchored to it). */
  anchor: string | undefined;
  /** The isolation guard's finding: entries that do not belong to this session (empty when clean). */
  foreign: string[];
  /** `estimateTokens(messages)`. */
  estimatedTokens: number;
  /** The newest `openclaw.cache-ttl` touch anywhere in the transcript. */
  lastCacheTouch: number | undefined;
}

type MessageLine = TranscriptLine & { id: string; message: AgentMessage };

function isMessageLine(line: TranscriptLine): line is MessageLine {
  if (line.type !== "message" || typeof line.id !== "string") return false;
  const m = line.message as { role?: unknown } | undefined;
  return !!m && (m.role === "user" || m.role === "assistant" || m.role === "toolResult");
}

function isCompaction(line: TranscriptLine): boolean {
  return line.type === "compaction" && typeof line.summary === "string" && typeof line.firstKeptEntryId === "string";
}

function anchorOf(line: TranscriptLine): string | undefined {
  const after = (line.pincer as { after?: unknown } | undefined)?.after;
  return typeof after === "string" ? after : undefined;
}

/** The guard's rule for the line at `index` (as `foreignEntries`): a received message routed elsewhere. */
function isForeign(
  line: MessageLine,
  index: number,
  sessionKey: string,
  fork: { owner: string; end: number } | null,
): boolean {
  const msg = line.message as { role?: unknown; provenance?: { kind?: unknown } };
  const owner = (line.pincer as { sessionKey?: unknown } | undefined)?.sessionKey;
  if (msg.role !== "user" || owner === undefined || owner === sessionKey) return false;
  if (fork && index <= fork.end && owner === fork.owner) return false;
  return msg.provenance?.kind !== "inter_session" && msg.provenance?.kind !== "internal_system";
}

export class SessionContext implements TranscriptDerived {
  readonly sessionKey: string;
  bytes = 0;
  /** Lines of the transcript taken in so far. */
  private consumed = 0;
  private readonly messages: AgentMessage[] = [];
  private readonly entryIds: Array<string | null> = [];
  /** Entries some output is anchored to (an excluded one would move that output: see `select`). */
  private readonly anchorTargets = new Set<string>();
  private readonly foreign: string[] = [];
  private headerId: string | null = null;
  /** A forked thread's copy of its parent's messages (see `forkAllowance`). */
  private fork: { owner: string; end: number } | null = null;
  private chars = 0;
  private anchorId: string | null = null;
  private anchorEnd = -1;
  private lastCacheTouch: number | undefined;
  /** Group sessions: user lines carry their sender's name (sender-lines.ts). */
  private readonly group: boolean;

  private constructor(sessionKey: string) {
    this.sessionKey = sessionKey;
    this.group = isGroupSessionKey(sessionKey);
  }

  /** The whole build over `lines[0..length)`: from the newest compaction's kept entry on. */
  static build(lines: readonly TranscriptLine[], length: number, sessionKey: string): SessionContext {
    const ctx = new SessionContext(sessionKey);
    const header = lines[0];
    if (header?.type === "session" && typeof header.id === "string") ctx.headerId = header.id;
    ctx.fork = forkAllowance(lines);
    let start = 0;
    for (let i = length - 1; i >= 0; i--) {
      const line = lines[i]!;
      if (!isCompaction(line)) continue;
      const summary = COMPACTION_SUMMARY_PREFIX + (line.summary as string);
      const kept = lines.findIndex((l) => l.id === line.firstKeptEntryId);
      start = kept >= 0 && kept < length ? kept : i + 1;
      ctx.messages.push({ role: "user", content: summary, timestamp: 0 });
      ctx.entryIds.push(null);
      ctx.chars += summary.length;
      ctx.bytes += SLOT_BYTES + summary.length * 2;
      break;
    }
    for (let i = length - 1; i >= 0 && ctx.lastCacheTouch === undefined; i--)
      ctx.lastCacheTouch = lastCacheTouchFromEntries([lines[i]]);
    for (let i = start; i < length; i++) {
      const line = lines[i]!;
      if (isMessageLine(line)) ctx.take(line, i);
    }
    ctx.consumed = length;
    return ctx;
  }

  /**
   * Takes in `lines[consumed..length)`; false when they hold a compaction (the caller builds
   * afresh). Each received message is checked by the isolation guard here, once.
   */
  extend(lines: readonly TranscriptLine[], length: number): boolean {
    for (let i = this.consumed; i < length; i++) if (isCompaction(lines[i]!)) return false;
    for (let i = this.consumed; i < length; i++) {
      const line = lines[i]!;
      const touch = lastCacheTouchFromEntries([line]);
      if (touch !== undefined) this.lastCacheTouch = touch;
      if (isMessageLine(line)) this.take(line, i);
    }
    this.consumed = length;
    return true;
  }

  get linesTaken(): number {
    return this.consumed;
  }

  /** The step of `buildContext` for one message line: outputs go right after what they answered. */
  private take(line: MessageLine, index: number): void {
    const after = anchorOf(line);
    if (after !== undefined && isHeartbeatAckLine(line)) {
      // As buildContext: an acknowledged heartbeat's prompt and its run's output leave the context.
      const p = this.entryIds.lastIndexOf(after);
      if (p >= 0) {
        const n = after === this.anchorId ? this.anchorEnd - p : 1;
        for (const m of this.messages.splice(p, n)) this.chars -= messageChars(m);
        this.entryIds.splice(p, n);
      }
      if (after === this.anchorId) this.anchorId = null;
      else if (p >= 0 && this.anchorEnd > p) this.anchorEnd -= 1;
      return;
    }
    let at = this.messages.length;
    if (after !== undefined) {
      if (after === this.anchorId) at = this.anchorEnd;
      else {
        const found = this.entryIds.lastIndexOf(after);
        if (found >= 0) at = found + 1;
      }
      this.anchorId = after;
      this.anchorEnd = at + 1;
      if (!this.anchorTargets.has(after)) {
        this.anchorTargets.add(after);
        this.bytes += ID_BYTES;
      }
    }
    const message = this.group ? withSenderName(line) : line.message;
    if (at === this.messages.length) {
      this.messages.push(message);
      this.entryIds.push(line.id);
    } else {
      this.messages.splice(at, 0, message);
      this.entryIds.splice(at, 0, line.id);
    }
    this.chars += messageChars(message);
    this.bytes += SLOT_BYTES;
    if (isForeign(line, index, this.sessionKey, this.fork)) {
      this.foreign.push(line.id);
      this.bytes += ID_BYTES;
    }
  }

  /**
   * The context without the entries in `exclude` (messages still queued), or null when leaving
   * them out is not a plain removal (one is an anchor or anchored: the caller builds it whole).
   */
  select(lines: readonly TranscriptLine[], sessionId: string, exclude: ReadonlySet<string>): RunContext | null {
    const foreign = this.headerId !== null && this.headerId !== sessionId ? [`header:${this.headerId}`] : [];
    const drop = new Set<number>();
    let dropChars = 0;
    for (const id of exclude) {
      for (let p = this.entryIds.lastIndexOf(id); p >= 0; p = p > 0 ? this.entryIds.lastIndexOf(id, p - 1) : -1) {
        if (this.anchorTargets.has(id) || anchoredLine(lines, this.consumed, id)) return null;
        drop.add(p);
        dropChars += messageChars(this.messages[p]!);
      }
    }
    for (const id of this.foreign) if (!exclude.has(id)) foreign.push(id);
    let messages: readonly AgentMessage[] = this.messages;
    let entryIds: ReadonlyArray<string | null> = this.entryIds;
    if (drop.size > 0) {
      const from = Math.min(...drop);
      const keptMessages = this.messages.slice(0, from);
      const keptIds = this.entryIds.slice(0, from);
      for (let i = from; i < this.messages.length; i++) {
        if (drop.has(i)) continue;
        keptMessages.push(this.messages[i]!);
        keptIds.push(this.entryIds[i]!);
      }
      messages = keptMessages;
      entryIds = keptIds;
    }
    let anchor: string | undefined;
    for (let i = entryIds.length - 1; i >= 0 && anchor === undefined; i--) anchor = entryIds[i] ?? undefined;
    return {
      messages,
      anchor,
      foreign,
      estimatedTokens: Math.ceil((this.chars - dropChars) / 4),
      lastCacheTouch: this.lastCacheTouch,
    };
  }
}

/** True when the line with entry id `id` (searched from the end) carries an anchor of its own. */
function anchoredLine(lines: readonly TranscriptLine[], length: number, id: string): boolean {
  for (let i = length - 1; i >= 0; i--) if (lines[i]!.id === id) return anchorOf(lines[i]!) !== undefined;
  return false;
}

/** The reference build, whole, for the cases the cache leaves to it. */
function wholeBuild(view: TranscriptView, sessionKey: string, sessionId: string, exclude: ReadonlySet<string>) {
  const lines = view.length === view.lines.length ? view.lines : view.lines.slice(0, view.length);
  const built = buildContext(lines, exclude, isGroupSessionKey(sessionKey) ? withSenderName : undefined);
  let anchor: string | undefined;
  for (let i = built.entryIds.length - 1; i >= 0 && anchor === undefined; i--) anchor = built.entryIds[i] ?? undefined;
  let chars = 0;
  for (const m of built.messages) chars += messageChars(m);
  return {
    messages: built.messages,
    anchor,
    foreign: foreignEntries(lines, built, sessionKey, sessionId),
    estimatedTokens: Math.ceil(chars / 4),
    lastCacheTouch: lastCacheTouchFromEntries(lines),
  };
}

/**
 * The context of one model call: the session's kept state brought up to `view.length` (or built
 * once, then kept with the view's lines), minus the excluded entries.
 */
export function runContext(
  view: TranscriptView,
  sessionKey: string,
  sessionId: string,
  exclude: ReadonlySet<string>,
): RunContext {
  const kept = view.derived;
  let ctx: SessionContext | null = null;
  // A state from another session key or ahead of this view (an older view) is not this view's.
  if (kept instanceof SessionContext && kept.sessionKey === sessionKey && kept.linesTaken <= view.length)
    ctx = kept.extend(view.lines, view.length) ? kept : null;
  ctx ??= SessionContext.build(view.lines, view.length, sessionKey);
  view.keep(ctx);
  return ctx.select(view.lines, sessionId, exclude) ?? wholeBuild(view, sessionKey, sessionId, exclude);
}
