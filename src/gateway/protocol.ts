/**
 * The gateway's wire protocol as data: one zod schema per WebSocket method's params and result,
 * per event payload, and per small HTTP body the WebChat uses. The server validates params with
 * these schemas before a method runs (ws-methods.ts), and the WebChat imports the inferred types
 * from JSDoc (`import("../gateway/protocol.ts").SessionRow`), so both sides read one definition.
 *
 * Browser-safe on purpose: this module imports only zod (and nothing of Node or of Pincer), so the
 * WebChat's type check can follow it. Results are described, not checked at run time: the types
 * make the server's code match them, and test/protocol.test.ts parses real answers with them.
 */
import { z } from "zod";

/** Error codes a WebSocket error frame carries (OpenClaw's names). */
export const WIRE_ERROR_CODES = [
  "INVALID_REQUEST",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFLICT",
  "PAYLOAD_TOO_LARGE",
  "UNAVAILABLE",
] as const;
export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

// ---- field building blocks: each carries what it expects, for error messages ------------------

const nonBlank = (max?: number) => {
  const base = z.string().refine((s) => s.trim() !== "");
  return (max === undefined ? base : base.refine((s) => s.length <= max)).describe(
    max === undefined ? "a non-empty string" : `a non-empty string of at most ${max} characters`,
  );
};
const int = (min: number, max: number) => z.int().min(min).max(max).describe(`an integer ${min}-${max}`);
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values).describe(values.map((v) => JSON.stringify(v)).join(", "));
/** A patch value: null clears the field, as in OpenClaw's `sessions.patch`. */
const clearable = <T extends z.ZodType>(schema: T) =>
  schema
    .nullable()
    .optional()
    .describe(`${schema.description ?? "a value"} or null`);

export const THINKING_LEVELS = ["off", "minimal", "low", "medium", "high", "xhigh", "adaptive"] as const;
export const VERBOSE_LEVELS = ["on", "off", "full"] as const;
export const REASONING_LEVELS = ["on", "off", "stream"] as const;
export const ELEVATED_LEVELS = ["on", "off", "ask", "full"] as const;
export const RESPONSE_USAGE = ["off", "tokens", "full", "on"] as const;
/** Queue modes and the aliases runtime/queue-settings.ts normalises (a row may hold either). */
export const QUEUE_MODES = [
  "collect",
  "coalesce",
  "followup",
  "follow-ups",
  "followups",
  "follow-up",
  "steer",
  "steering",
  "queue",
  "queued",
  "steer-backlog",
  "steer+backlog",
  "steer_backlog",
  "interrupt",
  "interrupts",
  "abort",
] as const;
export const QUEUE_DROPS = ["old", "oldest", "new", "newest", "summarize", "summary"] as const;

// ---- shared shapes ---------------------------------------------------------------------------

/** One session as `sessions.list` shows it. */
export const SessionRowSchema = z.object({
  key: z.string(),
  kind: z.enum(["direct", "group"]),
  label: z.string().optional(),
  displayName: z.string().optional(),
  channel: z.string().optional(),
  chatType: z.enum(["direct", "group", "channel"]),
  updatedAt: z.number(),
  sessionStartedAt: z.number().optional(),
  lastInteractionAt: z.number().optional(),
  sessionId: z.string(),
  abortedLastRun: z.boolean(),
  thinkingLevel: z.string().optional(),
  sendPolicy: z.enum(["allow", "deny"]).optional(),
  groupActivation: z.enum(["mention", "always"]).optional(),
  inputTokens: z.number().optional(),
  outputTokens: z.number().optional(),
  /** Only when fresh (the last run's count); absent otherwise. */
  totalTokens: z.number().optional(),
  totalTokensFresh: z.boolean(),
  modelProvider: z.string().optional(),
  model: z.string().optional(),
  contextTokens: z.number().optional(),
  compactionCount: z.number(),
  lastChannel: z.string().optional(),
  lastTo: z.string().optional(),
  origin: z.record(z.string(), z.string().optional()).optional(),
  queueMode: z.string().optional(),
});
export type SessionRow = z.infer<typeof SessionRowSchema>;

/** A stored session row as the methods that change one return it (unknown fields kept). */
export const SessionEntrySchema = z.looseObject({ sessionId: z.string(), updatedAt: z.number() });
export type SessionEntryWire = z.infer<typeof SessionEntrySchema>;

export const HistoryItemSchema = z.object({
  id: z.string().nullable(),
  role: z.string(),
  text: z.string(),
  timestamp: z.string().nullable(),
  kind: z.enum(["message", "compaction"]),
  /** User lines: who wrote it and on which channel (from the transcript line's provenance). */
  senderName: z.string().optional(),
  senderId: z.string().optional(),
  channel: z.string().optional(),
  /** Assistant lines: the tool calls it made (arguments as JSON text, bounded). */
  toolCalls: z.array(z.object({ id: z.string(), name: z.string(), args: z.string() })).optional(),
  /** Tool result lines. */
  toolCallId: z.string().optional(),
  toolName: z.string().optional(),
  isError: z.boolean().optional(),
  /** Assistant lines cut short (`aborted`: stopped by the user; the text is the partial reply). */
  stopReason: z.string().optional(),
  /** Images and files in the message, by name, type and size. */
  attachments: z.array(z.object({ name: z.string(), mimeType: z.string(), bytes: z.number() })).optional(),
});
export type HistoryItem = z.infer<typeof HistoryItemSchema>;

/** How a submission ended (`silent`: answered NO_REPLY; `command`: a chat command answered it). */
export const TURN_STATUSES = [
  "ok",
  "silent",
  "error",
  "aborted",
  "dropped",
  "duplicate",
  "command",
  "not-mentioned",
] as const;
export type TurnStatus = (typeof TURN_STATUSES)[number];

/** A run's outcome, as `GET /v1/runs/:id`, `agent.wait` and a repeated `chat.send` report it. */
export const RunOutcomeSchema = z.object({
  runId: z.string(),
  sessionKey: z.string(),
  sessionId: z.string(),
  status: z.enum(TURN_STATUSES),
  reply: z.string().nullable(),
  delivered: z.boolean(),
  error: z.string().optional(),
  resetReason: z.string().optional(),
});
export type RunOutcome = z.infer<typeof RunOutcomeSchema>;

// ---- methods ---------------------------------------------------------------------------------

const key = nonBlank();
const ok = z.literal(true);

export const ConnectParams = z.object({ token: z.string().optional() });
export const ConnectResult = z.object({ principal: z.enum(["operator", "client", "hook"]), version: z.string() });

export const SessionsListParams = z.object({
  limit: int(1, 10_000).optional(),
  activeMinutes: int(1, 10_000_000).optional(),
  search: nonBlank().nullish(),
  agentId: nonBlank().nullish(),
});
export const SessionsListResult = z.object({
  ts: z.number(),
  count: z.number(),
  defaults: z.object({ modelProvider: z.string(), model: z.string(), contextTokens: z.number().optional() }),
  sessions: z.array(SessionRowSchema),
});

/** Exactly one of the three (checked by the method: the message names the rule, not a field). */
export const SessionsResolveParams = z.object({
  key: key.optional(),
  sessionId: nonBlank().optional(),
  label: nonBlank(64).optional(),
});
export const SessionsResolveResult = z.object({ ok, key: z.string() });

/** The fields a caller may set on a session row; anything else is refused, naming it. */
export const SessionPatchFields = {
  label: clearable(z.string().trim().min(1).max(64).describe("1-64 characters (not blank)")),
  thinkingLevel: clearable(oneOf(THINKING_LEVELS)),
  fastMode: clearable(z.boolean().describe("true or false")),
  verboseLevel: clearable(oneOf(VERBOSE_LEVELS)),
  reasoningLevel: clearable(oneOf(REASONING_LEVELS)),
  responseUsage: clearable(oneOf(RESPONSE_USAGE)),
  elevatedLevel: clearable(oneOf(ELEVATED_LEVELS)),
  /** A model reference (`provider/model` or an alias); null goes back to the agent's default. */
  model: clearable(nonBlank()),
  sendPolicy: clearable(oneOf(["allow", "deny"])),
  groupActivation: clearable(oneOf(["mention", "always"])),
  queueMode: clearable(oneOf(QUEUE_MODES)),
  queueDebounceMs: clearable(int(0, 86_400_000)),
  queueCap: clearable(int(1, 100_000)),
  queueDrop: clearable(oneOf(QUEUE_DROPS)),
  /** Maintenance never removes a pinned row. */
  pinned: clearable(z.boolean().describe("true or false")),
};
export type SessionPatchField = keyof typeof SessionPatchFields;
export const SessionsPatchParams = z.strictObject({ key, ...SessionPatchFields });
export const SessionsPatchResult = z.object({
  ok,
  key: z.string(),
  entry: SessionEntrySchema,
  resolved: z.object({ modelProvider: z.string(), model: z.string() }),
});

export const SessionKeyParams = z.object({ key });
export const SessionsResetResult = z.object({ ok, key: z.string(), entry: SessionEntrySchema });
export const SessionsDeleteResult = z.object({
  ok,
  key: z.string(),
  deleted: z.boolean(),
  archived: z.array(z.string()),
});
export const SessionsCompactParams = z.object({ key, instructions: nonBlank().nullish() });
export const SessionsCompactResult = z.object({
  ok,
  key: z.string(),
  compacted: z.boolean(),
  status: z.enum(["compacted", "skipped", "failed"]),
  reason: z.string().optional(),
  tokensBefore: z.number(),
  tokensAfter: z.number(),
});
export const SessionsStatusResult = z.object({ key: z.string(), card: z.string() });

const sessionKey = nonBlank(512);
export const ChatHistoryParams = z.object({ sessionKey, limit: int(1, 1000).optional() });
export const ChatHistoryResult = z.object({
  sessionKey: z.string(),
  sessionId: z.string(),
  messages: z.array(HistoryItemSchema),
  thinkingLevel: z.string().optional(),
});

export const ChatSendParams = z.object({ sessionKey, message: nonBlank(), idempotencyKey: nonBlank(200).nullish() });
export const ChatSendResult = z.union([
  z.object({ runId: z.string(), status: z.literal("started"), sessionKey: z.string(), sessionId: z.string() }),
  /** The same idempotency key again: the first send's run, finished (`ok`) or not. */
  z.object({
    runId: z.string(),
    status: z.enum(["ok", "in_flight"]),
    sessionKey: z.string(),
    result: RunOutcomeSchema.optional(),
  }),
]);

export const ChatAbortParams = z.object({ sessionKey });
export const ChatAbortResult = z.object({ ok, aborted: z.boolean(), runIds: z.array(z.string()) });

export const AgentWaitParams = z.object({ runId: nonBlank(), timeoutMs: int(0, 600_000).optional() });
export const AgentWaitResult = z.union([
  z.object({ status: z.literal("timeout") }),
  z.object({ status: z.enum(["ok", "error"]), error: z.string().optional(), result: RunOutcomeSchema }),
]);

// ---- channels (DM pairing, channel status) ----------------------------------------------------

const channelName = z.enum(["telegram", "slack", "discord", "signal"]);
const accountIdParam = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/i, "an account id")
  .optional();
export const PairingRequestSchema = z.object({
  id: z.string(),
  code: z.string(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
  meta: z.record(z.string(), z.string()).optional(),
});
export const PairingListParams = z.object({ channel: channelName, accountId: accountIdParam });
export const PairingListResult = z.object({ channel: z.string(), requests: z.array(PairingRequestSchema) });
export const PairingCodeParams = z.object({
  channel: channelName,
  code: z.string().regex(/^[A-Za-z0-9]{8}$/, "an 8-character pairing code"),
  accountId: accountIdParam,
  notify: z.boolean().optional(),
});
export const PairingApproveResult = z.object({
  ok,
  approved: z.boolean(),
  id: z.string().optional(),
  accountId: z.string().optional(),
});
export const PairingRejectResult = z.object({ ok, rejected: z.boolean(), id: z.string().optional() });
export const ChannelsStatusParams = z.object({ probe: z.boolean().optional() });
export const ChannelAccountStatusSchema = z.looseObject({
  channel: z.string(),
  accountId: z.string(),
  enabled: z.boolean(),
  configured: z.boolean(),
  state: z.string(),
  connected: z.boolean().optional(),
  queueDepth: z.number(),
  error: z.string().optional(),
  lastInboundAt: z.number().optional(),
  lastOutboundAt: z.number().optional(),
});
export const ChannelsStatusResult = z.object({ accounts: z.array(ChannelAccountStatusSchema) });

// ---- Control UI (operator only): sessions table, usage, cron, logs, config ----------------------

/** A `sessions.query` row: the list row plus what the sessions table and overrides form show. */
export const ControlSessionRowSchema = SessionRowSchema.extend({
  agentId: z.string(),
  pinned: z.boolean().optional(),
  /** `provider/model` set by `sessions.patch {model}`; absent: the agent's default. */
  modelOverride: z.string().optional(),
  usageTokens: z.number().optional(),
  usageCost: z.number().optional(),
});
export type ControlSessionRow = z.infer<typeof ControlSessionRowSchema>;
export const SessionsQueryParams = z.strictObject({
  offset: int(0, 10_000_000).optional(),
  limit: int(1, 500).optional(),
  search: nonBlank(200).nullish(),
  agentId: nonBlank().nullish(),
  channel: nonBlank(64).nullish(),
  kind: oneOf(["direct", "group"]).nullish(),
  activeMinutes: int(1, 10_000_000).optional(),
  /** Only rows whose label contains this (case-insensitive). */
  label: nonBlank(64).nullish(),
  sort: oneOf(["updated", "tokens"]).optional(),
  order: oneOf(["desc", "asc"]).optional(),
});
export const SessionsQueryResult = z.object({
  ts: z.number(),
  total: z.number(),
  offset: z.number(),
  channels: z.array(z.string()),
  defaults: z.object({ modelProvider: z.string(), model: z.string() }),
  sessions: z.array(ControlSessionRowSchema),
});

export const UsageTotalsSchema = z.object({
  input: z.number(),
  output: z.number(),
  cacheRead: z.number(),
  cacheWrite: z.number(),
  totalTokens: z.number(),
  cost: z.number(),
  calls: z.number(),
});
export const UsageSummaryParams = z.strictObject({ days: int(1, 366).optional(), agentId: nonBlank().nullish() });
export const UsageSummaryResult = z.object({
  ts: z.number(),
  /** Rows read (every session of the agents asked for). */
  rows: z.number(),
  /** Rows without a per-day ledger (written before it): their totals count on their last active day. */
  undatedRows: z.number(),
  totals: UsageTotalsSchema,
  /** Per UTC day of the model calls (the rows' `usageTotals.byDay`), from the period's first day. */
  byDay: z.array(z.object({ day: z.string(), totalTokens: z.number(), cost: z.number(), sessions: z.number() })),
  byModel: z.record(z.string(), UsageTotalsSchema),
  byChannel: z.record(z.string(), UsageTotalsSchema),
  byAgent: z.record(z.string(), UsageTotalsSchema),
  topSessions: z.array(
    z.object({
      key: z.string(),
      agentId: z.string(),
      label: z.string().optional(),
      channel: z.string().optional(),
      totalTokens: z.number(),
      cost: z.number(),
    }),
  ),
});

export const CronJobSchema = z.object({
  id: z.string(),
  name: z.string().optional(),
  schedule: z.string(),
  tz: z.string().optional(),
  agentId: z.string(),
  enabled: z.boolean(),
  running: z.boolean(),
  nextRunAt: z.number().optional(),
  last: z
    .object({
      at: z.number(),
      status: z.string(),
      sessionKey: z.string(),
      error: z.string().optional(),
      reply: z.string().optional(),
    })
    .optional(),
  deliver: z
    .object({ channel: z.string(), to: z.string(), accountId: z.string().optional(), threadId: z.string().optional() })
    .optional(),
});
export const CronListParams = z.strictObject({});
export const CronListResult = z.object({ jobs: z.array(CronJobSchema) });
const cronId = nonBlank(200);
export const CronRunParams = z.strictObject({ id: cronId });
export const CronRunResult = z.object({ ok, started: z.boolean() });
export const CronUpdateParams = z.strictObject({ id: cronId, enabled: z.boolean().describe("true or false") });
export const CronUpdateResult = z.object({
  ok,
  job: CronJobSchema,
  /** Where the choice was kept: the config file, else `cron-state.json` (why in `note`), else memory. */
  savedTo: z.enum(["config", "state", "memory"]),
  file: z.string().optional(),
  note: z.string().optional(),
});

export const LOG_LEVEL_NAMES = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
export const LogRecordSchema = z.object({
  seq: z.number(),
  time: z.number(),
  level: z.string(),
  msg: z.string(),
  fields: z.string(),
});
export type LogRecordWire = z.infer<typeof LogRecordSchema>;
export const LogsTailParams = z.strictObject({
  limit: int(1, 2000).optional(),
  level: oneOf(LOG_LEVEL_NAMES).optional(),
  search: nonBlank(200).nullish(),
  /** Keep sending new records to this socket as `log` events (until it closes or sends follow: false). */
  follow: z.boolean().describe("true or false").optional(),
});
export const LogsTailResult = z.object({ records: z.array(LogRecordSchema), following: z.boolean() });

export const ConfigGetParams = z.strictObject({});
export const ConfigGetResult = z.object({
  /** The resolved config with every secret replaced by "***". */
  config: z.record(z.string(), z.unknown()),
  warnings: z.array(z.string()),
  notices: z.array(z.string()),
});
export const ConfigValidateParams = z.strictObject({
  text: z.string().max(1_000_000).describe("config text (JSON5) of at most 1000000 characters"),
});
export const ConfigValidateResult = z.object({
  ok: z.boolean(),
  problems: z.array(z.string()),
  warnings: z.array(z.string()),
});
export const AuditFindingSchema = z.object({
  checkId: z.string(),
  severity: z.enum(["critical", "warn", "info"]),
  title: z.string(),
  detail: z.string(),
  remediation: z.string().optional(),
});
/** `/context detail` of a session, as text. */
export const SessionsContextResult = z.object({ key: z.string(), text: z.string() });
export const SecurityAuditParams = z.strictObject({});
export const SecurityAuditResult = z.object({
  ts: z.number(),
  summary: z.object({ critical: z.number(), warn: z.number(), info: z.number() }),
  findings: z.array(AuditFindingSchema),
});

/** Every WebSocket method: its params and its result. `connect` is answered by the server itself. */
export const WS_METHODS = {
  connect: { params: ConnectParams, result: ConnectResult },
  "sessions.list": { params: SessionsListParams, result: SessionsListResult },
  "sessions.resolve": { params: SessionsResolveParams, result: SessionsResolveResult },
  "sessions.patch": { params: SessionsPatchParams, result: SessionsPatchResult },
  "sessions.reset": { params: SessionKeyParams, result: SessionsResetResult },
  "sessions.delete": { params: SessionKeyParams, result: SessionsDeleteResult },
  "sessions.compact": { params: SessionsCompactParams, result: SessionsCompactResult },
  "sessions.status": { params: SessionKeyParams, result: SessionsStatusResult },
  "chat.history": { params: ChatHistoryParams, result: ChatHistoryResult },
  "chat.send": { params: ChatSendParams, result: ChatSendResult },
  "chat.abort": { params: ChatAbortParams, result: ChatAbortResult },
  "agent.wait": { params: AgentWaitParams, result: AgentWaitResult },
  "pairing.list": { params: PairingListParams, result: PairingListResult },
  "pairing.approve": { params: PairingCodeParams, result: PairingApproveResult },
  "pairing.reject": { params: PairingCodeParams, result: PairingRejectResult },
  "channels.status": { params: ChannelsStatusParams, result: ChannelsStatusResult },
  "sessions.query": { params: SessionsQueryParams, result: SessionsQueryResult },
  "usage.summary": { params: UsageSummaryParams, result: UsageSummaryResult },
  "cron.list": { params: CronListParams, result: CronListResult },
  "cron.run": { params: CronRunParams, result: CronRunResult },
  "cron.update": { params: CronUpdateParams, result: CronUpdateResult },
  "logs.tail": { params: LogsTailParams, result: LogsTailResult },
  "config.get": { params: ConfigGetParams, result: ConfigGetResult },
  "config.validate": { params: ConfigValidateParams, result: ConfigValidateResult },
  "security.audit": { params: SecurityAuditParams, result: SecurityAuditResult },
  "sessions.context": { params: SessionKeyParams, result: SessionsContextResult },
} as const;
export type MethodName = keyof typeof WS_METHODS;
/** What a caller sends as `params` (a typed client's argument). */
export type MethodParams<M extends MethodName> = z.input<(typeof WS_METHODS)[M]["params"]>;
/** The params after validation (defaults and trimming applied): what a method's code receives. */
export type ParsedParams<M extends MethodName> = z.output<(typeof WS_METHODS)[M]["params"]>;
/** The `payload` of a successful response. */
export type MethodResult<M extends MethodName> = z.infer<(typeof WS_METHODS)[M]["result"]>;

// ---- events ----------------------------------------------------------------------------------

/** A run's streamed output: deltas, then one final (or aborted / error). */
export const ChatEventSchema = z.object({
  runId: z.string(),
  /** Every submission answered by this run (collect mode answers several at once). */
  runIds: z.array(z.string()),
  /** Absent on the single final event that answers a message without a streamed run. */
  agentId: z.string().optional(),
  sessionKey: z.string(),
  seq: z.number(),
  state: z.enum(["delta", "final", "aborted", "error"]),
  text: z.string().optional(),
  message: z.string().optional(),
  errorMessage: z.string().optional(),
  delivered: z.boolean().optional(),
  usage: z.object({ input: z.number(), output: z.number(), totalTokens: z.number() }).optional(),
  /** Only on that single final event: why no run streamed (a command's answer, a retry, ...). */
  status: z.enum(["command", "duplicate", "dropped", "not-mentioned"]).optional(),
});
export type ChatEvent = z.infer<typeof ChatEventSchema>;

/** Something happened to a session that screens showing it should reload. */
export const SessionEventSchema = z.object({
  agentId: z.string(),
  sessionKey: z.string(),
  sessionId: z.string().nullable(),
  change: z.enum(["message", "reset", "deleted"]),
});
export type SessionEvent = z.infer<typeof SessionEventSchema>;

/** A reply meant for a session's channel outside a request/response exchange (announces), for bridges. */
export const OutboundEventSchema = z.object({
  agentId: z.string(),
  sessionKey: z.string(),
  route: z.object({
    channel: z.string().optional(),
    to: z.string().optional(),
    accountId: z.string().optional(),
    threadId: z.string().optional(),
  }),
  text: z.string(),
});
export type OutboundEvent = z.infer<typeof OutboundEventSchema>;

export const WS_EVENTS = {
  chat: ChatEventSchema,
  session: SessionEventSchema,
  outbound: OutboundEventSchema,
  /** A new log record, to a socket that asked `logs.tail {follow: true}`. */
  log: LogRecordSchema,
} as const;
export type EventName = keyof typeof WS_EVENTS;
export type EventPayload<E extends EventName> = z.infer<(typeof WS_EVENTS)[E]>;

// ---- frames ----------------------------------------------------------------------------------

export type RequestId = string | number;
export interface WireError {
  /** One of WIRE_ERROR_CODES. */
  code: string;
  message: string;
  retryable?: boolean;
  details?: Record<string, unknown>;
}
export interface RequestFrame<M extends MethodName = MethodName> {
  type: "req";
  id: RequestId;
  method: M;
  params?: MethodParams<M>;
}
/** `id` is null only when the request's id could not be read. */
export type ResponseFrame<M extends MethodName = MethodName> =
  | { type: "res"; id: RequestId | null; ok: true; payload: MethodResult<M> }
  | { type: "res"; id: RequestId | null; ok: false; error: WireError };
export type EventFrame = { [E in EventName]: { type: "event"; event: E; payload: EventPayload<E> } }[EventName];
export type ServerFrame = ResponseFrame | EventFrame;

// ---- HTTP bodies the WebChat reads -----------------------------------------------------------

export const LoginBody = z.object({ token: z.string() });
export type LoginResult = { ok: true; csrfToken: string };
export type AuthSessionResult = { loggedIn: true; csrfToken: string } | { loggedIn: false };
export type HealthzResult = { ok: true; version: string; uptimeMs: number };
export interface HttpErrorBody {
  error: { code: string; message: string };
}

// ---- error messages --------------------------------------------------------------------------

const preview = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
};

/** What a field expects, from its description (through optional/nullable wrappers). */
function expectedOf(schema: z.core.$ZodType | undefined): string | undefined {
  if (!schema) return undefined;
  const description = z.globalRegistry.get(schema)?.description;
  if (description) return description;
  return schema instanceof z.ZodOptional || schema instanceof z.ZodNullable ? expectedOf(schema.unwrap()) : undefined;
}

/**
 * One message for params a schema refused: the field, the value given and what was expected,
 * e.g. `queueCap: got "lots", expected an integer 1-100000 or null`.
 */
export function paramsProblem(
  method: string,
  shape: z.core.$ZodShape,
  params: Record<string, unknown>,
  error: z.ZodError,
): string {
  const issue = error.issues[0];
  if (!issue) return `${method}: invalid params`;
  if (issue.code === "unrecognized_keys") {
    return `${issue.keys[0]}: not a field of ${method} (allowed: ${Object.keys(shape).join(", ")})`;
  }
  const field = String(issue.path[0] ?? "params");
  const fieldSchema = shape[field];
  const value = params[field];
  // A required field sent as null is missing, as before the schemas.
  if (value === undefined || (value === null && fieldSchema && !z.safeParse(fieldSchema, undefined).success))
    return `${field}: required`;
  return `${field}: got ${preview(value)}, expected ${expectedOf(fieldSchema) ?? issue.message}`;
}
