/** `pincer sessions history <key>`: the messages of a session's current transcript. */
import { transcriptIdOf } from "../../store/session-file.ts";
import { historyFromLines } from "../../transcript/history.ts";
import { selectStores, withTargetStore, type CliContext, type StoreSelection } from "../context.ts";
import { CliError, parsePositiveInt } from "../io.ts";
import { cliSessionKey } from "./keys.ts";

export interface HistoryOptions extends StoreSelection {
  json?: boolean;
  limit?: string;
}

export async function sessionsHistory(ctx: CliContext, rawKey: string, opts: HistoryOptions): Promise<number> {
  const limit = opts.limit !== undefined ? parsePositiveInt(opts.limit, "--limit") : undefined;
  const { key, agentId } = cliSessionKey(ctx, rawKey);
  const { targets } = await selectStores(ctx, opts.store ? { store: opts.store } : { agent: opts.agent ?? agentId });
  const target = targets[0]!;
  return withTargetStore(ctx, target, { readOnly: true }, async (store) => {
    const entry = await store.get(key);
    if (!entry) throw new CliError(`No session ${JSON.stringify(key)} in ${target.path}`);
    // Some lines (header, model changes) are not messages: read a bounded tail with headroom.
    // The row may name its transcript (OpenClaw's `sessionFile`, e.g. a forum topic's `<id>-topic-42.jsonl`).
    const read = await store.readTranscript(transcriptIdOf(entry), limit !== undefined ? { tail: limit * 2 + 8 } : {});
    for (const issue of read.issues)
      ctx.io.err(`warning: ${issue.file}: line ${issue.line} at byte ${issue.byteOffset}: ${issue.reason} (skipped)`);
    const all = historyFromLines(read.lines);
    const items = limit !== undefined ? all.slice(-limit) : all;
    if (opts.json) {
      ctx.io.out(
        JSON.stringify(
          { key, sessionId: entry.sessionId, count: items.length, skippedLines: read.issues.length, messages: items },
          null,
          2,
        ),
      );
    } else {
      const lines = [`Session: ${key}`, `Session id: ${entry.sessionId}`, `Messages: ${items.length}`];
      for (const m of items) lines.push(`[${m.timestamp ?? "?"}] ${m.role}: ${m.text}`);
      ctx.io.out(lines.join("\n"));
    }
    return 0;
  });
}
