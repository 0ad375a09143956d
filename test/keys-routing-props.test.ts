import { describe, it, expect } from "vitest";
import fc from "fast-check";
import type { ChatType, InboundEnvelope } from "../src/keys/envelope.ts";
import { normalizeAccountId, normalizeChannel } from "../src/keys/ids.ts";
import { resolveRoute } from "../src/keys/routing.ts";
import { parseSessionKey, resetTypeForKey } from "../src/keys/session-key.ts";
import type { DmScope, SessionKeyParts } from "../src/keys/session-key.ts";
import { accountArb, agentIdArb, anyId, caseVariant, channelArb, foldFor } from "./keys-arbitraries.ts";

const RUNS = { numRuns: 1500 };
const SCOPES: readonly DmScope[] = ["main", "per-peer", "per-channel-peer", "per-account-channel-peer"];

const peerIdArb = anyId.filter((s) => s.trim() !== "");
const optId = fc.option(anyId, { nil: undefined });

/**
 * Channels whose threads follow the generic rule. Telegram (topics, DM topics, the named-account
 * rule), WhatsApp (group threads ignored) and Discord (threads are channels) have OpenClaw's own
 * rules, checked case by case in test/routing-parity.test.ts.
 */
const genericChannelArb = channelArb.filter((c) => !["telegram", "whatsapp", "discord"].includes(c));

const envelopeArb = (kinds: readonly ChatType[]): fc.Arbitrary<InboundEnvelope> =>
  fc
    .record({
      channel: fc.oneof(
        genericChannelArb,
        genericChannelArb.map((c) => ` ${c.toUpperCase()} `),
      ),
      accountId: fc.option(accountArb, { nil: undefined }),
      chatType: fc.constantFrom(...kinds),
      peerId: peerIdArb,
      threadId: optId,
      topicId: optId,
    })
    .map(({ accountId, threadId, topicId, ...rest }) => ({
      ...rest,
      senderId: "s",
      text: "t",
      ...(accountId !== undefined ? { accountId } : {}),
      ...(threadId !== undefined ? { threadId } : {}),
      ...(topicId !== undefined ? { topicId } : {}),
    }));

/**
 * Two envelopes, the second often a near miss of the first: same peer with some letters' case
 * flipped, or the same peer on another channel, account or chat type.
 */
const pairArb = (kinds: readonly ChatType[]): fc.Arbitrary<readonly [InboundEnvelope, InboundEnvelope]> =>
  fc
    .tuple(
      envelopeArb(kinds),
      envelopeArb(kinds),
      fc.constantFrom("independent", "case", "channel", "account", "kind", "same"),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
    )
    .map(([a, b, mode, flips]) => {
      switch (mode) {
        case "case":
          return [a, { ...a, peerId: caseVariant(a.peerId, flips) }] as const;
        case "channel":
          return [a, { ...a, channel: b.channel }] as const;
        case "account":
          return [a, { ...a, accountId: b.accountId ?? "default" }] as const;
        case "kind":
          return [a, { ...a, chatType: b.chatType }] as const;
        case "same":
          return [a, { ...a }] as const;
        default:
          return [a, b] as const;
      }
    })
    .filter(([, b]) => b.peerId.trim() !== "");

const blank = (v: string | undefined): string | undefined => v?.trim() || undefined;

/** The parts the spec says a message must land in, written independently of routing.ts. */
function intended(env: InboundEnvelope, scope: DmScope, agentId: string, mainKey: string): SessionKeyParts {
  const channel = normalizeChannel(env.channel);
  const f = (v: string): string => foldFor(channel, v.trim());
  const thread = blank(env.threadId);
  const topic = blank(env.topicId);
  const peerId = f(env.peerId);
  let base: SessionKeyParts;
  let threadId: string | undefined;
  if (env.chatType === "direct") {
    threadId = thread ?? topic;
    const accountId = normalizeAccountId(env.accountId);
    base =
      scope === "main"
        ? { kind: "main", agentId, mainKey }
        : scope === "per-peer"
          ? { kind: "direct", scope, agentId, peerId }
          : scope === "per-channel-peer"
            ? { kind: "direct", scope, agentId, channel, peerId }
            : { kind: "direct", scope, agentId, channel, accountId, peerId };
  } else if (env.chatType === "group" && topic !== undefined) {
    threadId = thread;
    base = { kind: "topic", agentId, channel, chatId: peerId, topicId: f(topic) };
  } else {
    threadId = thread ?? topic;
    base =
      env.chatType === "group"
        ? { kind: "group", agentId, channel, groupId: peerId }
        : { kind: "channel", agentId, channel, channelId: peerId };
  }
  return threadId === undefined ? base : { ...base, threadId: f(threadId) };
}

describe("routing properties", () => {
  it("(c) no id can make a key parse with other structural segments than intended", () => {
    fc.assert(
      fc.property(
        envelopeArb(["direct", "group", "channel"]),
        fc.constantFrom(...SCOPES),
        agentIdArb,
        fc.constantFrom("main", "home"),
        (env, dmScope, agent, mainKey) => {
          const r = resolveRoute(env, { session: { dmScope, mainKey }, agents: { list: [{ id: agent }] } });
          const want = intended(env, dmScope, agent, mainKey);
          expect(parseSessionKey(r.sessionKey, { mainKey })).toEqual(want);
          // Structural, so an account or id spelled `thread` cannot turn a DM into a thread.
          const threaded = want.kind === "topic" || ("threadId" in want && want.threadId !== undefined);
          expect(r.resetType).toBe(threaded ? "thread" : env.chatType === "direct" ? "direct" : "group");
          expect(resetTypeForKey(r.sessionKey, { mainKey })).toBe(r.resetType);
        },
      ),
      RUNS,
    );
  });

  it("(b) distinct DM peers never share a key under per-peer, per-channel-peer, per-account-channel-peer", () => {
    const pair = pairArb(["direct"]);
    fc.assert(
      fc.property(
        pair,
        fc.constantFrom<DmScope>("per-peer", "per-channel-peer", "per-account-channel-peer"),
        ([a, b], dmScope) => {
          const identity = (e: InboundEnvelope): string => {
            const ch = normalizeChannel(e.channel);
            const thread = blank(e.threadId) ?? blank(e.topicId);
            const who = [foldFor(ch, e.peerId.trim()), thread === undefined ? null : foldFor(ch, thread)];
            if (dmScope === "per-peer") return JSON.stringify(who);
            if (dmScope === "per-channel-peer") return JSON.stringify([ch, ...who]);
            return JSON.stringify([ch, normalizeAccountId(e.accountId), ...who]);
          };
          const cfg = { session: { dmScope } };
          const same = resolveRoute(a, cfg).sessionKey === resolveRoute(b, cfg).sessionKey;
          expect(same).toBe(identity(a) === identity(b));
        },
      ),
      RUNS,
    );
  });

  it("distinct groups, channels and topics never share a key", () => {
    const pair = pairArb(["group", "channel"]);
    fc.assert(
      fc.property(pair, ([a, b]) => {
        const identity = (e: InboundEnvelope): string => {
          const ch = normalizeChannel(e.channel);
          const topic = e.chatType === "group" ? blank(e.topicId) : undefined;
          const thread = blank(e.threadId) ?? (e.chatType === "group" ? undefined : blank(e.topicId));
          const fold = (v: string | undefined): string | null => (v === undefined ? null : foldFor(ch, v.trim()));
          return JSON.stringify([ch, e.chatType, fold(e.peerId), fold(topic), fold(thread)]);
        };
        const same = resolveRoute(a, {}).sessionKey === resolveRoute(b, {}).sessionKey;
        expect(same).toBe(identity(a) === identity(b));
      }),
      RUNS,
    );
  });
});
