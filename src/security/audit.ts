/**
 * `pincer security audit`: configuration and state checks that warn an operator before one user's
 * context can reach another's, or the gateway is reachable without protection. Findings use
 * OpenClaw's JSON shape: `{ checkId, severity, title, detail, remediation }`.
 * The checks read; `applyFixes` repairs what is safe to repair (file permissions).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { PincerConfig } from "../config/schema.ts";
import { resolveMaintenance } from "../config/resolve.ts";
import { isLoopback } from "../gateway/settings.ts";
import type { SessionStore } from "../store/types.ts";

export type Severity = "critical" | "warn" | "info";

export interface Finding {
  checkId: string;
  severity: Severity;
  title: string;
  detail: string;
  remediation?: string;
}

export interface AuditReport {
  ts: number;
  summary: Record<Severity, number>;
  findings: Finding[];
}

export interface AuditInput {
  /** The parsed config, or null when it did not load (then `configError` says why). */
  config: PincerConfig | null;
  configError?: string;
  /** The config file as written (JSON5-parsed, unvalidated), for checks the schema would refuse. */
  rawConfig: Record<string, unknown> | null;
  home: string;
  env: NodeJS.ProcessEnv;
  /** Every agent's store (read-only). */
  stores: Array<{ agentId: string; store: SessionStore }>;
  now: number;
}

const INTERNAL_CHANNELS = new Set(["webchat", "internal", "cron", "hook", "openai"]);

/** Rough entropy of a token in bits: length × log2 of the character classes it uses. */
export function tokenEntropyBits(token: string): number {
  let alphabet = 0;
  if (/[a-z]/.test(token)) alphabet += 26;
  if (/[A-Z]/.test(token)) alphabet += 26;
  if (/[0-9]/.test(token)) alphabet += 10;
  if (/[^a-zA-Z0-9]/.test(token)) alphabet += 32;
  const distinct = new Set(token).size;
  // A long run of one character is not long: cap by the distinct characters actually used.
  return token.length * Math.log2(Math.max(2, Math.min(alphabet, distinct * 4)));
}

function asRecord(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** DM senders each channel allows by config (`channels.<ch>.allowFrom` or `.dm.allowFrom`). */
function allowedSenders(config: PincerConfig | null): Map<string, { senders: string[]; open: boolean }> {
  const out = new Map<string, { senders: string[]; open: boolean }>();
  for (const [ch, raw] of Object.entries(asRecord(config?.channels))) {
    const c = asRecord(raw);
    const list = [c.allowFrom, asRecord(c.dm).allowFrom].find(Array.isArray) as unknown[] | undefined;
    const senders = (list ?? []).filter((x): x is string => typeof x === "string");
    const policy = c.dmPolicy ?? asRecord(c.dm).policy;
    out.set(ch.toLowerCase(), {
      senders: senders.filter((s) => s !== "*"),
      open: senders.includes("*") || policy === "open",
    });
  }
  return out;
}

/** Distinct DM senders per channel recorded in a main-scope session (read from its recent transcript). */
async function seenDmSenders(store: SessionStore, mainKey: string): Promise<Map<string, Set<string>>> {
  const seen = new Map<string, Set<string>>();
  const entry = await store.get(mainKey);
  if (!entry) return seen;
  const read = await store.readTranscript(entry.sessionId, { tail: 5000 });
  for (const line of read.lines) {
    const origin = line.pincer as { channel?: unknown; senderId?: unknown } | undefined;
    const msg = line.message as { role?: unknown; provenance?: { kind?: unknown } } | undefined;
    if (line.type !== "message" || msg?.role !== "user" || msg.provenance?.kind === "inter_session") continue;
    if (
      typeof origin?.channel !== "string" ||
      typeof origin.senderId !== "string" ||
      INTERNAL_CHANNELS.has(origin.channel)
    )
      continue;
    let s = seen.get(origin.channel);
    if (!s) seen.set(origin.channel, (s = new Set()));
    s.add(origin.senderId);
  }
  return seen;
}

function modeOf(file: string): number | null {
  try {
    return fs.statSync(file).mode & 0o777;
  } catch {
    return null;
  }
}

/** State files whose mode lets group or others read: the home, agent dirs, stores, transcripts, the token. */
export function loosePermissions(home: string): Array<{ file: string; mode: number; want: number }> {
  const out: Array<{ file: string; mode: number; want: number }> = [];
  const check = (file: string, want: number) => {
    const mode = modeOf(file);
    if (mode !== null && (mode & 0o077) !== 0) out.push({ file, mode, want });
  };
  check(home, 0o700);
  check(path.join(home, "gateway.token"), 0o600);
  for (const f of ["pincer.json", "openclaw.json"]) check(path.join(home, f), 0o600);
  const agentsDir = path.join(home, "agents");
  let agents: string[] = [];
  try {
    agents = fs.readdirSync(agentsDir);
    check(agentsDir, 0o700);
  } catch {
    return out;
  }
  for (const a of agents) {
    const dir = path.join(agentsDir, a, "sessions");
    check(path.join(agentsDir, a), 0o700);
    check(dir, 0o700);
    let files: string[] = [];
    try {
      files = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const f of files) if (f.startsWith("sessions.") || f.includes(".jsonl")) check(path.join(dir, f), 0o600);
  }
  return out;
}

/** session.store.url: a password written into the config, or a database reached without TLS. */
export function storeUrlFindings(raw: string): Finding[] {
  const out: Finding[] = [];
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return out; // `${DATABASE_URL}` and the like: resolved from the environment at start
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.password && !/^\$\{[A-Z0-9_]+\}$/i.test(decodeURIComponent(url.password))) {
    out.push({
      checkId: "store.url_inline_password",
      severity: "warn",
      title: "The database password is written in the config",
      detail: `session.store.url (${shown}) carries its password inline; it travels with every copy or backup of the config.`,
      remediation: 'Use an environment variable: url: "${DATABASE_URL}".',
    });
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const tls =
    url.protocol === "rediss:" ||
    /^(require|verify-ca|verify-full)$/.test(url.searchParams.get("sslmode") ?? "") ||
    url.searchParams.get("ssl") === "true";
  if (!isLoopback(host) && !tls) {
    out.push({
      checkId: "store.url_no_tls",
      severity: "warn",
      title: "The session database is reached without TLS",
      detail: `session.store.url points at ${url.host} without TLS: every conversation crosses the network in clear text.`,
      remediation: url.protocol.startsWith("redis")
        ? "Use a rediss:// URL."
        : "Add ?sslmode=verify-full (or require) to the URL.",
    });
  }
  return out;
}

export async function runAudit(input: AuditInput): Promise<AuditReport> {
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);
  const { config } = input;
  const raw = input.rawConfig ?? {};

  if (input.configError) {
    add({
      checkId: "config.invalid",
      severity: "critical",
      title: "The config file does not load",
      detail: input.configError,
      remediation: "Fix the keys named above; the gateway refuses to start until then.",
    });
  }

  // --- Session isolation: one DM session shared by several people.
  const rawSession = asRecord(raw.session);
  const dmScope = config?.session?.dmScope ?? (typeof rawSession.dmScope === "string" ? rawSession.dmScope : "main");
  if (dmScope === "main") {
    const allowed = allowedSenders(config);
    const mainKey = config?.session?.mainKey ?? "main";
    const seen = new Map<string, Set<string>>();
    for (const { agentId, store } of input.stores) {
      for (const [ch, s] of await seenDmSenders(store, `agent:${agentId}:${mainKey}`)) {
        const all = seen.get(ch) ?? new Set<string>();
        for (const x of s) all.add(x);
        seen.set(ch, all);
      }
    }
    const channels = new Set([...allowed.keys(), ...seen.keys()]);
    for (const ch of [...channels].sort()) {
      const a = allowed.get(ch);
      const seenCount = seen.get(ch)?.size ?? 0;
      const allowedCount = a?.senders.length ?? 0;
      if (!a?.open && seenCount < 2 && allowedCount < 2) continue;
      const critical = a?.open === true || seenCount >= 2;
      add({
        checkId: `channels.${ch}.dm.scope_main_multiuser`,
        severity: critical ? "critical" : "warn",
        title: `Several people share one DM session on ${ch}`,
        detail:
          `session.dmScope is "main", so every direct message on ${ch} goes to the same session and each sender sees the others' context. ` +
          (seenCount >= 2 ? `${seenCount} different senders have already written to it. ` : "") +
          (a?.open
            ? "The DM policy is open (any sender). "
            : allowedCount >= 2
              ? `${allowedCount} senders are allowed by channels.${ch}.allowFrom. `
              : ""),
        remediation:
          'Set session.dmScope to "per-channel-peer" (or "per-account-channel-peer" with several accounts); use session.identityLinks for one person on several channels.',
      });
    }
  }

  // --- identityLinks: one id claimed by two people merges their sessions.
  const links = asRecord(rawSession.identityLinks);
  const owner = new Map<string, string>();
  for (const [name, ids] of Object.entries(links)) {
    if (!Array.isArray(ids)) continue;
    for (const id of ids) {
      if (typeof id !== "string") continue;
      const k = id.toLowerCase();
      const prev = owner.get(k);
      if (prev && prev !== name) {
        add({
          checkId: "session.identity_links.duplicate_id",
          severity: "critical",
          title: "An id is linked to two people",
          detail: `session.identityLinks lists ${id} under both "${prev}" and "${name}": their direct messages would share one session.`,
          remediation: `Remove ${id} from one of the two entries.`,
        });
      } else owner.set(k, name);
    }
  }

  // --- Gateway exposure.
  const gw = asRecord(raw.gateway);
  const host = input.env.PINCER_GATEWAY_HOST ?? (typeof gw.host === "string" ? gw.host : "127.0.0.1");
  const token = (asRecord(gw.auth).token as string | undefined) ?? input.env.PINCER_GATEWAY_TOKEN;
  const remote = !isLoopback(host);
  if (remote && !token) {
    add({
      checkId: "gateway.bind_no_auth",
      severity: "critical",
      title: "The gateway is exposed without a token",
      detail: `gateway.host is ${host} and no gateway.auth.token / PINCER_GATEWAY_TOKEN is set.`,
      remediation:
        "Set gateway.auth.token to a random value of at least 32 bytes (e.g. `openssl rand -base64 32`), or bind to 127.0.0.1.",
    });
  }
  if (token) {
    const bits = tokenEntropyBits(token);
    if (bits < 256) {
      add({
        checkId: "gateway.token_weak",
        severity: remote ? "critical" : "warn",
        title: "The gateway token is weak",
        detail: `The configured token carries about ${Math.floor(bits / 8)} bytes of entropy (under 32).`,
        remediation: "Use a random token of at least 32 bytes (e.g. `openssl rand -base64 32`).",
      });
    }
  }
  if (remote && !asRecord(gw.tls).cert) {
    add({
      checkId: "gateway.tls_off_remote",
      severity: "warn",
      title: "TLS is off on a non-loopback bind",
      detail: `gateway.host is ${host} but gateway.tls is not configured: tokens and conversations cross the network in clear text.`,
      remediation:
        "Set gateway.tls.cert and gateway.tls.key, or terminate TLS in a reverse proxy on the same host and bind the gateway to 127.0.0.1.",
    });
  }
  // --- A shared store's database URL.
  const storeUrl = asRecord(asRecord(raw.session).store).url;
  if (typeof storeUrl === "string") for (const f of storeUrlFindings(storeUrl)) add(f);
  for (const [i, c] of (Array.isArray(gw.clients) ? gw.clients : []).entries()) {
    const t = asRecord(c).token;
    if (typeof t !== "string" || tokenEntropyBits(t) < 128)
      add({
        checkId: "gateway.client_token_weak",
        severity: "warn",
        title: "A bridge token is weak or missing",
        detail: `gateway.clients[${i}] has a token with under 16 bytes of entropy.`,
        remediation: "Give every bridge its own random token of at least 32 bytes.",
      });
  }

  // --- Hooks.
  const endpoints = asRecord(raw.hooks).endpoints;
  for (const [i, h] of (Array.isArray(endpoints) ? endpoints : []).entries()) {
    const hook = asRecord(h);
    if (typeof hook.token !== "string" || hook.token.length === 0) {
      add({
        checkId: "hooks.token_missing",
        severity: "critical",
        title: "A webhook has no token",
        detail: `hooks.endpoints[${i}] (${String(hook.id ?? "?")}) accepts requests without a token.`,
        remediation: "Give every hook endpoint its own random token.",
      });
    } else if (tokenEntropyBits(hook.token) < 128) {
      add({
        checkId: "hooks.token_weak",
        severity: "warn",
        title: "A webhook token is weak",
        detail: `hooks.endpoints[${i}] (${String(hook.id ?? "?")}) has a token with under 16 bytes of entropy.`,
        remediation: "Use a random token of at least 32 bytes.",
      });
    }
  }

  // --- Tools reaching across agents.
  const tools = asRecord(raw.tools);
  if (asRecord(tools.sessions).visibility === "all" && asRecord(tools.agentToAgent).enabled === true) {
    const allow = asRecord(tools.agentToAgent).allow;
    add({
      checkId: "tools.sessions.visibility_all_agent_to_agent",
      severity: "warn",
      title: "Agents can read and message every other agent's sessions",
      detail: `tools.sessions.visibility is "all" and tools.agentToAgent is enabled${Array.isArray(allow) && allow.length > 0 ? ` for ${allow.join(", ")}` : " for every agent"}.`,
      remediation:
        'Use visibility "tree" (the default), or restrict tools.agentToAgent.allow to the agents that must talk.',
    });
  }

  // --- Send policy rules that match nothing.
  const rules = config?.session?.sendPolicy?.rules ?? [];
  if (rules.length > 0) {
    const rows: Array<{ key: string; channel?: string; chatType?: string }> = [];
    for (const { store } of input.stores)
      for (const r of (await store.list()).rows)
        rows.push({ key: r.key, channel: r.entry.channel ?? r.entry.lastChannel, chatType: r.entry.chatType });
    rules.forEach((rule, i) => {
      const m = rule.match ?? {};
      const ch = (m.channel ?? m.provider)?.toLowerCase();
      const ct = m.chatType === "dm" ? "direct" : m.chatType;
      const impossible =
        (m.keyPrefix && ct === "direct" && /:(group|channel):/.test(m.keyPrefix)) ||
        (m.rawKeyPrefix &&
          !m.rawKeyPrefix.toLowerCase().startsWith("agent:") &&
          !"agent:".startsWith(m.rawKeyPrefix.toLowerCase()));
      const matches = rows.some((r) => {
        const key = r.key.toLowerCase();
        const stripped = key.replace(/^agent:[^:]+:/, "");
        if (ch && r.channel?.toLowerCase() !== ch) return false;
        if (ct && r.chatType !== ct) return false;
        if (m.rawKeyPrefix && !key.startsWith(m.rawKeyPrefix.toLowerCase())) return false;
        if (
          m.keyPrefix &&
          !key.startsWith(m.keyPrefix.toLowerCase()) &&
          !stripped.startsWith(m.keyPrefix.toLowerCase())
        )
          return false;
        return true;
      });
      if (impossible || (rows.length > 0 && !matches)) {
        add({
          checkId: "session.send_policy.rule_matches_nothing",
          severity: "warn",
          title: "A send policy rule matches no session",
          detail: `session.sendPolicy.rules[${i}] (${rule.action} ${JSON.stringify(m)}) ${impossible ? "can never match a session key" : "matches none of the stored sessions"}; a typo here silently leaves delivery ${rule.action === "deny" ? "allowed" : "denied"}.`,
          remediation: "Check the rule's channel, chatType and key prefixes against `pincer sessions --json`.",
        });
      }
    });
  }

  // --- Maintenance off on a large store.
  if (config) {
    const m = resolveMaintenance(config);
    const disabled = m.mode === "warn" || (m.pruneAfterMs === null && m.maxEntries === null);
    for (const { agentId, store } of input.stores) {
      const n = await store.count();
      if (disabled && n > 10_000) {
        add({
          checkId: "session.maintenance.disabled_large_store",
          severity: "warn",
          title: "A large session store is never cleaned",
          detail: `Agent ${agentId} has ${n} sessions and session.maintenance ${m.mode === "warn" ? 'is in "warn" mode' : "has no pruneAfter or maxEntries"}: old conversations are kept forever and listings slow down.`,
          remediation: 'Set session.maintenance.mode to "enforce" with pruneAfter (e.g. "30d") and maxEntries.',
        });
      }
    }
  }

  // --- Files others can read.
  for (const p of loosePermissions(input.home)) {
    const isToken = p.file.endsWith("gateway.token");
    add({
      checkId: isToken ? "fs.gateway_token.perms_readable" : "fs.state.perms_readable",
      severity: isToken ? "critical" : "warn",
      title: isToken ? "The gateway token is readable by other users" : "State is readable by other users",
      detail: `${p.file} has mode ${p.mode.toString(8).padStart(4, "0")}.`,
      remediation: `chmod ${p.want.toString(8)} ${p.file} (or run \`pincer security audit --fix\`).`,
    });
  }

  add({
    checkId: "gateway.http.session_key_override_enabled",
    severity: "info",
    title: "Callers may name a session",
    detail:
      "/v1/chat/completions honours x-pincer-session-key; keys are checked against the caller's token (a bridge token only reaches its own channels).",
  });

  const summary: Record<Severity, number> = { critical: 0, warn: 0, info: 0 };
  for (const f of findings) summary[f.severity]++;
  const order: Record<Severity, number> = { critical: 0, warn: 1, info: 2 };
  findings.sort((a, b) => order[a.severity] - order[b.severity] || a.checkId.localeCompare(b.checkId));
  return { ts: input.now, summary, findings };
}

/** Tightens state file permissions (0700 directories, 0600 files); returns what it changed. */
export function applyFixes(home: string): Array<{ file: string; from: string; to: string }> {
  const done: Array<{ file: string; from: string; to: string }> = [];
  for (const p of loosePermissions(home)) {
    try {
      fs.chmodSync(p.file, p.want);
      done.push({ file: p.file, from: p.mode.toString(8).padStart(4, "0"), to: p.want.toString(8).padStart(4, "0") });
    } catch {
      // Not ours to change (another owner): the finding stays in the report.
    }
  }
  return done;
}
