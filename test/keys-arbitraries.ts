/** fast-check generators shared by the keys/ property tests. */
import fc from "fast-check";
import { buildSessionKey } from "../src/keys/session-key-codec.ts";
import { asciiLower, encodeSegment, isCaseSensitiveChannel } from "../src/keys/segment.ts";
import type { SessionKeyParts } from "../src/keys/session-key-parts.ts";

/** Pieces that stress the encoder: separators, escapes, whitespace, controls, case, unicode, keywords. */
const NASTY = [
  ":",
  "%",
  "%41",
  "%zz",
  " ",
  "\t",
  "\u0007",
  "\u0085",
  "\u00a0",
  "\u2028",
  "\ufeff",
  "A",
  "Z",
  "é",
  "É",
  "\u212a",
  "İ",
  "😀",
  "/",
  "../",
  "thread",
  "topic",
  "direct",
  "dm",
  "group",
  "channel",
  "run",
  "cron",
  "agent",
];

/**
 * Any non-empty well-formed string, biased towards NASTY pieces. Bounded so that three encoded
 * values (≤ 3 pieces × 4 code points × 12 chars each) still fit in a 512-char key.
 */
export const anyId: fc.Arbitrary<string> = fc
  .array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ unit: "binary", minLength: 1, maxLength: 4 })), {
    minLength: 1,
    maxLength: 3,
  })
  .map((xs) => xs.join(""))
  .filter((s) => s !== "" && s.isWellFormed());

/** Flips the case of some ASCII letters: makes ids that differ only by case. */
export function caseVariant(id: string, flips: readonly boolean[]): string {
  return [...id]
    .map((c, i) =>
      flips[i % Math.max(flips.length, 1)] ? (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) : c,
    )
    .join("");
}

export const agentIdArb = fc.oneof(
  fc.constantFrom("main", "ops", "a_b-9"),
  fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,12}$/),
);
export const channelArb = fc.constantFrom(
  "telegram",
  "matrix",
  "signal",
  "discord",
  "slack",
  "whatsapp",
  "direct",
  "cron",
  "dm",
  "group",
);
export const accountArb = fc.constantFrom("default", "work", "bot-2", "direct", "thread");

/** The canonical (already folded) form of a value on a channel: ASCII case only, never Unicode. */
export const foldFor = (channel: string | undefined, v: string): string =>
  channel === undefined || isCaseSensitiveChannel(channel) ? v : asciiLower(v);

const withThread = <T extends object>(p: T, channel: string | undefined, t: string | null): T =>
  t === null ? p : { ...p, threadId: foldFor(channel, t) };

const optThread = fc.option(anyId, { nil: null });

/** Canonical parts of every family; `mainKey` is what parse must be told. */
export const partsArb: fc.Arbitrary<{ parts: SessionKeyParts; mainKey: string }> = fc.oneof(
  fc.constant({ parts: { kind: "global" } as SessionKeyParts, mainKey: "main" }),
  fc.constant({ parts: { kind: "unknown" } as SessionKeyParts, mainKey: "main" }),
  fc
    .tuple(agentIdArb, fc.oneof(fc.constant("main"), anyId.map(asciiLower)), optThread)
    .map(([agentId, mainKey, t]) => ({
      parts: withThread({ kind: "main" as const, agentId, mainKey }, undefined, t),
      mainKey,
    })),
  fc.tuple(agentIdArb, anyId, optThread).map(([agentId, peerId, t]) => ({
    parts: withThread({ kind: "direct" as const, scope: "per-peer" as const, agentId, peerId }, undefined, t),
    mainKey: "main",
  })),
  fc.tuple(agentIdArb, channelArb, anyId, optThread).map(([agentId, channel, id, t]) => ({
    parts: withThread(
      { kind: "direct" as const, scope: "per-channel-peer" as const, agentId, channel, peerId: foldFor(channel, id) },
      channel,
      t,
    ),
    mainKey: "main",
  })),
  fc.tuple(agentIdArb, channelArb, accountArb, anyId, optThread).map(([agentId, channel, accountId, id, t]) => ({
    parts: withThread(
      {
        kind: "direct" as const,
        scope: "per-account-channel-peer" as const,
        agentId,
        channel,
        accountId,
        peerId: foldFor(channel, id),
      },
      channel,
      t,
    ),
    mainKey: "main",
  })),
  // identityLinks canonical names: ASCII-folded whatever the channel, a namespace of their own.
  fc
    .tuple(
      agentIdArb,
      channelArb,
      accountArb,
      anyId,
      fc.constantFrom("per-peer", "per-channel-peer", "per-account-channel-peer"),
      optThread,
    )
    .map(([agentId, channel, accountId, name, scope, t]) => ({
      parts:
        scope === "per-peer"
          ? withThread(
              { kind: "direct" as const, scope, agentId, peerId: asciiLower(name), linked: true as const },
              undefined,
              t,
            )
          : scope === "per-channel-peer"
            ? withThread(
                { kind: "direct" as const, scope, agentId, channel, peerId: asciiLower(name), linked: true as const },
                channel,
                t,
              )
            : withThread(
                {
                  kind: "direct" as const,
                  scope,
                  agentId,
                  channel,
                  accountId,
                  peerId: asciiLower(name),
                  linked: true as const,
                },
                channel,
                t,
              ),
      mainKey: "main",
    })),
  fc.tuple(agentIdArb, channelArb, anyId, optThread).map(([agentId, channel, id, t]) => ({
    parts: withThread({ kind: "group" as const, agentId, channel, groupId: foldFor(channel, id) }, channel, t),
    mainKey: "main",
  })),
  fc.tuple(agentIdArb, channelArb, anyId, optThread).map(([agentId, channel, id, t]) => ({
    parts: withThread({ kind: "channel" as const, agentId, channel, channelId: foldFor(channel, id) }, channel, t),
    mainKey: "main",
  })),
  fc.tuple(agentIdArb, channelArb, anyId, anyId, optThread).map(([agentId, channel, chat, topic, t]) => ({
    parts: withThread(
      { kind: "topic" as const, agentId, channel, chatId: foldFor(channel, chat), topicId: foldFor(channel, topic) },
      channel,
      t,
    ),
    mainKey: "main",
  })),
  fc
    .tuple(agentIdArb, anyId)
    .map(([agentId, j]) => ({ parts: { kind: "cron" as const, agentId, jobId: asciiLower(j) }, mainKey: "main" })),
  fc.tuple(agentIdArb, anyId, fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,40}$/)).map(([agentId, j, sessionId]) => ({
    parts: { kind: "cron-run" as const, agentId, jobId: asciiLower(j), sessionId },
    mainKey: "main",
  })),
  fc
    .tuple(agentIdArb, anyId)
    .map(([agentId, h]) => ({ parts: { kind: "hook" as const, agentId, hookId: asciiLower(h) }, mainKey: "main" })),
  fc.tuple(agentIdArb, anyId).map(([agentId, s]) => ({
    parts: { kind: "subagent" as const, agentId, subagentId: asciiLower(s) },
    mainKey: "main",
  })),
  fc
    .tuple(
      agentIdArb,
      fc.constantFrom("openai-user", "acp", "node-1", "discord:slash", "x:y:z"),
      fc.array(anyId, { maxLength: 2 }),
    )
    .map(([agentId, head, vals]) => ({
      parts: {
        kind: "other" as const,
        agentId,
        rest: [head, ...vals.map((v) => encodeSegment(v, { caseSensitive: false }))].join(":"),
      },
      mainKey: "main",
    }))
    // A generated rest can spell a modelled family (`openai-user:direct:x`); build refuses those.
    .filter(({ parts }) => {
      try {
        buildSessionKey(parts);
        return true;
      } catch {
        return false;
      }
    }),
);
