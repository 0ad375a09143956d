/** Session keys as the CLI accepts them: full keys, or short forms completed with the default agent. */
import { agentIdFromKey, normalizeSessionKey } from "../../keys/session-key.ts";
import type { CliContext } from "../context.ts";
import { CliError } from "../io.ts";

export function mainSessionKey(ctx: CliContext, agentId: string): string {
  return `agent:${agentId}:${ctx.config.session?.mainKey ?? "main"}`;
}

export function cliSessionKey(ctx: CliContext, raw: string): { agentId: string; key: string } {
  try {
    const key = normalizeSessionKey(raw, {
      defaultAgentId: ctx.defaultAgentId,
      mainKey: ctx.config.session?.mainKey ?? "main",
    });
    return { key, agentId: agentIdFromKey(key) ?? ctx.defaultAgentId };
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}
