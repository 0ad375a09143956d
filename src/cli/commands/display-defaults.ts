/**
 * The model and context window a session shows when its row names none: the model the gateway
 * would run for the default agent, resolved by the same provider registry the gateway builds
 * (aliases, `{ primary, fallbacks }`, implied providers), so a listing never shows a default the
 * gateway would not use, and a config the gateway refuses is refused here with the same message.
 */
import { envWithAuthProfiles } from "../../config/auth-profiles.ts";
import { createProviderRegistry } from "../../providers/registry.ts";
import { resolveAgentSettings } from "../../runtime/agent-settings.ts";
import { DEFAULT_CONTEXT_TOKENS, type DisplayDefaults } from "../session-rows.ts";
import type { CliContext } from "../context.ts";
import { CliError } from "../io.ts";

export function displayDefaults(ctx: CliContext): DisplayDefaults {
  let model: string;
  let window: number | undefined;
  try {
    const registry = createProviderRegistry(ctx.config, envWithAuthProfiles(ctx.io.env, ctx.home, ctx.defaultAgentId));
    const ref = resolveAgentSettings(ctx.config.agents, ctx.defaultAgentId, ctx.home).modelRef ?? registry.defaultRef();
    const resolved = registry.resolve(ref);
    model = resolved.model;
    window = resolved.provider.contextWindow(resolved.model);
  } catch (err) {
    throw new CliError(`${ctx.configPath ?? "config"}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const configured = ctx.config.agents?.defaults?.contextTokens;
  return { model, contextTokens: window ?? configured ?? DEFAULT_CONTEXT_TOKENS };
}
