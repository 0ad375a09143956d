// TEMPORARY STUB (replaced by the full implementation).
import type { ModelProvider } from "./types.ts";
import { emptyUsage } from "../transcript/entries.ts";
const echo: ModelProvider = {
  name: "echo", api: "echo", offline: true,
  contextWindow: () => 200_000,
  async *stream(req) {
    const last = [...req.messages].reverse().find((m) => m.role === "user");
    const t = last ? (typeof last.content === "string" ? last.content : "") : "";
    const text = req.purpose === "memory-flush" ? "NO_REPLY" : req.purpose === "summary" ? `Summary of ${req.messages.length} messages` : `echo: ${t}`;
    yield { type: "text-delta", text };
    yield { type: "finish", message: { role: "assistant", content: [{ type: "text", text }], api: "echo", provider: "echo", model: "echo", usage: { ...emptyUsage(), input: 10, output: 5, totalTokens: 15 }, stopReason: "stop", timestamp: Date.now() } };
  },
};
export function createProviderRegistry(config: unknown, env: NodeJS.ProcessEnv) {
  void config; void env;
  return {
    resolve(ref: string) { const i = ref.indexOf("/"); return { provider: echo, model: i >= 0 ? ref.slice(i + 1) : ref }; },
    defaultRef: () => "echo/echo",
    has: (n: string) => n === "echo",
  };
}
