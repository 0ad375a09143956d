import { describe, it, expect } from "vitest";
import {
  SessionKeyError,
  agentIdFromKey,
  buildSessionKey,
  cronRunSessionKey,
  cronSessionKey,
  deriveChatTypeFromKey,
  hookSessionKey,
  isCronRunKey,
  isSubagentKey,
  mainSessionKey,
  normalizeSessionKey,
  parseSessionKey,
  resetTypeForKey,
  subagentSessionKey,
  threadParentKey,
} from "../src/keys/session-key.ts";
import type { SessionKeyParts } from "../src/keys/session-key.ts";

/** Every family: parts, the exact key, and back. */
const FAMILIES: Array<[string, SessionKeyParts, string]> = [
  ["main", { kind: "main", agentId: "main", mainKey: "main" }, "agent:main:main"],
  [
    "main thread",
    { kind: "main", agentId: "main", mainKey: "main", threadId: "171.5" },
    "agent:main:main:thread:171.5",
  ],
  [
    "per-peer",
    { kind: "direct", scope: "per-peer", agentId: "main", peerId: "+15551234567" },
    "agent:main:direct:+15551234567",
  ],
  [
    "per-channel-peer",
    { kind: "direct", scope: "per-channel-peer", agentId: "main", channel: "telegram", peerId: "123" },
    "agent:main:telegram:direct:123",
  ],
  [
    "per-account-channel-peer",
    {
      kind: "direct",
      scope: "per-account-channel-peer",
      agentId: "ops",
      channel: "whatsapp",
      accountId: "biz",
      peerId: "+4930",
    },
    "agent:ops:whatsapp:biz:direct:+4930",
  ],
  [
    "group",
    { kind: "group", agentId: "main", channel: "whatsapp", groupId: "1203@g.us" },
    "agent:main:whatsapp:group:1203@g.us",
  ],
  [
    "channel",
    { kind: "channel", agentId: "main", channel: "discord", channelId: "987" },
    "agent:main:discord:channel:987",
  ],
  [
    "telegram topic",
    { kind: "topic", agentId: "main", channel: "telegram", chatId: "-100123", topicId: "42" },
    "agent:main:telegram:group:-100123:topic:42",
  ],
  [
    "thread on channel",
    { kind: "channel", agentId: "main", channel: "slack", channelId: "c01", threadId: "1712.0001" },
    "agent:main:slack:channel:c01:thread:1712.0001",
  ],
  [
    "thread on topic",
    { kind: "topic", agentId: "main", channel: "telegram", chatId: "-1", topicId: "2", threadId: "3" },
    "agent:main:telegram:group:-1:topic:2:thread:3",
  ],
  [
    "thread on per-account DM",
    {
      kind: "direct",
      scope: "per-account-channel-peer",
      agentId: "main",
      channel: "slack",
      accountId: "default",
      peerId: "u1",
      threadId: "t",
    },
    "agent:main:slack:default:direct:u1:thread:t",
  ],
  ["cron", { kind: "cron", agentId: "main", jobId: "nightly" }, "agent:main:cron:nightly"],
  [
    "cron run",
    { kind: "cron-run", agentId: "main", jobId: "nightly", sessionId: "2f1c0e7a-1b2c-4d5e-8f90-123456789abc" },
    "agent:main:cron:nightly:run:2f1c0e7a-1b2c-4d5e-8f90-123456789abc",
  ],
  ["hook", { kind: "hook", agentId: "main", hookId: "gmail" }, "agent:main:hook:gmail"],
  ["subagent", { kind: "subagent", agentId: "main", subagentId: "0b5c" }, "agent:main:subagent:0b5c"],
  ["other openai-user", { kind: "other", agentId: "main", rest: "openai-user:bob" }, "agent:main:openai-user:bob"],
  ["other node", { kind: "other", agentId: "main", rest: "node-1" }, "agent:main:node-1"],
  ["global", { kind: "global" }, "global"],
  ["unknown", { kind: "unknown" }, "unknown"],
];

describe("session key families", () => {
  for (const [name, parts, key] of FAMILIES) {
    it(`${name}: builds ${key} and parses back`, () => {
      expect(buildSessionKey(parts)).toBe(key);
      expect(parseSessionKey(key)).toEqual(parts);
    });
  }

  it("a configured mainKey round-trips when parse is told about it", () => {
    const parts: SessionKeyParts = { kind: "main", agentId: "main", mainKey: "home" };
    expect(buildSessionKey(parts, { mainKey: "home" })).toBe("agent:main:home");
    expect(parseSessionKey("agent:main:home", { mainKey: "home" })).toEqual(parts);
    expect(parseSessionKey("agent:main:home").kind).toBe("other");
  });

  it("values equal to keywords stay values", () => {
    const parts: SessionKeyParts = {
      kind: "group",
      agentId: "main",
      channel: "telegram",
      groupId: "thread",
      threadId: "topic",
    };
    const key = buildSessionKey(parts);
    expect(key).toBe("agent:main:telegram:group:thread:thread:topic");
    expect(parseSessionKey(key)).toEqual(parts);
  });
});

describe("segment values in keys", () => {
  it("encodes ':' so a peer id cannot forge a thread suffix", () => {
    const key = buildSessionKey({
      kind: "direct",
      scope: "per-channel-peer",
      agentId: "main",
      channel: "telegram",
      peerId: "x:thread:evil",
    });
    expect(key).toBe("agent:main:telegram:direct:x%3athread%3aevil");
    expect(parseSessionKey(key)).toMatchObject({ peerId: "x:thread:evil" });
    expect(resetTypeForKey(key)).toBe("direct");
  });

  it("lower-cases ids on case-insensitive channels like OpenClaw", () => {
    const key = buildSessionKey({ kind: "group", agentId: "main", channel: "telegram", groupId: "AbC" });
    expect(key).toBe("agent:main:telegram:group:abc");
  });

  it("keeps Matrix ids apart by case while the key stays lower-case", () => {
    const room = (id: string) =>
      buildSessionKey({ kind: "channel", agentId: "main", channel: "matrix", channelId: id });
    expect(room("!Room:example.org")).toBe("agent:main:matrix:channel:!%52oom%3aexample.org");
    expect(room("!room:example.org")).toBe("agent:main:matrix:channel:!room%3aexample.org");
    expect(room("!Room:example.org")).toBe(room("!Room:example.org").toLowerCase());
    expect(parseSessionKey(room("!Room:example.org"))).toMatchObject({ channelId: "!Room:example.org" });
  });

  it("encodes whitespace, controls and non-ASCII", () => {
    const key = buildSessionKey({ kind: "hook", agentId: "main", hookId: "a b\u0007é" });
    expect(key).toBe("agent:main:hook:a%20b%07%c3%a9");
    expect(parseSessionKey(key)).toEqual({ kind: "hook", agentId: "main", hookId: "a b\u0007é" });
  });
});

describe("parseSessionKey rejects bad input", () => {
  const bad: Array<[string, string, RegExp]> = [
    ["empty", "", /empty/],
    ["blank", "   ", /empty/],
    ["over 512 chars", `agent:main:direct:${"x".repeat(500)}`, /518 characters; the limit is 512/],
    ["control character", "agent:main:telegram:direct:12\u00073", /control character U\+0007 at index 29/],
    ["C1 control", "agent:main:main\u0085", /control character U\+0085/],
    ["no rest", "agent:main", /malformed agent key/],
    ["bad agent id", "agent:-x:main", /malformed agent key/],
    ["empty agent id", "agent::main", /malformed agent key/],
    ["legacy bare key", "cron:nightly", /not agent-scoped/],
    ["truncated escape", "agent:main:direct:ab%4", /malformed escape "%4" at index 2/],
    ["non-hex escape", "agent:main:telegram:group:%zz", /groupId: malformed escape "%zz"/],
    ["invalid UTF-8 escape", "agent:main:direct:%c3", /not valid UTF-8/],
    ["bad escape in other", "agent:main:openai-user:100%", /malformed escape/],
    ["cron run with bad session id", "agent:main:cron:j:run:..%2fetc", /not a valid session id/],
  ];
  for (const [name, key, msg] of bad) {
    it(name, () => {
      expect(() => parseSessionKey(key)).toThrow(SessionKeyError);
      expect(() => parseSessionKey(key)).toThrow(msg);
    });
  }

  it("buildSessionKey refuses keys over 512 chars, empty values and bad agent ids", () => {
    expect(() =>
      buildSessionKey({ kind: "direct", scope: "per-peer", agentId: "main", peerId: "é".repeat(100) }),
    ).toThrow(/would be 618 characters; the limit is 512/);
    expect(() => buildSessionKey({ kind: "group", agentId: "main", channel: "x", groupId: "" })).toThrow(
      /groupId: .*must not be empty/,
    );
    expect(() => buildSessionKey({ kind: "main", agentId: "not valid", mainKey: "main" })).toThrow(
      /agentId "not valid"/,
    );
    expect(() => buildSessionKey({ kind: "hook", agentId: "main", hookId: "\ud800" })).toThrow(/unpaired surrogate/);
  });

  it("buildSessionKey refuses an `other` rest that spells a modelled family", () => {
    expect(() => buildSessionKey({ kind: "other", agentId: "main", rest: "telegram:direct:1" })).toThrow(
      /modelled key family/,
    );
  });
});

describe("normalizeSessionKey", () => {
  const cases: Array<[string, string, { defaultAgentId?: string; mainKey?: string }?]> = [
    ["  Agent:Main:Telegram:Direct:BOB ", "agent:main:telegram:direct:bob"],
    ["agent:main:telegram:dm:123", "agent:main:telegram:direct:123"],
    ["agent:main:dm:123", "agent:main:direct:123"],
    ["main", "agent:main:main"],
    ["MAIN", "agent:ops:home", { defaultAgentId: "Ops", mainKey: "home" }],
    ["agent:ops:main", "agent:ops:home", { mainKey: "home" }],
    ["cron:nightly", "agent:main:cron:nightly"],
    ["hook:gmail", "agent:work:hook:gmail", { defaultAgentId: "work" }],
    ["node-7", "agent:main:node-7"],
    ["telegram:group:-100", "agent:main:telegram:group:-100"],
    ["global", "global"],
    ["Unknown", "unknown"],
    ["agent:main:matrix:channel:!Room%3Aexample.org", "agent:main:matrix:channel:!%52oom%3aexample.org"],
    ["agent:main:telegram:group:%41b", "agent:main:telegram:group:ab"],
    ["agent:main:openai-user:Bob", "agent:main:openai-user:bob"],
  ];
  for (const [raw, want, opts] of cases) {
    it(`${JSON.stringify(raw)} → ${want}`, () => {
      expect(normalizeSessionKey(raw, opts)).toBe(want);
    });
  }

  it("is idempotent on its output", () => {
    for (const [raw, , opts] of cases) {
      const once = normalizeSessionKey(raw, opts);
      expect(normalizeSessionKey(once, opts)).toBe(once);
    }
  });

  it("rejects malformed agent keys and bad escapes", () => {
    expect(() => normalizeSessionKey("agent:main")).toThrow(SessionKeyError);
    expect(() => normalizeSessionKey("agent:main:direct:%g0")).toThrow(/malformed escape/);
    expect(() => normalizeSessionKey("")).toThrow(/empty/);
  });
});

describe("key helpers", () => {
  it("deriveChatTypeFromKey", () => {
    expect(deriveChatTypeFromKey("agent:main:telegram:direct:1")).toBe("direct");
    expect(deriveChatTypeFromKey("agent:main:direct:1")).toBe("direct");
    expect(deriveChatTypeFromKey("agent:main:telegram:group:1:topic:2")).toBe("group");
    expect(deriveChatTypeFromKey("agent:main:discord:channel:1:thread:2")).toBe("channel");
    expect(deriveChatTypeFromKey("agent:main:discord:guild-1:channel-2")).toBe("channel");
    expect(deriveChatTypeFromKey("agent:main:main")).toBe("unknown");
    expect(deriveChatTypeFromKey("agent:main:cron:x")).toBe("unknown");
    expect(deriveChatTypeFromKey("whatsapp:group:1")).toBe("group");
  });

  it("resetTypeForKey", () => {
    expect(resetTypeForKey("agent:main:main")).toBe("direct");
    expect(resetTypeForKey("agent:main:telegram:direct:1")).toBe("direct");
    expect(resetTypeForKey("agent:main:telegram:group:1")).toBe("group");
    expect(resetTypeForKey("agent:main:discord:channel:1")).toBe("group");
    expect(resetTypeForKey("agent:main:telegram:group:1:topic:2")).toBe("thread");
    expect(resetTypeForKey("agent:main:slack:channel:c:thread:1")).toBe("thread");
    expect(resetTypeForKey("agent:main:main:thread:1")).toBe("thread");
    expect(resetTypeForKey("agent:main:telegram:group:thread")).toBe("group");
    expect(resetTypeForKey("agent:main:acp:x:thread:y:z")).toBe("thread");
  });

  it("threadParentKey", () => {
    expect(threadParentKey("agent:main:slack:channel:c:thread:1")).toBe("agent:main:slack:channel:c");
    expect(threadParentKey("agent:main:telegram:group:-1:topic:2:thread:3")).toBe(
      "agent:main:telegram:group:-1:topic:2",
    );
    expect(threadParentKey("agent:main:telegram:group:-1:topic:2")).toBe("agent:main:telegram:group:-1");
    expect(threadParentKey("agent:main:home:thread:9", { mainKey: "home" })).toBe("agent:main:home");
    expect(threadParentKey("agent:main:telegram:group:thread")).toBeUndefined();
    expect(threadParentKey("agent:main:main")).toBeUndefined();
    expect(threadParentKey("agent:main:acp:x:thread:y:z")).toBe("agent:main:acp:x");
  });

  it("isCronRunKey, isSubagentKey, agentIdFromKey", () => {
    expect(isCronRunKey("agent:main:cron:j:run:abc")).toBe(true);
    expect(isCronRunKey("agent:main:cron:j")).toBe(false);
    expect(isCronRunKey("cron:j:run:abc")).toBe(true);
    expect(isSubagentKey("agent:ops:subagent:0b5c")).toBe(true);
    expect(isSubagentKey("agent:ops:subagent:a:subagent:b")).toBe(true);
    expect(isSubagentKey("agent:ops:main")).toBe(false);
    expect(agentIdFromKey("agent:Ops:main")).toBe("ops");
    expect(agentIdFromKey("global")).toBeUndefined();
    expect(agentIdFromKey("agent:main")).toBeUndefined();
  });

  it("builders", () => {
    expect(mainSessionKey("ops")).toBe("agent:ops:main");
    expect(mainSessionKey("ops", "home")).toBe("agent:ops:home");
    expect(cronSessionKey("main", "Nightly")).toBe("agent:main:cron:nightly");
    expect(cronRunSessionKey("main", "n", "abc-1")).toBe("agent:main:cron:n:run:abc-1");
    expect(() => cronRunSessionKey("main", "n", "../x")).toThrow(/not a valid session id/);
    expect(hookSessionKey("main", "gmail")).toBe("agent:main:hook:gmail");
    const a = subagentSessionKey("ops");
    expect(a).toMatch(/^agent:ops:subagent:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(subagentSessionKey("ops")).not.toBe(a);
    expect(isSubagentKey(a)).toBe(true);
  });
});
