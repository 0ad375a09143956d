/**
 * DM pairing state, in OpenClaw's files so approvals carry over both ways:
 *
 *   $PINCER_HOME/credentials/<channel>-pairing.json    {version:1, requests:[{id, code, createdAt, lastSeenAt, meta}]}
 *   $PINCER_HOME/credentials/<channel>-allowFrom.json  {version:1, allowFrom:[…]}   (legacy / default account)
 *   $PINCER_HOME/credentials/<channel>-<account>-allowFrom.json                      (per account)
 *
 * Rules as OpenClaw 2026.3.13 applies them: 8-character codes from an alphabet without 0/O/1/I,
 * valid 1 h from `createdAt`, at most 3 pending requests per channel (further senders get no code
 * until one expires), a repeat message from a pending sender keeps its code (and is not sent it
 * again). Every read-modify-write holds `<file>.lock` (a directory, the lock OpenClaw's
 * proper-lockfile takes), so the CLI and a running gateway — Pincer's or OpenClaw's — never
 * interleave; writes are atomic (temp + fsync + rename), files 0600 in a 0700 directory.
 */
import { randomInt } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PincerError } from "../errors.ts";

export const PAIRING_CODE_LENGTH = 8;
export const PAIRING_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
export const PAIRING_TTL_MS = 60 * 60 * 1000;
export const PAIRING_MAX_PENDING = 3;
const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

export class PairingError extends PincerError {
  override readonly code = "pairing_failed";
  override readonly httpStatus = 400;
}

export interface PairingRequest {
  /** The sender's id on the platform (what goes into allowFrom on approval). */
  id: string;
  code: string;
  createdAt: string;
  lastSeenAt: string;
  meta?: Record<string, string>;
}

const SAFE_KEY = /[\\/:*?"<>|]/g;

/** OpenClaw's file-name rule for channel and account ids (no separators, no `..`). */
function safeKey(raw: string, what: string): string {
  const safe = raw.trim().toLowerCase().replace(SAFE_KEY, "_").replace(/\.\./g, "_");
  if (!safe || safe === "_") throw new PairingError(`invalid pairing ${what}: ${JSON.stringify(raw)}`);
  return safe;
}

const normalizeAccount = (accountId: string | undefined) => accountId?.trim().toLowerCase() || "";

function parseTime(v: unknown): number | null {
  if (typeof v !== "string") return null;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : null;
}

export class PairingStore {
  readonly dir: string;
  private readonly now: () => number;

  constructor(opts: { home: string; now?: () => number }) {
    this.dir = path.join(opts.home, "credentials");
    this.now = opts.now ?? Date.now;
  }

  pairingPath(channel: string): string {
    return path.join(this.dir, `${safeKey(channel, "channel")}-pairing.json`);
  }

  /** `<channel>-allowFrom.json` without an account, `<channel>-<account>-allowFrom.json` with one. */
  allowFromPath(channel: string, accountId?: string): string {
    const base = safeKey(channel, "channel");
    const account = accountId?.trim();
    return path.join(
      this.dir,
      account ? `${base}-${safeKey(account, "account id")}-allowFrom.json` : `${base}-allowFrom.json`,
    );
  }

  /**
   * A pending request for `senderId` (created, or the existing one refreshed). `code` is empty when
   * the channel already has the maximum of pending requests; `created` says whether to send it.
   */
  async upsert(
    channel: string,
    accountId: string,
    senderId: string,
    meta: Record<string, string> = {},
  ): Promise<{ code: string; created: boolean }> {
    const file = this.pairingPath(channel);
    return this.locked(file, async () => {
      const nowMs = this.now();
      const now = new Date(nowMs).toISOString();
      const id = senderId.trim();
      const account = normalizeAccount(accountId) || "default";
      const cleanMeta: Record<string, string> = {};
      for (const [k, v] of Object.entries(meta)) if (String(v ?? "").trim()) cleanMeta[k] = String(v).trim();
      cleanMeta.accountId = account;
      const all = this.readRequests(file);
      let reqs = all.filter((r) => !this.expired(r, nowMs));
      const pruned = reqs.length !== all.length;
      const idx = reqs.findIndex((r) => r.id === id && matchesAccount(r, account));
      const codes = new Set(
        reqs.map((r) =>
          String(r.code ?? "")
            .trim()
            .toUpperCase(),
        ),
      );
      if (idx >= 0) {
        const existing = reqs[idx]!;
        const code = (typeof existing.code === "string" ? existing.code.trim() : "") || uniqueCode(codes);
        reqs[idx] = { id, code, createdAt: existing.createdAt ?? now, lastSeenAt: now, meta: cleanMeta };
        this.writeJson(file, { version: 1, requests: capped(reqs) });
        return { code, created: false };
      }
      const before = reqs.length;
      reqs = capped(reqs);
      if (reqs.length >= PAIRING_MAX_PENDING) {
        if (pruned || reqs.length !== before) this.writeJson(file, { version: 1, requests: reqs });
        return { code: "", created: false };
      }
      const code = uniqueCode(codes);
      this.writeJson(file, {
        version: 1,
        requests: [...reqs, { id, code, createdAt: now, lastSeenAt: now, meta: cleanMeta }],
      });
      return { code, created: true };
    });
  }

  /** Pending, unexpired requests, oldest first; only one account's with `accountId`. */
  async list(channel: string, accountId?: string): Promise<PairingRequest[]> {
    const file = this.pairingPath(channel);
    if (!fs.existsSync(file)) return [];
    return this.locked(file, async () => {
      const all = this.readRequests(file);
      const kept = capped(all.filter((r) => !this.expired(r, this.now())));
      if (kept.length !== all.length) this.writeJson(file, { version: 1, requests: kept });
      const account = normalizeAccount(accountId);
      return kept
        .filter((r) => (account ? matchesAccount(r, account) : true))
        .filter((r) => typeof r.id === "string" && typeof r.code === "string" && typeof r.createdAt === "string")
        .toSorted((a, b) => a.createdAt.localeCompare(b.createdAt));
    });
  }

  /**
   * Approves a pending code: the request leaves the pairing file and its sender joins the account's
   * allowFrom file. Null when no unexpired request has that code.
   */
  async approve(
    channel: string,
    code: string,
    accountId?: string,
  ): Promise<{ id: string; request: PairingRequest; accountId: string } | null> {
    const request = await this.take(channel, code, accountId);
    if (!request) return null;
    const account = accountId?.trim() || request.meta?.accountId?.trim() || "default";
    await this.addAllowFrom(channel, account, request.id);
    return { id: request.id, request, accountId: account };
  }

  /** Drops a pending code without approving it (Pincer's addition; OpenClaw lets codes expire). */
  async reject(channel: string, code: string, accountId?: string): Promise<PairingRequest | null> {
    return this.take(channel, code, accountId);
  }

  /** The senders approved for an account; the default account also reads the legacy channel-wide file. */
  readAllowFrom(channel: string, accountId: string): string[] {
    const account = normalizeAccount(accountId) || "default";
    const files = [this.allowFromPath(channel, account)];
    if (account === "default") files.push(this.allowFromPath(channel));
    const out: string[] = [];
    for (const f of files) for (const e of this.readAllowFile(f)) if (!out.includes(e)) out.push(e);
    return out;
  }

  async addAllowFrom(channel: string, accountId: string, entry: string): Promise<boolean> {
    const file = this.allowFromPath(channel, accountId);
    const value = entry.trim();
    if (!value || value === "*") return false;
    return this.locked(file, async () => {
      const current = this.readAllowFile(file);
      if (current.includes(value)) return false;
      this.writeJson(file, { version: 1, allowFrom: [...current, value] });
      return true;
    });
  }

  private async take(channel: string, rawCode: string, accountId?: string): Promise<PairingRequest | null> {
    const code = rawCode.trim().toUpperCase();
    if (!code) return null;
    const file = this.pairingPath(channel);
    if (!fs.existsSync(file)) return null;
    return this.locked(file, async () => {
      const all = this.readRequests(file);
      const reqs = all.filter((r) => !this.expired(r, this.now()));
      const account = normalizeAccount(accountId);
      const idx = reqs.findIndex(
        (r) => String(r.code ?? "").toUpperCase() === code && (!account || matchesAccount(r, account)),
      );
      if (idx < 0) {
        if (reqs.length !== all.length) this.writeJson(file, { version: 1, requests: reqs });
        return null;
      }
      const [request] = reqs.splice(idx, 1);
      this.writeJson(file, { version: 1, requests: reqs });
      return request!;
    });
  }

  private expired(r: PairingRequest, nowMs: number): boolean {
    const created = parseTime(r.createdAt);
    return created === null || nowMs - created > PAIRING_TTL_MS;
  }

  private readRequests(file: string): PairingRequest[] {
    const value = this.readJson(file) as { requests?: unknown } | null;
    return Array.isArray(value?.requests)
      ? (value.requests as PairingRequest[]).filter((r) => r && typeof r === "object")
      : [];
  }

  private readAllowFile(file: string): string[] {
    const value = this.readJson(file) as { allowFrom?: unknown } | null;
    const list = Array.isArray(value?.allowFrom) ? value.allowFrom : [];
    const out: string[] = [];
    for (const v of list) {
      const s = String(v).trim();
      if (s && s !== "*" && !out.includes(s)) out.push(s);
    }
    return out;
  }

  private readJson(file: string): unknown {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    try {
      return JSON.parse(text);
    } catch {
      // OpenClaw reads a corrupt file as its fallback; so do we (the next write replaces it).
      return null;
    }
  }

  private writeJson(file: string, value: unknown): void {
    this.ensureDir();
    const tmp = `${file}.${process.pid}.${randomInt(1e9)}.tmp`;
    const fd = fs.openSync(tmp, "w", 0o600);
    try {
      fs.writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  }

  private ensureDir(): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** `<file>.lock` as a directory (atomic mkdir); a lock older than 30 s is a dead holder's. */
  private async locked<T>(file: string, fn: () => Promise<T>): Promise<T> {
    this.ensureDir();
    const lock = `${file}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
      try {
        fs.mkdirSync(lock, { mode: 0o700 });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        try {
          if (Date.now() - fs.statSync(lock).mtimeMs > LOCK_STALE_MS) {
            fs.rmSync(lock, { recursive: true, force: true });
            continue;
          }
        } catch {
          continue;
        }
        if (Date.now() > deadline) throw new PairingError(`pairing store busy: ${lock} is held`);
        await sleep(delay);
      }
    }
    try {
      return await fn();
    } finally {
      fs.rmSync(lock, { recursive: true, force: true });
    }
  }
}

function matchesAccount(r: PairingRequest, account: string): boolean {
  return (
    String(r.meta?.accountId ?? "")
      .trim()
      .toLowerCase() === account
  );
}

/** Keeps the most recently seen requests when a file holds more than the cap (another writer, an old file). */
function capped(reqs: PairingRequest[]): PairingRequest[] {
  if (reqs.length <= PAIRING_MAX_PENDING) return reqs;
  const seen = (r: PairingRequest) => parseTime(r.lastSeenAt) ?? parseTime(r.createdAt) ?? 0;
  return reqs.toSorted((a, b) => seen(a) - seen(b)).slice(-PAIRING_MAX_PENDING);
}

function uniqueCode(existing: Set<string>): string {
  for (let attempt = 0; attempt < 500; attempt++) {
    let code = "";
    for (let i = 0; i < PAIRING_CODE_LENGTH; i++)
      code += PAIRING_CODE_ALPHABET[randomInt(0, PAIRING_CODE_ALPHABET.length)];
    if (!existing.has(code)) return code;
  }
  throw new PairingError("failed to generate a unique pairing code");
}

/** The text an unknown sender gets (OpenClaw's wording, with Pincer's CLI). */
export function pairingReply(channel: string, senderId: string, code: string): string {
  return [
    "Pincer: access not configured.",
    "",
    `Your ${channel} id: ${senderId}`,
    "",
    `Pairing code: ${code}`,
    "",
    "Ask the bot owner to approve with:",
    `pincer pairing approve ${channel} ${code}`,
  ].join("\n");
}
