/**
 * Chat and session events across gateways sharing one store: a run on gateway A streams to a
 * WebChat connected to gateway B, and a message or reset on A makes that WebChat reload. Local
 * events are published through the store's event channel (postgres LISTEN/NOTIFY, redis pub/sub)
 * in batches, one publication in flight per agent (what comes meanwhile makes the next batch); where
 * the store offers `publishSoon` a batch waits there a few milliseconds to ride along with a write
 * that happens anyway (on postgres a NOTIFY is a commit: events then cost none of their own), which
 * is also what gathers a batch. Events from other gateways are handed to the local listeners
 * (WebSocket clients, SSE) exactly as local ones, and never published again.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { AgentRuntime, ChatEvent, SessionEvent } from "../runtime/runtime.ts";
import type { SessionStore } from "../store/types.ts";

const CHAT = "chat";
/** Room for an event on every channel (a Postgres NOTIFY payload must stay under 8000 bytes). */
export const MAX_RELAYED_EVENT_BYTES = 7000;
const SESSION = "session";
const BATCH = "batch";

type Relayed = { kind: typeof CHAT; payload: ChatEvent } | { kind: typeof SESSION; payload: SessionEvent };

/** Starts relaying; returns the function that stops it. */
export async function relayEvents(
  runtime: AgentRuntime,
  storeFor: (agentId: string) => Promise<SessionStore>,
  agentIds: readonly string[],
  logger: Logger,
): Promise<() => void> {
  const origin = `gw-${process.pid}-${randomUUID().slice(0, 8)}`;
  const relayed = new WeakSet<ChatEvent | SessionEvent>();
  const stops: Array<() => void> = [];

  const deliver = (agentId: string, item: Relayed): void => {
    if (!item.payload || typeof item.payload !== "object" || item.payload.agentId !== agentId) return;
    relayed.add(item.payload);
    if (item.kind === SESSION) runtime.emitSession(item.payload);
    else if (item.kind === CHAT) runtime.relayChat(item.payload);
  };
  for (const agentId of agentIds) {
    const events = (await storeFor(agentId)).capabilities.events;
    if (!events) continue;
    stops.push(
      events.subscribe((ev) => {
        if (ev.origin === origin || !Array.isArray(ev.payload) || ev.kind !== BATCH) return;
        for (const item of ev.payload as Relayed[]) deliver(agentId, item);
      }),
    );
  }

  // Events of one agent go out in order, split by size, one publication at a time: what arrives
  // while one is in flight waits and goes out with the next, so a busy agent coalesces by itself.
  const pending = new Map<string, Array<{ item: Relayed; bytes: number }>>();
  const draining = new Set<string>();
  const drain = async (agentId: string): Promise<void> => {
    draining.add(agentId);
    try {
      const events = (await storeFor(agentId)).capabilities.events;
      for (;;) {
        const items = pending.get(agentId);
        // Checked and left in one synchronous step: an event queued after this starts a new drain.
        if (!items?.length) break;
        pending.delete(agentId);
        if (!events) continue; // nothing to relay through: dropped, as before
        for (const batch of batchesOf(items)) {
          const event = { origin, kind: BATCH, payload: batch };
          await (events.publishSoon ? events.publishSoon(event) : events.publish(event)).catch((err: unknown) =>
            logger.warn({ err }, "could not publish events to the other gateways"),
          );
        }
      }
    } catch (err) {
      logger.warn({ err }, "could not publish events to the other gateways");
    } finally {
      draining.delete(agentId);
    }
  };
  const enqueue = (agentId: string, item: Relayed): void => {
    let bytes = Buffer.byteLength(JSON.stringify(item));
    if (bytes > MAX_RELAYED_EVENT_BYTES && item.kind === CHAT) {
      item = { kind: CHAT, payload: withoutText(item.payload) };
      bytes = Buffer.byteLength(JSON.stringify(item));
    }
    let items = pending.get(agentId);
    if (!items) {
      items = [];
      pending.set(agentId, items);
    }
    items.push({ item, bytes });
    // A drain in flight takes it with its next batch; one started now takes everything queued
    // before it reads (it first waits for the store), so events of one tick go out together.
    if (!draining.has(agentId)) void drain(agentId);
  };
  stops.push(
    runtime.onChat((chat) => {
      if (!relayed.has(chat)) enqueue(chat.agentId, { kind: CHAT, payload: chat });
    }),
  );
  stops.push(
    runtime.onSession((change) => {
      if (!relayed.has(change)) enqueue(change.agentId, { kind: SESSION, payload: change });
    }),
  );
  // Nothing waits here without a drain under way to send it: stopping only ends the listening.
  return () => {
    for (const stop of stops.splice(0)) stop();
  };
}

/** Items in batches of at most MAX_RELAYED_EVENT_BYTES (one item alone may be up to that). */
function batchesOf(items: ReadonlyArray<{ item: Relayed; bytes: number }>): Relayed[][] {
  const batches: Relayed[][] = [];
  let size = 0;
  for (const { item, bytes } of items) {
    if (batches.length === 0 || size + bytes > MAX_RELAYED_EVENT_BYTES) {
      batches.push([]);
      size = 0;
    }
    batches[batches.length - 1]!.push(item);
    size += bytes;
  }
  return batches;
}

/**
 * A chat event too long for the store's channel goes without its text: the other gateway's WebChat
 * finishes the run with the text it streamed, and reloads the history at the final event.
 */
function withoutText(chat: ChatEvent): ChatEvent {
  const { text: _text, message: _message, errorMessage, ...rest } = chat;
  return { ...rest, ...(errorMessage ? { errorMessage: errorMessage.slice(0, 1000) } : {}) };
}
