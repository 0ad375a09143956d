/** The model and context window a session shows when its row names none. */
import { DEFAULT_CONTEXT_TOKENS, DEFAULT_DISPLAY_MODEL, type DisplayDefaults } from "../session-rows.ts";
import type { CliContext } from "../context.ts";

export function displayDefaults(ctx: CliContext): DisplayDefaults {
  const d = ctx.config.agents?.defaults;
  const ref = typeof d?.model === "string" ? d.model : undefined;
  const model = ref ? (ref.includes("/") ? ref.slice(ref.indexOf("/") + 1) : ref) : DEFAULT_DISPLAY_MODEL;
  return { model, contextTokens: typeof d?.contextTokens === "number" ? d.contextTokens : DEFAULT_CONTEXT_TOKENS };
}
