/**
 * The agent's session tools, OpenClaw's set: session_status, sessions_list, sessions_history,
 * sessions_send, sessions_spawn, sessions_yield. Every key a model names is resolved and checked
 * against `tools.sessions.visibility` / `tools.agentToAgent` before anything is read or written;
 * bad arguments become an error result the model can read.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { PincerError } from "../errors.ts";
import { agentIdFromKey, isCronRunKey, mainSessionKey } from "../keys/session-key-helpers.ts";
import { normalizeSessionKey } from "../keys/session-key-normalize.ts";
import type { AgentRuntime, TurnOutcome } from "../runtime/runtime.ts";
import { statusCard } from "../runtime/status-card.ts";
import type { AgentTool, ToolContext, ToolRegistry } from "../runtime/tool-registry.ts";
import type { SessionEntry } from "../store/entry.ts";
import { sanitizeHistory } from "./history-sanitize.ts";
import { SubagentManager } from "./subagents.ts";
import { checkSessionAccess, resolveVisibilityConfig, type VisibilityConfig } from "./visibility.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KINDS = ["main", "group", "cron", "hook", "subagent", "other"] as const;
type Kind = (typeof KINDS)[number];

/** Sessions named in a "multiple sessions have that label" error (labels are meant to be unique). */
const MAX_LABEL_MATCHES = 10;

class ToolError extends PincerError {
  override readonly code = "tool_refused";
  override readonly httpStatus = 400;
}

function parseArgs<T>(tool: string, schema: z.ZodType<T>, args: unknown): T {
  const r = schema.safeParse(args ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new ToolError(`${tool}: ${issue.path.join(".") || "arguments"}: ${issue.message}`);
}

const json = (value: unknown) => JSON.stringify(value);

export function kindOfKey(key: string, mainKey = "main"): Kind {
  const rest = key.replace(/^agent:[^:]+:/, "");
  if (rest === mainKey) return "main";
  if (rest.startsWith("cron:")) return "cron";
  if (rest.startsWith("hook:")) return "hook";
  if (rest.startsWith("subagent:")) return "subagent";
  if (/:(group|channel):/.test(`:${rest}`)) return "group";
  return "other";
}

export interface SessionToolsOptions {
  rt: AgentRuntime;
  agentIds: () => string[];
}

export function registerSessionTools(registry: ToolRegistry, options: SessionToolsOptions): SubagentManager {
  const { rt } = options;
  const subagents = new SubagentManager(rt, options.agentIds);
  const config = (): VisibilityConfig => resolveVisibilityConfig(rt.config.tools);
  const mainKey = rt.config.session?.mainKey ?? "main";

  const parentOf = async (key: string) => {
    const agent = agentIdFromKey(key);
    if (!agent || !options.agentIds().includes(agent)) return undefined;
    const e = await rt.manager.get(agent, key);
    return typeof e?.spawnedBy === "string" ? e.spawnedBy : undefined;
  };

  /** `main`, a key, or a session id → a canonical key that exists and the caller may use. */
  const resolveTarget = async (
    ctx: ToolContext,
    raw: string,
    verb: string,
  ): Promise<{ key: string; agentId: string; entry: SessionEntry }> => {
    let key: string | undefined;
    if (raw === "main") key = mainSessionKey(ctx.agentId, mainKey);
    else if (UUID.test(raw)) {
      for (const agentId of options.agentIds()) {
        key = (await rt.manager.findSessions(agentId, { sessionId: raw }, 1))[0]?.key;
        if (key) break;
      }
      if (!key) throw new ToolError(`Unknown sessionId: ${raw}`);
    } else {
      try {
        key = normalizeSessionKey(raw);
      } catch (err) {
        throw new ToolError(
          `invalid sessionKey ${JSON.stringify(raw)}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    const denied = await checkSessionAccess({
      config: config(),
      requesterKey: ctx.sessionKey,
      targetKey: key,
      verb,
      parentOf,
    });
    if (denied) throw new ToolError(denied);
    const agentId = agentIdFromKey(key) ?? ctx.agentId;
    const entry = options.agentIds().includes(agentId) ? await rt.manager.get(agentId, key) : undefined;
    if (!entry) throw new ToolError(`Unknown sessionKey: ${key}`);
    return { key, agentId, entry };
  };

  const resolveLabel = async (ctx: ToolContext, label: string, agentId: string | undefined): Promise<string> => {
    const agents = agentId ? [agentId.toLowerCase()] : [ctx.agentId];
    const found: string[] = [];
    for (const a of agents) {
      if (!options.agentIds().includes(a)) throw new ToolError(`unknown agent "${a}"`);
      for (const row of await rt.manager.findSessions(a, { label }, MAX_LABEL_MATCHES)) found.push(row.key);
    }
    if (found.length === 0) throw new ToolError(`No session found with label ${JSON.stringify(label)}`);
    if (found.length > 1)
      throw new ToolError(`Multiple sessions found with label ${JSON.stringify(label)}: ${found.join(", ")}`);
    return found[0]!;
  };

  const waitFor = (done: Promise<TurnOutcome>, seconds: number): Promise<TurnOutcome | "timeout"> =>
    Promise.race([done, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), seconds * 1000).unref())]);

  const submitInternal = (
    target: { agentId: string; sessionKey: string },
    text: string,
    source: string,
    tool: string,
    messageId?: string,
  ) =>
    rt.submit(
      {
        channel: "internal",
        chatType: "direct",
        peerId: "agent",
        senderId: "agent",
        text,
        ...(messageId ? { messageId } : {}),
      },
      {
        surface: "internal",
        target,
        commandAuthorized: false,
        touchRoute: false,
        provenance: { kind: "inter_session", sourceSessionKey: source, sourceTool: tool },
      },
    );

  /** After sessions_send: reply exchange (stops on REPLY_SKIP), then the announce step on the target. */
  const agentExchange = async (
    requester: { agentId: string; sessionKey: string },
    target: { agentId: string; sessionKey: string },
    request: string,
    firstReply: string,
    timeoutSeconds: number,
  ) => {
    const maxTurns = Math.min(5, Math.max(0, rt.config.session?.agentToAgent?.maxPingPongTurns ?? 5));
    let latest = firstReply;
    for (let turn = 1; turn <= maxTurns; turn++) {
      const [speaker, other] = turn % 2 === 1 ? [requester, target] : [target, requester];
      const prompt = `[Agent-to-agent reply ${turn} of ${maxTurns}] ${other.sessionKey} says:\n${latest}\n\nReply to continue the exchange, or reply exactly REPLY_SKIP to stop.`;
      const out = await waitFor(
        (await submitInternal(speaker, prompt, other.sessionKey, "sessions_send")).done,
        timeoutSeconds,
      );
      if (out === "timeout" || !out.reply || out.reply.trim().startsWith("REPLY_SKIP")) break;
      latest = out.reply;
    }
    const announcePrompt = [
      `[Agent-to-agent announce] ${requester.sessionKey} asked this session:`,
      request,
      "Latest reply in the exchange:",
      latest,
      "Write the message to send to this session's channel, or reply exactly ANNOUNCE_SKIP to stay silent.",
    ].join("\n");
    const out = await waitFor(
      (await submitInternal(target, announcePrompt, requester.sessionKey, "sessions_send")).done,
      timeoutSeconds,
    );
    if (out !== "timeout" && out.reply && !out.reply.trim().startsWith("ANNOUNCE_SKIP"))
      await rt.deliverToRoute(target.agentId, target.sessionKey, out.reply);
  };

  const tools: AgentTool[] = [
    {
      spec: {
        name: "session_status",
        description:
          'Show the status card of this (or a visible) session; `model` sets the session\'s model ("default" resets it).',
        parameters: {
          type: "object",
          properties: { sessionKey: { type: "string" }, model: { type: "string" } },
          additionalProperties: false,
        },
      },
      async run(args, ctx) {
        const a = parseArgs(
          "session_status",
          z.object({ sessionKey: z.string().min(1).optional(), model: z.string().optional() }).strict(),
          args,
        );
        const t = await resolveTarget(ctx, a.sessionKey ?? ctx.sessionKey, "status");
        let changedModel = false;
        if (a.model !== undefined) {
          const reset = a.model.trim() === "" || a.model.trim() === "default";
          let resolved: ReturnType<AgentRuntime["resolveModelRef"]> | null = null;
          if (!reset) {
            try {
              resolved = rt.resolveModelRef(a.model.trim());
            } catch {
              throw new ToolError(`Unrecognized model "${a.model}".`);
            }
          }
          await rt.manager.patchSession(t.agentId, t.key, (cur) => {
            if (!cur) return undefined;
            const next = { ...cur };
            if (resolved)
              Object.assign(next, { providerOverride: resolved.provider.name, modelOverride: resolved.model });
            else {
              delete next.providerOverride;
              delete next.modelOverride;
            }
            return next;
          });
          changedModel = true;
        }
        const text = await statusCard(rt, t.agentId, t.key);
        return json({ ok: true, sessionKey: t.key, changedModel, statusText: text });
      },
    },
    {
      spec: {
        name: "sessions_list",
        description:
          "List sessions this agent may see, newest first. kinds: main, group, cron, hook, subagent, other. messageLimit attaches the last N messages. Use `cursor` from a previous page.",
        parameters: {
          type: "object",
          properties: {
            kinds: { type: "array", items: { type: "string", enum: [...KINDS] } },
            limit: { type: "integer", minimum: 1, maximum: 200 },
            activeMinutes: { type: "integer", minimum: 1 },
            messageLimit: { type: "integer", minimum: 0, maximum: 20 },
            cursor: { type: "string" },
          },
          additionalProperties: false,
        },
      },
      async run(args, ctx) {
        const a = parseArgs(
          "sessions_list",
          z
            .object({
              kinds: z.array(z.enum(KINDS)).optional(),
              limit: z.number().int().min(1).max(200).optional(),
              activeMinutes: z.number().int().min(1).optional(),
              messageLimit: z.number().int().min(0).max(20).optional(),
              cursor: z.string().optional(),
            })
            .strict(),
          args,
        );
        const cfg = config();
        const agents = cfg.visibility === "all" && cfg.agentToAgent.enabled ? options.agentIds() : [ctx.agentId];
        const since = a.activeMinutes ? rt.now() - a.activeMinutes * 60_000 : undefined;
        const visible: Array<{ key: string; agentId: string; entry: SessionEntry }> = [];
        for (const agentId of agents) {
          for (const row of (await rt.manager.list(agentId, since ? { activeSince: since } : {})).rows) {
            if (isCronRunKey(row.key)) continue;
            if (a.kinds && !a.kinds.includes(kindOfKey(row.key, mainKey))) continue;
            if (
              await checkSessionAccess({
                config: cfg,
                requesterKey: ctx.sessionKey,
                targetKey: row.key,
                verb: "list",
                parentOf,
              })
            )
              continue;
            visible.push({ key: row.key, agentId, entry: row.entry });
          }
        }
        visible.sort((x, y) => y.entry.updatedAt - x.entry.updatedAt || (x.key < y.key ? -1 : 1));
        const start = a.cursor ? Number.parseInt(a.cursor, 10) : 0;
        if (!Number.isInteger(start) || start < 0)
          throw new ToolError("sessions_list: cursor: not a cursor from a previous page");
        const limit = a.limit ?? 50;
        const page = visible.slice(start, start + limit);
        const sessions = [];
        for (const v of page) {
          const kind = kindOfKey(v.key, mainKey);
          const row: Record<string, unknown> = {
            key: v.key === mainSessionKey(ctx.agentId, mainKey) ? "main" : v.key,
            kind,
            channel:
              kind === "cron" || kind === "hook" ? "internal" : (v.entry.channel ?? v.entry.lastChannel ?? "unknown"),
            ...(v.entry.label ? { label: v.entry.label } : {}),
            updatedAt: v.entry.updatedAt,
            sessionId: v.entry.sessionId,
            ...(v.entry.model ? { model: v.entry.model } : {}),
            ...(v.entry.totalTokens !== undefined ? { totalTokens: v.entry.totalTokens } : {}),
            ...(v.entry.spawnedBy ? { spawnedBy: v.entry.spawnedBy } : {}),
            ...(v.entry.subagentState ? { subagentState: v.entry.subagentState } : {}),
          };
          if (a.messageLimit) {
            const { lines } = await rt.manager.transcriptLines(v.agentId, v.entry.sessionId);
            row.messages = sanitizeHistory(lines, { limit: a.messageLimit, includeTools: false }).messages;
          }
          sessions.push(row);
        }
        const next = start + limit < visible.length ? String(start + limit) : null;
        return json({ count: sessions.length, total: visible.length, nextCursor: next, sessions });
      },
    },
    {
      spec: {
        name: "sessions_history",
        description: "Read a visible session's recent messages (secrets redacted, long texts truncated).",
        parameters: {
          type: "object",
          properties: {
            sessionKey: { type: "string" },
            limit: { type: "integer", minimum: 1, maximum: 1000 },
            includeTools: { type: "boolean" },
          },
          required: ["sessionKey"],
          additionalProperties: false,
        },
      },
      async run(args, ctx) {
        const a = parseArgs(
          "sessions_history",
          z
            .object({
              sessionKey: z.string().min(1),
              limit: z.number().int().min(1).max(1000).optional(),
              includeTools: z.boolean().optional(),
            })
            .strict(),
          args,
        );
        const t = await resolveTarget(ctx, a.sessionKey, "history");
        const { lines } = await rt.manager.transcriptLines(t.agentId, t.entry.sessionId);
        return json({
          sessionKey: t.key,
          ...sanitizeHistory(lines, { limit: a.limit ?? 200, includeTools: a.includeTools ?? false }),
        });
      },
    },
    {
      spec: {
        name: "sessions_send",
        description:
          "Send a message to another session (by sessionKey or label) and wait up to timeoutSeconds (default 30; 0 = do not wait) for its reply.",
        parameters: {
          type: "object",
          properties: {
            sessionKey: { type: "string" },
            label: { type: "string", maxLength: 64 },
            agentId: { type: "string" },
            message: { type: "string" },
            timeoutSeconds: { type: "number", minimum: 0, maximum: 600 },
          },
          required: ["message"],
          additionalProperties: false,
        },
      },
      async run(args, ctx) {
        const a = parseArgs(
          "sessions_send",
          z
            .object({
              sessionKey: z.string().min(1).optional(),
              label: z.string().min(1).max(64).optional(),
              agentId: z.string().optional(),
              message: z.string().min(1),
              timeoutSeconds: z.number().min(0).max(600).optional(),
            })
            .strict(),
          args,
        );
        if (a.sessionKey && a.label) throw new ToolError("sessions_send: give either sessionKey or label, not both");
        if (!a.sessionKey && !a.label) throw new ToolError("sessions_send: sessionKey or label is required");
        const rawKey = a.sessionKey ?? (await resolveLabel(ctx, a.label!, a.agentId));
        const t = await resolveTarget(ctx, rawKey, "send");
        if (t.key === ctx.sessionKey) throw new ToolError("sessions_send: cannot send to the current session");
        const timeoutSeconds = a.timeoutSeconds ?? 30;
        const requester = { agentId: ctx.agentId, sessionKey: ctx.sessionKey };
        const target = { agentId: t.agentId, sessionKey: t.key };
        const accepted = await submitInternal(
          target,
          a.message,
          ctx.sessionKey,
          "sessions_send",
          `send:${randomUUID()}`,
        );
        const exchange = (reply: string) =>
          void agentExchange(requester, target, a.message, reply, timeoutSeconds || 30).catch(() => undefined);
        if (timeoutSeconds === 0) {
          void accepted.done.then((o) => o.reply && exchange(o.reply));
          return json({
            runId: accepted.runId,
            status: "accepted",
            sessionKey: t.key,
            delivery: { status: "pending", mode: "announce" },
          });
        }
        const out = await waitFor(accepted.done, timeoutSeconds);
        if (out === "timeout") {
          // The reply still reaches the requester once, as a message of its own, when it comes.
          void accepted.done.then(async (late) => {
            if (!late.reply) return;
            await submitInternal(
              requester,
              `[sessions_send late reply from ${t.key}]\n${late.reply}`,
              t.key,
              "sessions_send",
              `late:${accepted.runId}`,
            );
          });
          return json({
            runId: accepted.runId,
            status: "timeout",
            error: `no reply within ${timeoutSeconds}s; it will arrive as a message when ready`,
            sessionKey: t.key,
          });
        }
        if (out.status === "error")
          return json({
            runId: accepted.runId,
            status: "error",
            error: out.error ?? "the run failed",
            sessionKey: t.key,
          });
        if (out.reply) exchange(out.reply);
        return json({ runId: accepted.runId, status: "ok", reply: out.reply, sessionKey: t.key });
      },
    },
    {
      spec: {
        name: "sessions_spawn",
        description:
          "Start a sub-agent on a task in its own session. Returns at once; the result arrives later as a message to this session (do not poll).",
        parameters: {
          type: "object",
          properties: {
            task: { type: "string" },
            label: { type: "string", maxLength: 64 },
            agentId: { type: "string" },
            model: { type: "string" },
            runTimeoutSeconds: { type: "integer", minimum: 0 },
            cleanup: { type: "string", enum: ["delete", "keep"] },
          },
          required: ["task"],
          additionalProperties: false,
        },
      },
      async run(args, ctx) {
        const a = parseArgs(
          "sessions_spawn",
          z
            .object({
              task: z.string().min(1),
              label: z.string().min(1).max(64).optional(),
              agentId: z.string().min(1).optional(),
              model: z.string().min(1).optional(),
              runTimeoutSeconds: z.number().int().min(0).optional(),
              cleanup: z.enum(["delete", "keep"]).optional(),
            })
            .strict(),
          args,
        );
        if (a.label) {
          const agent = (a.agentId ?? ctx.agentId).toLowerCase();
          if (
            options.agentIds().includes(agent) &&
            (await rt.manager.findSessions(agent, { label: a.label }, 1)).length > 0
          )
            throw new ToolError(`sessions_spawn: label already in use: ${a.label}`);
        }
        try {
          const r = await subagents.spawn({ parentAgentId: ctx.agentId, parentKey: ctx.sessionKey, ...a });
          return json({
            status: "accepted",
            childSessionKey: r.childSessionKey,
            runId: r.runId,
            mode: "run",
            note: "The result will be posted to this session when the sub-agent finishes; do not poll.",
          });
        } catch (err) {
          throw new ToolError(err instanceof Error ? err.message : String(err));
        }
      },
    },
    {
      spec: {
        name: "sessions_yield",
        description: "End this turn now so sub-agent results can arrive as the next message.",
        parameters: { type: "object", properties: { message: { type: "string" } }, additionalProperties: false },
      },
      async run(args) {
        const a = parseArgs("sessions_yield", z.object({ message: z.string().optional() }).strict(), args);
        return { text: json({ status: "yielded", message: a.message ?? "Turn yielded." }), endTurn: true };
      },
    },
  ];
  for (const t of tools) registry.register(t);
  return subagents;
}
