// TEMPORARY STUB (replaced by the full implementation).
import type { ModelProvider } from "./types.ts";
import { createEchoProvider } from "./echo.ts";
const echo: ModelProvider = createEchoProvider();
export function createProviderRegistry(config: unknown, env: NodeJS.ProcessEnv) {
  void config; void env;
  return {
    resolve(ref: string) { const i = ref.indexOf("/"); return { provider: echo, model: i >= 0 ? ref.slice(i + 1) : ref }; },
    defaultRef: () => "echo/echo",
    has: (n: string) => n === "echo",
  };
}
