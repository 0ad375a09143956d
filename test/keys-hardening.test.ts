/**
 * Issue 11, items 6 and 7: no peer can choose an id that lands it in someone else's session.
 * 6: identityLinks forgery (a raw id equal to a canonical name, or spelling another channel's
 *    qualified entry). 7: Unicode case folding (KELVIN SIGN `\u212Aate` merged with `kate`).
 * The oracle folds ASCII only and is written here, independently of src/keys.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { selectAgent } from "../src/keys/bindings.ts";
import type { InboundEnvelope } from "../src/keys/envelope.ts";
import { resolveRoute, validateIdentityLinks } from "../src/keys/routing.ts";
import type { RoutingConfig } from "../src/keys/routing.ts";
import { encodeSegment } from "../src/keys/segment.ts";
import { normalizeSessionKey, parseSessionKey, threadParentKey } from "../src/keys/session-key.ts";
import type { DmScope } from "../src/keys/session-key.ts";
import { isCommandAuthorized } from "../src/runtime/command-parse.ts";

const asciiFold = (s: string): string => s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
const KELVIN = "\u212a";
const SCOPES: readonly DmScope[] = ["per-peer", "per-channel-peer", "per-account-channel-peer"];

const dm = (channel: string, peerId: string, extra: Partial<InboundEnvelope> = {}): InboundEnvelope => ({
  channel,
  chatType: "direct",
  peerId,
  senderId: peerId,
  text: "t",
  ...extra,
});
const keyOf = (env: InboundEnvelope, cfg: RoutingConfig): string => resolveRoute(env, cfg).sessionKey;

describe("identityLinks cannot be forged (issue 11 item 6)", () => {
  const links = { alice: ["telegram:111", "discord:222"] };
  const cfg = (dmScope: DmScope): RoutingConfig => ({ session: { dmScope, identityLinks: links } });

  it("a Discord peer whose raw id is the canonical name does not land in linked Alice's session", () => {
    for (const scope of SCOPES) {
      const alice = keyOf(dm("discord", "222"), cfg(scope));
      expect(keyOf(dm("telegram", "111"), cfg(scope)) === alice).toBe(scope === "per-peer");
      for (const forged of ["alice", "ALICE", " Alice ", "~alice", "%7ealice", "%7Ealice"]) {
        expect(keyOf(dm("discord", forged), cfg(scope)), `${scope} ${forged}`).not.toBe(alice);
        expect(parseSessionKey(keyOf(dm("discord", forged), cfg(scope)))).not.toHaveProperty("linked");
      }
    }
    expect(keyOf(dm("discord", "222"), cfg("per-channel-peer"))).toBe("agent:main:discord:direct:~alice");
    expect(keyOf(dm("discord", "alice"), cfg("per-channel-peer"))).toBe("agent:main:discord:direct:alice");
    expect(keyOf(dm("discord", "~alice"), cfg("per-channel-peer"))).toBe("agent:main:discord:direct:%7ealice");
  });

  it("a Discord peer whose id is telegram:111 does not match the Telegram entry", () => {
    for (const scope of SCOPES) {
      const route = resolveRoute(dm("discord", "telegram:111"), cfg(scope));
      expect(route.sessionKey).not.toBe(keyOf(dm("discord", "222"), cfg(scope)));
      expect(route.sessionKey).not.toBe(keyOf(dm("telegram", "111"), cfg(scope)));
      expect(route.peerKey).toBe("telegram:111");
    }
    expect(keyOf(dm("discord", "telegram:111"), cfg("per-channel-peer"))).toBe(
      "agent:main:discord:direct:telegram%3a111",
    );
    expect(keyOf(dm("discord", "TELEGRAM:111"), cfg("per-peer"))).toBe("agent:main:direct:telegram%3a111");
  });

  it("a channel-qualified entry matches only that channel's peer with exactly that id; an unqualified one any channel's", () => {
    const c: RoutingConfig = {
      session: { dmScope: "per-peer", identityLinks: { alice: ["telegram:111"], bob: ["555", "@bob:example.org"] } },
    };
    expect(keyOf(dm("telegram", "111"), c)).toBe("agent:main:direct:~alice");
    expect(keyOf(dm("Telegram", " 111 "), c)).toBe("agent:main:direct:~alice");
    for (const env of [
      dm("telegram", "1111"),
      dm("telegram", "11"),
      dm("discord", "111"),
      dm("slack", "telegram:111"),
      dm("telegram", "telegram:111"),
    ]) {
      expect(keyOf(env, c), JSON.stringify(env)).not.toBe("agent:main:direct:~alice");
      expect(resolveRoute(env, c).peerLinked).toBeUndefined();
    }
    // Reference §2.5: unprefixed ids match raw peer ids from any channel.
    for (const ch of ["slack", "discord", "telegram", "matrix"])
      expect(keyOf(dm(ch, "555"), c)).toBe("agent:main:direct:~bob");
    expect(keyOf(dm("matrix", "@bob:example.org"), c)).toBe("agent:main:direct:~bob");
    // On a case-sensitive channel the id must match exactly.
    expect(keyOf(dm("matrix", "@Bob:example.org"), c)).toBe("agent:main:direct:@%42ob%3aexample.org");
  });

  it("validation: entries that name different peers never conflict", () => {
    expect(validateIdentityLinks({ alice: ["telegram:111"], bob: ["discord:telegram:111"] })).toEqual([]);
    expect(validateIdentityLinks({ kate: ["kate"], kelvin: [`${KELVIN}ate`] })).toEqual([]);
    expect(validateIdentityLinks({ a: ["matrix:@X:h"], b: ["matrix:@x:h"] })).toEqual([]);
    expect(validateIdentityLinks({ a: ["telegram:X"], b: ["telegram:x"] })).toEqual([
      'session.identityLinks: "telegram:x" is listed under both "a" and "b"',
    ]);
    expect(validateIdentityLinks({ a: ["telegram:"] })).toEqual([
      'session.identityLinks["a"]: "telegram:" names channel "telegram" but no peer id after \':\'',
    ]);
  });

  const nameArb = fc
    .oneof(
      fc.constantFrom("alice", "Alice", "~alice", "%7ealice", "a:b", "telegram:111", `${KELVIN}ate`),
      fc.string({ minLength: 1, maxLength: 8 }),
    )
    .filter((s) => s.trim() !== "" && s.isWellFormed() && !/[\u0000-\u001f\u007f-\u009f]/.test(s));

  it("property: no raw peer id produces a canonical identity's key, and links never move an unlinked peer", () => {
    fc.assert(
      fc.property(
        nameArb,
        fc.constantFrom("telegram", "discord", "matrix", "signal"),
        fc.constantFrom(...SCOPES),
        fc.oneof(
          nameArb,
          nameArb.map((n) => `~${n}`),
          nameArb.map((n) => n.toUpperCase()),
          fc.constantFrom("linked-id", "LINKED-id", " linked-id ", "telegram:linked-id"),
        ),
        (name, channel, dmScope, raw) => {
          const withLink: RoutingConfig = { session: { dmScope, identityLinks: { [name]: [`${channel}:linked-id`] } } };
          const without: RoutingConfig = { session: { dmScope } };
          const canonical = keyOf(dm(channel, "linked-id"), withLink);
          const caseSensitive = channel === "matrix" || channel === "signal";
          const isLinkedPeer = (caseSensitive ? raw.trim() : asciiFold(raw.trim())) === "linked-id";
          expect(keyOf(dm(channel, raw), withLink) === canonical).toBe(isLinkedPeer);
          if (isLinkedPeer) return;
          expect(keyOf(dm(channel, raw), withLink)).toBe(keyOf(dm(channel, raw), without));
        },
      ),
      { numRuns: 1500 },
    );
  });
});

const bmpUnit = fc
  .integer({ min: 0, max: 0xffff })
  .filter((c) => c < 0xd800 || c > 0xdfff)
  .map((c) => String.fromCharCode(c));
const bmpString = fc.string({ unit: bmpUnit, minLength: 1, maxLength: 24 });
/** Pairs that Unicode case mapping would merge (per-character lower/upper), plus independent ones. */
const bmpPair = fc.oneof(
  fc.tuple(bmpString, bmpString),
  fc
    .tuple(bmpString, fc.array(fc.constantFrom("keep", "lower", "upper"), { minLength: 1, maxLength: 24 }))
    .map(([a, how]) => {
      const b = [...a]
        .map((ch, i) =>
          how[i % how.length] === "lower" ? ch.toLowerCase() : how[i % how.length] === "upper" ? ch.toUpperCase() : ch,
        )
        .join("");
      return [a, b] as [string, string];
    }),
  fc
    .tuple(bmpString, fc.constantFrom(KELVIN, "\u0130", "\u0131", "\u017f", "\u212b", "\u1e9e", "\u00df"))
    .map(([a, odd]) => [a, a + odd] as [string, string]),
);

describe("case folding never merges ids the platform keeps apart (issue 11 item 7)", () => {
  it("KELVIN SIGN does not land in kate's session, on any scope, in groups, threads or per-peer keys", () => {
    for (const scope of SCOPES) {
      const cfg: RoutingConfig = { session: { dmScope: scope } };
      expect(keyOf(dm("telegram", `${KELVIN}ate`), cfg)).not.toBe(keyOf(dm("telegram", "kate"), cfg));
      expect(keyOf(dm("telegram", "Kate"), cfg)).toBe(keyOf(dm("telegram", "kate"), cfg));
      expect(keyOf(dm("telegram", "x", { threadId: `${KELVIN}1` }), cfg)).not.toBe(
        keyOf(dm("telegram", "x", { threadId: "k1" }), cfg),
      );
    }
    const group = (peerId: string): InboundEnvelope => ({ ...dm("telegram", peerId), chatType: "group" });
    expect(keyOf(group(`${KELVIN}ate`), {})).not.toBe(keyOf(group("kate"), {}));
    expect(keyOf(dm("telegram", `${KELVIN}ate`), { session: { dmScope: "per-channel-peer" } })).toBe(
      "agent:main:telegram:direct:%e2%84%aaate",
    );
    // Non-ASCII upper case is not folded either: the platform may keep Ä and ä apart.
    expect(keyOf(dm("telegram", "Ärger"), { session: { dmScope: "per-peer" } })).not.toBe(
      keyOf(dm("telegram", "ärger"), { session: { dmScope: "per-peer" } }),
    );
  });

  it("identityLinks, bindings and commands.allowFrom do not fold KELVIN SIGN onto k either", () => {
    const linked: RoutingConfig = { session: { dmScope: "per-peer", identityLinks: { kate: ["kate"] } } };
    expect(keyOf(dm("telegram", "KATE"), linked)).toBe(keyOf(dm("discord", "kate"), linked));
    expect(keyOf(dm("telegram", `${KELVIN}ate`), linked)).not.toBe(keyOf(dm("telegram", "kate"), linked));
    const bindings: RoutingConfig = {
      agents: { list: [{ id: "main" }, { id: "kates" }] },
      bindings: [{ agentId: "kates", match: { channel: "telegram", peer: { kind: "direct", id: "Kate" } } }],
    };
    expect(
      selectAgent(bindings, { channel: "telegram", accountId: "default", peer: { kind: "direct", id: "kate" } })
        .agentId,
    ).toBe("kates");
    expect(
      selectAgent(bindings, { channel: "telegram", accountId: "default", peer: { kind: "direct", id: `${KELVIN}ate` } })
        .agentId,
    ).toBe("main");
    const sender = (channel: string, senderId: string) => ({ channel, senderId, chatType: "group" });
    expect(isCommandAuthorized(["kate", "telegram:111"], sender("telegram", "KATE"))).toBe(true);
    expect(isCommandAuthorized(["kate"], sender("telegram", `${KELVIN}ate`))).toBe(false);
    expect(isCommandAuthorized(["telegram:111"], sender("telegram", "111"))).toBe(true);
    expect(isCommandAuthorized(["telegram:111"], sender("discord", "telegram:111"))).toBe(false);
  });

  it("keys typed by hand or from stores fold ASCII only", () => {
    expect(normalizeSessionKey(`agent:main:openai-user:${KELVIN}ate`)).not.toBe(
      normalizeSessionKey("agent:main:openai-user:kate"),
    );
    expect(normalizeSessionKey(`agent:main:telegram:direct:${KELVIN}ate`)).toBe(
      "agent:main:telegram:direct:%e2%84%aaate",
    );
    expect(threadParentKey(`agent:main:x-y:${KELVIN}:thread:1`)).not.toBe("agent:main:x-y:k");
  });

  it("every BMP code point: one segment per ASCII-case class on case-insensitive channels, one per code point otherwise", () => {
    const ci = new Map<string, number>();
    const cs = new Map<string, number>();
    for (let c = 0; c <= 0xffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const ch = String.fromCharCode(c);
      const folded = asciiFold(ch).charCodeAt(0);
      const a = encodeSegment(ch, { caseSensitive: false });
      const prior = ci.get(a);
      if (prior !== undefined && prior !== folded)
        throw new Error(`U+${c.toString(16)} and U+${prior.toString(16)} share segment ${a}`);
      ci.set(a, folded);
      const b = encodeSegment(ch, { caseSensitive: true });
      if (cs.has(b))
        throw new Error(`U+${c.toString(16)} and U+${cs.get(b)!.toString(16)} share case-sensitive segment ${b}`);
      cs.set(b, c);
    }
    expect(ci.size).toBe(0xffff + 1 - 0x800 - 26);
    expect(cs.size).toBe(0xffff + 1 - 0x800);
  });

  it("property over BMP strings: segments and DM keys are equal exactly when the ids agree up to ASCII case", () => {
    fc.assert(
      fc.property(bmpPair, ([a, b]) => {
        const sameCi = asciiFold(a) === asciiFold(b);
        expect(encodeSegment(a, { caseSensitive: false }) === encodeSegment(b, { caseSensitive: false })).toBe(sameCi);
        expect(encodeSegment(a, { caseSensitive: true }) === encodeSegment(b, { caseSensitive: true })).toBe(a === b);
        if (a.trim() === "" || b.trim() === "") return;
        const cfg: RoutingConfig = { session: { dmScope: "per-channel-peer" } };
        expect(keyOf(dm("telegram", a), cfg) === keyOf(dm("telegram", b), cfg)).toBe(
          asciiFold(a.trim()) === asciiFold(b.trim()),
        );
        expect(keyOf(dm("matrix", a), cfg) === keyOf(dm("matrix", b), cfg)).toBe(a.trim() === b.trim());
      }),
      { numRuns: 3000 },
    );
  });
});
