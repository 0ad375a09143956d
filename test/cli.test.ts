/** The real `pincer` binary in a child process, against a real home directory. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SessionManager } from "../src/session/manager.ts";
import { FsSessionStore } from "../src/store/fs/fs-store.ts";

const BIN = path.join(import.meta.dirname, "..", "bin", "pincer.js");
let home: string;
let storePath: string;

function pincer(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, PINCER_HOME: home, PINCER_CONFIG: "" },
    input,
    encoding: "utf8",
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
function json(args: string[], input?: string): Record<string, unknown> {
  const r = pincer(args, input);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as Record<string, unknown>;
}

async function seed(): Promise<void> {
  const store = await FsSessionStore.open({ storePath });
  const m = new SessionManager({ config: { session: { dmScope: "per-channel-peer" } }, storeFor: async () => store });
  for (const peer of ["1", "2", "3"]) {
    const r = await m.recordInbound({
      channel: "telegram",
      chatType: "direct",
      peerId: peer,
      senderId: peer,
      text: `hello ${peer}`,
    });
    await m.appendAssistant(r.agentId, r.sessionKey, { text: `reply ${peer}`, model: "echo", provider: "echo" });
  }
  await store.patch("agent:main:telegram:direct:1", (cur) => ({ ...cur!, updatedAt: Date.now() - 40 * 86_400_000 }));
  await store.close();
}

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-cli-"));
  fs.writeFileSync(path.join(home, "pincer.json"), "{ session: { dmScope: 'per-channel-peer' } }");
  storePath = path.join(home, "agents", "main", "sessions", "sessions.json");
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

describe("pincer CLI", () => {
  it("lists an empty home as valid JSON", () => {
    expect(json(["sessions", "--json"])).toMatchObject({
      path: storePath,
      count: 0,
      activeMinutes: null,
      sessions: [],
    });
  });

  it("lists sessions newest first in OpenClaw's shape, with --limit and --active", async () => {
    await seed();
    const all = json(["sessions", "--json"]) as { count: number; sessions: Array<Record<string, unknown>> };
    expect(all.count).toBe(3);
    expect(all.sessions[all.sessions.length - 1]).toMatchObject({
      key: "agent:main:telegram:direct:1",
      kind: "direct",
      agentId: "main",
      model: "echo",
      totalTokensFresh: true,
    });
    expect((json(["sessions", "--json", "--limit", "1"]) as { count: number }).count).toBe(1);
    expect((json(["sessions", "--json", "--active", "60"]) as { count: number }).count).toBe(2);
    const text = pincer(["sessions"]);
    expect(text.out).toContain(`Session store: ${storePath}`);
    expect(text.out).toContain("Sessions listed: 3");
  });

  it("fails with one line and exit 1 on bad flags", () => {
    for (const [args, msg] of [
      [["sessions", "--active", "0"], "--active must be a positive integer (minutes)"],
      [["sessions", "--agent", "nope"], 'Unknown agent id "nope"'],
      [["sessions", "--agent", "main", "--store", "x.json"], "--store cannot be combined"],
      [["sessions", "--limit", "-3"], "--limit must be a positive integer"],
      [["sessions", "history", `agent:main:${"x".repeat(600)}`], "512"],
    ] as const) {
      const r = pincer([...args, "--json"]);
      expect(r.code).toBe(1);
      expect(r.out).toBe("");
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toContain(msg);
    }
  });

  it("shows history, resets and deletes; refuses to delete the main session", async () => {
    await seed();
    const h = json(["sessions", "history", "agent:main:telegram:direct:2", "--json"]) as {
      messages: Array<{ role: string; text: string }>;
    };
    expect(h.messages.map((m) => `${m.role}:${m.text}`)).toEqual(["user:hello 2", "assistant:reply 2"]);
    const r = json(["sessions", "reset", "agent:main:telegram:direct:2", "--json"]);
    expect(r.sessionId).not.toBe(r.previousSessionId);
    const d = json(["sessions", "delete", "agent:main:telegram:direct:3", "--json"]) as {
      deleted: boolean;
      archived: string[];
    };
    expect(d.deleted).toBe(true);
    expect(d.archived[0]).toMatch(/\.jsonl\.deleted\./);
    const main = pincer(["sessions", "delete", "main"]);
    expect(main.code).toBe(1);
    expect(main.err).toContain("Cannot delete the main session (agent:main:main).");
    expect((json(["sessions", "--json"]) as { count: number }).count).toBe(2);
  });

  it("cleanup --dry-run predicts exactly what --enforce then does", async () => {
    await seed();
    const dry = json(["sessions", "cleanup", "--dry-run", "--json"]);
    expect(dry).toMatchObject({
      agentId: "main",
      mode: "warn",
      dryRun: true,
      beforeCount: 3,
      afterCount: 2,
      pruned: 1,
      wouldMutate: true,
    });
    const warn = json(["sessions", "cleanup", "--json"]);
    expect(warn).toMatchObject({ mode: "warn", applied: true, appliedCount: 3 });
    const applied = json(["sessions", "cleanup", "--enforce", "--json"]);
    expect(applied).toMatchObject({
      mode: "enforce",
      beforeCount: 3,
      afterCount: dry.afterCount,
      pruned: dry.pruned,
      appliedCount: dry.afterCount,
    });
    const files = fs.readdirSync(path.dirname(storePath));
    expect(files.some((f) => /\.jsonl\.deleted\./.test(f))).toBe(true);
  });

  it("resolves an envelope from stdin or from flags", async () => {
    await seed();
    const viaStdin = json(
      ["sessions", "resolve"],
      JSON.stringify({ channel: "telegram", chatType: "direct", peerId: "2", senderId: "2", text: "hi" }),
    );
    expect(viaStdin).toMatchObject({
      agentId: "main",
      sessionKey: "agent:main:telegram:direct:2",
      chatType: "direct",
      matchedBy: "default",
      fresh: true,
      staleReason: null,
    });
    expect(typeof viaStdin.sessionId).toBe("string");
    const viaFlags = json(["sessions", "resolve", "--channel", "discord", "--chat-type", "group", "--peer", "g1"]);
    expect(viaFlags).toMatchObject({
      sessionKey: "agent:main:discord:group:g1",
      sessionId: null,
      fresh: false,
      nextResetAt: null,
    });
    const bad = pincer(["sessions", "resolve"], "{ not json");
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^error: stdin is not valid JSON/);
  });

  it("reports status as JSON", async () => {
    await seed();
    const s = json(["status", "--json"]) as { sessions: { count: number; recent: unknown[] } };
    expect(s.sessions.count).toBe(3);
    expect(s.sessions.recent).toHaveLength(3);
  });

  it("refuses a bad config with the key, the value and what was expected", () => {
    fs.writeFileSync(path.join(home, "pincer.json"), "{ session: { dmScope: 'per-user' } }");
    const r = pincer(["sessions", "--json"]);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toContain("session.dmScope");
    expect(r.err).toContain('"per-user"');
    expect(r.err).toContain("per-channel-peer");
  });

  it("refuses a malformed sessions.json naming the file and offset, and leaves it as it was", () => {
    fs.mkdirSync(path.dirname(storePath), { recursive: true });
    fs.writeFileSync(storePath, '{"agent:main:main": {"sessionId": "x", ');
    const r = pincer(["sessions", "--json"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(storePath);
    expect(r.err).toMatch(/byte \d+/);
    expect(fs.readFileSync(storePath, "utf8")).toBe('{"agent:main:main": {"sessionId": "x", ');
  });
});
