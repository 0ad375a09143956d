/**
 * A session's thinking level (`/think`, `agents.defaults.thinkingDefault`) in each provider's
 * terms, as OpenClaw's pi runtime sends it: Anthropic gets an extended-thinking budget (pi's
 * default budgets) or adaptive thinking, OpenAI and OpenAI-compatible servers a `reasoning_effort`.
 * `off` sends nothing, so models without reasoning see the request they always saw.
 */
import type { ProviderKind } from "./ai-sdk.ts";

export const THINK_LEVELS = ["off", "minimal", "low", "medium", "high", "xhigh", "adaptive"] as const;
export type ThinkLevel = (typeof THINK_LEVELS)[number];

/** pi-ai's default budgets (`adjustMaxTokensForThinking`); `xhigh` is clamped to `high` for Anthropic. */
export const ANTHROPIC_THINKING_BUDGETS: Record<"minimal" | "low" | "medium" | "high", number> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 16_384,
};

/** Claude models with adaptive thinking (4.6 and later); older ones get a budget for `adaptive`. */
const ADAPTIVE_MODELS = /(opus|sonnet|haiku)-4[-.]([6-9]|\d\d)(?!\d)|claude-[a-z]+-([5-9]|\d\d)(?!\d)/i;
/** OpenAI accepts `xhigh` only on its newest models (GPT-5.2+, Codex); others get `high`, as pi does. */
const XHIGH_MODELS = /codex|gpt-5\.[2-9]|gpt-[6-9]/i;

export function isThinkLevel(value: unknown): value is ThinkLevel {
  return typeof value === "string" && (THINK_LEVELS as readonly string[]).includes(value);
}

/** The OpenAI-style effort for a level; undefined for `off`. */
export function reasoningEffort(level: ThinkLevel, model: string): string | undefined {
  if (level === "off") return undefined;
  if (level === "adaptive") return "medium";
  if (level === "xhigh") return XHIGH_MODELS.test(model) ? "xhigh" : "high";
  return level;
}

/**
 * The AI SDK `providerOptions` for a call at this level (undefined: none). `optionsKey` is the key the
 * provider reads its options under (the OpenAI-compatible adapter reads its configured name).
 */
export function reasoningOptions(
  kind: ProviderKind,
  optionsKey: string,
  level: ThinkLevel | undefined,
  model: string,
): Record<string, Record<string, unknown>> | undefined {
  if (level === undefined || level === "off") return undefined;
  if (kind === "anthropic") {
    if (level === "adaptive" && ADAPTIVE_MODELS.test(model)) return { anthropic: { thinking: { type: "adaptive" } } };
    const budget = ANTHROPIC_THINKING_BUDGETS[level === "xhigh" ? "high" : level === "adaptive" ? "medium" : level];
    return { anthropic: { thinking: { type: "enabled", budgetTokens: budget } } };
  }
  const effort = reasoningEffort(level, model);
  if (effort === undefined) return undefined;
  return kind === "openai" ? { openai: { reasoningEffort: effort } } : { [optionsKey]: { reasoningEffort: effort } };
}
