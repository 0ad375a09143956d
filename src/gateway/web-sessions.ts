/**
 * Browser logins for the WebChat (issue 6): server-side records keyed by the SHA-256 of
 * a 256-bit random id (the id itself is never stored), a fresh id at every login, HttpOnly +
 * SameSite=Strict cookies (+ Secure under TLS), idle and absolute expiry checked on every request,
 * a per-login CSRF token for state-changing requests, and login attempts limited per address.
 * Records live beside the store (`$PINCER_HOME/web-sessions.json`, 0600, atomic writes) so a
 * restart keeps browsers logged in; with the memory store backend they live in memory.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import type { IncomingMessage } from "node:http";
import { writeFileAtomicSync } from "../store/fs/secure-fs.ts";
import { tokensEqual } from "./auth.ts";

export const COOKIE_NAME = "pincer_session";
/** lastSeenAt is written at most this often per login (every request still checks it in memory). */
const TOUCH_PERSIST_MS = 60_000;

interface WebSession {
  createdAt: number;
  lastSeenAt: number;
  csrf: string;
  persistedSeenAt: number;
}

export interface WebSessionOptions {
  idleMs: number;
  absoluteMs: number;
  now?: () => number;
  /** Where records are kept; omitted = memory only. */
  file?: string;
  /** Failed logins allowed per address per minute. */
  maxFailuresPerMinute?: number;
}

const hashId = (id: string) => createHash("sha256").update(id).digest("base64url");

export class WebSessions {
  private readonly sessions = new Map<string, WebSession>();
  private readonly failures = new Map<string, number[]>();
  private readonly opts: Required<Omit<WebSessionOptions, "file">> & { file?: string };

  constructor(options: WebSessionOptions) {
    this.opts = { ...options, now: options.now ?? Date.now, maxFailuresPerMinute: options.maxFailuresPerMinute ?? 5 };
    this.load();
  }

  private now(): number {
    return this.opts.now();
  }

  private load(): void {
    if (!this.opts.file) return;
    try {
      const data = JSON.parse(fs.readFileSync(this.opts.file, "utf8")) as Record<
        string,
        Omit<WebSession, "persistedSeenAt">
      >;
      for (const [k, v] of Object.entries(data)) {
        if (typeof v?.createdAt === "number" && typeof v.lastSeenAt === "number" && typeof v.csrf === "string")
          this.sessions.set(k, { ...v, persistedSeenAt: v.lastSeenAt });
      }
    } catch {
      // Missing or unreadable: nobody is logged in, which is the safe reading.
    }
  }

  private persist(): void {
    if (!this.opts.file) return;
    const data: Record<string, Omit<WebSession, "persistedSeenAt">> = {};
    for (const [k, v] of this.sessions) {
      v.persistedSeenAt = v.lastSeenAt;
      data[k] = { createdAt: v.createdAt, lastSeenAt: v.lastSeenAt, csrf: v.csrf };
    }
    writeFileAtomicSync(this.opts.file, JSON.stringify(data));
  }

  /** True while this address has used up its failed attempts for the last minute. */
  limited(address: string): boolean {
    const cutoff = this.now() - 60_000;
    const recent = (this.failures.get(address) ?? []).filter((t) => t > cutoff);
    this.failures.set(address, recent);
    return recent.length >= this.opts.maxFailuresPerMinute;
  }

  recordFailure(address: string): void {
    const list = this.failures.get(address) ?? [];
    list.push(this.now());
    this.failures.set(address, list);
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value as string);
  }

  /** Starts a new login; a previous id presented by the browser is dropped (no fixation). */
  login(previousId: string | null): { id: string; csrf: string } {
    if (previousId) this.sessions.delete(hashId(previousId));
    this.expireAll();
    const id = randomBytes(32).toString("base64url");
    const csrf = randomBytes(32).toString("base64url");
    const now = this.now();
    this.sessions.set(hashId(id), { createdAt: now, lastSeenAt: now, csrf, persistedSeenAt: now });
    this.persist();
    return { id, csrf };
  }

  logout(id: string | null): void {
    if (id && this.sessions.delete(hashId(id))) this.persist();
  }

  /** The live record for a cookie id (refreshing its idle timer), or null when unknown or expired. */
  check(id: string | null): { csrf: string } | null {
    if (!id) return null;
    const key = hashId(id);
    const s = this.sessions.get(key);
    if (!s) return null;
    const now = this.now();
    if (now - s.lastSeenAt > this.opts.idleMs || now - s.createdAt > this.opts.absoluteMs) {
      this.sessions.delete(key);
      this.persist();
      return null;
    }
    s.lastSeenAt = now;
    if (now - s.persistedSeenAt > TOUCH_PERSIST_MS) this.persist();
    return { csrf: s.csrf };
  }

  csrfMatches(expected: string, given: string | undefined): boolean {
    return typeof given === "string" && tokensEqual(given, expected);
  }

  private expireAll(): void {
    const now = this.now();
    for (const [k, s] of this.sessions)
      if (now - s.lastSeenAt > this.opts.idleMs || now - s.createdAt > this.opts.absoluteMs) this.sessions.delete(k);
  }

  cookieHeader(id: string, secure: boolean): string {
    return `${COOKIE_NAME}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(this.opts.absoluteMs / 1000)}${secure ? "; Secure" : ""}`;
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
