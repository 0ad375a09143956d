/** The fs backend's on-disk contract: OpenClaw layout and formats, privacy, crash and corruption handling. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";
import { listHeadFromDisk } from "../src/store/fs/disk-list.ts";
import { CorruptStoreError, type ReadIssue } from "../src/store/types.ts";

let dir: string;
let storePath: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-fsfiles-"));
  storePath = path.join(dir, "agents", "main", "sessions", "sessions.json");
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const mode = (p: string): number => fs.statSync(p).mode & 0o777;
const journals = (): string[] =>
  fs.readdirSync(path.dirname(storePath)).filter((n) => n.startsWith("sessions.journal."));

function writeOpenClawStore(rows: Record<string, unknown>): void {
  fs.mkdirSync(path.dirname(storePath), { recursive: true });
  fs.writeFileSync(storePath, JSON.stringify(rows, null, 2));
}

describe("fs store files", () => {
  it("writes sessions.json exactly as JSON.stringify(store, null, 2), private, newest first", async () => {
    const store = await FsSessionStore.open({ storePath });
    await store.patch("agent:main:main", () => ({ sessionId: "s-old", updatedAt: 100, origin: { label: "A" } }));
    await store.patch("agent:main:telegram:direct:1", () => ({ sessionId: "s-new", updatedAt: 200 }));
    await store.appendTranscript("s-new", [{ type: "session", version: 3, id: "s-new" }]);
    await store.close();
    const text = fs.readFileSync(storePath, "utf8");
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(text).toBe(JSON.stringify(parsed, null, 2));
    expect(Object.keys(parsed)).toEqual(["agent:main:telegram:direct:1", "agent:main:main"]);
    expect(mode(storePath)).toBe(0o600);
    expect(mode(path.dirname(storePath))).toBe(0o700);
    expect(mode(path.join(path.dirname(storePath), "s-new.jsonl"))).toBe(0o600);
  });

  it("loads an OpenClaw-written store, migrates legacy fields and preserves unknown ones", async () => {
    writeOpenClawStore({
      "agent:main:main": {
        sessionId: "11111111-aaaa-4aaa-8aaa-111111111111",
        updatedAt: 5,
        lastProvider: "telegram",
        skillsSnapshot: { prompt: "p", skills: [] },
        futureField: { x: 1 },
      },
      "agent:main:discord:channel:9": {
        sessionId: "22222222-aaaa-4aaa-8aaa-222222222222",
        updatedAt: 7,
        provider: "discord",
        room: "#general",
      },
    });
    const store = await FsSessionStore.open({ storePath });
    const main = await store.get("agent:main:main");
    expect(main?.lastChannel).toBe("telegram");
    expect(main?.futureField).toEqual({ x: 1 });
    const group = await store.get("agent:main:discord:channel:9");
    expect(group?.channel).toBe("discord");
    expect(group?.groupChannel).toBe("#general");
    await store.patch("agent:main:main", (cur) => ({ ...cur!, updatedAt: 9 }));
    await store.close();
    const after = JSON.parse(fs.readFileSync(storePath, "utf8")) as Record<string, Record<string, unknown>>;
    expect(after["agent:main:main"]!.skillsSnapshot).toEqual({ prompt: "p", skills: [] });
    expect(after["agent:main:main"]!.futureField).toEqual({ x: 1 });
  });

  it("refuses a malformed index, naming the file and byte offset, and leaves it untouched", async () => {
    writeOpenClawStore({});
    const broken = '{\n  "agent:main:main": {\n    "sessionId": "x",\n    "updatedAt": 1,\n  }\n}';
    fs.writeFileSync(storePath, broken);
    const err = await FsSessionStore.open({ storePath }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptStoreError);
    expect((err as CorruptStoreError).file).toBe(storePath);
    expect((err as CorruptStoreError).byteOffset).toBeGreaterThan(0);
    expect((err as Error).message).toContain(storePath);
    expect(fs.readFileSync(storePath, "utf8")).toBe(broken);
  });

  it("refuses a zero-byte index instead of starting empty", async () => {
    writeOpenClawStore({});
    fs.writeFileSync(storePath, "");
    await expect(FsSessionStore.open({ storePath })).rejects.toThrow(/empty.*refusing/);
    expect(fs.statSync(storePath).size).toBe(0);
  });

  it("refuses a non-object index", async () => {
    writeOpenClawStore({});
    fs.writeFileSync(storePath, "[1,2]");
    await expect(FsSessionStore.open({ storePath })).rejects.toThrow(/JSON object/);
  });

  it("keeps rows that are not session entries verbatim and reports them", async () => {
    writeOpenClawStore({ good: { sessionId: "s1", updatedAt: 1 }, bad: { note: "no session id" }, worse: 42 });
    const issues: ReadIssue[] = [];
    const store = await FsSessionStore.open({ storePath, onIssue: (i) => issues.push(i) });
    expect(await store.count()).toBe(1);
    expect(issues.map((i) => i.reason).join("\n")).toMatch(/"bad".*not a usable session entry/);
    await store.patch("good", (cur) => ({ ...cur!, updatedAt: 2 }));
    await store.close();
    const after = JSON.parse(fs.readFileSync(storePath, "utf8")) as Record<string, unknown>;
    expect(after.bad).toEqual({ note: "no session id" });
    expect(after.worse).toBe(42);
  });

  it("ignores (and keeps) a row whose session id would escape the directory", async () => {
    writeOpenClawStore({
      evil: { sessionId: "../../../etc/passwd", updatedAt: 1 },
      fine: { sessionId: "ok-1", updatedAt: 2 },
    });
    const issues: ReadIssue[] = [];
    const store = await FsSessionStore.open({ storePath, onIssue: (i) => issues.push(i) });
    expect((await store.all()).map((r) => r.key)).toEqual(["fine"]);
    expect(issues[0]!.reason).toMatch(/"evil" is not a usable session entry/);
    await store.patch("fine", (cur) => ({ ...cur!, updatedAt: 3 }));
    await store.close();
    expect((JSON.parse(fs.readFileSync(storePath, "utf8")) as Record<string, unknown>).evil).toEqual({
      sessionId: "../../../etc/passwd",
      updatedAt: 1,
    });
  });

  it("skips and reports a torn last line and a garbage line in a transcript; later appends stay whole", async () => {
    const store = await FsSessionStore.open({ storePath });
    await store.appendTranscript("t1", [
      { type: "session", version: 3, id: "t1" },
      { type: "message", id: "a", n: 1 },
    ]);
    await store.close();
    const file = path.join(path.dirname(storePath), "t1.jsonl");
    fs.appendFileSync(file, 'this is not json\n{"type":"message","id":"b","n":2}\n{"type":"mess');
    const issues: ReadIssue[] = [];
    const again = await FsSessionStore.open({ storePath, onIssue: (i) => issues.push(i) });
    const read = await again.readTranscript("t1");
    expect(read.lines.map((l) => l.n ?? l.type)).toEqual(["session", 1, 2]);
    expect(read.issues.map((i) => i.reason)).toEqual(["malformed JSON line", "torn last line (incomplete write)"]);
    expect(read.issues[0]!.byteOffset).toBeGreaterThan(0);
    await again.appendTranscript("t1", [{ type: "message", id: "c", n: 3 }]);
    const after = await again.readTranscript("t1");
    expect(after.lines.map((l) => l.n ?? l.type)).toEqual(["session", 1, 2, 3]);
    expect(issues.length).toBeGreaterThanOrEqual(2);
    await again.close();
  });

  it("recovers every acknowledged change from the journal when the process never closed", async () => {
    const store = await FsSessionStore.open({ storePath });
    for (let i = 0; i < 50; i++) await store.patch(`k${i}`, () => ({ sessionId: `s${i}`, updatedAt: i }));
    await store.patch("k3", () => null);
    // No close: as after SIGKILL. Another process opens the same store.
    const other = await FsSessionStore.open({ storePath, lockWaitMs: 20_000 });
    expect(await other.count()).toBe(49);
    expect(await other.get("k3")).toBeUndefined();
    expect((await other.get("k49"))?.sessionId).toBe("s49");
  });

  it("skips a torn or garbage journal line and keeps the rest", async () => {
    const store = await FsSessionStore.open({ storePath, idleReleaseMs: 1 });
    await store.patch("a", () => ({ sessionId: "sa", updatedAt: 1 }));
    await new Promise((r) => setTimeout(r, 20));
    const journal = path.join(path.dirname(storePath), journals()[0]!);
    fs.appendFileSync(journal, '{"op":"put","k":"torn",');
    const issues: ReadIssue[] = [];
    const other = await FsSessionStore.open({ storePath, onIssue: (i) => issues.push(i) });
    await other.patch("b", () => ({ sessionId: "sb", updatedAt: 2 }));
    const third = await FsSessionStore.open({ storePath, onIssue: (i) => issues.push(i) });
    expect((await third.all()).map((r) => r.key).sort()).toEqual(["a", "b"]);
    expect(issues.some((i) => /malformed journal line/.test(i.reason))).toBe(true);
  });

  it("folds the journal into the snapshot in the background and deletes sealed journals", async () => {
    const store = await FsSessionStore.open({ storePath, compactMinBytes: 2048 });
    for (let i = 0; i < 200; i++)
      await store.patch(`agent:main:webchat:direct:${i}`, () => ({ sessionId: `s${i}`, updatedAt: 1000 + i }));
    await store.flush();
    expect(journals().length).toBe(1);
    const snap = JSON.parse(fs.readFileSync(storePath, "utf8")) as Record<string, unknown>;
    expect(Object.keys(snap)).toHaveLength(200);
    const reopened = await FsSessionStore.open({ storePath });
    expect(await reopened.count()).toBe(200);
    await store.close();
    await reopened.close();
  });

  it("lists the newest rows from the head of the snapshot plus the journal", async () => {
    const store = await FsSessionStore.open({ storePath });
    for (let i = 0; i < 300; i++)
      await store.patch(`k${String(i).padStart(3, "0")}`, () => ({ sessionId: `s${i}`, updatedAt: 10_000 + i }));
    await store.close();
    const live = await FsSessionStore.open({ storePath });
    await live.patch("k010", (cur) => ({ ...cur!, updatedAt: 99_999 }));
    await live.patch("k299", () => null);
    const head = listHeadFromDisk(storePath, {}, 5);
    expect(head?.map((r) => r.key)).toEqual(["k010", "k298", "k297", "k296", "k295"]);
    const active = listHeadFromDisk(storePath, { activeSince: 10_297 }, 50);
    expect(active?.map((r) => r.key)).toEqual(["k010", "k298", "k297"]);
  });

  it("never touches a path outside the store directory for hostile session ids", async () => {
    const store = await FsSessionStore.open({ storePath });
    for (const bad of ["../../outside", "..", "/tmp/abs", "a\\b", "ok/../../x"]) {
      await expect(store.appendTranscript(bad, [{ type: "x" }])).rejects.toThrow(/Invalid session id/);
    }
    expect(fs.readdirSync(dir)).toEqual(["agents"]);
    await store.close();
  });
});
