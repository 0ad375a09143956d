import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  AccessGate,
  CURRENT_MESSAGE_MARKER,
  HISTORY_CONTEXT_MARKER,
  type GateDecision,
} from "../../src/channels/gate.ts";
import { PairingStore } from "../../src/channels/pairing-store.ts";
import type { AccessSettings, DmPolicy, GroupPolicy, GroupRule } from "../../src/channels/settings.ts";
import type { InboundEnvelope } from "../../src/keys/envelope.ts";

let home: string;
let pairing: PairingStore;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-gate-"));
  pairing = new PairingStore({ home });
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

function access(over: Partial<AccessSettings> = {}): AccessSettings {
  return {
    channel: "telegram",
    accountId: "default",
    dmPolicy: "pairing",
    allowFrom: [],
    groupPolicy: "allowlist",
    groups: {},
    groupAllowFrom: [],
    historyLimit: 50,
    mentionPatterns: [],
    guilds: {},
    ...over,
  };
}

const dm = (senderId: string, text = "hi"): InboundEnvelope => ({
  channel: "telegram",
  accountId: "default",
  chatType: "direct",
  peerId: senderId,
  senderId,
  text,
  messageId: `m-${Math.random()}`,
});

const grp = (
  peerId: string,
  senderId: string,
  text = "hello",
  extra: Partial<InboundEnvelope> = {},
): InboundEnvelope => ({
  channel: "telegram",
  accountId: "default",
  chatType: "group",
  peerId,
  senderId,
  senderName: `User ${senderId}`,
  text,
  messageId: `g-${Math.random()}`,
  ...extra,
});

describe("direct messages: every dmPolicy × sender kind", () => {
  // sender kinds: in config allowFrom, approved in the pairing store, unknown
  const table: Array<[DmPolicy, "config" | "paired" | "unknown", GateDecision["action"]]> = [
    ["disabled", "config", "refuse"],
    ["disabled", "paired", "refuse"],
    ["disabled", "unknown", "refuse"],
    ["open", "config", "accept"],
    ["open", "paired", "accept"],
    ["open", "unknown", "accept"],
    ["allowlist", "config", "accept"],
    // Under allowlist the pairing store is ignored (OpenClaw's mergeDmAllowFromSources).
    ["allowlist", "paired", "refuse"],
    ["allowlist", "unknown", "refuse"],
    ["pairing", "config", "accept"],
    ["pairing", "paired", "accept"],
    ["pairing", "unknown", "pairing"],
  ];
  it.each(table)("dmPolicy=%s, %s sender → %s", async (dmPolicy, kind, expected) => {
    await pairing.addAllowFrom("telegram", "default", "200");
    const gate = new AccessGate({ config: {}, pairing });
    const allowFrom = dmPolicy === "open" ? ["*"] : ["100"];
    const sender = kind === "config" ? "100" : kind === "paired" ? "200" : "300";
    const d = await gate.decide({ envelope: dm(sender) }, access({ dmPolicy, allowFrom }));
    expect(d.action).toBe(expected);
    if (d.action === "pairing") {
      expect(d.created).toBe(true);
      expect(d.code).toMatch(/^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}$/);
    }
  });

  it("allowlist entries may carry the channel prefix; a paired sender of another account is not admitted", async () => {
    const gate = new AccessGate({ config: {}, pairing });
    expect(
      (await gate.decide({ envelope: dm("100") }, access({ dmPolicy: "allowlist", allowFrom: ["telegram:100"] })))
        .action,
    ).toBe("accept");
    expect(
      (await gate.decide({ envelope: dm("100") }, access({ dmPolicy: "allowlist", allowFrom: ["tg:100"] }))).action,
    ).toBe("accept");
    expect(
      (await gate.decide({ envelope: dm("1000") }, access({ dmPolicy: "allowlist", allowFrom: ["100"] }))).action,
    ).toBe("refuse");
    await pairing.addAllowFrom("telegram", "work", "555");
    expect((await gate.decide({ envelope: dm("555") }, access({ accountId: "work" }))).action).toBe("accept");
    expect((await gate.decide({ envelope: dm("555") }, access({ accountId: "default" }))).action).toBe("pairing");
  });

  it("a repeat message from a pending sender gets the same code and no new reply", async () => {
    const gate = new AccessGate({ config: {}, pairing });
    const first = await gate.decide({ envelope: dm("300") }, access());
    const again = await gate.decide({ envelope: dm("300") }, access());
    expect(first).toMatchObject({ action: "pairing", created: true });
    expect(again).toMatchObject({ action: "pairing", created: false, code: (first as { code: string }).code });
  });
});

describe("groups: groupPolicy × group allowlist × sender allowlist", () => {
  interface Row {
    name: string;
    groupPolicy: GroupPolicy;
    groups?: Record<string, GroupRule>;
    groupAllowFrom?: string[];
    allowFrom?: string[];
    sender: string;
    group?: string;
    expected: GateDecision["action"];
  }
  const always = { requireMention: false };
  const rows: Row[] = [
    {
      name: "disabled refuses even a listed group",
      groupPolicy: "disabled",
      groups: { "-1": always },
      sender: "1",
      expected: "refuse",
    },
    {
      name: "allowlist with nothing configured refuses (empty allowlist)",
      groupPolicy: "allowlist",
      sender: "1",
      expected: "refuse",
    },
    {
      name: "allowlist: a listed group admits any sender",
      groupPolicy: "allowlist",
      groups: { "-1": always },
      sender: "9",
      expected: "accept",
    },
    {
      name: "allowlist: an unlisted group is refused",
      groupPolicy: "allowlist",
      groups: { "-2": always },
      sender: "9",
      expected: "refuse",
    },
    {
      name: 'allowlist: "*" lists every group',
      groupPolicy: "allowlist",
      groups: { "*": always },
      sender: "9",
      group: "-77",
      expected: "accept",
    },
    {
      name: "allowlist: groupAllowFrom alone admits its senders",
      groupPolicy: "allowlist",
      groupAllowFrom: ["5"],
      sender: "5",
      expected: "accept",
    },
    {
      name: "allowlist: groupAllowFrom alone refuses others",
      groupPolicy: "allowlist",
      groupAllowFrom: ["5"],
      sender: "6",
      expected: "refuse",
    },
    {
      name: "allowlist: allowFrom is the fallback sender list",
      groupPolicy: "allowlist",
      allowFrom: ["5"],
      sender: "5",
      expected: "accept",
    },
    {
      name: "allowlist: listed group + groupAllowFrom refuses other senders",
      groupPolicy: "allowlist",
      groups: { "-1": always },
      groupAllowFrom: ["5"],
      sender: "6",
      expected: "refuse",
    },
    {
      name: "allowlist: the group's own allowFrom wins over groupAllowFrom",
      groupPolicy: "allowlist",
      groups: { "-1": { ...always, allowFrom: ["6"] } },
      groupAllowFrom: ["5"],
      sender: "6",
      expected: "accept",
    },
    {
      name: "open admits an unlisted group",
      groupPolicy: "open",
      groups: { "-2": always },
      sender: "9",
      group: "-1",
      expected: "accept",
    },
    {
      name: "open still applies the group's own allowFrom",
      groupPolicy: "open",
      groups: { "-1": { ...always, allowFrom: ["5"] } },
      sender: "6",
      expected: "refuse",
    },
    {
      name: "a disabled group is refused",
      groupPolicy: "open",
      groups: { "-1": { ...always, enabled: false } },
      sender: "6",
      expected: "refuse",
    },
  ];
  it.each(rows)("$name", async (row) => {
    const gate = new AccessGate({ config: {}, pairing });
    const a = access({
      groupPolicy: row.groupPolicy,
      groups: row.groups ?? {},
      groupAllowFrom: row.groupAllowFrom ?? [],
      allowFrom: row.allowFrom ?? [],
    });
    const d = await gate.decide(
      { envelope: grp(row.group ?? "-1", row.sender), mention: { explicit: true, replyToBot: false } },
      a,
    );
    expect(d.action).toBe(row.expected);
  });

  it("DM pairing approvals never admit a group sender", async () => {
    await pairing.addAllowFrom("telegram", "default", "5");
    const gate = new AccessGate({ config: {}, pairing });
    const d = await gate.decide({ envelope: grp("-1", "5"), mention: { explicit: true, replyToBot: false } }, access());
    expect(d.action).toBe("refuse");
  });
});

describe("discord guilds (OpenClaw's guild allowlist)", () => {
  const msg = (extra: Partial<InboundEnvelope>) =>
    grp("c1", "u1", "@bot hi", { channel: "discord", chatType: "channel", guildId: "g1", ...extra });
  const mention = { explicit: true, replyToBot: false };
  const d = (over: Partial<AccessSettings>) => access({ channel: "discord", ...over });
  it.each([
    ["an unlisted guild is refused under allowlist", { g2: {} }, {}, "refuse"],
    ["a listed guild without channels admits every channel", { g1: {} }, {}, "accept"],
    ['"*" lists every guild', { "*": {} }, {}, "accept"],
    ["a guild with channels admits only those", { g1: { channels: { c2: {} } } }, {}, "refuse"],
    ["a listed channel", { g1: { channels: { c1: { allow: true } } } }, {}, "accept"],
    [
      "a thread follows its parent channel's entry",
      { g1: { channels: { c1: {} } } },
      { peerId: "t9", parentPeerId: "c1" },
      "accept",
    ],
    ["allow: false refuses the channel", { g1: { channels: { c1: { allow: false } } } }, {}, "refuse"],
    ["users admits listed senders", { g1: { users: ["u1"] } }, {}, "accept"],
    ["users refuses others", { g1: { users: ["u2"] } }, {}, "refuse"],
    ["roles admit a sender with the role", { g1: { users: ["u2"], roles: ["r1"] } }, { roles: ["r1"] }, "accept"],
  ] as const)("%s", async (_n, guilds, extra, expected) => {
    const gate = new AccessGate({ config: {}, pairing });
    const r = await gate.decide(
      { envelope: msg(extra as Partial<InboundEnvelope>), mention },
      d({ guilds: guilds as AccessSettings["guilds"] }),
    );
    expect(r.action).toBe(expected);
  });

  it("requireMention per guild and channel; open policy admits unlisted guilds", async () => {
    const gate = new AccessGate({ config: {}, pairing });
    const none = { explicit: false, replyToBot: false };
    const guilds = { g1: { requireMention: false, channels: { c1: {}, c2: { requireMention: true } } } };
    expect((await gate.decide({ envelope: msg({}), mention: none }, d({ guilds }))).action).toBe("accept");
    expect((await gate.decide({ envelope: msg({ peerId: "c2" }), mention: none }, d({ guilds }))).action).toBe(
      "pending",
    );
    expect(
      (await gate.decide({ envelope: msg({ guildId: "g9" }), mention }, d({ guilds, groupPolicy: "open" }))).action,
    ).toBe("accept");
  });
});

describe("mention gating and pending history", () => {
  const open = (over: Partial<AccessSettings> = {}) => access({ groupPolicy: "open", ...over });
  const none = { explicit: false, replyToBot: false };

  it("requireMention (default) holds unmentioned lines; a native mention, a reply to the bot or a pattern triggers", async () => {
    const gate = new AccessGate({ config: {}, pairing });
    expect((await gate.decide({ envelope: grp("-1", "1"), mention: none }, open())).action).toBe("pending");
    expect(
      (await gate.decide({ envelope: grp("-1", "1"), mention: { explicit: true, replyToBot: false } }, open())).action,
    ).toBe("accept");
    expect(
      (await gate.decide({ envelope: grp("-1", "1"), mention: { explicit: false, replyToBot: true } }, open())).action,
    ).toBe("accept");
    const patterns = open({ mentionPatterns: [/\bpincer\b/i] });
    expect((await gate.decide({ envelope: grp("-1", "1", "hey PINCER look"), mention: none }, patterns)).action).toBe(
      "accept",
    );
    expect((await gate.decide({ envelope: grp("-1", "1", "pincers are claws"), mention: none }, patterns)).action).toBe(
      "pending",
    );
  });

  it("requireMention false, per group and per topic", async () => {
    const gate = new AccessGate({ config: {}, pairing });
    const a = open({ groups: { "-1": { requireMention: false, topics: { "7": { requireMention: true } } } } });
    expect((await gate.decide({ envelope: grp("-1", "1"), mention: none }, a)).action).toBe("accept");
    expect((await gate.decide({ envelope: grp("-1", "1", "x", { topicId: "7" }), mention: none }, a)).action).toBe(
      "pending",
    );
    expect((await gate.decide({ envelope: grp("-2", "1"), mention: none }, a)).action).toBe("pending");
  });

  it("gating applies only when a mention can be detected at all (no native facts, no patterns)", async () => {
    const gate = new AccessGate({ config: {}, pairing });
    expect((await gate.decide({ envelope: grp("-1", "1") }, open())).action).toBe("accept");
  });

  it("held lines are given to the next triggered turn of that group (and topic) once, bounded by historyLimit", async () => {
    const gate = new AccessGate({ config: {}, pairing });
    const a = open({ historyLimit: 2 });
    for (const t of ["one", "two", "three"]) await gate.decide({ envelope: grp("-1", "1", t), mention: none }, a);
    await gate.decide({ envelope: grp("-1", "2", "other topic", { topicId: "9" }), mention: none }, a);
    await gate.decide({ envelope: grp("-5", "2", "other group"), mention: none }, a);
    const d = await gate.decide(
      { envelope: grp("-1", "3", "@bot what now?"), mention: { explicit: true, replyToBot: false } },
      a,
    );
    expect(d.action).toBe("accept");
    const text = (d as { envelope: InboundEnvelope }).envelope.text;
    expect(text.split("\n")[0]).toBe(HISTORY_CONTEXT_MARKER);
    expect(text).not.toContain("one");
    expect(text).toMatch(/User 1: two \[id:g-.*\]\nUser 1: three/);
    expect(text).not.toContain("other");
    expect(text.endsWith(`${CURRENT_MESSAGE_MARKER}\n@bot what now?`)).toBe(true);
    expect((d as { envelope: InboundEnvelope }).envelope.wasMentioned).toBe(true);
    // Consumed: the next trigger carries nothing.
    const next = await gate.decide(
      { envelope: grp("-1", "3", "again"), mention: { explicit: true, replyToBot: false } },
      a,
    );
    expect((next as { envelope: InboundEnvelope }).envelope.text).toBe("again");
    expect(gate.pendingHistory(a, { peerId: "-1", topicId: "9" })).toBe(1);
  });

  it("a session with /activation always is answered without a mention", async () => {
    const gate = new AccessGate({
      config: {},
      pairing,
      activation: (env) => Promise.resolve(env.peerId === "-1" ? "always" : "mention"),
    });
    expect((await gate.decide({ envelope: grp("-1", "1"), mention: none }, open())).action).toBe("accept");
    expect((await gate.decide({ envelope: grp("-2", "1"), mention: none }, open())).action).toBe("pending");
  });

  it("the routed agent's own mention patterns win over messages.groupChat", async () => {
    const gate = new AccessGate({ config: {}, pairing, agentPatterns: () => [/\bclaw\b/i] });
    const a = open({ mentionPatterns: [/\bpincer\b/i] });
    expect((await gate.decide({ envelope: grp("-1", "1", "hey CLAW"), mention: none }, a)).action).toBe("accept");
    expect((await gate.decide({ envelope: grp("-1", "1", "hey pincer"), mention: none }, a)).action).toBe("pending");
  });

  it("historyLimit 0 keeps nothing", async () => {
    const gate = new AccessGate({ config: {}, pairing });
    const a = open({ historyLimit: 0 });
    await gate.decide({ envelope: grp("-1", "1", "skipped"), mention: none }, a);
    const d = await gate.decide({ envelope: grp("-1", "1", "now"), mention: { explicit: true, replyToBot: false } }, a);
    expect((d as { envelope: InboundEnvelope }).envelope.text).toBe("now");
  });

  it("an authorised command passes the mention gate but never the access gate", async () => {
    const gate = new AccessGate({ config: { commands: { allowFrom: { telegram: ["1"] } } }, pairing });
    expect((await gate.decide({ envelope: grp("-1", "1", "/status"), mention: none }, open())).action).toBe("accept");
    expect((await gate.decide({ envelope: grp("-1", "2", "/status"), mention: none }, open())).action).toBe("pending");
    expect(
      (await gate.decide({ envelope: grp("-1", "1", "/status"), mention: none }, access({ groupPolicy: "disabled" })))
        .action,
    ).toBe("refuse");
  });
});
