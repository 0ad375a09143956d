/**
 * Where the gateway listens and which tokens it accepts. Without a configured token the gateway
 * makes one (CSPRNG, 256 bits) in `$PINCER_HOME/gateway.token` (0600), so it is never open, and
 * it refuses to listen beyond loopback unless the operator chose the token.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { PincerConfig } from "../config/schema.ts";
import { PincerError } from "../errors.ts";
import { DEFAULT_MAX_MESSAGE_BYTES } from "../config/gateway-schema.ts";
import type { ClientToken } from "./auth.ts";

export const DEFAULT_PORT = 18789;
export const DEFAULT_HOST = "127.0.0.1";

export interface GatewaySettings {
  host: string;
  port: number;
  token: string;
  /** Where the token came from, for the startup log (never the token itself). */
  tokenSource: "config" | "env" | "file";
  /** A configured token under 16 characters (accepted on loopback only; the start-up log warns). */
  weakToken: boolean;
  clients: ClientToken[];
  maxBodyBytes: number;
  webSession: { idleMs: number; absoluteMs: number };
  tls: { cert: Buffer; key: Buffer } | null;
  /** authMs: an unauthenticated WebSocket is closed after this long. */
  timeouts: { headersMs: number; requestMs: number; authMs: number };
}

export class GatewaySettingsError extends PincerError {
  override readonly code = "gateway_settings_invalid";
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function tokenFilePath(home: string): string {
  return path.join(home, "gateway.token");
}

/** Reads the generated token, creating it on first use. */
export function ensureTokenFile(home: string): string {
  const file = tokenFilePath(home);
  try {
    const t = fs.readFileSync(file, "utf8").trim();
    if (t.length >= 16) return t;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString("base64url");
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return token;
}

const MIN_TOKEN_CHARS = 16;

export function resolveGatewaySettings(
  config: PincerConfig,
  home: string,
  env: NodeJS.ProcessEnv,
  overrides: { host?: string; port?: number } = {},
): GatewaySettings {
  const g = config.gateway ?? {};
  const host = overrides.host ?? env.PINCER_GATEWAY_HOST ?? g.host ?? DEFAULT_HOST;
  const envPort = env.PINCER_GATEWAY_PORT !== undefined ? Number(env.PINCER_GATEWAY_PORT) : undefined;
  if (envPort !== undefined && (!Number.isInteger(envPort) || envPort < 0 || envPort > 65535)) {
    throw new GatewaySettingsError(
      `PINCER_GATEWAY_PORT: got ${JSON.stringify(env.PINCER_GATEWAY_PORT)}, expected a port number 0-65535`,
    );
  }
  const port = overrides.port ?? envPort ?? g.port ?? DEFAULT_PORT;
  const configured = g.auth?.token ?? (env.PINCER_GATEWAY_TOKEN || undefined);
  const tokenKey = g.auth?.token ? "gateway.auth.token" : "PINCER_GATEWAY_TOKEN";
  // A short token (OpenClaw allows them) is tolerated only where the network cannot reach it.
  const weakToken = configured !== undefined && configured.length < MIN_TOKEN_CHARS;
  if (weakToken && (!isLoopback(host) || !g.auth?.token))
    throw new GatewaySettingsError(
      `${tokenKey}: got a token of ${configured.length} characters, expected at least ${MIN_TOKEN_CHARS}` +
        (g.auth?.token ? ` when the gateway binds beyond loopback (${host})` : ""),
    );
  if (!configured && !isLoopback(host)) {
    throw new GatewaySettingsError(
      `gateway.host: got ${JSON.stringify(host)}, which is beyond loopback; set gateway.auth.token or PINCER_GATEWAY_TOKEN before binding to a non-loopback address`,
    );
  }
  const token = configured ?? ensureTokenFile(home);
  const clientsRaw = g.clients;
  const clients: ClientToken[] = [];
  if (clientsRaw !== undefined) {
    if (!Array.isArray(clientsRaw))
      throw new GatewaySettingsError(
        `gateway.clients: got ${JSON.stringify(clientsRaw)}, expected an array of { id, token, channels }`,
      );
    clientsRaw.forEach((c: unknown, i) => {
      const o = c as { id?: unknown; token?: unknown; channels?: unknown };
      if (
        typeof o?.id !== "string" ||
        typeof o.token !== "string" ||
        o.token.length < 16 ||
        !Array.isArray(o.channels) ||
        !o.channels.every((x) => typeof x === "string")
      ) {
        throw new GatewaySettingsError(
          `gateway.clients[${i}]: got ${JSON.stringify(c)}, expected { id: string, token: string (≥16 chars), channels: string[] }`,
        );
      }
      clients.push({ id: o.id, token: o.token, channels: o.channels as string[] });
    });
  }
  return {
    host,
    port,
    token,
    tokenSource: g.auth?.token ? "config" : env.PINCER_GATEWAY_TOKEN ? "env" : "file",
    weakToken,
    clients,
    // A body must fit the largest message with its envelope, so the message limit is the one people meet.
    maxBodyBytes: g.maxBodyBytes ?? (g.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES) + 64 * 1024,
    webSession: {
      idleMs: (g.webSession?.idleMinutes ?? 30) * 60_000,
      absoluteMs: (g.webSession?.absoluteHours ?? 12) * 3_600_000,
    },
    tls: g.tls
      ? { cert: readPem(g.tls.cert, "gateway.tls.cert", home), key: readPem(g.tls.key, "gateway.tls.key", home) }
      : null,
    timeouts: {
      headersMs: g.timeouts?.headersMs ?? 10_000,
      requestMs: g.timeouts?.requestMs ?? 30_000,
      authMs: g.timeouts?.authMs ?? 10_000,
    },
  };
}

function readPem(file: string, key: string, home: string): Buffer {
  const full = path.resolve(home, file);
  try {
    const pem = fs.readFileSync(full);
    if (!pem.includes("-----BEGIN ")) throw new GatewaySettingsError(`${key}: ${full} is not a PEM file`);
    return pem;
  } catch (err) {
    if (err instanceof GatewaySettingsError) throw err;
    throw new GatewaySettingsError(
      `${key}: cannot read ${full} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
}
