/** `pincer sessions reset <key>`, `pincer sessions clear <key>` and `pincer sessions delete <key>`. */
import { resolveStoreOptions } from "../../config/resolve.ts";
import { storeBackend } from "../../store/backends.ts";
import { SessionManager } from "../../session/manager.ts";
import { StoreRegistry } from "../../session/open-store.ts";
import { selectStores, type CliContext, type StoreSelection } from "../context.ts";
import { CliError } from "../io.ts";
import { cliSessionKey, mainSessionKey } from "./keys.ts";

export interface MutateOptions extends StoreSelection {
  json?: boolean;
}

async function withManager<T>(
  ctx: CliContext,
  opts: MutateOptions,
  agentId: string,
  work: (m: SessionManager) => Promise<T>,
): Promise<T> {
  const storePath = opts.store ? (await selectStores(ctx, { store: opts.store })).targets[0]!.path : undefined;
  const registry = new StoreRegistry(ctx.config, ctx.home, {
    storePath,
    onIssue: (i) => ctx.io.err(`warning: ${i.file}: ${i.reason}`),
    now: ctx.io.now,
  });
  // On a store gateways share, the CLI takes the session's lease like a gateway would, so a reset
  // never lands in the middle of a run on some gateway.
  const backend = resolveStoreOptions(ctx.config);
  const shared = !storePath && storeBackend(backend.backend).shared;
  const manager = new SessionManager({
    config: ctx.config,
    storeFor: registry.storeFor,
    clock: { now: ctx.io.now },
    ...(shared
      ? { sharedSessions: { leaseTtlMs: backend.leaseTtlMs, leaseWaitMs: Math.max(30_000, backend.leaseTtlMs * 3) } }
      : {}),
  });
  try {
    await registry.storeFor(agentId);
    return await work(manager);
  } finally {
    await manager.leases?.releaseAll();
    await registry.closeAll();
  }
}

export async function sessionsReset(ctx: CliContext, rawKey: string, opts: MutateOptions): Promise<number> {
  const { key, agentId } = cliSessionKey(ctx, rawKey);
  return withManager(ctx, opts, agentId, async (m) => {
    const before = await m.get(agentId, key);
    if (!before) throw new CliError(`No session ${JSON.stringify(key)}`);
    const after = await m.reset(agentId, key);
    if (opts.json)
      ctx.io.out(
        JSON.stringify({ ok: true, key, previousSessionId: before.sessionId, sessionId: after.sessionId }, null, 2),
      );
    else ctx.io.out(`Reset ${key}: ${before.sessionId} -> ${after.sessionId} (old transcript archived)`);
    return 0;
  });
}

/** `pincer sessions clear <key>`: the history goes (archived), the session's settings stay. */
export async function sessionsClear(ctx: CliContext, rawKey: string, opts: MutateOptions): Promise<number> {
  const { key, agentId } = cliSessionKey(ctx, rawKey);
  return withManager(ctx, opts, agentId, async (m) => {
    if (!(await m.get(agentId, key))) throw new CliError(`No session ${JSON.stringify(key)}`);
    const { before, after } = await m.clear(agentId, key);
    if (opts.json)
      ctx.io.out(
        JSON.stringify({ ok: true, key, previousSessionId: before.sessionId, sessionId: after.sessionId }, null, 2),
      );
    else ctx.io.out(`Cleared ${key}: history archived, settings kept (${before.sessionId} -> ${after.sessionId})`);
    return 0;
  });
}

export async function sessionsDelete(ctx: CliContext, rawKey: string, opts: MutateOptions): Promise<number> {
  const { key, agentId } = cliSessionKey(ctx, rawKey);
  if (agentId === ctx.defaultAgentId && key === mainSessionKey(ctx, agentId))
    throw new CliError(`Cannot delete the main session (${key}).`);
  return withManager(ctx, opts, agentId, async (m) => {
    const res = await m.delete(agentId, key);
    if (!res.deleted) throw new CliError(`No session ${JSON.stringify(key)}`);
    if (opts.json) ctx.io.out(JSON.stringify({ ok: true, key, deleted: res.deleted, archived: res.archived }, null, 2));
    else
      ctx.io.out(`Deleted ${key}${res.archived.length ? ` (transcript archived as ${res.archived.join(", ")})` : ""}`);
    return 0;
  });
}
