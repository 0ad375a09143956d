/**
 * The rows of one agent a caller may see, newest first, one store page at a time: cron run rows
 * are left out, and so is every session the caller may not address. `sessions.list` stops at its
 * limit; the Control UI's tables and usage summary read on to the end.
 */
import { isCronRunKey } from "../keys/session-key-helpers.ts";
import type { SessionEntry } from "../store/entry.ts";
import { canAccessKey } from "./auth.ts";
import type { RpcContext } from "./ws-methods.ts";

export async function* visibleRowsOf(
  ctx: Pick<RpcContext, "rt" | "principal">,
  agentId: string,
  activeSince: number | undefined,
  pageRows: number,
): AsyncGenerator<{ agentId: string; key: string; entry: SessionEntry }> {
  const filter = activeSince !== undefined ? { activeSince } : {};
  let cursor: string | null = null;
  do {
    const page = await ctx.rt.manager.list(agentId, filter, { cursor, limit: pageRows });
    for (const row of page.rows)
      if (!isCronRunKey(row.key) && canAccessKey(ctx.principal, row.key))
        yield { agentId, key: row.key, entry: row.entry };
    cursor = page.nextCursor;
  } while (cursor);
}
