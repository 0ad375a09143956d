/** Markdown → Telegram HTML: escaping, the supported tags, and well-formed output for any input. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { htmlToPlain, renderTelegramHtml as render } from "../../src/channels/telegram/render.ts";

describe("renderTelegramHtml", () => {
  it("escapes <, > and & everywhere outside the tags it emits", () => {
    expect(render("a < b && c > d")).toBe("a &lt; b &amp;&amp; c &gt; d");
    expect(render("<script>alert(1)</script>")).toBe("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(render("`<b>` stays code")).toBe("<code>&lt;b&gt;</code> stays code");
  });

  it("bold, italic, strike, spoiler, inline code, nesting", () => {
    expect(render("**bold** and __bold__")).toBe("<b>bold</b> and <b>bold</b>");
    expect(render("*it* and _it_")).toBe("<i>it</i> and <i>it</i>");
    expect(render("~~gone~~ ||secret||")).toBe("<s>gone</s> <tg-spoiler>secret</tg-spoiler>");
    expect(render("**bold _and it_**")).toBe("<b>bold <i>and it</i></b>");
    expect(render("`**not bold**`")).toBe("<code>**not bold**</code>");
  });

  it("leaves snake_case, lone delimiters and spaced stars as text", () => {
    expect(render("my_var_name and __init__.py")).toBe("my_var_name and <b>init</b>.py");
    expect(render("2 * 3 * 4")).toBe("2 * 3 * 4");
    expect(render("**unclosed bold")).toBe("**unclosed bold");
    expect(render("a \\*literal\\* star")).toBe("a *literal* star");
  });

  it("links only for safe schemes; attributes escaped", () => {
    expect(render("[docs](https://example.com/a?b=1&c=2)")).toBe(
      '<a href="https://example.com/a?b=1&amp;c=2">docs</a>',
    );
    expect(render('[x](https://e.com/"onclick)')).toBe('<a href="https://e.com/&quot;onclick">x</a>');
    expect(render("[click](javascript:alert(1))")).toBe("[click](javascript:alert(1))");
  });

  it("code blocks keep their text escaped, with the language; an unclosed fence runs to the end", () => {
    expect(render("```ts\nconst a = 1 < 2 && **x**;\n```\nafter")).toBe(
      '<pre><code class="language-ts">const a = 1 &lt; 2 &amp;&amp; **x**;</code></pre>\nafter',
    );
    expect(render("```\nopen <fence>")).toBe("<pre><code>open &lt;fence&gt;</code></pre>");
  });

  it("headings bold, bullets as •, quotes as blockquote", () => {
    expect(render("# Title\n- one\n- **two**\n> quoted <x>\n> more")).toBe(
      "<b>Title</b>\n• one\n• <b>two</b>\n<blockquote>quoted &lt;x&gt;\nmore</blockquote>",
    );
  });

  it("htmlToPlain gives back the words (the fallback when Telegram refuses the markup)", () => {
    expect(htmlToPlain(render("**a** < `b` & [c](https://x.y)"))).toBe("a < b & c");
  });

  it("is well formed for any input: tags balanced and properly nested, no raw < or > outside them", () => {
    const alphabet = fc.constantFrom(
      "*",
      "_",
      "~",
      "|",
      "`",
      "[",
      "]",
      "(",
      ")",
      "<",
      ">",
      "&",
      "\\",
      " ",
      "\n",
      "a",
      "#",
      "-",
    );
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 60 }), (chars) => {
        const html = render(chars.join(""));
        const stack: string[] = [];
        const rest = html.replace(/<(\/?)([a-z-]+)(?: [^>]*)?>/g, (_, close: string, tag: string) => {
          if (close) expect(stack.pop()).toBe(tag);
          else stack.push(tag);
          return "";
        });
        expect(stack).toEqual([]);
        expect(rest).not.toMatch(/[<>]/);
        expect(rest.replace(/&(amp|lt|gt|quot);/g, "")).not.toContain("&");
      }),
      { numRuns: 400 },
    );
  });

  it("pathological inputs of 20 000 characters render (each delimiter searched once)", () => {
    for (const unit of ["*a", "[a", "_ ", "`", "**x", "[a](", "|"]) {
      const text = unit.repeat(Math.ceil(20_000 / unit.length));
      // (A line of only backticks is a fence, one of `_ ` a rule: empty text is a fair answer there.)
      expect(htmlToPlain(render(`x ${text}`)).length).toBeGreaterThan(0);
    }
  });
});
