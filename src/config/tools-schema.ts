/**
 * `tools`: what the agent's session tools may see (`sessions.visibility`) and whether agents may
 * talk to each other (`agentToAgent`). The other keys are OpenClaw's tool settings, accepted as they
 * are; a key neither knows is reported as unknown.
 */
import { z } from "zod";
import { globListSchema, openclawOnly } from "./values.ts";

export const SESSION_VISIBILITIES = ["self", "tree", "agent", "all"] as const;

export const toolsSchema = z.strictObject({
  sessions: z.strictObject({ visibility: z.enum(SESSION_VISIBILITIES).optional() }).optional(),
  agentToAgent: z.strictObject({ enabled: z.boolean().optional(), allow: globListSchema.optional() }).optional(),
  ...openclawOnly(
    "profile",
    "allow",
    "alsoAllow",
    "deny",
    "byProvider",
    "toolsBySender",
    "web",
    "media",
    "links",
    "loopDetection",
    "toolSearch",
    "codeMode",
    "swarm",
    "message",
    "elevated",
    "exec",
    "fs",
    "subagents",
    "sandbox",
    "sessions_spawn",
    "experimental",
  ),
});

export type ToolsConfig = z.infer<typeof toolsSchema>;
