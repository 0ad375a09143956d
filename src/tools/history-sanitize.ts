/**
 * What `sessions_history` hands to a model (as in OpenClaw): secrets redacted, long texts cut,
 * images replaced by a size note, and the whole result capped in bytes by dropping the oldest.
 */
import type { TranscriptLine } from "../store/types.ts";
import { withoutAckedHeartbeats } from "../transcript/history.ts";

const MAX_TEXT = 4000;
const MAX_BYTES = 80 * 1024;

// Shapes of credentials that must never be echoed into another session's context.
const SECRET_PATTERNS: RegExp[] = [
  /\bsk-(?:ant-)?[A-Za-z0-9_-]{16,}/g,
  /\b(?:ghp|gho|ghu|ghs|github_pat)_[A-Za-z0-9_]{16,}/g,
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/g,
  /\bAKIA[0-9A-Z]{16}\b/g,
  /\bBearer\s+[A-Za-z0-9._~+/=-]{16,}/gi,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /\b(password|passwd|secret|api[_-]?key|token)(\s*[:=]\s*)("[^"]+"|'[^']+'|\S+)/gi,
];

export interface SanitizedHistory {
  messages: Array<Record<string, unknown>>;
  truncated: boolean;
  droppedMessages: number;
  contentTruncated: boolean;
  contentRedacted: boolean;
  bytes: number;
}

function redact(text: string, flags: { redacted: boolean }): string {
  let out = text;
  for (const re of SECRET_PATTERNS) {
    out = out.replace(re, (...m: string[]) => {
      flags.redacted = true;
      // Keep the label of `password=...` forms, so the reader sees what was removed.
      return m.length > 4 &&
        typeof m[1] === "string" &&
        typeof m[2] === "string" &&
        /^(password|passwd|secret|api[_-]?key|token)$/i.test(m[1])
        ? `${m[1]}${m[2]}[REDACTED]`
        : "[REDACTED]";
    });
  }
  return out;
}

function cut(text: string, flags: { truncated: boolean }): string {
  if (text.length <= MAX_TEXT) return text;
  flags.truncated = true;
  return `${text.slice(0, MAX_TEXT)}\n…(truncated)…`;
}

export function sanitizeHistory(
  lines: readonly TranscriptLine[],
  options: { limit: number; includeTools: boolean },
): SanitizedHistory {
  const flags = { redacted: false, truncated: false };
  const out: Array<Record<string, unknown>> = [];
  for (const line of withoutAckedHeartbeats(lines)) {
    if (line.type !== "message") continue;
    const m = line.message as
      | { role?: string; content?: unknown; timestamp?: unknown; toolName?: unknown; provenance?: { kind?: string } }
      | undefined;
    if (!m?.role) continue;
    if (!options.includeTools && m.role === "toolResult") continue;
    const text = (t: string) => cut(redact(t, flags), flags);
    const blocks: Array<Record<string, unknown>> = [];
    if (typeof m.content === "string") blocks.push({ type: "text", text: text(m.content) });
    else if (Array.isArray(m.content)) {
      for (const b of m.content as Array<Record<string, unknown>>) {
        if (b.type === "text" && typeof b.text === "string") blocks.push({ type: "text", text: text(b.text) });
        else if (b.type === "thinking" && typeof b.thinking === "string")
          blocks.push({ type: "thinking", thinking: text(b.thinking) });
        else if (b.type === "image")
          blocks.push({
            type: "image",
            omitted: true,
            bytes: typeof b.data === "string" ? Math.floor((b.data.length * 3) / 4) : 0,
          });
        else if (b.type === "toolCall" && options.includeTools)
          blocks.push({
            type: "toolCall",
            name: b.name,
            arguments: JSON.parse(text(JSON.stringify(b.arguments ?? {}))) as unknown,
          });
      }
    }
    if (blocks.length === 0) continue;
    if (
      m.role === "assistant" &&
      blocks.every((b) => b.type === "text" && String(b.text).trimStart().startsWith("NO_REPLY"))
    )
      continue;
    out.push({
      role: m.role,
      content: blocks,
      timestamp: m.timestamp,
      ...(m.role === "toolResult" ? { toolName: m.toolName } : {}),
      ...(m.provenance?.kind ? { provenance: m.provenance.kind } : {}),
    });
  }
  let messages = out.slice(-options.limit);
  let dropped = out.length - messages.length;
  let bytes = Buffer.byteLength(JSON.stringify(messages));
  while (bytes > MAX_BYTES && messages.length > 1) {
    messages = messages.slice(1);
    dropped++;
    bytes = Buffer.byteLength(JSON.stringify(messages));
  }
  if (bytes > MAX_BYTES) {
    messages = [{ role: "system", content: [{ type: "text", text: "[sessions_history omitted: message too large]" }] }];
    dropped++;
    bytes = Buffer.byteLength(JSON.stringify(messages));
  }
  return {
    messages,
    truncated: dropped > 0,
    droppedMessages: dropped,
    contentTruncated: flags.truncated,
    contentRedacted: flags.redacted,
    bytes,
  };
}
