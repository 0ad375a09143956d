/**
 * Which agents exist: `main` and every `agents.list` entry. A caller that names any other agent
 * (in a session key, a hook's target, an OpenAI `model`) is refused before anything is opened or
 * written, so no request can make an `agents/<id>/` store appear.
 */
import type { PincerConfig } from "../config/schema.ts";
import { PincerError } from "../errors.ts";

export class UnknownAgentError extends PincerError {
  override readonly code = "agent_not_found";
  override readonly httpStatus = 404;
  readonly agentId: string;
  // The configured agents are not listed: any caller, a channel-scoped bridge too, reads this.
  constructor(agentId: string) {
    super(`unknown agent ${JSON.stringify(agentId)}: not "main" and not in agents.list`);
    this.agentId = agentId;
  }
}

export function configuredAgentIds(config: PincerConfig): string[] {
  const ids = new Set(["main"]);
  for (const a of config.agents?.list ?? []) ids.add(a.id.toLowerCase());
  return [...ids];
}
