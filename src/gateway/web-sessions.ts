/**
 * Browser logins for the WebChat (spec §8 "Web sessions"): server-side records keyed by a 256-bit
 * random id, a fresh id at every login, HttpOnly + SameSite=Strict cookies (+ Secure under TLS),
 * idle and absolute expiry checked on every request.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const COOKIE_NAME = "pincer_session";

interface WebSession {
  createdAt: number;
  lastSeenAt: number;
}

export class WebSessions {
  private readonly sessions = new Map<string, WebSession>();
  private readonly idleMs: number;
  private readonly absoluteMs: number;
  private readonly now: () => number;

  constructor(options: { idleMs: number; absoluteMs: number; now?: () => number }) {
    this.idleMs = options.idleMs;
    this.absoluteMs = options.absoluteMs;
    this.now = options.now ?? Date.now;
  }

  /** Starts a new login; a previous id presented by the browser is dropped (no fixation). */
  login(previousId: string | null): string {
    if (previousId) this.sessions.delete(previousId);
    const id = randomBytes(32).toString("base64url");
    const now = this.now();
    this.sessions.set(id, { createdAt: now, lastSeenAt: now });
    return id;
  }

  logout(id: string | null): void {
    if (id) this.sessions.delete(id);
  }

  /** Valid and not expired: refreshes the idle timer. */
  check(id: string | null): boolean {
    if (!id) return false;
    const s = this.sessions.get(id);
    if (!s) return false;
    const now = this.now();
    if (now - s.lastSeenAt > this.idleMs || now - s.createdAt > this.absoluteMs) {
      this.sessions.delete(id);
      return false;
    }
    s.lastSeenAt = now;
    return true;
  }

  cookieHeader(id: string, secure: boolean): string {
    return `${COOKIE_NAME}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(this.absoluteMs / 1000)}${secure ? "; Secure" : ""}`;
  }

  clearCookieHeader(secure: boolean): string {
    return `${COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? "; Secure" : ""}`;
  }
}

export function cookieSessionId(req: IncomingMessage): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === COOKIE_NAME) return v.join("=") || null;
  }
  return null;
}
