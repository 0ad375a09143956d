/**
 * A scripted model for the Control UI's browser tests, picked by the last user message:
 * `md …` answers markdown (bold, a code fence, a table, a link and raw HTML that must be
 * sanitised); `tool …` calls the `lookup` tool, then answers; `slow …` streams a chunk every
 * 40 ms until stopped; `big …` streams 50 000 characters in 500 deltas; anything else is echoed.
 * Every call reports tokens, so the sessions' usage totals fill up.
 */
import type { ModelEvent, ModelProvider, ModelRequest } from "../../src/providers/types.ts";
import type { AgentTool } from "../../src/runtime/tool-registry.ts";
import { emptyUsage, type AgentMessage, type AssistantMessage } from "../../src/transcript/entries.ts";

export const MARKDOWN_REPLY = [
  "Here is **bold** text and a [link](https://example.com/docs).",
  "",
  "```js",
  "const answer = 42;",
  "```",
  "",
  "| Name | Value |",
  "| ---- | ----- |",
  "| alpha | 1 |",
  "| beta | 2 |",
  "",
  '<img src="x" onerror="window.__xss = true"><script>window.__xss = true</script>',
].join("\n");
export const BIG_REPLY_CHARS = 50_000;

export const lookupTool: AgentTool = {
  spec: {
    name: "lookup",
    description: "Looks a word up (test tool).",
    parameters: { type: "object", properties: { word: { type: "string" } }, required: ["word"] },
  },
  async run(args) {
    return `definition of ${(args as { word?: string }).word ?? "?"}: a test word`;
  },
};

function lastUser(messages: readonly AgentMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== "user") continue;
    if (typeof m.content === "string") return m.content;
    return (m.content as Array<{ type: string; text?: string }>).map((b) => b.text ?? "").join("");
  }
  return "";
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });

function reply(req: ModelRequest, content: AssistantMessage["content"], stopReason: AssistantMessage["stopReason"]) {
  const text = content.map((b) => (b.type === "text" ? b.text : "")).join("");
  const input = 120 + req.messages.length * 20;
  const output = Math.ceil(text.length / 4) + 10;
  const message: AssistantMessage = {
    role: "assistant",
    content,
    api: "scripted",
    provider: "scripted",
    model: req.model,
    usage: { ...emptyUsage(), input, output, totalTokens: input + output },
    stopReason,
    timestamp: Date.now(),
  };
  return { type: "finish", message } as const;
}

export function createControlUiModel(): ModelProvider {
  return {
    name: "scripted",
    api: "scripted",
    offline: true,
    contextWindow: () => 200_000,
    async *stream(req: ModelRequest): AsyncIterable<ModelEvent> {
      const last = req.messages[req.messages.length - 1];
      const said = lastUser(req.messages);
      if (req.purpose && req.purpose !== "turn") {
        const text = req.purpose === "memory-flush" ? "NO_REPLY" : "Summary: earlier messages.";
        yield { type: "text-delta", text };
        yield reply(req, [{ type: "text", text }], "stop");
        return;
      }
      if (said.startsWith("tool") && last?.role === "user") {
        yield { type: "tool-call", id: "call-1", name: "lookup", arguments: { word: "pincer" } };
        yield reply(
          req,
          [{ type: "toolCall", id: "call-1", name: "lookup", arguments: { word: "pincer" } }],
          "toolUse",
        );
        return;
      }
      let text: string;
      if (said.startsWith("tool")) text = "The lookup says: a test word.";
      else if (said.startsWith("md")) text = MARKDOWN_REPLY;
      else if (said.startsWith("slow")) {
        let streamed = "";
        const chunks = said.includes("short") ? 40 : 250;
        for (let i = 0; i < chunks && !req.abortSignal?.aborted; i++) {
          const chunk = `partial chunk ${i}. `;
          streamed += chunk;
          yield { type: "text-delta", text: chunk };
          await sleep(40, req.abortSignal);
        }
        yield reply(req, [{ type: "text", text: streamed }], "stop");
        return;
      } else if (said.startsWith("big")) {
        const line =
          "0123456789 abcdefghij klmnopqrst uvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 abcdefghijklmnopq\n";
        let streamed = "";
        for (let i = 0; i < 500; i++) {
          const chunk = line.repeat(2).slice(0, 99) + "\n";
          streamed += chunk;
          yield { type: "text-delta", text: chunk };
          await sleep(4);
        }
        yield reply(req, [{ type: "text", text: streamed }], "stop");
        return;
      } else text = `echo: ${said}`;
      yield { type: "text-delta", text };
      yield reply(req, [{ type: "text", text }], "stop");
    },
  };
}
