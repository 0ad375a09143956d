/**
 * `pincer pairing list|approve|reject <channel> …`: DM pairing requests, on the files themselves
 * (`$PINCER_HOME/credentials/`, OpenClaw's format and lock), so they work with or without a running
 * gateway. `approve --notify` goes through the running gateway, which approves and tells the sender.
 */
import { NATIVE_CHANNELS } from "../../config/channels-schema.ts";
import { PairingStore, type PairingRequest } from "../../channels/pairing-store.ts";
import type { CliContext } from "../context.ts";
import { CliError } from "../io.ts";
import { gatewayCall, type GatewayOpts } from "./channels.ts";

interface PairingOpts extends GatewayOpts {
  account?: string;
  json?: boolean;
  notify?: boolean;
}

function checkChannel(channel: string): string {
  const c = channel.trim().toLowerCase();
  if (!(NATIVE_CHANNELS as readonly string[]).includes(c))
    throw new CliError(`channel: got ${JSON.stringify(channel)}, expected one of ${NATIVE_CHANNELS.join(", ")}`);
  return c;
}

function checkCode(code: string): string {
  if (!/^[A-Za-z0-9]{8}$/.test(code.trim()))
    throw new CliError(`code: got ${JSON.stringify(code)}, expected the 8-character pairing code`);
  return code.trim().toUpperCase();
}

const store = (ctx: CliContext) => new PairingStore({ home: ctx.home, now: () => ctx.io.now() });

export async function pairingList(ctx: CliContext, channel: string, opts: PairingOpts): Promise<number> {
  const ch = checkChannel(channel);
  const requests = await store(ctx).list(ch, opts.account);
  if (opts.json) {
    ctx.io.out(JSON.stringify({ channel: ch, requests }, null, 2));
    return 0;
  }
  if (requests.length === 0) {
    ctx.io.out(`No pending ${ch} pairing requests.`);
    return 0;
  }
  for (const r of requests) ctx.io.out(line(r));
  return 0;
}

function line(r: PairingRequest): string {
  const meta = Object.entries(r.meta ?? {})
    .filter(([k]) => k !== "accountId")
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  return `${r.code}  ${r.id}  account ${r.meta?.accountId ?? "default"}  requested ${r.createdAt}${meta ? `  ${meta}` : ""}`;
}

export async function pairingApprove(
  ctx: CliContext,
  channel: string,
  code: string,
  opts: PairingOpts,
): Promise<number> {
  const ch = checkChannel(channel);
  const c = checkCode(code);
  if (opts.notify) {
    const res = await gatewayCall(ctx, opts, "pairing.approve", {
      channel: ch,
      code: c,
      notify: true,
      ...(opts.account ? { accountId: opts.account } : {}),
    });
    if (!res.approved) throw new CliError(`no pending ${ch} pairing request with code ${c}`);
    ctx.io.out(`Approved ${ch} sender ${String(res.id)} (notified).`);
    return 0;
  }
  const approved = await store(ctx).approve(ch, c, opts.account);
  if (!approved) throw new CliError(`no pending ${ch} pairing request with code ${c}`);
  ctx.io.out(`Approved ${ch} sender ${approved.id}.`);
  return 0;
}

export async function pairingReject(
  ctx: CliContext,
  channel: string,
  code: string,
  opts: PairingOpts,
): Promise<number> {
  const ch = checkChannel(channel);
  const c = checkCode(code);
  const rejected = await store(ctx).reject(ch, c, opts.account);
  if (!rejected) throw new CliError(`no pending ${ch} pairing request with code ${c}`);
  ctx.io.out(`Rejected ${ch} pairing request from ${rejected.id}.`);
  return 0;
}
