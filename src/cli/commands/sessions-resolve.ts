/** `pincer sessions resolve`: explains how a message would be routed and whether it would reset. */
import { SessionManager } from "../../session/manager.ts";
import { StoreRegistry } from "../../session/open-store.ts";
import type { CliContext } from "../context.ts";
import { CliError } from "../io.ts";

export interface ResolveOptions {
  channel?: string;
  chatType?: string;
  peer?: string;
  account?: string;
  group?: string;
  thread?: string;
  topic?: string;
  parentPeer?: string;
  forum?: boolean;
  sender?: string;
  text?: string;
  store?: string;
}

async function readEnvelope(ctx: CliContext, opts: ResolveOptions): Promise<unknown> {
  if (opts.channel || opts.peer || opts.chatType) {
    if (!opts.channel || !opts.peer)
      throw new CliError("resolve needs --channel and --peer (or an envelope as JSON on stdin)");
    return {
      channel: opts.channel,
      chatType: opts.chatType ?? "direct",
      peerId: opts.peer,
      senderId: opts.sender ?? opts.peer,
      text: opts.text ?? "",
      ...(opts.account ? { accountId: opts.account } : {}),
      ...(opts.group ? { groupId: opts.group } : {}),
      ...(opts.thread ? { threadId: opts.thread } : {}),
      ...(opts.topic ? { topicId: opts.topic } : {}),
      ...(opts.parentPeer ? { parentPeerId: opts.parentPeer } : {}),
      ...(opts.forum ? { isForum: true } : {}),
    };
  }
  const raw = (await ctx.io.readStdin()).trim();
  if (!raw)
    throw new CliError(
      "resolve reads an inbound envelope as JSON on stdin, or flags --channel --chat-type --peer [--account --group --thread]",
    );
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw new CliError(`stdin is not valid JSON: ${(err as Error).message}`);
  }
}

export async function sessionsResolve(ctx: CliContext, opts: ResolveOptions): Promise<number> {
  const envelope = await readEnvelope(ctx, opts);
  const registry = new StoreRegistry(ctx.config, ctx.home, {
    readOnly: true,
    ...(opts.store ? { storePath: opts.store } : {}),
  });
  const manager = new SessionManager({ config: ctx.config, storeFor: registry.storeFor, clock: { now: ctx.io.now } });
  try {
    const r = await manager.resolve(envelope);
    ctx.io.out(
      JSON.stringify(
        { ...r, nextResetAt: r.nextResetAt === null ? null : new Date(r.nextResetAt).toISOString() },
        null,
        2,
      ),
    );
    return 0;
  } catch (err) {
    throw new CliError((err as Error).message.replaceAll("\n", "; "));
  } finally {
    await registry.closeAll();
  }
}
