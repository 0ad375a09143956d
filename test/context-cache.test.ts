/**
 * The built-context cache (src/runtime/context-cache.ts): a turn extends the session's kept
 * context by the lines appended since instead of rebuilding it from the whole transcript, and
 * gives exactly what the reference build (`buildContext` + `foreignEntries`) gives — with the
 * isolation guard still refusing a foreign line, after compaction, reset and foreign writes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildContext, contextAnchor, estimateTokens, foreignEntries } from "../src/runtime/context-build.ts";
import { runContext, SessionContext } from "../src/runtime/context-cache.ts";
import { MemorySessionStore } from "../src/store/memory-store.ts";
import type { TranscriptLine } from "../src/store/types.ts";
import type { NewEntry } from "../src/transcript/entries.ts";
import { ParsedTranscriptCache } from "../src/transcript/parsed-cache.ts";
import { TranscriptWriter } from "../src/transcript/writer.ts";

const KEY = "agent:main:telegram:direct:bob";
const OTHER = "agent:main:telegram:direct:alice";

const user = (text: string, sessionKey = KEY, interSession = false): NewEntry => ({
  type: "message",
  message: {
    role: "user",
    content: text,
    timestamp: 0,
    ...(interSession ? { provenance: { kind: "inter_session" as const } } : {}),
  },
  pincer: { sessionKey },
});
const reply = (text: string, after: string): NewEntry => ({
  type: "message",
  message: {
    role: "assistant",
    content: [{ type: "text", text }],
    api: "t",
    provider: "t",
    model: "t",
    usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, totalTokens: 0, cost: {} },
    stopReason: "stop",
    timestamp: 0,
  },
  pincer: { after },
});

/** What the turn runner used to compute each round, from the whole transcript. */
function reference(lines: readonly TranscriptLine[], sessionId: string, exclude: ReadonlySet<string>) {
  const built = buildContext(lines, exclude);
  return {
    messages: built.messages,
    anchor: contextAnchor(built),
    foreign: foreignEntries(lines, built, KEY, sessionId),
    estimatedTokens: estimateTokens(built.messages),
  };
}

async function setup(maxBytes?: number) {
  const store = new MemorySessionStore();
  const cache = new ParsedTranscriptCache(maxBytes);
  const writer = new TranscriptWriter(store, cache);
  const append = (entries: NewEntry[]) => writer.append("s1", entries, { now: 0, cwd: "/" });
  const context = async (exclude: ReadonlySet<string> = new Set()) => {
    const ctx = runContext(await writer.view("s1"), KEY, "s1", exclude);
    // What the next turn finds kept beside the lines.
    return { ctx, kept: (await writer.view("s1")).derived };
  };
  return { store, cache, writer, append, context };
}

describe("built-context cache", () => {
  it("a turn touches only the lines appended since the last one, not the history before them", async () => {
    const seeded = await setup();
    for (let i = 0; i < 500; i++) {
      const [u] = await seeded.append([user(`q${i}`)]);
      await seeded.append([reply(`a${i}`, u!.id)]);
    }
    // A gateway that reads this transcript: every property read on the stored lines is counted.
    let reads = 0;
    const store = seeded.store;
    const read = store.readTranscript.bind(store);
    store.readTranscript = async (id, opts) => {
      const r = await read(id, opts);
      const counted = r.lines.map(
        (l) =>
          new Proxy(l, {
            get(target, prop, receiver) {
              reads++;
              return Reflect.get(target, prop, receiver) as unknown;
            },
          }),
      );
      return { ...r, lines: counted };
    };
    const writer = new TranscriptWriter(store, new ParsedTranscriptCache());
    // The writer's one recovery read of the file's tail, as after a restart.
    await writer.append("s1", [user("after restart")], { now: 0, cwd: "/" });
    const first = runContext(await writer.view("s1"), KEY, "s1", new Set());
    expect(first.messages).toHaveLength(1001);
    expect(reads).toBeGreaterThan(1000);
    for (let turn = 0; turn < 3; turn++) {
      reads = 0;
      const [u] = await writer.append("s1", [user(`late ${turn}`)], { now: 0, cwd: "/" });
      await writer.append("s1", [reply(`late answer ${turn}`, u!.id)], { now: 0, cwd: "/" });
      const ctx = runContext(await writer.view("s1"), KEY, "s1", new Set());
      expect(ctx.messages).toHaveLength(1003 + 2 * turn);
      expect(ctx.anchor).toBeDefined();
      expect(reads, `turn ${turn}: reads of old lines`).toBe(0);
    }
  });

  it("agrees with the reference build on random transcripts extended a few lines at a time, exclusions included", async () => {
    type Step =
      | { kind: "user"; foreign: boolean; interSession: boolean }
      | { kind: "reply"; back: number; tool: boolean }
      | { kind: "compact"; back: number }
      | { kind: "touch" };
    const step: fc.Arbitrary<Step> = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({ kind: fc.constant("user" as const), foreign: fc.boolean(), interSession: fc.boolean() }),
      },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant("reply" as const), back: fc.nat(4), tool: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("compact" as const), back: fc.nat(6) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("touch" as const) }) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(step, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }),
        fc.nat(3),
        async (batches, excludeLast) => {
          const { append, context, writer } = await setup();
          const users: string[] = [];
          const ids: string[] = [];
          let n = 0;
          for (const batch of batches) {
            for (const s of batch) {
              n++;
              if (s.kind === "user") {
                const [w] = await append([user(`u${n}`, s.foreign ? OTHER : KEY, s.interSession)]);
                users.push(w!.id);
                ids.push(w!.id);
              } else if (s.kind === "reply") {
                const target = users[Math.max(0, users.length - 1 - s.back)];
                if (!target) continue;
                const [w] = await append([reply(`r${n}`, target)]);
                ids.push(w!.id);
                if (s.tool) ids.push((await append([reply(`t${n}`, target)]))[0]!.id);
              } else if (s.kind === "compact") {
                const kept = ids[Math.max(0, ids.length - 1 - s.back)];
                if (!kept) continue;
                await append([{ type: "compaction", summary: `sum${n}`, firstKeptEntryId: kept, tokensBefore: 1 }]);
              } else {
                await append([
                  {
                    type: "custom",
                    customType: "openclaw.cache-ttl",
                    data: { timestamp: n, provider: "p", modelId: "m" },
                  },
                ]);
              }
            }
            // Messages still queued: the newest received ones.
            const exclude = new Set(users.slice(users.length - Math.min(excludeLast, users.length)));
            const { ctx, kept } = await context(exclude);
            const lines = (await writer.readAll("s1")).lines;
            const want = reference(lines, "s1", exclude);
            expect({
              messages: ctx.messages,
              anchor: ctx.anchor,
              foreign: ctx.foreign,
              estimatedTokens: ctx.estimatedTokens,
            }).toEqual(want);
            expect(kept).toBeInstanceOf(SessionContext);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("the isolation guard still refuses a foreign line that arrives after the context was kept, and later turns too", async () => {
    const { append, context } = await setup();
    const [u] = await append([user("hello")]);
    await append([reply("hi", u!.id)]);
    expect((await context()).ctx.foreign).toEqual([]);
    const [planted] = await append([user("alice's diary", OTHER)]);
    expect((await context()).ctx.foreign).toEqual([planted!.id]);
    await append([user("what do you know?")]);
    // Checked once when it joined, still refused on every later turn.
    expect((await context()).ctx.foreign).toEqual([planted!.id]);
    // Marked inter-session provenance is allowed, as before.
    await append([
      {
        type: "message",
        message: { role: "user", content: "relay", timestamp: 0, provenance: { kind: "inter_session" } },
        pincer: { sessionKey: OTHER },
      },
    ]);
    expect((await context()).ctx.foreign).toEqual([planted!.id]);
  });

  it("a compaction starts the build over from the summary and the kept entry", async () => {
    const { append, context } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const [u] = await append([user(`q${i}`)]);
      const [a] = await append([reply(`a${i}`, u!.id)]);
      ids.push(u!.id, a!.id);
    }
    expect((await context()).ctx.messages).toHaveLength(12);
    await append([{ type: "compaction", summary: "they talked", firstKeptEntryId: ids[8]!, tokensBefore: 9 }]);
    const { ctx } = await context();
    expect(ctx.messages).toHaveLength(5);
    expect(ctx.messages[0]).toMatchObject({ role: "user", content: expect.stringContaining("they talked") });
    expect(ctx.messages.slice(1).map((m) => m.content)).toEqual([
      "q4",
      [{ type: "text", text: "a4" }],
      "q5",
      [{ type: "text", text: "a5" }],
    ]);
  });

  it("a reset (the writer forgets the session) and a foreign write the writer cannot follow drop the kept context", async () => {
    const { append, context, writer, store } = await setup();
    const [u] = await append([user("hello")]);
    await append([reply("hi", u!.id)]);
    const { kept } = await context();
    expect(kept).toBeInstanceOf(SessionContext);
    // Extending keeps the same state.
    await append([user("again")]);
    expect((await context()).kept).toBe(kept);

    writer.forget("s1");
    const afterForget = await writer.view("s1");
    expect(afterForget.derived).toBeUndefined();
    runContext(afterForget, KEY, "s1", new Set());

    // Another gateway wrote more than the refresh tail holds: the writer forgets, the context goes with it.
    const other = new TranscriptWriter(store);
    const planted: NewEntry[] = Array.from({ length: 80 }, (_, i) => user(`other gateway ${i}`));
    planted[40] = user("alice's diary", OTHER);
    await other.append("s1", planted, { now: 0, cwd: "/" });
    await writer.refresh("s1");
    const rebuilt = await context();
    const ctx = rebuilt.ctx;
    expect(rebuilt.kept).toBeInstanceOf(SessionContext);
    expect(rebuilt.kept).not.toBe(kept);
    expect(ctx.messages).toHaveLength(83);
    expect(ctx.foreign).toHaveLength(1);

    // This gateway's own turn, then a foreign write the refresh can follow: taken in as new lines, checked by the guard.
    await append([user("mine")]);
    expect((await context()).kept).toBe(rebuilt.kept);
    const [late] = await other.append("s1", [user("alice again", OTHER)], { now: 0, cwd: "/" });
    await writer.refresh("s1");
    const followed = await context();
    expect(followed.kept).toBe(rebuilt.kept);
    expect(followed.ctx.foreign).toEqual([...ctx.foreign, late!.id]);
    expect(followed.ctx.messages).toHaveLength(85);
  });

  it("counts the kept context against the transcript cache's byte budget and drops it with its lines", async () => {
    const { append, context, cache, writer } = await setup(1024 * 1024);
    for (let i = 0; i < 50; i++) await append([user(`q${i}`)]);
    await writer.readAll("s1");
    const before = cache.bytes;
    const derived = (await context()).kept as SessionContext;
    expect(derived.bytes).toBeGreaterThan(0);
    expect(cache.bytes).toBe(before + derived.bytes);
    // Growing past a quarter of the budget drops the transcript and the context with it.
    await append([user("x".repeat(300 * 1024))]);
    expect(cache.bytes).toBe(0);
    const fresh = await context();
    expect(fresh.kept).toBeUndefined();
    expect(fresh.ctx.messages).toHaveLength(51);
    expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
  });
});
