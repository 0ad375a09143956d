import { describe, it, expect } from "vitest";
import type { InboundEnvelope } from "../src/keys/envelope.ts";
import { RoutingConfigError, resolveRoute, validateIdentityLinks } from "../src/keys/routing.ts";
import type { RouteBinding, RoutingConfig } from "../src/keys/routing.ts";
import type { DmScope } from "../src/keys/session-key.ts";

const dm = (over: Partial<InboundEnvelope> = {}): InboundEnvelope => ({
  channel: "telegram",
  chatType: "direct",
  peerId: "123",
  senderId: "123",
  text: "hi",
  ...over,
});
const group = (over: Partial<InboundEnvelope> = {}): InboundEnvelope =>
  dm({ chatType: "group", peerId: "-100", ...over });
const scoped = (dmScope: DmScope, extra: RoutingConfig["session"] = {}): RoutingConfig => ({
  session: { dmScope, ...extra },
});

describe("DM keys per dmScope", () => {
  const cases: Array<[DmScope, string]> = [
    ["main", "agent:main:main"],
    ["per-peer", "agent:main:direct:123"],
    ["per-channel-peer", "agent:main:telegram:direct:123"],
    ["per-account-channel-peer", "agent:main:telegram:default:direct:123"],
  ];
  for (const [scope, key] of cases) {
    it(`${scope} → ${key}`, () => {
      const r = resolveRoute(dm(), scoped(scope));
      expect(r.sessionKey).toBe(key);
      expect(r.mainSessionKey).toBe("agent:main:main");
      expect(r.resetType).toBe("direct");
      expect(r.chatType).toBe("direct");
      expect(r.lastRoutePolicy).toBe(scope === "main" ? "main" : "session");
      expect(r.peerKey).toBe("123");
    });
  }

  it("dmScope defaults to main", () => {
    expect(resolveRoute(dm(), {}).sessionKey).toBe("agent:main:main");
  });

  it("honours a configured mainKey", () => {
    const r = resolveRoute(dm(), scoped("main", { mainKey: "home" }));
    expect(r.sessionKey).toBe("agent:main:home");
    expect(r.mainSessionKey).toBe("agent:main:home");
  });

  it("uses the normalised account id", () => {
    expect(resolveRoute(dm({ accountId: "Biz Line" }), scoped("per-account-channel-peer")).sessionKey).toBe(
      "agent:main:telegram:biz-line:direct:123",
    );
  });

  it("lower-cases ids on ordinary channels, keeps case (encoded) on Matrix and Signal", () => {
    expect(resolveRoute(dm({ peerId: "BoB" }), scoped("per-channel-peer")).sessionKey).toBe(
      "agent:main:telegram:direct:bob",
    );
    const m = (peerId: string) => resolveRoute(dm({ channel: "matrix", peerId }), scoped("per-peer")).sessionKey;
    expect(m("@Alice:example.org")).toBe("agent:main:direct:@%41lice%3aexample.org");
    expect(m("@alice:example.org")).toBe("agent:main:direct:@alice%3aexample.org");
  });

  it("adds a thread suffix to DM keys, folded by the inbound channel", () => {
    expect(resolveRoute(dm({ channel: "slack", threadId: "T1" }), scoped("main")).sessionKey).toBe(
      "agent:main:main:thread:t1",
    );
    const r = resolveRoute(dm({ channel: "slack", threadId: "T1" }), scoped("per-peer"));
    expect(r.sessionKey).toBe("agent:main:direct:123:thread:t1");
    expect(r.resetType).toBe("thread");
  });
});

describe("group, channel, topic and thread keys", () => {
  it("groups and channels are isolated per id", () => {
    expect(resolveRoute(group(), {}).sessionKey).toBe("agent:main:telegram:group:-100");
    expect(resolveRoute(group({ peerId: "-200" }), {}).sessionKey).toBe("agent:main:telegram:group:-200");
    const ch = resolveRoute(dm({ channel: "discord", chatType: "channel", peerId: "987" }), {});
    expect(ch.sessionKey).toBe("agent:main:discord:channel:987");
    expect(ch.resetType).toBe("group");
    expect(ch.peerKey).toBeUndefined();
  });

  it("dmScope and identityLinks do not affect groups", () => {
    const cfg = scoped("per-peer", { identityLinks: { alice: ["-100"] } });
    expect(resolveRoute(group(), cfg).sessionKey).toBe("agent:main:telegram:group:-100");
  });

  it("telegram forum topics", () => {
    const r = resolveRoute(group({ topicId: "42" }), {});
    expect(r.sessionKey).toBe("agent:main:telegram:group:-100:topic:42");
    expect(r.resetType).toBe("thread");
  });

  it("threads hang off the channel key", () => {
    const r = resolveRoute(dm({ channel: "slack", chatType: "channel", peerId: "C01", threadId: "1712.5" }), {});
    expect(r.sessionKey).toBe("agent:main:slack:channel:c01:thread:1712.5");
    expect(r.resetType).toBe("thread");
  });

  it("a peer id cannot forge a thread or topic", () => {
    const r = resolveRoute(group({ peerId: "-100:topic:1" }), {});
    expect(r.sessionKey).toBe("agent:main:telegram:group:-100%3atopic%3a1");
    expect(r.resetType).toBe("group");
  });
});

describe("identityLinks", () => {
  const links = { Alice: ["telegram:123", "discord:987", "555"] };

  it("maps linked peers to the canonical name (in its own `~` namespace) under every scope but main", () => {
    expect(resolveRoute(dm(), scoped("per-peer", { identityLinks: links })).sessionKey).toBe(
      "agent:main:direct:~alice",
    );
    expect(
      resolveRoute(dm({ channel: "discord", peerId: "987" }), scoped("per-peer", { identityLinks: links })).sessionKey,
    ).toBe("agent:main:direct:~alice");
    expect(resolveRoute(dm(), scoped("per-channel-peer", { identityLinks: links })).sessionKey).toBe(
      "agent:main:telegram:direct:~alice",
    );
    expect(resolveRoute(dm(), scoped("per-account-channel-peer", { identityLinks: links })).sessionKey).toBe(
      "agent:main:telegram:default:direct:~alice",
    );
    const main = resolveRoute(dm(), scoped("main", { identityLinks: links }));
    expect(main.sessionKey).toBe("agent:main:main");
    expect(main.peerKey).toBe("123");
  });

  it("matches case-insensitively; unprefixed ids match on any channel", () => {
    const cfg = scoped("per-peer", { identityLinks: { alice: ["TELEGRAM:AbC", "555"] } });
    expect(resolveRoute(dm({ peerId: "abc" }), cfg).sessionKey).toBe("agent:main:direct:~alice");
    expect(resolveRoute(dm({ channel: "signal", peerId: "555" }), cfg).sessionKey).toBe("agent:main:direct:~alice");
    expect(resolveRoute(dm({ channel: "discord", peerId: "abc" }), cfg).sessionKey).toBe("agent:main:direct:abc");
  });

  it("refuses a peer claimed by two names instead of picking by object order", () => {
    const cfg = scoped("per-peer", { identityLinks: { alice: ["telegram:123"], bob: ["123"] } });
    expect(() => resolveRoute(dm(), cfg)).toThrow(RoutingConfigError);
    expect(() => resolveRoute(dm(), cfg)).toThrow(/claimed by both "alice" .* and "bob"/);
  });

  it("validateIdentityLinks names both canonical names", () => {
    expect(validateIdentityLinks({ alice: ["telegram:123"], bob: ["discord:1"] })).toEqual([]);
    expect(validateIdentityLinks(undefined)).toEqual([]);
    expect(validateIdentityLinks({ alice: ["telegram:123"], Alice: ["TELEGRAM:123"] })).toEqual([]);
    expect(validateIdentityLinks({ alice: ["telegram:123"], bob: ["Telegram:123"] })).toEqual([
      'session.identityLinks: "Telegram:123" is listed under both "alice" and "bob"',
    ]);
    expect(validateIdentityLinks({ alice: ["123"], bob: ["signal:123"] })).toEqual([
      'session.identityLinks: "123" (under "alice") and "signal:123" (under "bob") both match peer "123" on channel "signal"',
    ]);
    // A Matrix id contains ':' but its prefix is not a channel.
    expect(validateIdentityLinks({ alice: ["@a:example.org"], bob: ["example.org"] })).toEqual([]);
    expect(validateIdentityLinks({ " ": ["x"], bob: "x", carol: [""] })).toEqual([
      'session.identityLinks[" "]: the canonical name must not be blank',
      'session.identityLinks["bob"]: must be an array of ids',
      'session.identityLinks["carol"]: every id must be a non-blank string',
    ]);
    expect(validateIdentityLinks([])).toEqual(["session.identityLinks: must be an object of name → list of ids"]);
  });
});

describe("agent selection (bindings)", () => {
  const agents = {
    list: [
      { id: "main" },
      { id: "peer" },
      { id: "parent" },
      { id: "roles" },
      { id: "guild" },
      { id: "team" },
      { id: "acct" },
      { id: "chan" },
    ],
  };
  const all: RouteBinding[] = [
    { agentId: "chan", match: { channel: "discord", accountId: "*" } },
    { agentId: "acct", match: { channel: "discord" } },
    { agentId: "team", match: { channel: "discord", teamId: "t1" } },
    { agentId: "guild", match: { channel: "discord", guildId: "g1" } },
    { agentId: "roles", match: { channel: "discord", guildId: "g1", roles: ["mod"] } },
    { agentId: "parent", match: { channel: "discord", peer: { kind: "channel", id: "c1" } } },
    { agentId: "peer", match: { channel: "discord", peer: { kind: "channel", id: "th9" } } },
  ];
  const msg = dm({
    channel: "discord",
    chatType: "channel",
    peerId: "c1",
    threadId: "th9",
    guildId: "g1",
    teamId: "t1",
    roles: ["mod"],
  });
  const route = (bindings: RouteBinding[], env: InboundEnvelope = msg) => resolveRoute(env, { agents, bindings });

  it("tiers win in order regardless of config order", () => {
    const expected: Array<[string, string]> = [
      ["peer", "binding.peer"],
      ["parent", "binding.peer.parent"],
      ["roles", "binding.guild+roles"],
      ["guild", "binding.guild"],
      ["team", "binding.team"],
      ["acct", "binding.account"],
      ["chan", "binding.channel"],
    ];
    let remaining = [...all];
    for (const [agentId, matchedBy] of expected) {
      expect(route(remaining)).toMatchObject({ agentId, matchedBy });
      remaining = remaining.filter((b) => b.agentId !== agentId);
    }
    expect(route(remaining)).toMatchObject({ agentId: "main", matchedBy: "default" });
  });

  it("parent peer is the group when a topic message arrives", () => {
    const topic = group({ topicId: "5" });
    const b: RouteBinding[] = [
      { agentId: "parent", match: { channel: "telegram", peer: { kind: "group", id: "-100" } } },
    ];
    expect(route(b, topic)).toMatchObject({ agentId: "parent", matchedBy: "binding.peer.parent" });
    const exact: RouteBinding[] = [
      ...b,
      { agentId: "peer", match: { channel: "telegram", peer: { kind: "group", id: "-100:topic:5" } } },
    ];
    expect(route(exact, topic)).toMatchObject({ agentId: "peer", matchedBy: "binding.peer" });
  });

  it("first binding in config order wins within a tier; group and channel kinds are interchangeable", () => {
    const b: RouteBinding[] = [
      { agentId: "guild", match: { channel: "discord", peer: { kind: "group", id: "C1" } } },
      { agentId: "peer", match: { channel: "discord", peer: { kind: "channel", id: "c1" } } },
    ];
    expect(route(b, dm({ channel: "discord", chatType: "channel", peerId: "c1" }))).toMatchObject({
      agentId: "guild",
      matchedBy: "binding.peer",
    });
  });

  it("all fields are ANDed; missing roles or other guild do not match", () => {
    const b: RouteBinding[] = [
      { agentId: "roles", match: { channel: "discord", guildId: "g1", roles: ["admin"] } },
      { agentId: "peer", match: { channel: "discord", peer: { kind: "channel", id: "c1" }, guildId: "g2" } },
      { agentId: "guild", match: { channel: "discord", guildId: "g1" } },
    ];
    expect(route(b)).toMatchObject({ agentId: "guild", matchedBy: "binding.guild" });
  });

  it("a peer binding without kind or id never matches", () => {
    const b = [
      { agentId: "peer", match: { channel: "discord", peer: { kind: "channel", id: " " } } },
    ] as RouteBinding[];
    expect(route(b)).toMatchObject({ agentId: "main", matchedBy: "default" });
  });

  it("account patterns: omitted means default, '*' means any", () => {
    const b: RouteBinding[] = [{ agentId: "acct", match: { channel: "discord", accountId: "" } }];
    expect(route(b)).toMatchObject({ agentId: "acct", matchedBy: "binding.account" });
    expect(route(b, { ...msg, accountId: "second" })).toMatchObject({ agentId: "main", matchedBy: "default" });
    const named: RouteBinding[] = [{ agentId: "acct", match: { channel: "Discord", accountId: "Second" } }];
    expect(route(named, { ...msg, accountId: "second" })).toMatchObject({
      agentId: "acct",
      matchedBy: "binding.account",
    });
    expect(route(all.slice(0, 1), { ...msg, accountId: "other" })).toMatchObject({
      agentId: "chan",
      matchedBy: "binding.channel",
    });
  });

  it("bindings for other channels are ignored", () => {
    expect(route([{ agentId: "acct", match: { channel: "slack" } }])).toMatchObject({
      agentId: "main",
      matchedBy: "default",
    });
  });

  it("an unknown agent id in a binding falls back to the default agent", () => {
    const cfg: RoutingConfig = {
      agents: { list: [{ id: "a" }, { id: "b", default: true }] },
      bindings: [{ agentId: "ghost", match: { channel: "telegram" } }],
    };
    const r = resolveRoute(dm(), cfg);
    expect(r.agentId).toBe("b");
    expect(r.matchedBy).toBe("binding.account");
    expect(r.sessionKey).toBe("agent:b:main");
  });

  it("default agent: default:true, else first listed, else main", () => {
    expect(resolveRoute(dm(), { agents: { list: [{ id: "x" }, { id: "Y", default: true }] } }).agentId).toBe("y");
    expect(resolveRoute(dm(), { agents: { list: [{ id: "x" }, { id: "y" }] } }).agentId).toBe("x");
    expect(resolveRoute(dm(), { agents: { list: [] } }).agentId).toBe("main");
    expect(resolveRoute(dm(), { bindings: [{ agentId: "Any One", match: { channel: "telegram" } }] }).agentId).toBe(
      "any-one",
    );
  });

  it("the chosen agent scopes both keys", () => {
    const r = resolveRoute(dm({ channel: "discord", peerId: "u1" }), {
      ...scoped("per-channel-peer"),
      agents,
      bindings: all,
    });
    expect(r.agentId).toBe("acct");
    expect(r.sessionKey).toBe("agent:acct:discord:direct:u1");
    expect(r.mainSessionKey).toBe("agent:acct:main");
  });
});
