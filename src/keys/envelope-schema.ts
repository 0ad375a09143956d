/**
 * Validation of inbound envelopes at the edge: anything a channel bridge sends is checked here
 * before an id can reach a session key. Errors list every problem, one `field: problem` per line.
 */
import { z } from "zod";
import { PincerError } from "../errors.ts";
import { codePointLabel, findControlChar } from "./errors.ts";
import type { InboundEnvelope } from "./envelope.ts";

export const MAX_ENVELOPE_ID_LENGTH = 256;
/** The ceiling for any envelope; the gateway's own, smaller limit is `gateway.maxMessageBytes`. */
export const MAX_ENVELOPE_TEXT_BYTES = 16 * 1024 * 1024;
const MAX_ROLES = 256;

export class EnvelopeError extends PincerError {
  override readonly code = "invalid_envelope";
  override readonly httpStatus = 400;
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join("\n"));
    this.problems = problems;
  }
}

/** First problem with an identifier, or undefined. One message per field keeps errors readable. */
function idProblem(value: string, max: number): string | undefined {
  if (value === "") return "must not be empty";
  if (value.length > max) return `must be at most ${max} characters (got ${value.length})`;
  const ctl = findControlChar(value);
  if (ctl) return `contains control character ${codePointLabel(ctl.cp)} at index ${ctl.index}`;
  if (!value.isWellFormed()) return "contains an unpaired surrogate";
  return undefined;
}

// Identifiers are trimmed, then checked; an id that is only whitespace is empty.
const id = z
  .string()
  .trim()
  .superRefine((v, ctx) => {
    const problem = idProblem(v, MAX_ENVELOPE_ID_LENGTH);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

// Display names may be blank (some platforms send none): blank becomes absent.
const name = z
  .string()
  .trim()
  .superRefine((v, ctx) => {
    const problem = v === "" ? undefined : idProblem(v, MAX_ENVELOPE_ID_LENGTH);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .transform((v) => (v === "" ? undefined : v));

// Message text is not trimmed: leading indentation and trailing newlines can be meaningful.
const text = z.string().superRefine((v, ctx) => {
  const bytes = Buffer.byteLength(v, "utf8");
  if (bytes > MAX_ENVELOPE_TEXT_BYTES) {
    ctx.addIssue({
      code: "custom",
      message: `must be at most ${MAX_ENVELOPE_TEXT_BYTES} bytes of UTF-8 (got ${bytes})`,
    });
  }
});

const envelopeSchema = z.strictObject({
  channel: id,
  accountId: id.optional(),
  chatType: z.enum(["direct", "group", "channel"]),
  peerId: id,
  groupId: id.optional(),
  threadId: id.optional(),
  topicId: id.optional(),
  isForum: z.boolean().optional(),
  parentPeerId: id.optional(),
  groupSubject: name.optional(),
  senderId: id,
  senderName: name.optional(),
  text,
  messageId: id.optional(),
  timestamp: z.number({ error: "must be a finite number" }).optional(),
  guildId: id.optional(),
  teamId: id.optional(),
  roles: z.array(id).max(MAX_ROLES, `must have at most ${MAX_ROLES} entries`).optional(),
  /** Groups: whether the bridge saw the agent mentioned (mention gating). */
  wasMentioned: z.boolean().optional(),
});

function fieldName(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `${out ? "." : ""}${String(p)}`;
  return out || "envelope";
}

function describe(issue: z.core.$ZodIssue): string[] {
  const field = fieldName(issue.path);
  if (issue.code === "unrecognized_keys")
    return issue.keys.map((k) => `${fieldName([...issue.path, k])}: unknown field`);
  if (issue.code === "invalid_type" && issue.message.endsWith("received undefined")) return [`${field}: is required`];
  return [`${field}: ${issue.message.replace(/^Invalid (input|option): /, "")}`];
}

/** Validates and normalises one inbound message; throws EnvelopeError listing every problem. */
export function parseEnvelope(input: unknown): InboundEnvelope {
  const result = envelopeSchema.safeParse(input);
  if (!result.success) throw new EnvelopeError(result.error.issues.flatMap(describe));
  const { senderName, groupSubject, ...rest } = result.data;
  return {
    ...rest,
    ...(senderName !== undefined ? { senderName } : {}),
    ...(groupSubject !== undefined ? { groupSubject } : {}),
  };
}
