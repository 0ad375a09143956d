import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { MAX_SESSION_KEY_LENGTH } from "../src/keys/ids.ts";
import { asciiLower, decodeSegment, encodeSegment } from "../src/keys/segment.ts";
import { buildSessionKey, normalizeSessionKey, parseSessionKey } from "../src/keys/session-key.ts";
import { anyId, partsArb } from "./keys-arbitraries.ts";

const RUNS = { numRuns: 2000 };

describe("session key properties", () => {
  it("(a) parse(build(x)) deep-equals x for every family", () => {
    fc.assert(
      fc.property(partsArb, ({ parts, mainKey }) => {
        const key = buildSessionKey(parts, { mainKey });
        expect(parseSessionKey(key, { mainKey })).toEqual(parts);
      }),
      RUNS,
    );
  });

  it("built keys are lower-case, printable ASCII, within the limit, and already normal", () => {
    fc.assert(
      fc.property(partsArb, ({ parts, mainKey }) => {
        const key = buildSessionKey(parts, { mainKey });
        expect(key).toBe(key.toLowerCase());
        expect(key).toMatch(/^[\x21-\x7e]+$/);
        expect(key.length).toBeLessThanOrEqual(MAX_SESSION_KEY_LENGTH);
        expect(normalizeSessionKey(key, { mainKey })).toBe(key);
      }),
      RUNS,
    );
  });

  it("distinct parts give distinct keys", () => {
    fc.assert(
      fc.property(partsArb, partsArb, (a, b) => {
        const ka = buildSessionKey(a.parts, { mainKey: a.mainKey });
        const kb = buildSessionKey(b.parts, { mainKey: b.mainKey });
        // Same key ⇒ same parts (main keys are only comparable under the same mainKey option).
        if (ka === kb && a.mainKey === b.mainKey) expect(a.parts).toEqual(b.parts);
      }),
      RUNS,
    );
  });

  it("segments round-trip and never contain ':' or raw upper case", () => {
    fc.assert(
      fc.property(anyId, fc.boolean(), (v, caseSensitive) => {
        const seg = encodeSegment(v, { caseSensitive });
        expect(seg).not.toMatch(/[:A-Z\s]/);
        expect(decodeSegment(seg)).toBe(caseSensitive ? v : asciiLower(v));
        // Escapes are accepted in either hex case.
        const upperHex = seg.replace(/%([0-9a-f]{2})/g, (_m, h: string) => `%${h.toUpperCase()}`);
        expect(decodeSegment(upperHex)).toBe(decodeSegment(seg));
      }),
      RUNS,
    );
  });
});
