import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  PAIRING_CODE_ALPHABET,
  PAIRING_MAX_PENDING,
  PAIRING_TTL_MS,
  PairingStore,
  pairingReply,
} from "../../src/channels/pairing-store.ts";

let home: string;
let now: number;
let store: PairingStore;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-pairing-"));
  now = Date.parse("2026-03-13T10:00:00.000Z");
  store = new PairingStore({ home, now: () => now });
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const read = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(home, "credentials", name), "utf8")) as Record<string, unknown>;

describe("pairing store (OpenClaw's files and rules)", () => {
  it("codes: 8 characters from the alphabet without 0/O/1/I, unique, written as OpenClaw writes them (0600 in 0700)", async () => {
    const codes = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const { code, created } = await store.upsert("telegram", "default", `10${i}`, { name: `User ${i}` });
      expect(created).toBe(true);
      expect(code).toHaveLength(8);
      for (const ch of code) expect(PAIRING_CODE_ALPHABET).toContain(ch);
      expect(code).not.toMatch(/[0O1I]/);
      codes.add(code);
    }
    expect(codes.size).toBe(3);
    const file = read("telegram-pairing.json");
    expect(file.version).toBe(1);
    const reqs = file.requests as Array<Record<string, unknown>>;
    expect(reqs).toHaveLength(3);
    expect(reqs[0]).toEqual({
      id: "100",
      code: expect.any(String),
      createdAt: "2026-03-13T10:00:00.000Z",
      lastSeenAt: "2026-03-13T10:00:00.000Z",
      meta: { name: "User 0", accountId: "default" },
    });
    expect(fs.statSync(path.join(home, "credentials")).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(home, "credentials", "telegram-pairing.json")).mode & 0o777).toBe(0o600);
    // No lock directory or temp file left behind.
    expect(fs.readdirSync(path.join(home, "credentials"))).toEqual(["telegram-pairing.json"]);
  });

  it("at most 3 pending per channel: a 4th sender gets no code until one expires; a repeat keeps its code", async () => {
    const first = await store.upsert("telegram", "default", "1");
    await store.upsert("telegram", "default", "2");
    now += 10 * 60_000;
    await store.upsert("telegram", "work", "3");
    expect(PAIRING_MAX_PENDING).toBe(3);
    expect(await store.upsert("telegram", "default", "4")).toEqual({ code: "", created: false });
    expect(await store.upsert("slack", "default", "4")).toMatchObject({ created: true });
    const repeat = await store.upsert("telegram", "default", "1");
    expect(repeat).toEqual({ code: first.code, created: false });
    // "1" and "2" expire 1 h after creation (the repeat does not extend it); "3" is still pending.
    now += PAIRING_TTL_MS - 10 * 60_000 + 1;
    const fresh = await store.upsert("telegram", "default", "4");
    expect(fresh.created).toBe(true);
    expect((await store.list("telegram")).map((r) => r.id)).toEqual(["3", "4"]);
    expect((await store.list("telegram", "work")).map((r) => r.id)).toEqual(["3"]);
  });

  it("an expired code cannot be approved; list prunes it from the file", async () => {
    const { code } = await store.upsert("telegram", "default", "42");
    now += PAIRING_TTL_MS + 1;
    expect(await store.approve("telegram", code)).toBeNull();
    expect(await store.list("telegram")).toEqual([]);
    expect((read("telegram-pairing.json").requests as unknown[]).length).toBe(0);
    expect(store.readAllowFrom("telegram", "default")).toEqual([]);
  });

  it("approve moves the sender into <channel>-<account>-allowFrom.json (default account included, as OpenClaw does)", async () => {
    const a = await store.upsert("telegram", "default", "42");
    const b = await store.upsert("telegram", "work", "77");
    expect(await store.approve("telegram", a.code.toLowerCase())).toMatchObject({ id: "42", accountId: "default" });
    expect(read("telegram-default-allowFrom.json")).toEqual({ version: 1, allowFrom: ["42"] });
    // A code is only approved for the account it was issued on when an account is named.
    expect(await store.approve("telegram", b.code, "default")).toBeNull();
    expect(await store.approve("telegram", b.code, "work")).toMatchObject({ id: "77", accountId: "work" });
    expect(read("telegram-work-allowFrom.json")).toEqual({ version: 1, allowFrom: ["77"] });
    expect(store.readAllowFrom("telegram", "default")).toEqual(["42"]);
    expect(store.readAllowFrom("telegram", "work")).toEqual(["77"]);
    expect(await store.list("telegram")).toEqual([]);
    // Approving again is a no-op (the code is gone).
    expect(await store.approve("telegram", a.code)).toBeNull();
  });

  it("reject drops the request without approving", async () => {
    const { code } = await store.upsert("discord", "default", "9");
    expect(await store.reject("discord", code)).toMatchObject({ id: "9" });
    expect(await store.list("discord")).toEqual([]);
    expect(store.readAllowFrom("discord", "default")).toEqual([]);
  });

  it("reads OpenClaw's files as it left them: legacy <channel>-allowFrom.json for the default account, stale locks", async () => {
    const dir = path.join(home, "credentials");
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Exactly what `openclaw pairing approve telegram <code>` (2026.3.13) wrote.
    fs.writeFileSync(
      path.join(dir, "telegram-default-allowFrom.json"),
      '{\n  "version": 1,\n  "allowFrom": [\n    "12345"\n  ]\n}\n',
    );
    fs.writeFileSync(
      path.join(dir, "telegram-allowFrom.json"),
      JSON.stringify({ version: 1, allowFrom: ["111", "12345", "*"] }),
    );
    expect(store.readAllowFrom("telegram", "default")).toEqual(["12345", "111"]);
    expect(store.readAllowFrom("telegram", "other")).toEqual([]);
    // A pending request written by OpenClaw (its shape), approved by Pincer.
    fs.writeFileSync(
      path.join(dir, "telegram-pairing.json"),
      JSON.stringify({
        version: 1,
        requests: [
          {
            id: "555",
            code: "ABCDEFGH",
            createdAt: new Date(now).toISOString(),
            lastSeenAt: new Date(now).toISOString(),
            meta: { accountId: "default", username: "bob" },
          },
        ],
      }),
    );
    // A lock an OpenClaw process left when it died (older than 30 s) does not block us.
    const lock = path.join(dir, "telegram-pairing.json.lock");
    fs.mkdirSync(lock);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, old, old);
    expect(await store.approve("telegram", "ABCDEFGH")).toMatchObject({ id: "555" });
    expect(store.readAllowFrom("telegram", "default")).toEqual(["12345", "555", "111"]);
  });

  it("refuses channel or account names that would escape the directory", () => {
    expect(store.pairingPath("../../etc")).toBe(path.join(home, "credentials", "____etc-pairing.json"));
    expect(() => store.allowFromPath("telegram", "/")).toThrow(/invalid pairing account id/);
    expect(path.dirname(store.allowFromPath("tele/gram", "a..b"))).toBe(path.join(home, "credentials"));
  });

  it("the pairing reply names the sender id, the code and the approve command", () => {
    const text = pairingReply("telegram", "42", "ABCDEFGH");
    expect(text).toContain("Your telegram id: 42");
    expect(text).toContain("Pairing code: ABCDEFGH");
    expect(text).toContain("pincer pairing approve telegram ABCDEFGH");
  });
});
