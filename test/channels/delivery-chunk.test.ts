/**
 * The chunker's promises as properties (fast-check): the chunks' source slices partition the input
 * (nothing lost, nothing twice); each chunk's markdown is its slice modulo the fence repairs and the
 * trimmed blank lines at the cut; every rendered chunk is within the limits for renders that expand
 * text (HTML-style escaping), count code points, and cap lines; fences are closed and reopened with
 * their info string.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunkMarkdown, fenceOpenAtEnd, measure, splitMarkdown, type ChunkOptions } from "../../src/channels/chunk.ts";
import { markdownToMrkdwn } from "../../src/channels/slack/mrkdwn.ts";
import { renderTelegramHtml } from "../../src/channels/telegram/render.ts";

const escapeHtml = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const identity = (s: string): string => s;

/** Markdown-ish text: words, emoji (surrogate pairs), escapable characters, blank lines and fenced code. */
const token = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom("word", "longerword", "a", "x1", "<tag>", "&amp", "émoji🦞", "🦀🦀", "**b**"),
  },
  { weight: 3, arbitrary: fc.constantFrom(" ", " ", "  ", "\t") },
  { weight: 2, arbitrary: fc.constantFrom("\n", "\n\n", "\n\n\n", "\r\n") },
  { weight: 1, arbitrary: fc.constantFrom("\n```ts\n", "\n```\n", "\n~~~~ python\n", "\n~~~~\n", "\n    indented\n") },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom("x".repeat(120), "<".repeat(50)) },
);
const markdownArb = fc.array(token, { minLength: 10, maxLength: 400, size: "large" }).map((t) => t.join(""));

const renders: Array<[string, (s: string) => string]> = [
  ["identity", identity],
  ["html-escape", escapeHtml],
  ["doubling", (s) => s.replace(/[a-z]/g, (c) => c + c)],
];

const optsArb = fc.record({
  maxChars: fc.integer({ min: 40, max: 400 }),
  maxLines: fc.option(fc.integer({ min: 3, max: 20 }), { nil: undefined }),
  countUnit: fc.constantFrom<"utf16" | "chars">("utf16", "chars"),
  render: fc.constantFrom(...renders.map((r) => r[1])),
});

function lines(s: string): number {
  return s.split("\n").length;
}

/** What a piece carries once its fence repairs are taken off. */
function withoutRepairs(piece: { markdown: string; reopened?: string; closed?: string }): string {
  let s = piece.markdown;
  if (piece.reopened !== undefined) s = s.slice(piece.reopened.length).replace(/^\n/, "");
  if (piece.closed !== undefined) s = s.slice(0, s.length - piece.closed.length).replace(/\n$/, "");
  return s;
}

describe("chunkMarkdown", () => {
  it("partitions the input: slices are contiguous, cover it all, and each chunk is its slice trimmed", () => {
    fc.assert(
      fc.property(markdownArb, optsArb, (md, opts: ChunkOptions) => {
        const pieces = splitMarkdown(md, opts);
        if (!/\S/.test(md)) {
          expect(pieces).toEqual([]);
          return;
        }
        let at = 0;
        for (const p of pieces) {
          expect(p.source[0]).toBe(at);
          expect(p.source[1]).toBeGreaterThan(at);
          at = p.source[1];
          const slice = md.slice(p.source[0], p.source[1]);
          const trimmed = slice.replace(/^(?:[ \t]*\r?\n)+/, "").replace(/\s+$/, "");
          expect(withoutRepairs(p)).toBe(trimmed);
        }
        expect(at).toBe(md.length);
        // Concatenated, the slices are the input itself: nothing lost or duplicated.
        expect(pieces.map((p) => md.slice(p.source[0], p.source[1])).join("")).toBe(md);
      }),
      { numRuns: 100 },
    );
  });

  it("keeps every rendered chunk within the character and line limits, even for renders that expand text", () => {
    fc.assert(
      fc.property(markdownArb, optsArb, (md, opts: ChunkOptions) => {
        const chunks = chunkMarkdown(md, opts);
        for (const c of chunks) {
          expect(measure(c, opts.countUnit)).toBeLessThanOrEqual(opts.maxChars);
          if (opts.maxLines !== undefined) expect(lines(c)).toBeLessThanOrEqual(opts.maxLines);
          expect(c.trim().length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("leaves no chunk with an unclosed code block when the input closes all of its own", () => {
    fc.assert(
      fc.property(markdownArb, optsArb, (md, opts: ChunkOptions) => {
        fc.pre(!fenceOpenAtEnd(md));
        for (const p of splitMarkdown(md, opts)) expect(fenceOpenAtEnd(p.markdown), p.markdown).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it("stays within the limits with the real Telegram HTML and Slack mrkdwn renderers", () => {
    const rich = fc
      .array(
        fc.oneof(
          token,
          fc.constantFrom(
            "**bold**",
            "_it_",
            "`code`",
            "[link](https://example.com/a?b=<c>&d)",
            "# Head\n",
            "> quote\n",
          ),
        ),
        { minLength: 10, maxLength: 300, size: "large" },
      )
      .map((t) => t.join(""));
    fc.assert(
      fc.property(rich, fc.integer({ min: 60, max: 500 }), (md, max) => {
        for (const render of [renderTelegramHtml, markdownToMrkdwn]) {
          for (const c of chunkMarkdown(md, { maxChars: max, countUnit: "utf16", render })) {
            expect(c.length).toBeLessThanOrEqual(max);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it("never splits a surrogate pair", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 400 }),
        fc.integer({ min: 8, max: 60 }),
        (md, max) => {
          for (const c of chunkMarkdown(md, { maxChars: max, countUnit: "utf16", render: identity })) {
            expect(c.isWellFormed()).toBe(true);
          }
        },
      ),
    );
  });

  it("closes a code fence at the end of a chunk and reopens it, info string included, in the next", () => {
    const code = Array.from({ length: 40 }, (_, i) => `const line${i} = ${i};`).join("\n");
    const md = `Intro paragraph.\n\n\`\`\`typescript\n${code}\n\`\`\`\n\nAfter the code.`;
    const chunks = chunkMarkdown(md, { maxChars: 300, countUnit: "utf16", render: identity });
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) {
      const fences = c.split("\n").filter((l) => l.startsWith("```"));
      expect(fences.length % 2).toBe(0); // every chunk's code blocks are closed
    }
    for (const c of chunks.slice(1, -1)) expect(c.startsWith("```typescript\n")).toBe(true);
    expect(chunks.at(-1)).toContain("After the code.");
    // The code lines all arrive, once each, in order.
    const codeLines = chunks.flatMap((c) => c.split("\n")).filter((l) => l.startsWith("const line"));
    expect(codeLines).toEqual(code.split("\n"));
  });

  it("prefers paragraph, then line, then word boundaries", () => {
    const para = (n: number, w: string): string => Array.from({ length: n }, () => w).join(" ");
    const md = `${para(10, "alpha")}\n\n${para(10, "bravo")}\n${para(10, "charlie")}`;
    const chunks = chunkMarkdown(md, { maxChars: 150, countUnit: "chars", render: identity });
    expect(chunks[0]).toBe(para(10, "alpha")); // the paragraph break, although more fits
    const lineCut = chunkMarkdown(`${para(10, "bravo")}\n${para(10, "charlie")}`, {
      maxChars: 100,
      countUnit: "chars",
      render: identity,
    });
    expect(lineCut[0]).toBe(para(10, "bravo"));
    const wordCut = chunkMarkdown(para(30, "delta"), { maxChars: 50, countUnit: "chars", render: identity });
    for (const c of wordCut) expect(c).toMatch(/^(delta ?)+$/);
    expect(wordCut.join(" ")).toBe(para(30, "delta"));
  });

  it("measures after rendering: HTML escaping that doubles the size yields more chunks", () => {
    const md = "<&>".repeat(1500); // 4500 characters, 4500 × 4.33 rendered
    const chunks = chunkMarkdown(md, { maxChars: 4096, countUnit: "utf16", render: escapeHtml });
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(4096);
    expect(chunks.join("")).toBe(escapeHtml(md));
    expect(chunks.length).toBeGreaterThanOrEqual(5);
  });

  it("honours Discord's 17 lines as well as 2000 characters", () => {
    const md = Array.from({ length: 60 }, (_, i) => `line ${i}`).join("\n");
    const chunks = chunkMarkdown(md, { maxChars: 2000, maxLines: 17, countUnit: "chars", render: identity });
    expect(chunks.map(lines)).toEqual([17, 17, 17, 9]);
  });

  it("splits a 20 000-character message under Telegram's limit with nothing lost", () => {
    const md = "word ".repeat(4000);
    const chunks = chunkMarkdown(md, { maxChars: 4096, countUnit: "utf16", render: escapeHtml });
    expect(chunks.length).toBe(5);
    expect(chunks.join(" ").split(" ").filter(Boolean).length).toBe(4000);
  });

  it("returns no chunk for empty or blank text", () => {
    expect(chunkMarkdown("", { maxChars: 10, countUnit: "utf16", render: identity })).toEqual([]);
    expect(chunkMarkdown(" \n\n\t", { maxChars: 10, countUnit: "utf16", render: identity })).toEqual([]);
  });
});
