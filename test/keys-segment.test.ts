import { describe, it, expect } from "vitest";
import { SessionKeyError } from "../src/keys/errors.ts";
import { CASE_SENSITIVE_CHANNELS, decodeSegment, encodeSegment, isCaseSensitiveChannel } from "../src/keys/segment.ts";

const ci = { caseSensitive: false };
const cs = { caseSensitive: true };

describe("encodeSegment", () => {
  it("leaves ordinary ids readable", () => {
    expect(encodeSegment("+15551234567", ci)).toBe("+15551234567");
    expect(encodeSegment("1203@g.us", ci)).toBe("1203@g.us");
    expect(encodeSegment("-100123", ci)).toBe("-100123");
  });

  it("escapes ':', '%', whitespace and controls in lower-case hex", () => {
    expect(encodeSegment("a:b", ci)).toBe("a%3ab");
    expect(encodeSegment("100%", ci)).toBe("100%25");
    expect(encodeSegment("a b\tc\n", ci)).toBe("a%20b%09c%0a");
    expect(encodeSegment("\u0000\u007f\u0085", ci)).toBe("%00%7f%c2%85");
  });

  it("escapes all non-ASCII as UTF-8 bytes", () => {
    expect(encodeSegment("é😀", cs)).toBe("%c3%a9%f0%9f%98%80");
    expect(encodeSegment("\u00a0\u2028\ufeff", cs)).toBe("%c2%a0%e2%80%a8%ef%bb%bf");
    // KELVIN SIGN would lower-case onto ASCII 'k'; on a case-sensitive channel it stays distinct.
    expect(encodeSegment("\u212a", cs)).toBe("%e2%84%aa");
  });

  it("lower-cases on ordinary channels, escapes upper case on case-sensitive ones", () => {
    expect(encodeSegment("AbC", ci)).toBe("abc");
    expect(encodeSegment("AbC", cs)).toBe("%41b%43");
  });

  it("rejects empty values and unpaired surrogates", () => {
    expect(() => encodeSegment("", ci)).toThrow(SessionKeyError);
    expect(() => encodeSegment("a\udc00", ci)).toThrow(/unpaired surrogate/);
  });

  it("knows the case-sensitive channels", () => {
    expect(CASE_SENSITIVE_CHANNELS.has("matrix")).toBe(true);
    expect(isCaseSensitiveChannel(" Signal ")).toBe(true);
    expect(isCaseSensitiveChannel("telegram")).toBe(false);
  });
});

describe("decodeSegment", () => {
  it("decodes either hex case and passes raw characters through", () => {
    expect(decodeSegment("%41b%3A%3a")).toBe("Ab::");
    expect(decodeSegment("Raw")).toBe("Raw");
    expect(decodeSegment("%ef%bb%bfx")).toBe("\ufeffx");
    expect(decodeSegment("é%20")).toBe("é ");
  });

  const bad: Array<[string, RegExp]> = [
    ["", /must not be empty/],
    ["%", /malformed escape "%" at index 0/],
    ["ab%4", /malformed escape "%4" at index 2/],
    ["%g1", /malformed escape "%g1"/],
    ["%%41", /malformed escape "%%4"/],
    ["%c3", /not valid UTF-8/],
    ["%c0%af", /not valid UTF-8/],
    ["%ed%a0%80", /not valid UTF-8/],
    ["a\u0007", /control character U\+0007 at index 1/],
    ["a\ud800", /unpaired surrogate/],
  ];
  for (const [seg, msg] of bad) {
    it(`rejects ${JSON.stringify(seg)}`, () => {
      expect(() => decodeSegment(seg)).toThrow(SessionKeyError);
      expect(() => decodeSegment(seg)).toThrow(msg);
    });
  }
});
