/**
 * `pincer security audit`: configuration and state checks that warn an operator before one user's
 * context can reach another's, or the gateway is reachable without protection. Findings use
 * OpenClaw's JSON shape: `{ checkId, severity, title, detail, remediation }`.
 * The checks read; `applyFixes` repairs what is safe to repair (file permissions).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { unmatchableTelegramAllowEntries } from "../config/channels-schema.ts";
import type { PincerConfig } from "../config/schema.ts";
import { CONFIG_FILE_NAMES } from "../config/load.ts";
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
  /** The config file read, wherever it lives (`--config`, `$PINCER_CONFIG`): its mode is checked too. */
  configFile?: string | null;
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

/** One DM surface: a channel (or one of its accounts) as the audit sees it. */
interface DmSurface {
  channel: string;
  accountId: string | null;
  /** `channels.telegram.` or `channels.telegram.accounts.work.`: where its keys live. */
  base: string;
  enabled: boolean;
  policy: string;
  policyPath: string;
  allowFromPath: string;
  allowFrom: string[];
}

const LABELS: Record<string, string> = {
  telegram: "Telegram",
  discord: "Discord",
  slack: "Slack",
  signal: "Signal",
  whatsapp: "WhatsApp",
  matrix: "Matrix",
  imessage: "iMessage",
  msteams: "Microsoft Teams",
  googlechat: "Google Chat",
};
const labelOf = (ch: string) => LABELS[ch] ?? ch.charAt(0).toUpperCase() + ch.slice(1);

/** An allowFrom entry as OpenClaw's channel normalises it: `tg:111`, `telegram:111` and `111` are one sender. */
export function normalizeAllowEntry(channel: string, raw: string): string {
  let v = raw.trim();
  if (channel === "telegram") v = v.replace(/^(telegram|tg):/i, "");
  else if (channel === "discord") v = v.replace(/^(discord|user|pk):/i, "").replace(/^<@!?(\d+)>$/, "$1");
  else if (channel === "slack") v = v.replace(/^(slack|user):/i, "");
  else v = v.replace(new RegExp(`^${channel.replace(/[^a-z0-9]/gi, "")}:`, "i"), "");
  return v.trim().toLowerCase();
}

const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v)
    ? v.filter((x) => typeof x === "string" || typeof x === "number").map((x) => String(x).trim())
    : undefined;

/** Every channel and account with its DM policy and allowlist, read as the channels read them. */
function dmSurfaces(raw: Record<string, unknown>): DmSurface[] {
  const out: DmSurface[] = [];
  for (const [name, value] of Object.entries(asRecord(raw.channels))) {
    const ch = name.toLowerCase();
    if (ch === "defaults") continue;
    const c = asRecord(value);
    const accounts = Object.entries(asRecord(c.accounts));
    const blocks: Array<[string | null, Record<string, unknown>]> =
      accounts.length > 0 ? accounts.map(([id, a]) => [id, asRecord(a)]) : [[null, {}]];
    for (const [accountId, a] of blocks) {
      // An account's own keys win over the channel's (OpenClaw's merge).
      const pick = (key: string) => (a[key] !== undefined ? a : c);
      const where = (src: Record<string, unknown>) =>
        src === a && accountId !== null ? `channels.${name}.accounts.${accountId}.` : `channels.${name}.`;
      const dmSrc = pick("dm");
      const dm = asRecord(dmSrc.dm);
      const polSrc = pick("dmPolicy");
      const policy =
        typeof polSrc.dmPolicy === "string"
          ? { v: polSrc.dmPolicy, path: `${where(polSrc)}dmPolicy` }
          : typeof dm.policy === "string"
            ? { v: dm.policy, path: `${where(dmSrc)}dm.policy` }
            : { v: "pairing", path: `${where(polSrc)}dmPolicy` };
      const afSrc = pick("allowFrom");
      const top = strings(afSrc.allowFrom);
      const allow = top
        ? { list: top, path: `${where(afSrc)}` }
        : { list: strings(dm.allowFrom) ?? [], path: `${where(dmSrc)}${strings(dm.allowFrom) ? "dm." : ""}` };
      out.push({
        channel: ch,
        accountId,
        base: where(a),
        enabled: c.enabled !== false && a.enabled !== false,
        policy: policy.v,
        policyPath: policy.path,
        allowFromPath: allow.path,
        allowFrom: allow.list,
      });
    }
  }
  return out;
}

/** Senders approved through pairing: `credentials/<channel>[-<account>]-allowFrom.json` (OpenClaw's files). */
function pairedSenders(home: string, channel: string, accountId: string | null): string[] {
  const safe = (v: string) =>
    v
      .trim()
      .toLowerCase()
      .replace(/[\\/:*?"<>|]/g, "_")
      .replace(/\.\./g, "_");
  const files =
    accountId === null || accountId.toLowerCase() === "default"
      ? [`${safe(channel)}-default-allowFrom.json`, `${safe(channel)}-allowFrom.json`]
      : [`${safe(channel)}-${safe(accountId)}-allowFrom.json`];
  const out: string[] = [];
  for (const f of files) {
    try {
      const parsed = asRecord(JSON.parse(fs.readFileSync(path.join(home, "credentials", f), "utf8")));
      out.push(...(strings(parsed.allowFrom) ?? []));
    } catch {
      // No file (nobody paired yet) or not readable: nothing approved here.
    }
  }
  return out;
}

/** OpenClaw's multi-user signals: open policies, group targets, wildcard senders (enabled or not, as it lists them). */
function multiUserSignals(raw: Record<string, unknown>): string[] {
  const out = new Set<string>();
  const inspect = (section: Record<string, unknown>, base: string) => {
    const targets = ["groups", "guilds", "channels", "rooms", "teams"].some(
      (k) => Object.keys(asRecord(section[k])).length > 0,
    );
    if (section.groupPolicy === "open") out.add(`${base}.groupPolicy="open"`);
    else if (section.groupPolicy === "allowlist" && targets)
      out.add(`${base}.groupPolicy="allowlist" with configured group targets`);
    if (section.dmPolicy === "open") out.add(`${base}.dmPolicy="open"`);
    if (strings(section.allowFrom)?.includes("*")) out.add(`${base}.allowFrom includes "*"`);
    if (strings(section.groupAllowFrom)?.includes("*")) out.add(`${base}.groupAllowFrom includes "*"`);
    const dm = asRecord(section.dm);
    if (dm.policy === "open") out.add(`${base}.dm.policy="open"`);
    if (strings(dm.allowFrom)?.includes("*")) out.add(`${base}.dm.allowFrom includes "*"`);
  };
  for (const [id, value] of Object.entries(asRecord(raw.channels))) {
    const section = asRecord(value);
    inspect(section, `channels.${id}`);
    for (const [acc, a] of Object.entries(asRecord(section.accounts)))
      inspect(asRecord(a), `channels.${id}.accounts.${acc}`);
  }
  return [...out];
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

function listNames(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** State files whose mode lets group or others read: the home, agent dirs, stores, transcripts, the token. */
export function loosePermissions(
  home: string,
  configFile?: string | null,
): Array<{ file: string; mode: number; want: number }> {
  const out: Array<{ file: string; mode: number; want: number }> = [];
  const check = (file: string, want: number) => {
    const mode = modeOf(file);
    if (mode !== null && (mode & 0o077) !== 0) out.push({ file, mode, want });
  };
  check(home, 0o700);
  check(path.join(home, "gateway.token"), 0o600);
  for (const f of CONFIG_FILE_NAMES) check(path.join(home, f), 0o600);
  if (configFile && !isHomeConfig(home, configFile)) check(configFile, 0o600);
  // Pairing approvals and OpenClaw's channel credentials.
  const creds = path.join(home, "credentials");
  check(creds, 0o700);
  for (const f of listNames(creds)) if (f.endsWith(".json")) check(path.join(creds, f), 0o600);
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
    check(path.join(agentsDir, a, "agent", "auth-profiles.json"), 0o600);
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

const octal = (m: number) => m.toString(8).padStart(3, "0");

/** One loose file as a finding: OpenClaw's checkId, severity and texts for the files OpenClaw checks. */
const isHomeConfig = (home: string, file: string) =>
  path.dirname(file) === home && CONFIG_FILE_NAMES.includes(path.basename(file));

function permissionFinding(
  home: string,
  p: { file: string; mode: number; want: number },
  configFile?: string | null,
): Finding {
  const name = path.basename(p.file);
  const fix = `chmod ${p.want.toString(8)} ${p.file}`;
  const detail = (why: string) => `${p.file} mode=${octal(p.mode)}; ${why}`;
  const writable = (p.mode & 0o022) !== 0;
  if (p.file === home) {
    if (p.mode & 0o002)
      return {
        checkId: "fs.state_dir.perms_world_writable",
        severity: "critical",
        title: "State dir is world-writable",
        detail: detail("other users can write into your state."),
        remediation: fix,
      };
    if (p.mode & 0o020)
      return {
        checkId: "fs.state_dir.perms_group_writable",
        severity: "warn",
        title: "State dir is group-writable",
        detail: detail("group users can write into your state."),
        remediation: fix,
      };
    return {
      checkId: "fs.state_dir.perms_readable",
      severity: "warn",
      title: "State dir is readable by others",
      detail: detail("consider restricting to 700."),
      remediation: fix,
    };
  }
  if (isHomeConfig(home, p.file) || p.file === configFile) {
    if (writable)
      return {
        checkId: "fs.config.perms_writable",
        severity: "critical",
        title: "Config file is writable by others",
        detail: detail("another user could change gateway/auth/tool policies."),
        remediation: fix,
      };
    if (p.mode & 0o004)
      return {
        checkId: "fs.config.perms_world_readable",
        severity: "critical",
        title: "Config file is world-readable",
        detail: detail("config can contain tokens and private settings."),
        remediation: fix,
      };
    return {
      checkId: "fs.config.perms_group_readable",
      severity: "warn",
      title: "Config file is group-readable",
      detail: detail("config can contain tokens and private settings."),
      remediation: fix,
    };
  }
  if (p.file === path.join(home, "credentials"))
    return writable
      ? {
          checkId: "fs.credentials_dir.perms_writable",
          severity: "critical",
          title: "Credentials dir is writable by others",
          detail: detail("another user could approve senders or replace credentials."),
          remediation: fix,
        }
      : {
          checkId: "fs.credentials_dir.perms_readable",
          severity: "warn",
          title: "Credentials dir is readable by others",
          detail: detail("credentials and allowlists can be sensitive."),
          remediation: fix,
        };
  if (name === "auth-profiles.json")
    return writable
      ? {
          checkId: "fs.auth_profiles.perms_writable",
          severity: "critical",
          title: "auth-profiles.json is writable by others",
          detail: detail("another user could replace model credentials."),
          remediation: fix,
        }
      : {
          checkId: "fs.auth_profiles.perms_readable",
          severity: "warn",
          title: "auth-profiles.json is readable by others",
          detail: detail("it holds model API keys and tokens."),
          remediation: fix,
        };
  if (name === "sessions.json" && path.basename(path.dirname(p.file)) === "sessions")
    return {
      checkId: "fs.sessions_store.perms_readable",
      severity: "warn",
      title: "sessions.json is readable by others",
      detail: detail("routing and transcript metadata can be sensitive."),
      remediation: fix,
    };
  if (name === "gateway.token")
    return {
      checkId: "fs.gateway_token.perms_readable",
      severity: "critical",
      title: "The gateway token is readable by other users",
      detail: `${p.file} has mode ${p.mode.toString(8).padStart(4, "0")}.`,
      remediation: `${fix} (or run \`pincer security audit --fix\`).`,
    };
  return {
    checkId: "fs.state.perms_readable",
    severity: "warn",
    title: "State is readable by other users",
    detail: `${p.file} has mode ${p.mode.toString(8).padStart(4, "0")}.`,
    remediation: `${fix} (or run \`pincer security audit --fix\`).`,
  };
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

/**
 * A secret as written in the file, with a whole-value `${VAR}` reference read from the environment
 * (the raw file keeps references: the placeholder's own letters are not the token's strength).
 */
function secretOf(v: unknown, env: NodeJS.ProcessEnv): string | undefined {
  if (typeof v !== "string") return undefined;
  const ref = /^\$\{([A-Z_][A-Z0-9_]*)\}$/.exec(v);
  return ref ? env[ref[1]!] || undefined : v;
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

  // --- DM access and session isolation, per channel and account, with OpenClaw's checkIds and texts.
  const rawSession = asRecord(raw.session);
  const dmScope = config?.session?.dmScope ?? (typeof rawSession.dmScope === "string" ? rawSession.dmScope : "main");
  const mainKey = config?.session?.mainKey ?? "main";
  const seen = new Map<string, Set<string>>();
  if (dmScope === "main")
    for (const { agentId, store } of input.stores)
      for (const [ch, who] of await seenDmSenders(store, `agent:${agentId}:${mainKey}`)) {
        const all = seen.get(ch) ?? new Set<string>();
        for (const x of who) all.add(x);
        seen.set(ch, all);
      }
  const surfaces = dmSurfaces(raw);
  const scoped = new Set<string>();
  for (const d of surfaces) {
    // A disabled channel or account takes no messages: nothing to audit (as OpenClaw skips it).
    if (!d.enabled) continue;
    const label = labelOf(d.channel);
    const wildcard = d.allowFrom.includes("*");
    const allowFromKey = `${d.allowFromPath}allowFrom`;
    if (d.policy === "open") {
      add({
        checkId: `channels.${d.channel}.dm.open`,
        severity: "critical",
        title: `${label} DMs are open`,
        detail: `${d.policyPath}="open" allows anyone to DM the bot.`,
        remediation: `Use pairing/allowlist; if you really need open DMs, ensure ${allowFromKey} includes "*".`,
      });
      if (!wildcard)
        add({
          checkId: `channels.${d.channel}.dm.open_invalid`,
          severity: "warn",
          title: `${label} DM config looks inconsistent`,
          detail: `"open" requires ${allowFromKey} to include "*".`,
        });
    }
    if (d.policy === "disabled") {
      add({
        checkId: `channels.${d.channel}.dm.disabled`,
        severity: "info",
        title: `${label} DMs are disabled`,
        detail: `${d.policyPath}="disabled" ignores inbound DMs.`,
      });
      continue;
    }
    if (dmScope !== "main") continue;
    // Config and pairing approvals together; `111` and `tg:111` are one sender.
    const senders = new Set(
      [...d.allowFrom.filter((x) => x !== "*"), ...pairedSenders(input.home, d.channel, d.accountId)]
        .map((x) => normalizeAllowEntry(d.channel, x))
        .filter(Boolean),
    );
    const seenCount = seen.get(d.channel)?.size ?? 0;
    if (!wildcard && senders.size <= 1 && seenCount < 2) continue;
    scoped.add(d.channel);
    add({
      checkId: `channels.${d.channel}.dm.scope_main_multiuser`,
      // Pincer's own evidence: several senders already wrote into the one session.
      severity: seenCount >= 2 ? "critical" : "warn",
      title: `${label} DMs share the main session`,
      detail:
        "Multiple DM senders currently share the main session, which can leak context across users." +
        (seenCount >= 2 ? ` ${seenCount} different senders have already written to it.` : ""),
      remediation:
        'Run: pincer config set session.dmScope "per-channel-peer" (or "per-account-channel-peer" for multi-account channels) to isolate DM sessions per sender.',
    });
  }
  // Senders seen on channels no config block describes (bridges through the inbound API).
  if (dmScope === "main")
    for (const [ch, who] of seen) {
      if (scoped.has(ch) || who.size < 2 || surfaces.some((d) => d.channel === ch && !d.enabled)) continue;
      add({
        checkId: `channels.${ch}.dm.scope_main_multiuser`,
        severity: "critical",
        title: `${labelOf(ch)} DMs share the main session`,
        detail: `Multiple DM senders currently share the main session, which can leak context across users. ${who.size} different senders have already written to it.`,
        remediation:
          'Run: pincer config set session.dmScope "per-channel-peer" (or "per-account-channel-peer" for multi-account channels) to isolate DM sessions per sender.',
      });
    }
  // Telegram allowlists authorise numeric user ids only: a @username entry never matches (OpenClaw's finding).
  const badTelegram = [
    ...new Set(unmatchableTelegramAllowEntries(asRecord(raw.channels).telegram).map((x) => x.entry)),
  ];
  if (badTelegram.length > 0) {
    const examples = badTelegram.slice(0, 5);
    const more = badTelegram.length > examples.length ? ` (+${badTelegram.length - examples.length} more)` : "";
    add({
      checkId: "channels.telegram.allowFrom.invalid_entries",
      severity: "warn",
      title: "Telegram allowlist contains non-numeric entries",
      detail: `Telegram sender authorization requires numeric Telegram user IDs. Found non-numeric allowFrom entries: ${examples.join(", ")}${more}.`,
      remediation: "Replace @username entries with numeric Telegram user IDs, then re-run the audit.",
    });
  }
  // --- Channels whose messages arrive through the inbound API with no channels.<ch> block: no gate.
  const configured = new Set(surfaces.map((d) => d.channel));
  const envelopeChannels = new Set<string>();
  for (const { store } of input.stores)
    for (const r of (await store.list()).rows) {
      const ch = (r.entry.channel ?? r.entry.lastChannel)?.toLowerCase();
      if (ch && !INTERNAL_CHANNELS.has(ch) && !configured.has(ch)) envelopeChannels.add(ch);
    }
  for (const ch of [...envelopeChannels].sort())
    add({
      checkId: `channels.${ch}.dm.ungated`,
      severity: "warn",
      title: `${labelOf(ch)} messages arrive with no DM policy`,
      detail: `Sessions on ${ch} come through the inbound API, and there is no channels.${ch} block: Pincer applies no dmPolicy or allowFrom to them, so whoever holds a token that reaches ${ch} decides who may write.`,
      remediation: `Gate senders in the bridge, or give channels.${ch} a dmPolicy and allowFrom the bridge's senders are checked against.`,
    });
  const signals = multiUserSignals(raw);
  if (signals.length > 0)
    add({
      checkId: "security.trust_model.multi_user_heuristic",
      severity: "warn",
      title: "Potential multi-user setup detected (personal-assistant model warning)",
      detail: `Heuristic signals indicate this gateway may be reachable by multiple users:\n${signals.map((x) => `- ${x}`).join("\n")}`,
      remediation:
        'If users may be mutually untrusted, split trust boundaries (separate gateways and credentials). If you intentionally run shared-user access, keep session.dmScope at "per-channel-peer" and deny the tools they must not use.',
    });

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
  const token = secretOf(asRecord(gw.auth).token, input.env) ?? input.env.PINCER_GATEWAY_TOKEN;
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
    // 24 random bytes (what OpenClaw's onboard generates) is the bar: a state dir it set up passes.
    if (bits < 192) {
      add({
        checkId: "gateway.token_weak",
        severity: remote ? "critical" : "warn",
        title: "The gateway token is weak",
        detail: `The configured token carries about ${Math.floor(bits / 8)} bytes of entropy (under 24).`,
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
    const t = secretOf(asRecord(c).token, input.env);
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
    const hook: Record<string, unknown> = { ...asRecord(h), token: secretOf(asRecord(h).token, input.env) };
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

  // --- OpenClaw's hooks block (`hooks.enabled`, `/hooks/agent`): its findings, as OpenClaw reports them.
  const hooks = asRecord(raw.hooks);
  if (hooks.enabled === true) {
    const exposed = remote || (typeof gw.bind === "string" && gw.bind !== "loopback");
    const note =
      " (OpenClaw's /hooks/agent endpoint; Pincer serves hooks.endpoints instead, but an OpenClaw gateway on this state dir would run it)";
    if (typeof hooks.defaultSessionKey !== "string" || hooks.defaultSessionKey.trim() === "")
      add({
        checkId: "hooks.default_session_key_unset",
        severity: "warn",
        title: "hooks.defaultSessionKey is not configured",
        detail: `Hook agent runs without explicit sessionKey use generated per-request keys. Set hooks.defaultSessionKey to keep hook ingress scoped to a known session${note}.`,
        remediation: 'Set hooks.defaultSessionKey (for example, "hook:ingress").',
      });
    const agentIds = strings(hooks.allowedAgentIds);
    if (agentIds === undefined || agentIds.includes("*"))
      add({
        checkId: "hooks.allowed_agent_ids_unrestricted",
        severity: exposed ? "critical" : "warn",
        title: "Hook agent routing allows any configured agent",
        detail: `hooks.allowedAgentIds is unset or includes '*', so authenticated hook callers may route to any configured agent id${note}.`,
        remediation:
          'Set hooks.allowedAgentIds to an explicit allowlist (for example, ["hooks", "main"]) or [] to deny explicit agent routing.',
      });
    if (hooks.allowRequestSessionKey === true) {
      add({
        checkId: "hooks.request_session_key_enabled",
        severity: exposed ? "critical" : "warn",
        title: "External hook payloads may override sessionKey",
        detail: `hooks.allowRequestSessionKey=true allows \`/hooks/agent\` callers to choose the session key. Treat hook token holders as full-trust unless you also restrict prefixes${note}.`,
        remediation:
          "Set hooks.allowRequestSessionKey=false (recommended) or constrain hooks.allowedSessionKeyPrefixes.",
      });
      if ((strings(hooks.allowedSessionKeyPrefixes) ?? []).length === 0)
        add({
          checkId: "hooks.request_session_key_prefixes_missing",
          severity: exposed ? "critical" : "warn",
          title: "Request sessionKey override is enabled without prefix restrictions",
          detail: `hooks.allowRequestSessionKey=true and hooks.allowedSessionKeyPrefixes is unset/empty, so request payloads can target arbitrary session key shapes${note}.`,
          remediation: 'Set hooks.allowedSessionKeyPrefixes (for example, ["hook:"]) or disable request overrides.',
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

  // --- Files others can read, under OpenClaw's checkIds where OpenClaw checks the same file.
  for (const p of loosePermissions(input.home, input.configFile))
    add(permissionFinding(input.home, p, input.configFile));

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
