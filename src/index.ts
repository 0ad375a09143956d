/**
 * Pincer's library API, for embedding the session engine in another program.
 *
 *   const { manager, close } = await createSessionManager({ home: "/var/lib/pincer" });
 *   const turn = await manager.recordInbound(envelope);
 *   await manager.appendAssistant(turn.agentId, turn.sessionKey, { text: "..." });
 */
import { loadConfig } from "./config/load.ts";
import type { PincerConfig } from "./config/schema.ts";
import type { Clock } from "./lifecycle/clock.ts";
import { SessionManager } from "./session/manager.ts";
import { StoreRegistry } from "./session/open-store.ts";
import type { ReadIssue, SessionStore } from "./store/types.ts";

export interface CreateSessionManagerOptions {
  /** State directory (default: $PINCER_HOME, then ~/.pincer). */
  home?: string;
  /** A parsed config; when omitted the config file is loaded from the home (or `configPath`). */
  config?: PincerConfig;
  configPath?: string;
  /** Use these stores instead of the configured backend (one per agent id). */
  storeFor?: (agentId: string) => Promise<SessionStore>;
  clock?: Clock;
  onIssue?: (issue: ReadIssue) => void;
}

export async function createSessionManager(options: CreateSessionManagerOptions = {}): Promise<{
  manager: SessionManager;
  config: PincerConfig;
  home: string;
  close: () => Promise<void>;
}> {
  const env = options.home ? { ...process.env, PINCER_HOME: options.home } : process.env;
  const loaded = options.config ? null : loadConfig({ configPath: options.configPath, env });
  const config = options.config ?? loaded!.config;
  const home = options.home ?? loaded?.home ?? loadConfig({ env }).home;
  const registry = new StoreRegistry(config, home, {
    onIssue: options.onIssue,
    now: options.clock ? () => options.clock!.now() : undefined,
  });
  const manager = new SessionManager({ config, storeFor: options.storeFor ?? registry.storeFor, clock: options.clock });
  return { manager, config, home, close: () => registry.closeAll() };
}

export { SessionManager } from "./session/manager.ts";
export type { AssistantReply, InboundOptions, InboundResult, ResolveResult, ManagerConfig } from "./session/manager.ts";
export { MemorySessionStore } from "./store/memory-store.ts";
export { FsSessionStore } from "./store/fs/fs-store.ts";
export type { SessionStore, SessionRow, ListFilter, ListPage, Lease, Fence } from "./store/types.ts";
export type { SessionEntry } from "./store/entry.ts";
export type { InboundEnvelope } from "./keys/envelope.ts";
export { parseEnvelope } from "./keys/envelope-schema.ts";
export { resolveRoute } from "./keys/routing.ts";
export { buildSessionKey, parseSessionKey, normalizeSessionKey } from "./keys/session-key.ts";
export { loadConfig } from "./config/load.ts";
