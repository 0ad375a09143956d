/**
 * Chat and session events across gateways sharing one store: a run on gateway A streams to a
 * WebChat connected to gateway B, and a message or reset on A makes that WebChat reload. Local
 * events are published through the store's event channel (postgres LISTEN/NOTIFY, redis pub/sub)
 * in small batches; events from other gateways are handed to the local listeners (WebSocket
 * clients, SSE) exactly as local ones, and never published again.
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

/** How long events wait to share one publication (a Postgres NOTIFY serialises commits cluster-wide). */
const BATCH_MS = 5;

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

  // Events of one agent published within BATCH_MS go out together, in order, split by size.
  const pending = new Map<string, Array<{ item: Relayed; bytes: number }>>();
  const publishing = new Map<string, Promise<void>>();
  const flush = (agentId: string): void => {
    const items = pending.get(agentId) ?? [];
    pending.delete(agentId);
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
    // One publication at a time per agent, so batches arrive in the order they were made.
    const previous = publishing.get(agentId) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        const store = await storeFor(agentId);
        for (const batch of batches) await store.capabilities.events?.publish({ origin, kind: BATCH, payload: batch });
      })
      .catch((err: unknown) => logger.warn({ err }, "could not publish events to the other gateways"));
    publishing.set(agentId, next);
    void next.then(() => {
      if (publishing.get(agentId) === next) publishing.delete(agentId);
    });
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
      setTimeout(() => flush(agentId), BATCH_MS);
    }
    items.push({ item, bytes });
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
  return () => {
    for (const stop of stops.splice(0)) stop();
    for (const agentId of [...pending.keys()]) flush(agentId);
  };
}

/**
 * A chat event too long for the store's channel goes without its text: the other gateway's WebChat
 * finishes the run with the text it streamed, and reloads the history at the final event.
 */
function withoutText(chat: ChatEvent): ChatEvent {
  const { text: _text, message: _message, errorMessage, ...rest } = chat;
  return { ...rest, ...(errorMessage ? { errorMessage: errorMessage.slice(0, 1000) } : {}) };
}
