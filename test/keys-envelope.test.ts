import { describe, it, expect } from "vitest";
import { EnvelopeError, MAX_ENVELOPE_TEXT_BYTES, parseEnvelope } from "../src/keys/envelope-schema.ts";

const ok = { channel: "telegram", chatType: "direct", peerId: "123", senderId: "123", text: "hi" };

function problems(input: unknown): string[] {
  try {
    parseEnvelope(input);
  } catch (err) {
    expect(err).toBeInstanceOf(EnvelopeError);
    expect((err as EnvelopeError).message).toBe((err as EnvelopeError).problems.join("\n"));
    return [...(err as EnvelopeError).problems];
  }
  throw new Error("expected parseEnvelope to throw");
}

describe("parseEnvelope", () => {
  it("accepts a minimal envelope and trims ids, not text", () => {
    expect(parseEnvelope({ ...ok, peerId: " 123 ", text: "  indented\n" })).toEqual({ ...ok, text: "  indented\n" });
  });

  it("keeps every optional field", () => {
    const full = {
      ...ok,
      chatType: "channel",
      accountId: "biz",
      groupId: "g",
      threadId: "t",
      topicId: "7",
      senderName: "Ann",
      messageId: "m1",
      timestamp: 1_700_000_000_000,
      guildId: "guild",
      teamId: "team",
      roles: ["r1", "r2"],
    };
    expect(parseEnvelope(full)).toEqual(full);
  });

  it("drops a blank sender name", () => {
    expect(parseEnvelope({ ...ok, senderName: "  " })).toEqual(ok);
  });

  it("names the field and index of a control character", () => {
    expect(problems({ ...ok, peerId: "123\u00074" })).toEqual(["peerId: contains control character U+0007 at index 3"]);
    expect(problems({ ...ok, threadId: "t\u0085" })).toEqual([
      "threadId: contains control character U+0085 at index 1",
    ]);
    expect(problems({ ...ok, roles: ["ok", "b\u0000d"] })).toEqual([
      "roles[1]: contains control character U+0000 at index 1",
    ]);
  });

  it("rejects empty and over-long ids", () => {
    expect(problems({ ...ok, senderId: "   " })).toEqual(["senderId: must not be empty"]);
    expect(problems({ ...ok, groupId: "" })).toEqual(["groupId: must not be empty"]);
    expect(problems({ ...ok, topicId: "x".repeat(257) })).toEqual([
      "topicId: must be at most 256 characters (got 257)",
    ]);
    expect(problems({ ...ok, peerId: "a\ud800" })).toEqual(["peerId: contains an unpaired surrogate"]);
  });

  it("limits text to 1 MiB of UTF-8", () => {
    expect(parseEnvelope({ ...ok, text: "x".repeat(MAX_ENVELOPE_TEXT_BYTES) }).text.length).toBe(
      MAX_ENVELOPE_TEXT_BYTES,
    );
    expect(problems({ ...ok, text: "é".repeat(MAX_ENVELOPE_TEXT_BYTES / 2 + 1) })).toEqual([
      `text: must be at most ${MAX_ENVELOPE_TEXT_BYTES} bytes of UTF-8 (got ${MAX_ENVELOPE_TEXT_BYTES + 2})`,
    ]);
  });

  it("reports every problem, one line each", () => {
    const got = problems({
      channel: "x",
      chatType: "dm",
      peerId: 5,
      text: "t",
      timestamp: Number.POSITIVE_INFINITY,
      extra: true,
    });
    expect(got).toEqual([
      'chatType: expected one of "direct"|"group"|"channel"',
      "peerId: expected string, received number",
      "senderId: is required",
      "timestamp: must be a finite number",
      "extra: unknown field",
    ]);
  });

  it("rejects NaN timestamps and non-objects", () => {
    expect(problems({ ...ok, timestamp: Number.NaN })).toEqual(["timestamp: must be a finite number"]);
    expect(problems(null)).toEqual(["envelope: expected object, received null"]);
    expect(problems("hi")).toEqual(["envelope: expected object, received string"]);
  });
});
