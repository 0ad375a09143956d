/**
 * Recognises chat commands by OpenClaw's rules: a standalone message starting with `/`,
 * an optional `:` after the name, and the plain stop phrases. Unknown `/words` are plain text.
 */
import { parsePeerEntry, peerEntryMatches } from "../keys/peer-match.ts";

export type CommandName =
  | "new"
  | "reset"
  | "clear"
  | "compact"
  | "status"
  | "context"
  | "send"
  | "model"
  | "activation"
  | "think"
  | "usage"
  | "queue"
  | "stop"
  | "help"
  | "whoami";

const ALIASES: Record<string, CommandName> = {
  new: "new",
  reset: "reset",
  clear: "clear",
  compact: "compact",
  status: "status",
  context: "context",
  send: "send",
  model: "model",
  models: "model",
  activation: "activation",
  think: "think",
  thinking: "think",
  t: "think",
  usage: "usage",
  queue: "queue",
  stop: "stop",
  help: "help",
  commands: "help",
  whoami: "whoami",
  id: "whoami",
};

const STOP_PHRASES = new Set([
  "stop",
  "abort",
  "wait",
  "esc",
  "exit",
  "interrupt",
  "please stop",
  "stop run",
  "stop pincer",
]);

export interface ParsedCommand {
  name: CommandName;
  args: string;
}

export function parseCommand(text: string): ParsedCommand | null {
  const t = text.trim();
  if (STOP_PHRASES.has(t.toLowerCase().replace(/[.!]+$/, ""))) return { name: "stop", args: "" };
  const m = /^\/([a-z][a-z0-9_-]*):?(?:\s+([\s\S]*))?$/i.exec(t);
  if (!m) return null;
  const name = ALIASES[m[1]!.toLowerCase()];
  return name ? { name, args: (m[2] ?? "").trim() } : null;
}

/** Whether a sender may run commands: `commands.allowFrom` when set, else senders in their own direct chat. */
export function isCommandAuthorized(
  allowFrom: string[] | Record<string, string[]> | undefined,
  sender: { channel: string; senderId: string; chatType: string },
): boolean {
  if (allowFrom === undefined) return sender.chatType === "direct";
  const lists = Array.isArray(allowFrom)
    ? [allowFrom]
    : [allowFrom[sender.channel.toLowerCase()] ?? [], allowFrom["*"] ?? []];
  // One matching rule with identityLinks (keys/peer-match.ts): no sender id can spell another's entry.
  return lists.some((list) =>
    list.some((entry) => entry === "*" || peerEntryMatches(parsePeerEntry(entry), sender.channel, sender.senderId)),
  );
}

export const HELP_TEXT = [
  "Commands:",
  "/new [model] [text] · /reset — start a new session",
  "/clear — clear the history, keep the session's settings",
  "/compact [instructions] — summarise older history",
  "/status — model, tokens, context, session, queue, send policy",
  "/context list|detail|json — what the model sees",
  "/send on|off|inherit — deliver replies or not",
  "/model [provider/model] — show or set the session's model",
  "/activation mention|always — group reply gating",
  "/think <level> · /usage off|tokens|full|cost · /queue <mode> [debounce:<ms>] [cap:<n>] [drop:<policy>]",
  "/stop — abort the current run and clear the queue",
  "/whoami · /help",
].join("\n");
