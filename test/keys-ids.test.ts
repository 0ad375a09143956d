import { describe, it, expect } from "vitest";
import fc from "fast-check";
import {
  DEFAULT_ACCOUNT_ID,
  DEFAULT_AGENT_ID,
  InvalidSessionIdError,
  MAX_SESSION_KEY_LENGTH,
  assertValidSessionId,
  isValidAgentId,
  isValidSessionId,
  normalizeAccountId,
  normalizeAgentId,
  normalizeChannel,
} from "../src/keys/ids.ts";

describe("normalizeAgentId", () => {
  const cases: Array<[string | undefined, string]> = [
    ["main", "main"],
    ["  Ops  ", "ops"],
    ["My Agent!", "my-agent"],
    ["--weird--", "weird"],
    ["_hidden", "hidden"],
    ["a/../b", "a-b"],
    ["", DEFAULT_AGENT_ID],
    ["   ", DEFAULT_AGENT_ID],
    ["!!!", DEFAULT_AGENT_ID],
    [undefined, DEFAULT_AGENT_ID],
    ["x".repeat(80), "x".repeat(64)],
    [`${"a".repeat(63)} b`, "a".repeat(63)],
  ];
  for (const [raw, want] of cases) {
    it(`${JSON.stringify(raw)} → ${want}`, () => expect(normalizeAgentId(raw)).toBe(want));
  }

  it("always yields a valid agent id, and is idempotent", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 100 }), (raw) => {
        const id = normalizeAgentId(raw);
        expect(isValidAgentId(id)).toBe(true);
        expect(id).toBe(id.toLowerCase());
        expect(normalizeAgentId(id)).toBe(id);
      }),
    );
  });

  it("isValidAgentId is the strict regex", () => {
    expect(isValidAgentId("main")).toBe(true);
    expect(isValidAgentId("Main")).toBe(true);
    expect(isValidAgentId("a-b_c")).toBe(true);
    expect(isValidAgentId("-a")).toBe(false);
    expect(isValidAgentId("a b")).toBe(false);
    expect(isValidAgentId("x".repeat(65))).toBe(false);
  });
});

describe("normalizeAccountId and normalizeChannel", () => {
  it("accounts", () => {
    expect(normalizeAccountId(undefined)).toBe(DEFAULT_ACCOUNT_ID);
    expect(normalizeAccountId(" ")).toBe("default");
    expect(normalizeAccountId("Biz Line")).toBe("biz-line");
    expect(normalizeAccountId("__proto__")).toBe("default");
    expect(normalizeAccountId("Prototype")).toBe("default");
    expect(normalizeAccountId("constructor")).toBe("default");
  });

  it("channels", () => {
    expect(normalizeChannel(" Telegram ")).toBe("telegram");
    expect(normalizeChannel("")).toBe("unknown");
    expect(normalizeChannel(undefined)).toBe("unknown");
  });
});

describe("session ids", () => {
  it("accepts UUIDs and the documented alphabet", () => {
    expect(isValidSessionId("2f1c0e7a-1b2c-4d5e-8f90-123456789abc")).toBe(true);
    expect(isValidSessionId("A.b_c-1")).toBe(true);
    expect(isValidSessionId("x".repeat(128))).toBe(true);
    expect(MAX_SESSION_KEY_LENGTH).toBe(512);
  });

  const bad: unknown[] = [
    "../etc/passwd",
    "..",
    ".hidden",
    "a/b",
    "a\\b",
    "",
    "x".repeat(129),
    "a b",
    "a\u0000",
    "é",
    42,
    undefined,
  ];
  for (const id of bad) {
    it(`rejects ${JSON.stringify(id) ?? String(id)}`, () => {
      expect(isValidSessionId(id)).toBe(false);
      expect(() => assertValidSessionId(id)).toThrow(InvalidSessionIdError);
    });
  }

  it("the error names the JSON-quoted value and the rule", () => {
    expect(() => assertValidSessionId("../x")).toThrow(
      'Invalid session id "../x": must match ^[a-z0-9][a-z0-9._-]{0,127}$ (case-insensitive)',
    );
    try {
      assertValidSessionId("a\nb");
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidSessionIdError);
      expect((err as InvalidSessionIdError).message).toContain('"a\\nb"');
      expect((err as InvalidSessionIdError).value).toBe("a\nb");
    }
  });
});
