/**
 * Builds and starts a gateway from a loaded config: stores, session manager, model providers,
 * runtime, HTTP/WebSocket server, cron. `stop()` shuts down gracefully: no new requests, in-flight
 * turns finish (or are aborted at the deadline and marked), stores closed so `sessions.json` is
 * complete.
 */
import type { Logger } from "pino";
import type { PincerConfig } from "../config/schema.ts";
import * as path from "node:path";
import { resolveMaintenance, resolveStoreOptions, resolveStorePath } from "../config/resolve.ts";
import { configNotes } from "../config/load.ts";
import { envWithAuthProfiles } from "../config/auth-profiles.ts";
import { resolveAgents } from "../config/resolve.ts";
import { storeBackend } from "../store/backends.ts";
import type { Clock } from "../lifecycle/clock.ts";
import { createProviderRegistry } from "../providers/registry.ts";
import { AgentRuntime } from "../runtime/runtime.ts";
import { ToolRegistry } from "../runtime/tool-registry.ts";
import { registerSessionTools } from "../tools/session-tools.ts";
import { registerMemoryTools } from "../tools/memory-tools.ts";
import { ensureWorkspace } from "../workspace/layout.ts";
import { HeartbeatScheduler } from "./heartbeat.ts";
import type { SubagentManager } from "../tools/subagents.ts";
import { SessionManager } from "../session/manager.ts";
import { StoreRegistry } from "../session/open-store.ts";
import { LeaseTimeoutError, type SessionStore } from "../store/types.ts";
import type { ModelProvider } from "../providers/types.ts";
import { resolveAgentSettings } from "../runtime/agent-settings.ts";
import { CronScheduler } from "./cron.ts";
import { ChannelManager, type ChannelMetricEvent } from "../channels/manager.ts";
import type { AdapterFactory } from "../channels/registry.ts";
import type { ChannelName } from "../channels/types.ts";
import { unsupportedChannels } from "../config/channels-schema.ts";
import { GatewayMetrics } from "./metrics.ts";
import { createGatewayLogger, resolveLogFormat, resolveLogLevel } from "./logger.ts";
import { LogRing } from "./log-ring.ts";
import { AdminSurface } from "./admin.ts";
import { GatewayServer } from "./server.ts";
import { GatewaySettingsError, resolveGatewaySettings } from "./settings.ts";
import { timedStore } from "./timed-store.ts";
import { relayEvents } from "./event-relay.ts";
import { acquireGatewayLocks, HomeInUseError, type HomeLock } from "../store/fs/home-lock.ts";
import { PINCER_VERSION } from "../version.ts";

export interface StartGatewayOptions {
  config: PincerConfig;
  home: string;
  env?: NodeJS.ProcessEnv;
  host?: string;
  port?: number;
  logger?: Logger;
  /** Replaces the configured store backend (tests). */
  storeFor?: (agentId: string) => Promise<SessionStore>;
  /** Replaces the configured model providers (tests drive the queue with a controllable model). */
  resolveModelRef?: (
    ref: string | undefined,
    agentId?: string,
  ) => { provider: ModelProvider; model: string; ref: string };
  /** The agent tools (default: the built-in registry). */
  tools?: ToolRegistry;
  /** Time for browser-login expiry (tests inject a manual clock). */
  clock?: Clock;
  /** `--log-format pretty|json`; else `PINCER_LOG_FORMAT`, else pretty on a TTY (gateway/logger.ts). */
  logFormat?: string;
  /** The recent-log ring the Control UI tails (tests feed it from their own logger with `ring.tee`). */
  logRing?: LogRing;
  /** Replaces the channel adapter factories (tests drive the channel layer with a fake adapter). */
  channelAdapters?: Partial<Record<ChannelName, AdapterFactory>>;
}

export interface RunningGateway {
  url: string;
  port: number;
  host: string;
  token: string;
  tokenSource: string;
  runtime: AgentRuntime;
  server: GatewayServer;
  cron: CronScheduler;
  metrics: GatewayMetrics;
  subagents: SubagentManager;
  /** The native channel layer; null when no `channels.<telegram|slack|discord|signal>` block is configured. */
  channels: ChannelManager | null;
  stop(drainMs?: number): Promise<void>;
}

export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const env = options.env ?? process.env;
  const { config, home } = options;
  const settings = resolveGatewaySettings(config, home, env, { host: options.host, port: options.port });
  // One gateway per fs home and per store directory (session.store may point outside the home):
  // a second one would fork the transcripts' parent chains.
  let homeLock: HomeLock | null = null;
  if (!options.storeFor && resolveStoreOptions(config).backend === "fs") {
    const storeDirs = agentIdsOf(config).map((id) => path.dirname(resolveStorePath(config, id, home)));
    try {
      homeLock = await acquireGatewayLocks(home, storeDirs, { version: PINCER_VERSION });
    } catch (err) {
      if (err instanceof HomeInUseError) throw new GatewaySettingsError(err.message);
      throw err;
    }
  }
  const logRing = options.logRing ?? new LogRing();
  const logger =
    options.logger ??
    createGatewayLogger({
      level: resolveLogLevel(env, config.logging?.level),
      format: resolveLogFormat(options.logFormat, env, process.stdout.isTTY === true),
      // The Control UI's live tail sees the same JSON records as stdout.
      destination: logRing.tee(process.stdout),
    });
  const metrics = new GatewayMetrics();
  const registry = new StoreRegistry(config, home, {
    onIssue: (issue) => logger.warn({ issue }, "store read issue (skipped)"),
  });
  const rawStoreFor = options.storeFor ?? registry.storeFor;
  const wrapped = new Map<SessionStore, SessionStore>();
  const storeFor = async (agentId: string) => {
    const s = await rawStoreFor(agentId);
    let w = wrapped.get(s);
    if (!w) {
      w = timedStore(s, metrics);
      wrapped.set(s, w);
    }
    return w;
  };
  const maintenance = resolveMaintenance(config);
  const storeOptions = resolveStoreOptions(config);
  const shared = storeBackend(storeOptions.backend).shared;
  let runtimeRef: AgentRuntime | null = null;
  const manager = new SessionManager({
    ...(shared
      ? {
          sharedSessions: {
            leaseTtlMs: storeOptions.leaseTtlMs,
            leaseWaitMs: Math.max(30_000, storeOptions.leaseTtlMs * 3),
            onLost: (agentId: string, sessionKey: string, err: unknown, { idle }: { idle: boolean }) => {
              // A lease only kept between turns that could not be renewed stops nothing.
              if (idle) {
                logger.warn({ agentId, sessionKey, err }, "kept session lease lost while idle (nothing was running)");
                return;
              }
              logger.error(
                { agentId, sessionKey, err },
                "session lease lost: aborting the run here (another gateway owns the session now)",
              );
              runtimeRef?.abort(agentId, sessionKey, "lease lost");
            },
          },
        }
      : {}),
    config,
    storeFor,
    // The runtime's settings are resolved once per agent: no stat of the workspace dir on every turn.
    workspaceFor: (agentId) =>
      (runtimeRef?.settingsFor(agentId) ?? resolveAgentSettings(config.agents, agentId, home)).workspace,
    maintenance,
    onMaintenanceWarning: (w) => logger.warn({ warning: w }, "session store maintenance"),
    onBackgroundError: (err) => logger.error({ err }, "background store work failed"),
    transcriptCacheBytes: config.gateway?.transcriptCacheBytes,
    onLegacyKey: (e) =>
      e.adopted
        ? logger.info(e, "adopted a session row OpenClaw wrote under its form of the key")
        : logger.warn(e, "not adopting a session row under OpenClaw's form of the key: it could be another peer's"),
  });
  const tools = options.tools ?? new ToolRegistry();
  // Keys OpenClaw's onboard put in the agent's auth store count as ANTHROPIC_API_KEY / OPENAI_API_KEY.
  const providers = createProviderRegistry(
    config,
    envWithAuthProfiles(env, home, resolveAgents(config).defaultAgentId),
  );
  // What the config load and the providers found, once at start: OpenClaw keys Pincer ignores, by path.
  // (OpenClaw-only channels are logged once, with the channel layer below.)
  const channelLines = new Set(
    unsupportedChannels(config.channels).map((n) => `channels.${n}: not supported by Pincer (ignored)`),
  );
  for (const line of [...configNotes(config).warnings, ...configNotes(config).notices, ...providers.warnings])
    if (!channelLines.has(line)) logger.warn({ config: line }, line);
  providers.onFallback = (from, to, err) =>
    logger.warn(
      { from, to, err: err instanceof Error ? err.message : String(err) },
      "model failed: trying the next fallback",
    );
  const runtime = new AgentRuntime({
    config,
    home,
    manager,
    tools,
    version: PINCER_VERSION,
    resolveModelRef:
      options.resolveModelRef ??
      ((ref, agentId) => {
        const r = ref ?? providers.defaultRef();
        const resolved = providers.resolve(r, agentId);
        return { ...resolved, ref: `${resolved.provider.name}/${resolved.model}` };
      }),
    observer: {
      turn: (status, ms) => {
        metrics.turns.inc({ status });
        metrics.turnSeconds.observe(ms / 1000);
      },
      reset: (reason) => metrics.resets.inc({ reason }),
      compaction: (o, trigger) => {
        metrics.compactions.inc({ trigger, status: o.status });
        logger.info(
          { trigger, status: o.status, reason: o.reason, tokensBefore: o.tokensBefore, tokensAfter: o.tokensAfter },
          "compaction",
        );
      },
      pruned: (chars) => metrics.prunedChars.inc({}, chars),
      memoryFlush: () => metrics.memoryFlushes.inc(),
      usage: ({ agentId, provider, model, usage, kind }) => {
        // A memory flush's or a compaction summary's tokens are told apart from the turns' own.
        const labels = { agent: agentId, provider, model, kind: kind ?? "turn" };
        for (const type of ["input", "output", "cacheRead", "cacheWrite"] as const)
          if (usage[type] > 0) metrics.modelTokens.inc({ ...labels, type }, usage[type]);
        if (usage.cost > 0) metrics.modelCost.inc(labels, usage.cost);
      },
      turnFailed: (e) =>
        logger.error(
          {
            sessionKey: e.sessionKey,
            agentId: e.agentId,
            sessionId: e.sessionId,
            runId: e.runId,
            provider: e.provider,
            model: e.model,
            reason: e.reason,
          },
          "turn failed",
        ),
      security: (event) => {
        metrics.securityEvents.inc({ event: String(event.event) });
        logger.error({ security: event }, "security event: a prompt was refused");
      },
    },
  });
  runtimeRef = runtime;
  const relay = shared ? await relayEvents(runtime, storeFor, agentIdsOf(config), logger) : null;
  const subagents = registerSessionTools(tools, { rt: runtime, agentIds: () => agentIds() });
  const memoryIndexes = registerMemoryTools(tools);
  // Each agent's workspace and its files, from templates where absent (never overwriting).
  if (config.agents?.defaults?.skipBootstrap !== true)
    for (const id of agentIdsOf(config)) {
      const dir = runtime.settingsFor(id).workspace;
      // A workspace that cannot be created costs the agent its files, not the gateway its start.
      const ws = await ensureWorkspace(dir).catch((err: unknown) => {
        logger.warn({ agentId: id, dir, err }, "workspace could not be created; the agent runs without its files");
        return null;
      });
      if (ws && ws.created.length > 0)
        logger.info({ agentId: id, dir: ws.dir, created: ws.created }, "workspace files created");
    }
  for (const name of unsupportedChannels(config.channels))
    logger.warn({ channel: name }, `channels.${name}: not supported by Pincer (ignored)`);
  const channelLayer = new ChannelManager({
    config,
    home,
    env,
    runtime,
    log: logger,
    ...(options.channelAdapters ? { factories: options.channelAdapters } : {}),
    onMetric: (ev) => countChannelEvent(metrics, ev),
  });
  const channels = channelLayer.configured ? channelLayer : null;
  if (channels) runtime.channelsLine = () => channels.statusLine();
  const hooks = (config.hooks?.endpoints ?? []).map((h) => ({ ...h }));
  const agentIds = () => agentIdsOf(config);
  const webSessionFile = resolveStoreOptions(config).backend === "memory" ? null : path.join(home, "web-sessions.json");
  const admin = new AdminSurface({
    config,
    home,
    env,
    logs: logRing,
    agentIds: () => agentIds(),
    storeFor,
    now: () => runtime.now(),
  });
  const server = new GatewayServer({
    admin,
    runtime,
    settings,
    metrics,
    logger,
    hooks,
    agentIds,
    webSessionFile,
    ...(channels ? { channels } : {}),
    now: options.clock ? () => options.clock!.now() : undefined,
  });
  // On a shared store every gateway schedules the jobs; the store's lease picks the one that runs a fire.
  const cronClaim = shared
    ? async (agentId: string, jobId: string, ttlMs: number) => {
        try {
          await (await storeFor(agentId)).acquireLease(`cron:${jobId}`, { ttlMs, waitMs: 0 });
          return true;
        } catch (err) {
          if (err instanceof LeaseTimeoutError) return false;
          throw err;
        }
      }
    : null;
  const cron = new CronScheduler(runtime, logger, config.cron, cronClaim);
  admin.cron = cron;
  // Enable/disable from the Control UI outlives a restart (not with the memory store: no files).
  if (webSessionFile) cron.useStateFile(path.join(home, "cron-state.json"));
  if (channels) cron.deliver = (job, outcome) => channels.deliverCron(outcome, job.deliver).then(() => undefined);
  const addr = await server.listen().catch(async (err: unknown) => {
    await homeLock?.release();
    throw err;
  });
  homeLock?.note("port", addr.port);
  cron.start();
  // After listen: replies recorded before the last stop are enqueued, adapters connect.
  await channels?.start();
  const heartbeat = new HeartbeatScheduler({
    rt: runtime,
    agentIds: () => agentIds(),
    logger,
    // Every gateway on a shared store schedules heartbeats; the store's lease picks the one that runs a beat.
    ...(cronClaim
      ? { claim: (agentId: string, ttlMs: number) => cronClaim(agentId, `heartbeat:${agentId}`, ttlMs) }
      : {}),
  });
  heartbeat.start();
  // Sub-agents interrupted by the last stop run again; finished ones announce (exactly once).
  const recovered = await subagents.recover();
  if (recovered.resumed + recovered.announced > 0) logger.info(recovered, "sub-agents recovered after restart");
  const defaultModel = runtime.modelFor("main", undefined);
  logger.info(
    {
      url: addr.url,
      tokenSource: settings.tokenSource,
      model: defaultModel.ref,
      offline: defaultModel.provider.offline,
    },
    defaultModel.provider.offline ? "gateway listening (model: built-in offline echo provider)" : "gateway listening",
  );
  if (settings.weakToken)
    logger.warn(
      "gateway.auth.token is shorter than 16 characters: accepted on loopback only; `pincer doctor` and `pincer security audit` report it",
    );
  let stopping: Promise<void> | null = null;
  return {
    url: addr.url,
    port: addr.port,
    host: addr.host,
    token: settings.token,
    tokenSource: settings.tokenSource,
    runtime,
    server,
    cron,
    metrics,
    subagents,
    channels,
    stop(drainMs = 10_000) {
      stopping ??= (async () => {
        cron.stop();
        // No new channel messages; turns in flight finish and their answers still reach the outbox.
        await channels?.stopInbound();
        heartbeat.stop();
        await server.close(drainMs);
        await channels?.close();
        relay?.();
        // Let other gateways take this one's sessions at once instead of after the lease time.
        await manager.leases?.releaseAll();
        await registry.closeAll();
        memoryIndexes.closeAll();
        await homeLock?.release();
        logger.info("gateway stopped");
        logger.flush?.();
      })();
      return stopping;
    },
  };
}

function countChannelEvent(metrics: GatewayMetrics, ev: ChannelMetricEvent): void {
  const base = { channel: ev.channel, account: ev.accountId };
  switch (ev.type) {
    case "received":
    case "pending":
    case "duplicate":
    case "skipped":
      metrics.channelInbound.inc({ ...base, outcome: ev.type });
      return;
    case "refused":
      metrics.channelInbound.inc({ ...base, outcome: "refused" });
      metrics.channelRefused.inc({ channel: ev.channel, reason: ev.reason });
      return;
    case "sent":
    case "retried":
    case "failed":
      metrics.channelDelivery.inc({ ...base, result: ev.type });
      if (ev.type === "sent" && ev.latencyMs !== undefined)
        metrics.channelDeliverySeconds.observe(ev.latencyMs / 1000, { channel: ev.channel });
  }
}

function agentIdsOf(config: PincerConfig): string[] {
  const ids = new Set(["main"]);
  for (const a of config.agents?.list ?? []) ids.add(a.id.toLowerCase());
  return [...ids];
}
