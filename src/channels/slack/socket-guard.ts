/**
 * The Socket Mode client dereferences `payload.event.type` of every `events_api` frame without a
 * check, inside an async handler: one malformed frame is an unhandled rejection, which ends the
 * process. Frames are checked here first; a malformed one is counted, acknowledged (so Slack does
 * not send it again) and never reaches the client.
 */
import type { SocketModeReceiver } from "@slack/bolt";

type SocketClient = SocketModeReceiver["client"];
type Sender = { send(envelopeId: string): Promise<void> };
type FrameHandler = (data: string | ArrayBuffer, isBinary: boolean) => Promise<void>;

/** Undefined for a frame the client can handle; else what is wrong with it (and its envelope, if any). */
export function malformedFrame(text: string): { reason: string; envelopeId?: string } | undefined {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return { reason: "frame is not JSON" };
  }
  if (!frame || typeof frame !== "object" || Array.isArray(frame)) return { reason: "frame is not an object" };
  const f = frame as { type?: unknown; envelope_id?: unknown; payload?: unknown };
  if (f.type === "hello" || f.type === "disconnect") return undefined;
  const envelopeId = typeof f.envelope_id === "string" && f.envelope_id ? f.envelope_id : undefined;
  const withId = envelopeId ? { envelopeId } : {};
  if (typeof f.type !== "string") return { reason: "frame without a type", ...withId };
  if (!f.payload || typeof f.payload !== "object") return { reason: "frame without a payload", ...withId };
  if (f.type !== "events_api") return undefined;
  const event = (f.payload as { event?: unknown }).event;
  if (!event || typeof event !== "object" || typeof (event as { type?: unknown }).type !== "string") {
    return { reason: "events_api frame without an event", ...withId };
  }
  return undefined;
}

export function guardSocketFrames(
  client: SocketClient,
  onMalformed: (detail: { reason: string; envelopeId?: string }) => void,
  onError: (err: unknown) => void,
): void {
  const handler = (client as unknown as { onWebSocketMessage: FrameHandler }).onWebSocketMessage.bind(client);
  client.removeAllListeners("ws_message");
  client.on("ws_message", (data: string | ArrayBuffer, isBinary: boolean) => {
    if (!isBinary) {
      const bad = malformedFrame(typeof data === "string" ? data : new TextDecoder().decode(data));
      if (bad) {
        onMalformed(bad);
        // `send(envelopeId)` is how the client acks; it is private in the typings only.
        if (bad.envelopeId) (client as unknown as Sender).send(bad.envelopeId).catch(onError);
        return;
      }
    }
    handler(data, isBinary).catch(onError);
  });
}
