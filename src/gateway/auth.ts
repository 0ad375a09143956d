/**
 * Who is calling: the operator (gateway token), a scoped client (a bridge limited to some
 * channels), a webhook (its own token, its own session) or a browser login (operator). Tokens are
 * compared in constant time over their SHA-256 digests, so neither content nor length leaks.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { parseSessionKey } from "../keys/session-key.ts";
import { HttpError } from "./http-util.ts";

export type Principal =
  | { kind: "operator"; id: "operator" }
  | { kind: "client"; id: string; channels: ReadonlySet<string> }
  | { kind: "hook"; id: string };

export interface ClientToken {
  id: string;
  token: string;
  channels: string[];
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

export function tokensEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

export function bearerToken(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (typeof h === "string") {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (m) return m[1]!;
  }
  const x = req.headers["x-pincer-token"];
  return typeof x === "string" && x !== "" ? x : null;
}

export class Authenticator {
  private readonly operatorToken: string | null;
  private readonly clients: ClientToken[];

  constructor(operatorToken: string | null, clients: ClientToken[] = []) {
    this.operatorToken = operatorToken;
    this.clients = clients;
  }

  /** True when the gateway runs without a token (loopback only): local callers are the operator. */
  get open(): boolean {
    return this.operatorToken === null;
  }

  /** Resolves a token; every candidate is compared so the time taken does not depend on which matched. */
  principalFor(token: string | null): Principal | null {
    if (this.operatorToken === null && token === null) return { kind: "operator", id: "operator" };
    if (token === null) return null;
    let found: Principal | null = null;
    if (this.operatorToken !== null && tokensEqual(token, this.operatorToken))
      found = { kind: "operator", id: "operator" };
    for (const c of this.clients) {
      if (tokensEqual(token, c.token) && !found)
        found = { kind: "client", id: c.id, channels: new Set(c.channels.map((x) => x.toLowerCase())) };
    }
    return found;
  }

  require(req: IncomingMessage): Principal {
    const token = bearerToken(req);
    const p = this.principalFor(token);
    if (!p) throw new HttpError(401, "unauthorized", token === null ? "missing bearer token" : "invalid token");
    return p;
  }
}

/** A principal's identity as an owner of runs and idempotency keys (kinds never share an id space). */
export function ownerOf(principal: Principal): string {
  return `${principal.kind}:${principal.id}`;
}

/** Whether `principal` may address the session `key` (naming a key is not access to it). */
export function canAccessKey(principal: Principal, key: string): boolean {
  if (principal.kind === "operator") return true;
  if (principal.kind === "hook") return false;
  try {
    const parts = parseSessionKey(key);
    // The OpenAI endpoint's sessions (`openai-user:<user>`, `openai:<uuid>`) belong to the `openai` channel.
    if (parts.kind === "other") return /^openai(?:-user)?:/.test(parts.rest) && principal.channels.has("openai");
    const channel = (parts as { channel?: string }).channel;
    return typeof channel === "string" && principal.channels.has(channel.toLowerCase());
  } catch {
    return false;
  }
}

export function canUseChannel(principal: Principal, channel: string): boolean {
  return (
    principal.kind === "operator" || (principal.kind === "client" && principal.channels.has(channel.toLowerCase()))
  );
}
