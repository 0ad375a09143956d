/**
 * Chat and session events across gateways sharing one store: a run on gateway A streams to a
 * WebChat connected to gateway B, and a message or reset on A makes that WebChat reload. Each local chat event is published through the store's event channel (postgres
 * LISTEN/NOTIFY, redis pub/sub); events from other gateways are handed to the local listeners
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

/** Starts relaying; returns the function that stops it. */
export async function relayChatEvents(runtime: AgentRuntime, storeFor: (agentId: string) => Promise<SessionStore>, agentIds: readonly string[], logger: Logger): Promise<() => void> {
  const origin = `gw-${process.pid}-${randomUUID().slice(0, 8)}`;
  const relayed = new WeakSet<ChatEvent | SessionEvent>();
  const stops: Array<() => void> = [];
  for (const agentId of agentIds) {
    const events = (await storeFor(agentId)).events;
    if (!events) continue;
    stops.push(
      events.subscribe((ev) => {
        if (ev.origin === origin || !ev.payload || typeof ev.payload !== "object") return;
        if (ev.kind === SESSION) {
          const change = ev.payload as SessionEvent;
          if (change.agentId !== agentId) return;
          relayed.add(change);
          runtime.emitSession(change);
          return;
        }
        if (ev.kind !== CHAT) return;
        const chat = ev.payload as ChatEvent;
        if (chat.agentId !== agentId) return;
        relayed.add(chat);
        runtime.relayChat(chat);
      }),
    );
  }
  stops.push(
    runtime.onChat((chat) => {
      if (relayed.has(chat)) return;
      void storeFor(chat.agentId)
        .then((store) => store.events?.publish({ origin, kind: CHAT, payload: fitForRelay(chat) }))
        .catch((err: unknown) => logger.warn({ err }, "could not publish a chat event to the other gateways"));
    }),
  );
  stops.push(
    runtime.onSession((change) => {
      if (relayed.has(change)) return;
      void storeFor(change.agentId)
        .then((store) => store.events?.publish({ origin, kind: SESSION, payload: change }))
        .catch((err: unknown) => logger.warn({ err }, "could not publish a session event to the other gateways"));
    }),
  );
  return () => {
    for (const stop of stops.splice(0)) stop();
  };
}

/**
 * A chat event small enough for the store's channel. A long text is left out: the other gateway's
 * WebChat finishes the run with the text it streamed, and reloads the history at the final event.
 */
export function fitForRelay(chat: ChatEvent): ChatEvent {
  if (Buffer.byteLength(JSON.stringify(chat)) <= MAX_RELAYED_EVENT_BYTES) return chat;
  const { text: _text, message: _message, errorMessage, ...rest } = chat;
  return { ...rest, ...(errorMessage ? { errorMessage: errorMessage.slice(0, 1000) } : {}) };
}
