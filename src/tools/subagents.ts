/**
 * Sub-agents, as in OpenClaw: `sessions_spawn` starts a child session
 * (`agent:<id>:subagent:<uuid>`) on a task and returns at once; when the child's run ends, its
 * result is announced to the spawning session exactly once. The state lives on the child's row
 * (`subagentState`: running → finished → announced), so a restart resumes where it stopped:
 * interrupted children run again, finished ones announce. The announce carries a message id
 * derived from the child key, so a repeated delivery is recognised and recorded only once.
 */
import { PincerError } from "../errors.ts";
import { agentIdFromKey, subagentSessionKey } from "../keys/session-key-helpers.ts";
import type { AgentRuntime, TurnOutcome } from "../runtime/runtime.ts";
import type { SessionEntry } from "../store/entry.ts";

export type SubagentState = "running" | "finished" | "announced";

export interface SpawnRequest {
  parentAgentId: string;
  parentKey: string;
  task: string;
  label?: string;
  agentId?: string;
  model?: string;
  runTimeoutSeconds?: number;
  cleanup?: "delete" | "keep";
}

export class SpawnError extends PincerError {
  override readonly code = "spawn_refused";
  override readonly httpStatus = 400;
}

export class SubagentManager {
  private readonly rt: AgentRuntime;
  private readonly agentIds: () => string[];
  /** Runs whose answer was already sent to the parent's channel (one run may answer several announces). */
  private readonly deliveredRuns = new Set<string>();

  constructor(rt: AgentRuntime, agentIds: () => string[]) {
    this.rt = rt;
    this.agentIds = agentIds;
  }

  /** Children of `parentKey` not yet announced (counted from the stores, so the limit holds across restarts). */
  async activeChildren(parentKey: string): Promise<number> {
    let n = 0;
    for (const agentId of this.agentIds()) {
      for (const row of (await this.rt.manager.list(agentId, { keyPrefix: `agent:${agentId}:subagent:` })).rows) {
        if (row.entry.spawnedBy === parentKey && row.entry.subagentState !== "announced") n++;
      }
    }
    return n;
  }

  async spawn(req: SpawnRequest): Promise<{ childSessionKey: string; runId: string }> {
    const parent = await this.rt.manager.get(req.parentAgentId, req.parentKey);
    const settings = this.rt.settingsFor(req.parentAgentId).subagents;
    const depth = parent?.spawnDepth ?? 0;
    if (depth >= settings.maxSpawnDepth) {
      throw new SpawnError(
        `sessions_spawn: depth limit reached (this session is at depth ${depth}; agents.defaults.subagents.maxSpawnDepth=${settings.maxSpawnDepth})`,
      );
    }
    const active = await this.activeChildren(req.parentKey);
    if (active >= settings.maxChildrenPerAgent) {
      throw new SpawnError(
        `sessions_spawn: this session already has ${active} running sub-agents (agents.defaults.subagents.maxChildrenPerAgent=${settings.maxChildrenPerAgent})`,
      );
    }
    const childAgent = (req.agentId ?? req.parentAgentId).toLowerCase();
    if (
      childAgent !== req.parentAgentId &&
      !settings.allowAgents.includes("*") &&
      !settings.allowAgents.includes(childAgent)
    ) {
      throw new SpawnError(
        `sessions_spawn: agent "${req.parentAgentId}" may not spawn agent "${childAgent}" (add it to agents.list[].subagents.allowAgents)`,
      );
    }
    if (!this.agentIds().includes(childAgent))
      throw new SpawnError(`sessions_spawn: unknown agent "${childAgent}" (configured: ${this.agentIds().join(", ")})`);
    let model: { providerOverride: string; modelOverride: string } | undefined;
    const modelRef = req.model ?? settings.model;
    if (modelRef) {
      try {
        const r = this.rt.resolveModelRef(modelRef);
        model = { providerOverride: r.provider.name, modelOverride: r.model };
      } catch (err) {
        throw new SpawnError(`sessions_spawn: model: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const childKey = subagentSessionKey(childAgent);
    const timeoutSeconds = req.runTimeoutSeconds ?? settings.runTimeoutSeconds;
    await this.rt.manager.patchSession(childAgent, childKey, (cur, now) => ({
      ...(cur ?? { sessionId: crypto.randomUUID(), updatedAt: now, sessionStartedAt: now }),
      spawnedBy: req.parentKey,
      spawnDepth: depth + 1,
      subagentRole: "worker",
      subagentState: "running" satisfies SubagentState,
      subagentTask: req.task,
      subagentCleanup: req.cleanup ?? "keep",
      subagentTimeoutSeconds: timeoutSeconds,
      ...(req.label ? { label: req.label } : {}),
      ...(model ?? {}),
      updatedAt: now,
    }));
    const accepted = await this.rt.submit(
      {
        channel: "internal",
        chatType: "direct",
        peerId: "subagent",
        senderId: req.parentKey.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 128),
        text: `[Subagent Task]: ${req.task}`,
      },
      {
        surface: "internal",
        target: { agentId: childAgent, sessionKey: childKey },
        commandAuthorized: false,
        touchRoute: false,
        provenance: { kind: "inter_session", sourceSessionKey: req.parentKey, sourceTool: "sessions_spawn" },
      },
    );
    this.watch(childAgent, childKey, accepted.done, timeoutSeconds);
    return { childSessionKey: childKey, runId: accepted.runId };
  }

  private watch(childAgent: string, childKey: string, done: Promise<TurnOutcome>, timeoutSeconds: number): void {
    let timer: NodeJS.Timeout | null = null;
    if (timeoutSeconds > 0) {
      timer = setTimeout(() => this.rt.abort(childAgent, childKey, "sub-agent run timed out"), timeoutSeconds * 1000);
      timer.unref();
    }
    void done
      .then(async (outcome) => {
        if (timer) clearTimeout(timer);
        // A run cut short by a gateway shutdown is resumed on the next start, not announced.
        if (this.rt.shuttingDown) return;
        const status =
          outcome.status === "ok" || outcome.status === "silent"
            ? "ok"
            : outcome.status === "aborted"
              ? "timeout"
              : "error";
        await this.rt.manager.patchSession(childAgent, childKey, (cur, now) =>
          cur
            ? {
                ...cur,
                subagentState: "finished" satisfies SubagentState,
                subagentStatus: status,
                subagentResult: outcome.reply ?? outcome.error ?? "",
                updatedAt: now,
              }
            : undefined,
        );
        await this.announce(childAgent, childKey);
        // A store failure (e.g. a full disk) leaves the row as it was: recover() retries on the next
        // start. It must not become an unhandled rejection, which would end the process.
      })
      .catch(() => undefined);
  }

  /** Posts the child's result to its parent once; marks it announced when the parent has answered. */
  async announce(childAgent: string, childKey: string): Promise<void> {
    const child = await this.rt.manager.get(childAgent, childKey);
    if (!child || child.subagentState !== "finished" || typeof child.spawnedBy !== "string") return;
    const parentKey = child.spawnedBy;
    const parentAgent = agentIdFromKey(parentKey) ?? "main";
    const text = announceText(childKey, child);
    const accepted = await this.rt.submit(
      {
        channel: "internal",
        chatType: "direct",
        peerId: "subagent",
        senderId: "subagent",
        text,
        messageId: `announce:${childKey}`.slice(0, 200),
      },
      {
        surface: "internal",
        target: { agentId: parentAgent, sessionKey: parentKey },
        commandAuthorized: false,
        touchRoute: false,
        provenance: { kind: "inter_session", sourceSessionKey: childKey, sourceTool: "sessions_spawn" },
      },
    );
    const first = await accepted.done;
    // Recorded before a restart but never answered: run the parent on what it already holds. A
    // duplicate the parent already answered carries that answer (the runtime read it from the
    // transcript): announced with it, without a second model turn.
    const outcome =
      first.status === "duplicate" && first.reply === null ? await this.rt.resume(parentAgent, parentKey) : first;
    if (this.rt.shuttingDown && outcome.status === "aborted") return;
    // The parent's answer to the announce goes to the parent's channel (the user who asked).
    const run = outcome.batchRunId ?? outcome.runId;
    if (outcome.reply && !outcome.reply.trim().startsWith("ANNOUNCE_SKIP") && !this.deliveredRuns.has(run)) {
      this.deliveredRuns.add(run);
      if (this.deliveredRuns.size > 10_000)
        this.deliveredRuns.delete(this.deliveredRuns.values().next().value as string);
      // Keyed by the child: a restart between this enqueue and "announced" below posts nothing twice.
      await this.rt.deliverToRoute(parentAgent, parentKey, outcome.reply, { dedupeId: `subagent:${childKey}` });
    }
    await this.rt.manager.patchSession(childAgent, childKey, (cur, now) =>
      cur ? { ...cur, subagentState: "announced" satisfies SubagentState, updatedAt: now } : undefined,
    );
    if (child.subagentCleanup === "delete") await this.rt.delete(childAgent, childKey);
  }

  /**
   * Re-runs an interrupted child. On a store several gateways share, a child still "running" may be
   * running right now on another gateway: only a child whose session nobody holds is resumed, under
   * this gateway's hold (its row read again under it); one held elsewhere is looked at again once
   * that lease could have expired (its gateway may have died).
   */
  private async resumeUnlessElsewhere(
    agentId: string,
    childKey: string,
    listed: SessionEntry,
    retries = 1,
  ): Promise<boolean> {
    const leases = this.rt.manager.leases;
    const hold = leases ? await leases.tryAcquire(agentId, childKey) : null;
    if (leases && !hold) {
      if (retries > 0)
        setTimeout(
          () => void this.resumeUnlessElsewhere(agentId, childKey, listed, retries - 1).catch(() => undefined),
          leases.ttlMs + 1000,
        ).unref();
      return false;
    }
    const letGo = (): void => {
      if (leases && hold) leases.release(hold);
    };
    const row = hold ? await this.rt.manager.get(agentId, childKey) : listed;
    if (row?.subagentState !== "running") {
      letGo();
      return false;
    }
    const done = this.rt.resume(agentId, childKey);
    this.watch(agentId, childKey, done, Number(row.subagentTimeoutSeconds ?? 0));
    void done.finally(letGo);
    return true;
  }

  /** After a restart: interrupted children run again; finished ones announce. */
  async recover(): Promise<{ resumed: number; announced: number }> {
    let resumed = 0;
    let announced = 0;
    for (const agentId of this.agentIds()) {
      for (const row of (await this.rt.manager.list(agentId, { keyPrefix: `agent:${agentId}:subagent:` })).rows) {
        if (row.entry.subagentState === "running") {
          if (await this.resumeUnlessElsewhere(agentId, row.key, row.entry)) resumed++;
        } else if (row.entry.subagentState === "finished") {
          announced++;
          void this.announce(agentId, row.key).catch(() => undefined); // still "finished": retried on the next start
        }
      }
    }
    return { resumed, announced };
  }
}

function announceText(childKey: string, child: SessionEntry): string {
  const label = typeof child.label === "string" ? child.label : childKey;
  const result = String(child.subagentResult ?? "").trim() || "(no reply)";
  return [
    `[Sub-agent finished] ${label}`,
    `Status: ${String(child.subagentStatus ?? "ok")}`,
    `Session: ${childKey}`,
    "Result:",
    result,
  ].join("\n");
}
