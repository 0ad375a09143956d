/** Markdown → Slack mrkdwn: markers, links, escaping of Slack's control characters, code kept verbatim. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { markdownToMrkdwn } from "../../src/channels/slack/mrkdwn.ts";

describe("markdownToMrkdwn", () => {
  it.each([
    ["**bold**", "*bold*"],
    ["__bold__", "*bold*"],
    ["*italic* and _also_", "_italic_ and _also_"],
    ["***both***", "_*both*_"],
    ["~~gone~~", "~gone~"],
    ["[docs](https://x.test/a?b=1&c=2)", "<https://x.test/a?b=1&amp;c=2|docs>"],
    ["<https://x.test>", "<https://x.test>"],
    ["![chart](https://x.test/c.png)", "<https://x.test/c.png|chart>"],
    ["# Title", "*Title*"],
    ["## **Already bold**", "*Already bold*"],
    ["- one\n* two\n  + three", "• one\n• two\n  • three"],
    ["> quoted **text**", "> quoted *text*"],
    ["a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"],
    ["<@U123> is not a mention we make", "&lt;@U123&gt; is not a mention we make"],
    ["`x **y** <z>`", "`x **y** &lt;z&gt;`"],
    ["snake_case_name stays", "snake_case_name stays"],
    ["2 * 3 * 4", "2 * 3 * 4"],
  ])("%j → %j", (md, out) => {
    expect(markdownToMrkdwn(md)).toBe(out);
  });

  it("code fences lose the info string and keep their content verbatim (escaped)", () => {
    expect(markdownToMrkdwn("before\n```ts\nconst a = b && c < d; // **no**\n```\nafter **x**")).toBe(
      "before\n```\nconst a = b &amp;&amp; c &lt; d; // **no**\n```\nafter *x*",
    );
  });

  it("a link label cannot end the URL part early", () => {
    expect(markdownToMrkdwn("[a|b](https://x.test)")).toBe("<https://x.test|a¦b>");
  });

  it("never leaves a raw < or > that Slack would read as a control sequence it did not get from us", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const out = markdownToMrkdwn(s.replace(/[[\]()]/g, ""));
        // Without link syntax in the input, every < > in the output is escaped, except autolinks.
        // (a `> ` starting a line is a quote, which is meant.)
        const stripped = out.replace(/<(?:https?|mailto):[^<>\s]*>/g, "").replace(/^> /gm, "");
        expect(stripped).not.toMatch(/[<>]/);
      }),
      { numRuns: 300 },
    );
  });
});
