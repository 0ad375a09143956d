/**
 * Small per-request work: token comparison over many distinct expected tokens, the store key of
 * each agent memoised in the store registry (the same store for the same agent however its id is
 * written), and the UTC day memo.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tokensEqual } from "../src/gateway/auth.ts";
import { StoreRegistry } from "../src/session/open-store.ts";
import { utcDayOf } from "../src/runtime/usage.ts";

let home = "";
afterEach(() => {
  if (home) fs.rmSync(home, { recursive: true, force: true });
  home = "";
});

describe("token comparison", () => {
  it("compare right for many distinct expected tokens, each several times", () => {
    const tokens = Array.from({ length: 200 }, (_, i) => `token-${i}-0123456789abcdef`);
    for (let round = 0; round < 2; round++)
      for (const [i, t] of tokens.entries()) {
        expect(tokensEqual(t, t)).toBe(true);
        expect(tokensEqual(tokens[(i + 1) % tokens.length]!, t)).toBe(false);
        expect(tokensEqual("", t)).toBe(false);
      }
  });
});

describe("store registry", () => {
  it("gives an agent its one store on every call, whatever the case of its id", async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-cpu-reg-"));
    const reg = new StoreRegistry({}, home);
    try {
      const first = await reg.storeFor("main");
      for (let i = 0; i < 3; i++) expect(await reg.storeFor("main")).toBe(first);
      expect(await reg.storeFor("MAIN")).toBe(first);
      const other = await reg.storeFor("work");
      expect(other).not.toBe(first);
      expect(fs.existsSync(path.join(home, "agents", "work", "sessions"))).toBe(true);
    } finally {
      await reg.closeAll();
    }
    // After closeAll a remembered agent gets an error, not a store that would never be closed.
    await expect(reg.storeFor("main")).rejects.toThrow(/closed/);
  });
});

describe("UTC day names", () => {
  it("are those of toISOString on both sides of day boundaries, asked in any order", () => {
    const day = 86_400_000;
    const times: number[] = [];
    for (const d of [-2, -1, 0, 1, 19_000, 20_423])
      for (const off of [-1, 0, 1, day / 2, day - 1]) times.push(d * day + off);
    for (const order of [times, [...times].reverse(), times.map((_, i) => times[(i * 7) % times.length]!)])
      for (const t of order) expect(utcDayOf(t)).toBe(new Date(t).toISOString().slice(0, 10));
    expect(() => utcDayOf(Number.NaN)).toThrow(RangeError);
  });
});
