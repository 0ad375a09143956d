/**
 * The slice of the gateway config that routing reads. Structural on purpose: the full config type
 * (config/) satisfies it without keys/ depending on config/.
 */
import { PincerError } from "../errors.ts";
import type { ChatType } from "./envelope.ts";
import type { DmScope } from "./session-key-parts.ts";

export interface BindingMatch {
  channel: string;
  /** Omitted or blank means `default`; `*` means any account. */
  accountId?: string;
  peer?: { kind: ChatType; id: string };
  guildId?: string;
  teamId?: string;
  roles?: readonly string[];
}

export interface RouteBinding {
  agentId: string;
  match: BindingMatch;
}

export interface RoutingConfig {
  session?: {
    dmScope?: DmScope;
    mainKey?: string;
    /** Canonical name → ids (`"123"` matches any channel, `"telegram:123"` only Telegram). */
    identityLinks?: Readonly<Record<string, readonly string[]>>;
  };
  agents?: { list?: ReadonlyArray<{ id: string; default?: boolean }> };
  bindings?: readonly RouteBinding[];
}

export type MatchedBy =
  | "binding.peer"
  | "binding.peer.parent"
  | "binding.guild+roles"
  | "binding.guild"
  | "binding.team"
  | "binding.account"
  | "binding.channel"
  | "default"
  /** A surface named the session itself (hooks, cron, WebChat, an authorised explicit key). */
  | "explicit";

/** Raised when the config makes a routing decision ambiguous. */
export class RoutingConfigError extends PincerError {
  override readonly code = "routing_config_invalid";
}
