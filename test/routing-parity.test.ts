/**
 * Routing parity with OpenClaw 2026.3.13 (issue 14 §8–9): each case is an envelope as a channel
 * adapter hands it to Pincer, and the key OpenClaw's channel code builds for the same message —
 * computed by OpenClaw's own key builders (`buildAgentPeerSessionKey`, `resolveThreadSessionKeys`,
 * loaded from ../shared/tools/openclaw-3.13's install when it is there) with the inputs its channel
 * code passes them (read off its Telegram/Discord/Matrix/WhatsApp handlers), and otherwise the
 * literal key the reference gives. Pincer's key must equal it, or — where Pincer encodes what
 * OpenClaw leaves raw — OpenClaw's form must be the route's `legacyKey`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { InboundEnvelope } from "../src/keys/envelope.ts";
import { UnroutableMessageError } from "../src/keys/errors.ts";
import { resolveRoute, type RoutingConfig } from "../src/keys/routing.ts";

interface OpenClawKeys {
  peer(p: {
    agentId: string;
    channel: string;
    accountId?: string;
    peerKind: string;
    peerId: string;
    dmScope?: string;
    identityLinks?: Record<string, string[]>;
  }): string;
  thread(base: string, threadId: string): string;
}

/** OpenClaw's own session-key module (a dependency-free chunk of its dist), or null. */
async function loadOpenClawKeys(): Promise<OpenClawKeys | null> {
  const dist = "/tmp/openclaw-3.13/oc/node_modules/openclaw/dist";
  if (!fs.existsSync(dist)) return null;
  for (const name of fs.readdirSync(dist).filter((n) => n.startsWith("session-key-") && n.endsWith(".js"))) {
    const text = fs.readFileSync(path.join(dist, name), "utf8");
    if (/^import /m.test(text) || !text.includes("function buildAgentPeerSessionKey")) continue;
    const alias = (fn: string) => new RegExp(`\\b${fn} as (\\w+)`).exec(text)?.[1];
    const [p, t] = [alias("buildAgentPeerSessionKey"), alias("resolveThreadSessionKeys")];
    if (!p || !t) continue;
    const mod = (await import(path.join(dist, name))) as Record<string, (x: unknown) => unknown>;
    return {
      peer: (x) => mod[p]!(x) as string,
      thread: (baseSessionKey, threadId) =>
        (mod[t]!({ baseSessionKey, threadId }) as { sessionKey: string }).sessionKey,
    };
  }
  return null;
}

const oc = await loadOpenClawKeys();
if (!oc) console.warn("routing parity: OpenClaw's install not found; comparing with the reference's literal keys");

interface Case {
  name: string;
  envelope: Omit<InboundEnvelope, "senderId" | "text"> & { senderId?: string };
  config?: RoutingConfig;
  /** OpenClaw's key, built as its channel code builds it (null when OpenClaw's module is absent). */
  openclaw: (k: OpenClawKeys) => string;
  /** The same key spelled out (from the reference / OpenClaw's code). */
  literal: string;
  /** Pincer's key when it differs from OpenClaw's form (encoded ids); else they are equal. */
  pincer?: string;
  agentId?: string;
  matchedBy?: string;
}

const perChannel: RoutingConfig = { session: { dmScope: "per-channel-peer" } };
const A = "main";

const CASES: Case[] = [
  {
    name: "Telegram DM topic: the thread carries its chat (`:thread:<chatId>:<threadId>`)",
    envelope: { channel: "telegram", chatType: "direct", peerId: "123", threadId: "7" },
    config: perChannel,
    openclaw: (k) =>
      k.thread(
        k.peer({ agentId: A, channel: "telegram", peerKind: "direct", peerId: "123", dmScope: "per-channel-peer" }),
        "123:7",
      ),
    literal: "agent:main:telegram:direct:123:thread:123:7",
  },
  {
    name: "Telegram DM topic under dmScope main",
    envelope: { channel: "telegram", chatType: "direct", peerId: "123", threadId: "7" },
    openclaw: (k) => k.thread(k.peer({ agentId: A, channel: "telegram", peerKind: "direct", peerId: "123" }), "123:7"),
    literal: "agent:main:main:thread:123:7",
  },
  {
    name: "Telegram DM topic whose chat is not the sender (business chats)",
    envelope: { channel: "telegram", chatType: "direct", peerId: "123", parentPeerId: "456", threadId: "7" },
    config: perChannel,
    openclaw: (k) =>
      k.thread(
        k.peer({ agentId: A, channel: "telegram", peerKind: "direct", peerId: "123", dmScope: "per-channel-peer" }),
        "456:7",
      ),
    literal: "agent:main:telegram:direct:123:thread:456:7",
  },
  {
    name: "Telegram reply thread in a non-forum group: no session of its own",
    envelope: { channel: "telegram", chatType: "group", peerId: "-100123", threadId: "55" },
    openclaw: (k) => k.peer({ agentId: A, channel: "telegram", peerKind: "group", peerId: "-100123" }),
    literal: "agent:main:telegram:group:-100123",
  },
  {
    name: "Telegram forum topic given as a thread id on a forum",
    envelope: { channel: "telegram", chatType: "group", peerId: "-100123", isForum: true, threadId: "42" },
    openclaw: (k) => k.peer({ agentId: A, channel: "telegram", peerKind: "group", peerId: "-100123:topic:42" }),
    literal: "agent:main:telegram:group:-100123:topic:42",
  },
  {
    name: "Telegram forum message without a topic: the General topic 1",
    envelope: { channel: "telegram", chatType: "group", peerId: "-100123", isForum: true },
    openclaw: (k) => k.peer({ agentId: A, channel: "telegram", peerKind: "group", peerId: "-100123:topic:1" }),
    literal: "agent:main:telegram:group:-100123:topic:1",
  },
  {
    name: "WhatsApp group thread id ignored",
    envelope: { channel: "whatsapp", chatType: "group", peerId: "12036304@g.us", threadId: "3EB0C767" },
    openclaw: (k) => k.peer({ agentId: A, channel: "whatsapp", peerKind: "group", peerId: "12036304@g.us" }),
    literal: "agent:main:whatsapp:group:12036304@g.us",
  },
  {
    name: "Discord thread (parent channel + thread id): its own channel session",
    envelope: { channel: "discord", chatType: "channel", peerId: "9000", threadId: "9001" },
    openclaw: (k) => k.peer({ agentId: A, channel: "discord", peerKind: "channel", peerId: "9001" }),
    literal: "agent:main:discord:channel:9001",
  },
  {
    name: "Discord thread bound through its parent channel",
    envelope: { channel: "discord", chatType: "channel", peerId: "9001", parentPeerId: "9000" },
    config: {
      agents: { list: [{ id: "main" }, { id: "ops" }] },
      bindings: [{ agentId: "ops", match: { channel: "discord", peer: { kind: "channel", id: "9000" } } }],
    },
    openclaw: (k) => k.peer({ agentId: "ops", channel: "discord", peerKind: "channel", peerId: "9001" }),
    literal: "agent:ops:discord:channel:9001",
    agentId: "ops",
    matchedBy: "binding.peer.parent",
  },
  {
    name: "Matrix DM bound through its room: the room's session",
    envelope: { channel: "matrix", chatType: "direct", peerId: "@alice:example.org", parentPeerId: "!dm:example.org" },
    config: {
      agents: { list: [{ id: "main" }, { id: "ops" }] },
      bindings: [{ agentId: "ops", match: { channel: "matrix", peer: { kind: "channel", id: "!dm:example.org" } } }],
    },
    openclaw: (k) => k.peer({ agentId: "ops", channel: "matrix", peerKind: "channel", peerId: "!dm:example.org" }),
    literal: "agent:ops:matrix:channel:!dm:example.org",
    pincer: "agent:ops:matrix:channel:!dm%3aexample.org",
    agentId: "ops",
    matchedBy: "binding.peer.parent",
  },
  {
    name: "Matrix DM without a room binding stays a DM",
    envelope: { channel: "matrix", chatType: "direct", peerId: "@alice:example.org", parentPeerId: "!dm:example.org" },
    config: perChannel,
    openclaw: (k) =>
      k.peer({
        agentId: A,
        channel: "matrix",
        peerKind: "direct",
        peerId: "@alice:example.org",
        dmScope: "per-channel-peer",
      }),
    literal: "agent:main:matrix:direct:@alice:example.org",
    pincer: "agent:main:matrix:direct:@alice%3aexample.org",
  },
  {
    name: "named Telegram account, no binding, dmScope main: DMs stay per account",
    envelope: { channel: "telegram", accountId: "bot2", chatType: "direct", peerId: "123" },
    openclaw: (k) =>
      k.peer({
        agentId: A,
        channel: "telegram",
        accountId: "bot2",
        peerKind: "direct",
        peerId: "123",
        dmScope: "per-account-channel-peer",
      }),
    literal: "agent:main:telegram:bot2:direct:123",
  },
  {
    name: "named Telegram account with an account binding: the configured dmScope",
    envelope: { channel: "telegram", accountId: "bot2", chatType: "direct", peerId: "123" },
    config: { bindings: [{ agentId: "main", match: { channel: "telegram", accountId: "bot2" } }] },
    openclaw: (k) => k.peer({ agentId: A, channel: "telegram", accountId: "bot2", peerKind: "direct", peerId: "123" }),
    literal: "agent:main:main",
    matchedBy: "binding.account",
  },
  {
    name: "a Slack thread still suffixes its channel",
    envelope: { channel: "slack", chatType: "channel", peerId: "C0AB", threadId: "1700000000.0001" },
    openclaw: (k) =>
      k.thread(k.peer({ agentId: A, channel: "slack", peerKind: "channel", peerId: "C0AB" }), "1700000000.0001"),
    literal: "agent:main:slack:channel:c0ab:thread:1700000000.0001",
  },
];

describe("routing parity with OpenClaw 2026.3.13", () => {
  for (const c of CASES) {
    it(c.name, () => {
      const expected = oc ? c.openclaw(oc) : c.literal;
      expect(expected).toBe(c.literal);
      const route = resolveRoute({ senderId: c.envelope.peerId, text: "hi", ...c.envelope }, c.config ?? {});
      expect(route.sessionKey).toBe(c.pincer ?? expected);
      expect(route.legacyKey ?? route.sessionKey).toBe(expected);
      if (c.agentId) expect(route.agentId).toBe(c.agentId);
      if (c.matchedBy) expect(route.matchedBy).toBe(c.matchedBy);
    });
  }

  it("a group on a named Telegram account with no binding is refused, naming the account", () => {
    const env = {
      channel: "telegram",
      accountId: "bot2",
      chatType: "group" as const,
      peerId: "-100123",
      senderId: "1",
      text: "hi",
    };
    expect(() => resolveRoute(env, {})).toThrow(UnroutableMessageError);
    expect(() => resolveRoute(env, {})).toThrow(/"bot2".*needs a binding/);
    // With a binding for the account it is routed.
    const bound = resolveRoute(env, {
      bindings: [{ agentId: "main", match: { channel: "telegram", accountId: "bot2" } }],
    });
    expect(bound.sessionKey).toBe("agent:main:telegram:group:-100123");
  });

  it("a binding's peer kind `dm` is `direct` (OpenClaw's normalizeChatType)", () => {
    const cfg = {
      agents: { list: [{ id: "main" }, { id: "ops" }] },
      bindings: [{ agentId: "ops", match: { channel: "telegram", peer: { kind: "dm", id: "123" } } }],
    } as unknown as RoutingConfig;
    const r = resolveRoute({ channel: "telegram", chatType: "direct", peerId: "123", senderId: "123", text: "x" }, cfg);
    expect([r.agentId, r.matchedBy]).toEqual(["ops", "binding.peer"]);
  });

  it("the named-account rule is Telegram's: a named Discord account keeps the configured dmScope", () => {
    const r = resolveRoute(
      { channel: "discord", accountId: "bot2", chatType: "direct", peerId: "77", senderId: "77", text: "x" },
      {},
    );
    expect(r.sessionKey).toBe("agent:main:main");
  });

  it("a forum topic row's reply thread is the topic; a DM topic's is its thread id", () => {
    const topic = resolveRoute(
      { channel: "telegram", chatType: "group", peerId: "-100", topicId: "42", senderId: "1", text: "x" },
      {},
    );
    expect(topic.threadId).toBe("42");
    const dm = resolveRoute(
      { channel: "telegram", chatType: "direct", peerId: "5", threadId: "7", senderId: "5", text: "x" },
      {},
    );
    expect(dm.threadId).toBe("7");
    const reply = resolveRoute(
      { channel: "telegram", chatType: "group", peerId: "-100", threadId: "9", senderId: "1", text: "x" },
      {},
    );
    expect(reply.threadId).toBeUndefined();
  });
});
