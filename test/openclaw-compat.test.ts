/**
 * Side by side with the real OpenClaw 2026.3.13 (../shared/tools/openclaw-3.13): a store written
 * by OpenClaw loads in Pincer, and a store written by Pincer (once closed) is read by OpenClaw.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionManager } from "../src/session/manager.ts";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";

const TOOL = path.resolve(import.meta.dirname, "..", "..", "shared", "tools", "openclaw-3.13");
/** The tool installs OpenClaw from the npm registry on first use; an install failure skips, loudly. */
function toolWorks(): boolean {
  if (!fs.existsSync(TOOL)) {
    console.warn(
      `OpenClaw compatibility tests skipped: ${TOOL} not found (it sits in ../shared beside the repo in CI).`,
    );
    return false;
  }
  try {
    execFileSync(TOOL, ["--version"], {
      encoding: "utf8",
      timeout: 300_000,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TMPDIR: os.tmpdir() },
    });
    return true;
  } catch (err) {
    console.warn(
      `OpenClaw compatibility tests skipped: ${TOOL} could not install or start: ${(err as Error).message.split("\n")[0]}`,
    );
    return false;
  }
}
const available = toolWorks();

function openclaw(args: string[], home: string): string {
  // A clean environment: the test runner's own variables (NODE_OPTIONS, VITEST...) must not leak in.
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME_FOR_OPENCLAW: home,
    OPENCLAW_STATE_DIR: path.join(home, ".openclaw"),
    TMPDIR: os.tmpdir(),
  };
  return execFileSync(TOOL, args, { env, encoding: "utf8", timeout: 180_000 });
}

describe.runIf(available)("OpenClaw 2026.3.13 compatibility", () => {
  let home: string;
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-oc-"));
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it("loads a store that OpenClaw wrote", { timeout: 240_000 }, async () => {
    const dir = path.join(home, "oc-written");
    fs.mkdirSync(dir, { recursive: true });
    const storePath = path.join(dir, "sessions.json");
    const now = Date.now();
    const ids = [
      "11111111-1111-4111-8111-111111111111",
      "22222222-2222-4222-8222-222222222222",
      "33333333-3333-4333-8333-333333333333",
    ];
    fs.writeFileSync(
      storePath,
      JSON.stringify({
        "agent:main:main": {
          sessionId: ids[0],
          updatedAt: now - 120_000,
          systemSent: true,
          chatType: "direct",
          thinkingLevel: "low",
          totalTokens: 42100,
          totalTokensFresh: true,
          lastChannel: "telegram",
          lastTo: "telegram:123",
        },
        "agent:main:telegram:group:-1001234567890:topic:42": {
          sessionId: ids[1],
          updatedAt: now - 7_200_000,
          chatType: "group",
          groupActivation: "always",
        },
        "agent:main:cron:job1:run:33333333-3333-4333-8333-333333333333": {
          sessionId: ids[2],
          updatedAt: now - 40 * 86_400_000,
          label: "Cron: job1",
        },
      }),
    );
    fs.writeFileSync(
      path.join(dir, `${ids[0]}.jsonl`),
      `${JSON.stringify({ type: "session", version: 3, id: ids[0], timestamp: new Date(now).toISOString(), cwd: "/tmp" })}\n`,
    );
    // OpenClaw rewrites the store itself (prunes the 40-day-old row, archives its transcript).
    // OpenClaw logs "[sessions/store] pruned ..." on stdout before the JSON: parse from the JSON on.
    const raw = openclaw(["sessions", "cleanup", "--enforce", "--json", "--store", storePath], home);
    const out = JSON.parse(raw.slice(raw.search(/^\{/m))) as { afterCount: number };
    expect(out.afterCount).toBe(2);
    const store = await FsSessionStore.open({ storePath, readOnly: true });
    const rows = await store.all();
    expect(rows.map((r) => r.key).sort()).toEqual([
      "agent:main:main",
      "agent:main:telegram:group:-1001234567890:topic:42",
    ]);
    expect((await store.get("agent:main:main"))?.thinkingLevel).toBe("low");
    expect((await store.readTranscript(ids[0]!)).lines[0]).toMatchObject({ type: "session", id: ids[0] });
    await store.close();
  });

  it(
    "writes a store that OpenClaw reads: same rows, transcripts found, same JSON projection",
    { timeout: 240_000 },
    async () => {
      const dir = path.join(home, "pincer-written");
      const storePath = path.join(dir, "sessions.json");
      const store = await FsSessionStore.open({ storePath });
      const m = new SessionManager({
        config: { session: { dmScope: "per-channel-peer" } },
        storeFor: async () => store,
      });
      const keys: string[] = [];
      for (const peer of ["100", "200", "300"]) {
        const r = await m.recordInbound({
          channel: "telegram",
          chatType: "direct",
          peerId: peer,
          senderId: peer,
          text: `hi from ${peer}`,
        });
        await m.appendAssistant(r.agentId, r.sessionKey, {
          text: "hello",
          provider: "anthropic",
          model: "claude-opus-4-6",
          usage: { input: 1000, output: 10 },
        });
        keys.push(r.sessionKey);
      }
      const g = await m.recordInbound({
        channel: "discord",
        chatType: "group",
        peerId: "g1",
        groupId: "g1",
        senderId: "u1",
        text: "group hi",
      });
      await m.appendAssistant(g.agentId, g.sessionKey, {
        text: "hey",
        provider: "anthropic",
        model: "claude-opus-4-6",
        usage: { input: 500, output: 5 },
      });
      keys.push(g.sessionKey);
      await store.close();

      const listed = JSON.parse(openclaw(["sessions", "--json", "--store", storePath], home)) as {
        count: number;
        sessions: Array<Record<string, unknown>>;
      };
      expect(listed.count).toBe(4);
      expect(listed.sessions.map((s) => s.key).sort()).toEqual([...keys].sort());
      const direct = listed.sessions.find((s) => s.key === keys[0])!;
      expect(direct).toMatchObject({
        kind: "direct",
        totalTokens: 1000,
        totalTokensFresh: true,
        model: "claude-opus-4-6",
        modelProvider: "anthropic",
        agentId: "main",
      });
      expect(listed.sessions.find((s) => s.key === g.sessionKey)).toMatchObject({ kind: "group" });

      // OpenClaw finds every transcript Pincer wrote (nothing would be pruned as missing).
      const cleanup = JSON.parse(
        openclaw(["sessions", "cleanup", "--dry-run", "--fix-missing", "--json", "--store", storePath], home),
      ) as { missing: number };
      expect(cleanup.missing).toBe(0);

      // And Pincer's own listing projects rows the way OpenClaw does.
      const ours = JSON.parse(
        execFileSync(
          process.execPath,
          [path.join(import.meta.dirname, "..", "bin", "pincer.js"), "sessions", "--json", "--store", storePath],
          { encoding: "utf8", env: { ...process.env, PINCER_HOME: home } },
        ),
      ) as { sessions: Array<Record<string, unknown>> };
      const strip = (r: Record<string, unknown>) => {
        const { ageMs: _a, ...rest } = r;
        return rest;
      };
      expect(ours.sessions.map(strip)).toEqual(listed.sessions.map(strip));
    },
  );
});
