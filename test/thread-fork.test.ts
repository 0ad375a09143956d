/**
 * Thread sessions forked from their parent (OpenClaw's `ParentSessionKey` fork, F59): a Discord
 * thread's first message starts its session as a branch of the parent channel's transcript at its
 * current leaf (a new file whose header names the parent's as `parentSession`), unless the parent
 * is over `session.parentForkMaxTokens` (default 100 000; 0 turns the guard off). Either way the row
 * is marked `forkedFromParent` and is never forked again.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { PincerConfig } from "../src/config/schema.ts";
import { post, startTestGateway } from "./helpers/gateway-harness.ts";

type Gw = Awaited<ReturnType<typeof startTestGateway>>;
let gw: Gw | null = null;
afterEach(async () => {
  await gw?.cleanup();
  gw = null;
});

const PARENT = "agent:main:discord:channel:500";
const THREAD = "agent:main:discord:channel:777";
const inChannel = (text: string, messageId: string) => ({
  channel: "discord",
  chatType: "channel",
  peerId: "500",
  senderId: "u1",
  guildId: "g1",
  text,
  messageId,
});
const inThread = (text: string, messageId: string) => ({
  ...inChannel(text, messageId),
  peerId: "777",
  parentPeerId: "500",
});

interface Line {
  type: string;
  id?: string;
  parentId?: string | null;
  parentSession?: string;
  message?: { role: string; content: unknown };
}
const textOf = (l: Line) => {
  const c = l.message?.content;
  return typeof c === "string" ? c : Array.isArray(c) ? c.map((b: { text?: string }) => b.text ?? "").join("") : "";
};

async function start(config: PincerConfig = {}): Promise<Gw> {
  return startTestGateway(config);
}
const say = async (g: Gw, body: Record<string, unknown>) => {
  const r = await post(`${g.url}/v1/inbound`, body);
  expect(r.status).toBe(200);
  return r.json as { sessionId: string; sessionKey: string; reply: string };
};
const transcript = (g: Gw, sessionId: string): Line[] =>
  fs
    .readFileSync(path.join(g.home, "agents", "main", "sessions", `${sessionId}.jsonl`), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);

describe("a thread session forked from its parent channel", () => {
  it("starts as a branch of the parent's transcript at its leaf, then goes its own way", async () => {
    gw = await start();
    const parent = await say(gw, inChannel("plan the launch", "m1"));
    await say(gw, inChannel("pick a date", "m2"));
    const thread = await say(gw, inThread("details here", "t1"));
    expect(thread.sessionKey).toBe(THREAD);
    expect(parent.sessionKey).toBe(PARENT);
    expect(thread.sessionId).not.toBe(parent.sessionId);

    const parentLines = transcript(gw, parent.sessionId);
    const lines = transcript(gw, thread.sessionId);
    const header = lines[0]!;
    expect(header).toMatchObject({ type: "session", id: thread.sessionId });
    expect(header.parentSession).toBe(path.join(gw.home, "agents", "main", "sessions", `${parent.sessionId}.jsonl`));
    // The parent's entries, same ids and chain, then the thread's own message on the parent's leaf.
    const copied = parentLines.slice(1);
    expect(lines.slice(1, 1 + copied.length)).toEqual(copied);
    const own = lines.slice(1 + copied.length);
    expect(own.map(textOf)).toEqual(["details here", "echo: u1: details here"]);
    expect(own[0]!.parentId).toBe(copied.at(-1)!.id);
    expect(textOf(copied[0]!)).toBe("plan the launch");

    const row = await gw.runtime.manager.get("main", THREAD);
    expect(row?.forkedFromParent).toBe(true);
    // The parent is untouched; later thread messages continue the same file (no second fork).
    expect(transcript(gw, parent.sessionId)).toEqual(parentLines);
    await say(gw, inChannel("parent again", "m3"));
    const again = await say(gw, inThread("more", "t2"));
    expect(again.sessionId).toBe(thread.sessionId);
    expect(transcript(gw, thread.sessionId).filter((l) => textOf(l) === "parent again")).toEqual([]);
  });

  it("a reset in the thread starts empty: the row stays marked as forked", async () => {
    gw = await start();
    await say(gw, inChannel("context", "m1"));
    await say(gw, inThread("first", "t1"));
    await gw.runtime.manager.reset("main", THREAD);
    const reset = await say(gw, inThread("fresh start", "t2"));
    const lines = transcript(gw, reset.sessionId);
    expect(lines[0]!.parentSession).toBeUndefined();
    expect(lines.slice(1).map(textOf)).toEqual(["fresh start", "echo: u1: fresh start"]);
  });

  it("a parent over parentForkMaxTokens is not copied; without a parent session nothing is", async () => {
    gw = await start({ session: { parentForkMaxTokens: 1 } });
    await say(gw, inChannel("a long parent", "m1"));
    const big = await say(gw, inThread("thread", "t1"));
    const lines = transcript(gw, big.sessionId);
    expect(lines[0]!.parentSession).toBeUndefined();
    expect(lines.slice(1).map(textOf)).toEqual(["thread", "echo: u1: thread"]);
    expect((await gw.runtime.manager.get("main", THREAD))?.forkedFromParent).toBe(true);

    // A thread whose parent channel has no session starts empty.
    const orphan = await say(gw, { ...inThread("alone", "t9"), peerId: "778", parentPeerId: "501" });
    expect(transcript(gw, orphan.sessionId).slice(1).map(textOf)).toEqual(["alone", "echo: u1: alone"]);
  });

  it("parentForkMaxTokens: 0 turns the guard off", async () => {
    gw = await start({ session: { parentForkMaxTokens: 0 } });
    await say(gw, inChannel("a long parent", "m1"));
    const t = await say(gw, inThread("thread", "t1"));
    expect(transcript(gw, t.sessionId).slice(1).map(textOf)).toEqual([
      "a long parent",
      "echo: u1: a long parent",
      "thread",
      "echo: u1: thread",
    ]);
  });
});
