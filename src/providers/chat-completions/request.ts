/**
 * The Chat Completions request body, written as UTF-8 JSON directly from Pincer's transcript
 * messages: each message object's encoded JSON is kept (transcript messages do not change once
 * written), and so are the system prompt's and each tool's, so a turn serialises and encodes only
 * what is new since the last one (the history and a 20 KB system prompt are most of the bytes). The body matches what the AI SDK's
 * `openai` and `openai-compatible` chat adapters send for the same call (same messages, tools,
 * `max_tokens`, `reasoning_effort`, `stream_options.include_usage`), including OpenAI's rules for
 * its reasoning models (system prompt as `developer`, `max_completion_tokens`).
 */
import type { AgentMessage } from "../../transcript/entries.ts";
import type { ToolSpec } from "../types.ts";
import type { WireKind } from "./chunks.ts";

interface Converted {
  /** The wire message's JSON, UTF-8; null: nothing is sent. */
  json: Buffer | null;
  role: AgentMessage["role"];
  /** Ids of the tool calls an assistant message makes, or the id a tool result answers. */
  ids: string[];
}

const cache: Record<WireKind, WeakMap<AgentMessage, Converted>> = {
  openai: new WeakMap(),
  "openai-compatible": new WeakMap(),
};
const toolCache = new WeakMap<ToolSpec, Buffer>();
/** Encoded system prompts by role and text (a few per gateway: one per agent and purpose). */
const systemCache = { system: new Map<string, Buffer>(), developer: new Map<string, Buffer>() };
const MAX_SYSTEM_PROMPTS = 16;
const COMMA = Buffer.from(",");

const encode = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), "utf8");

function isParsableJson(text: string): unknown {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

/** A tool call's `arguments` as each adapter writes it (OpenAI sends only objects; `{}` otherwise). */
function argumentsJson(kind: WireKind, input: unknown): string {
  if (kind === "openai") {
    if (typeof input === "string") {
      const parsed = isParsableJson(input) as { value: unknown } | undefined;
      const v = parsed?.value;
      return typeof v === "object" && v !== null && !Array.isArray(v) ? input : "{}";
    }
    return JSON.stringify(typeof input === "object" && input !== null && !Array.isArray(input) ? input : {});
  }
  if (typeof input === "string") return isParsableJson(input) ? input : JSON.stringify(input);
  return JSON.stringify(input);
}

function unsupported(what: string): Error {
  return new Error(`'${what}' functionality not supported.`);
}

function convert(kind: WireKind, m: AgentMessage): Converted {
  if (m.role === "user") {
    if (typeof m.content === "string")
      return { json: encode({ role: "user", content: m.content }), role: "user", ids: [] };
    const blocks = m.content.filter((b) => b.type !== "text" || b.text !== "");
    if (blocks.length === 1 && blocks[0]!.type === "text")
      return { json: encode({ role: "user", content: blocks[0]!.text }), role: "user", ids: [] };
    const content = blocks.map((b) => {
      if (b.type === "text") return { type: "text", text: b.text };
      if (!b.mimeType.startsWith("image/")) throw unsupported(`file part media type ${b.mimeType}`);
      const mediaType = b.mimeType === "image/*" ? "image/jpeg" : b.mimeType;
      return { type: "image_url", image_url: { url: `data:${mediaType};base64,${b.data}` } };
    });
    return { json: encode({ role: "user", content }), role: "user", ids: [] };
  }
  if (m.role === "assistant") {
    // Thinking is not replayed to Chat Completions servers (only Anthropic takes it back).
    let text = "";
    const calls: Array<{ id: string; type: "function"; function: { name: string; arguments: string } }> = [];
    for (const b of m.content) {
      if (b.type === "text") text += b.text;
      else if (b.type === "toolCall")
        calls.push({
          id: b.id,
          type: "function",
          function: { name: b.name, arguments: argumentsJson(kind, b.arguments ?? {}) },
        });
    }
    if (text === "" && calls.length === 0) return { json: null, role: "assistant", ids: [] };
    const json = encode({
      role: "assistant",
      content: calls.length > 0 ? text || null : text,
      ...(calls.length > 0 ? { tool_calls: calls } : {}),
    });
    return { json, role: "assistant", ids: calls.map((c) => c.id) };
  }
  const text = m.content.map((b) => (b.type === "text" ? b.text : "[image]")).join("\n");
  return {
    json: encode({ role: "tool", tool_call_id: m.toolCallId, content: text }),
    role: "toolResult",
    ids: [m.toolCallId],
  };
}

function convertedOf(kind: WireKind, m: AgentMessage): Converted {
  const map = cache[kind];
  let c = map.get(m);
  if (c === undefined) {
    c = convert(kind, m);
    map.set(m, c);
  }
  return c;
}

function missingResults(ids: Set<string>): Error {
  return new Error(
    `Tool result${ids.size > 1 ? "s are" : " is"} missing for tool call${ids.size > 1 ? "s" : ""} ${[...ids].join(", ")}.`,
  );
}

function toolJson(t: ToolSpec): Buffer {
  let json = toolCache.get(t);
  if (json === undefined) {
    json = encode({
      type: "function",
      function: { name: t.name, description: t.description, parameters: t.parameters },
    });
    toolCache.set(t, json);
  }
  return json;
}

/** OpenAI's reasoning models (o-series, GPT-5 and later but not its chat variants), as the AI SDK tells them. */
function openaiModel(model: string): { reasoning: boolean; efforts: readonly string[] | undefined } {
  const o = /^o(\d+)(?:-|$)/.exec(model);
  const g = /^gpt-(\d+)(?:\.(\d+))?(?:-(.+))?$/.exec(model);
  const major = g ? Number(g[1]) : undefined;
  const chat = g !== null && g[2] === undefined && (g[3]?.startsWith("chat") ?? false);
  const reasoning = o !== null || (major !== undefined && major >= 5 && !chat);
  const gpt6 = major !== undefined && major >= 6;
  const noneEffort = model === "gpt-6-sol" || model === "gpt-6-luna" || model === "gpt-6.1-terra";
  const efforts = noneEffort
    ? ["none", "low", "medium", "high", "xhigh", "max"]
    : gpt6
      ? ["low", "medium", "high", "xhigh", "max"]
      : undefined;
  return { reasoning, efforts };
}

export interface BodyInput {
  model: string;
  system?: string;
  messages: readonly AgentMessage[];
  tools?: readonly ToolSpec[];
  maxOutputTokens?: number;
  reasoningEffort?: string;
}

/** The last prompt encoded: a turn's prompt is usually the last one, rebuilt as a new string (no cached hash). */
let lastSystem: { role: string; text: string; json: Buffer } | null = null;

function systemJson(role: "system" | "developer", text: string): Buffer {
  if (lastSystem !== null && lastSystem.role === role && lastSystem.text === text) return lastSystem.json;
  const cache = systemCache[role];
  let json = cache.get(text);
  if (json === undefined) {
    json = encode({ role, content: text });
    if (cache.size >= MAX_SYSTEM_PROMPTS) cache.delete(cache.keys().next().value!);
    cache.set(text, json);
  }
  lastSystem = { role, text, json };
  return json;
}

/** The JSON body of a streamed call; throws (before anything is sent) on a tool call left without its result. */
export function requestBody(kind: WireKind, input: BodyInput): Buffer {
  const parts: Buffer[] = [];
  let systemRole: "system" | "developer" = "system";
  let effort = input.reasoningEffort;
  let maxKey = "max_tokens";
  if (kind === "openai") {
    const caps = openaiModel(input.model);
    if (caps.reasoning) {
      systemRole = "developer";
      maxKey = "max_completion_tokens";
    }
    if (effort !== undefined && caps.efforts !== undefined && !caps.efforts.includes(effort)) effort = undefined;
  }
  if (input.system) parts.push(systemJson(systemRole, input.system));
  let open: Set<string> | null = null;
  for (const m of input.messages) {
    const c = convertedOf(kind, m);
    if (c.json === null) continue;
    if (c.role === "toolResult") open?.delete(c.ids[0]!);
    else if (c.role === "user") {
      if (open !== null && open.size > 0) throw missingResults(open);
    } else for (const id of c.ids) (open ??= new Set()).add(id);
    parts.push(c.json);
  }
  if (open !== null && open.size > 0) throw missingResults(open);
  let head = `{"model":${JSON.stringify(input.model)}`;
  if (input.maxOutputTokens) head += `,"${maxKey}":${input.maxOutputTokens}`;
  if (effort !== undefined) head += `,"reasoning_effort":${JSON.stringify(effort)}`;
  const out: Buffer[] = [Buffer.from(`${head},"messages":[`)];
  joinInto(out, parts);
  if (input.tools && input.tools.length > 0) {
    out.push(Buffer.from(`],"tools":[`));
    joinInto(out, input.tools.map(toolJson));
    out.push(Buffer.from(`],"tool_choice":"auto"`));
  } else out.push(Buffer.from("]"));
  out.push(Buffer.from(`,"stream":true,"stream_options":{"include_usage":true}}`));
  return Buffer.concat(out);
}

function joinInto(out: Buffer[], parts: readonly Buffer[]): void {
  parts.forEach((p, i) => {
    if (i > 0) out.push(COMMA);
    out.push(p);
  });
}
