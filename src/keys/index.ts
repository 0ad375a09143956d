/** Public surface of keys/: ids, segment encoding, session keys, envelopes and routing. */
export * from "./ids.ts";
export * from "./segment.ts";
export * from "./peer-match.ts";
export * from "./session-key.ts";
export type * from "./envelope.ts";
export { EnvelopeError, MAX_ENVELOPE_ID_LENGTH, MAX_ENVELOPE_TEXT_BYTES, parseEnvelope } from "./envelope-schema.ts";
export * from "./routing.ts";
