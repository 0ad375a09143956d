/**
 * The per-turn cost of system-prompt assembly (issue 15) with a full workspace — every file at the
 * size OpenClaw's templates give it, plus a MEMORY.md — against the length of the session's
 * history. A gateway runs in this process with the offline echo model; the session is grown turn
 * by turn, and at each checkpoint the next turns' `PromptAssembler.assemble` calls are timed (the
 * stat of each workspace file, capping, building the text and its report), beside the whole
 * turn. Assembly reads no history, so its cost must stay flat while the history grows; the prompt
 * text must also stay byte-identical between the turns (nothing in it changes).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { startGateway } from "../src/gateway/start.ts";
import type { PromptAssembler } from "../src/runtime/prompt-assembler.ts";

/** Sizes of OpenClaw 2026.3.13's workspace templates (docs/reference/templates), in chars. */
const TEMPLATE_SIZES: Record<string, number> = {
  "AGENTS.md": 8005,
  "SOUL.md": 1800,
  "TOOLS.md": 989,
  "IDENTITY.md": 728,
  "USER.md": 567,
  "HEARTBEAT.md": 305,
  "BOOTSTRAP.md": 1603,
  "MEMORY.md": 4000,
};

/** Markdown-ish filler of `chars` characters (lines of words), not OpenClaw's text. */
function filler(name: string, chars: number): string {
  const line = `- ${name}: keep notes short, write down decisions, ask before acting outside the workspace.\n`;
  let out = `# ${name}\n\n`;
  while (out.length < chars) out += line;
  return out.slice(0, chars);
}

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const round3 = (n: number) => Math.round(n * 1000) / 1000;

export interface PromptCheckpoint {
  historyMessages: number;
  turns: number;
  assembleP50Us: number;
  assembleP90Us: number;
  turnP50Ms: number;
  systemPromptChars: number;
  identicalAcrossTurns: boolean;
}

/**
 * One session per history length (direct chats, `dmScope: per-peer`), grown first; then the
 * measured turns go round-robin over the sessions, so the machine's other load falls on every
 * length alike.
 */
export async function benchPromptAssembly(
  lengths: readonly number[] = [0, 1000, 4000, 10_000],
  turnsPerSession = 200,
): Promise<Record<string, unknown>> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-bench-prompt-"));
  const ws = path.join(home, "agents", "main", "workspace");
  fs.mkdirSync(ws, { recursive: true, mode: 0o700 });
  for (const [name, size] of Object.entries(TEMPLATE_SIZES))
    fs.writeFileSync(path.join(ws, name), filler(name, size), { mode: 0o600 });
  const gw = await startGateway({
    config: { gateway: { auth: { token: "bench-token-0123456789abcdef" } }, session: { dmScope: "per-peer" } },
    home,
    port: 0,
    env: { PINCER_HOME: home },
    logger: pino({ level: "silent" }),
  });
  // The runner's assembler, timed call by call (a bench may reach into the runtime).
  const prompts = (gw.runtime as unknown as { runner: { prompts: PromptAssembler } }).runner.prompts;
  const original = prompts.assemble.bind(prompts);
  const timing = new Map<string, number[]>();
  const texts = new Map<string, string[]>();
  let measuring = false;
  prompts.assemble = async (req) => {
    const t0 = process.hrtime.bigint();
    const out = await original(req);
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    if (measuring && req.source === "run") {
      timing.get(req.sessionKey)?.push(us);
      texts.get(req.sessionKey)?.push(out.text);
    }
    return out;
  };
  const peer = (n: number) => `peer${n}`;
  const turn = async (n: number, i: number) => {
    const envelope = {
      channel: "webchat",
      chatType: "direct",
      peerId: peer(n),
      senderId: peer(n),
      text: `message ${i}: ${"lorem ipsum ".repeat(8)}`,
    };
    const accepted = await gw.runtime.submit(envelope, { surface: "http" });
    await accepted.done;
    return accepted.sessionKey;
  };
  const started = Date.now();
  const keys: string[] = [];
  const turnMs = new Map<string, number[]>();
  try {
    // Grow each session to its length (a turn adds the user's message and the reply).
    for (const [n, length] of lengths.entries()) {
      let key = await turn(n, 0);
      for (let i = 1; i * 2 < length; i++) key = await turn(n, i);
      keys.push(key);
      timing.set(key, []);
      texts.set(key, []);
      turnMs.set(key, []);
    }
    measuring = true;
    for (let k = 0; k < turnsPerSession; k++)
      for (const [n] of lengths.entries()) {
        const t0 = performance.now();
        const key = await turn(n, 100_000 + k);
        turnMs.get(key)!.push(performance.now() - t0);
      }
  } finally {
    measuring = false;
    await gw.stop(2000);
    fs.rmSync(home, { recursive: true, force: true });
  }
  const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
  const results: PromptCheckpoint[] = lengths.map((length, n) => {
    const key = keys[n]!;
    const t = sorted(timing.get(key)!);
    const own = texts.get(key)!;
    return {
      historyMessages: length,
      turns: t.length,
      assembleP50Us: round3(quantile(t, 0.5)),
      assembleP90Us: round3(quantile(t, 0.9)),
      turnP50Ms: round3(quantile(sorted(turnMs.get(key)!), 0.5)),
      systemPromptChars: own[0]?.length ?? 0,
      identicalAcrossTurns: own.every((x) => x === own[0]),
    };
  });
  const first = results[0]!;
  const last = results.at(-1)!;
  const ratio = round3(last.assembleP50Us / first.assembleP50Us);
  return {
    workspaceChars: Object.values(TEMPLATE_SIZES).reduce((a, b) => a + b, 0),
    sessions: results,
    assembleRatioLongestToEmpty: ratio,
    seconds: round3((Date.now() - started) / 1000),
    targets: { maxAssembleRatio: 1.5, identicalAcrossTurns: true },
    pass: ratio <= 1.5 && results.every((r) => r.identicalAcrossTurns),
  };
}
