/**
 * Telegram `@username` allowlist entries, as OpenClaw 2026.3.13 treats them: senders are authorised
 * by numeric user id only (a username can be renamed and claimed by someone else), so such an
 * entry never admits anyone — it is reported instead, by the key it sits under (start log) and by
 * the security audit (`channels.telegram.allowFrom.invalid_entries`, OpenClaw's finding).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AccessGate } from "../../src/channels/gate.ts";
import { PairingStore } from "../../src/channels/pairing-store.ts";
import { resolveChannelAccounts } from "../../src/channels/settings.ts";
import { unmatchableTelegramAllowEntries } from "../../src/config/channels-schema.ts";
import type { PincerConfig } from "../../src/config/schema.ts";
import { runAudit } from "../../src/security/audit.ts";

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
});
function home(): string {
  const h = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-tguser-"));
  homes.push(h);
  return h;
}

const telegram = {
  botToken: "123:abc",
  dmPolicy: "allowlist",
  allowFrom: ["@alice", "tg:1002", "telegram:@Bob", "*nope", 1003],
  groupAllowFrom: ["@carol"],
  groups: { "-100777": { allowFrom: ["@dave"], topics: { "42": { allowFrom: ["@erin", "1004"] } } } },
  accounts: { work: { allowFrom: ["@frank"] } },
};

describe("telegram @username allowlist entries", () => {
  it("are listed by key; numeric ids (prefixed or not) and * are not", () => {
    expect(unmatchableTelegramAllowEntries({ ...telegram, allowFrom: [...telegram.allowFrom, "*"] })).toEqual([
      { path: "channels.telegram.allowFrom", entry: "@alice" },
      { path: "channels.telegram.allowFrom", entry: "@Bob" },
      { path: "channels.telegram.allowFrom", entry: "*nope" },
      { path: "channels.telegram.groupAllowFrom", entry: "@carol" },
      { path: "channels.telegram.groups.-100777.allowFrom", entry: "@dave" },
      { path: "channels.telegram.groups.-100777.topics.42.allowFrom", entry: "@erin" },
      { path: "channels.telegram.accounts.work.allowFrom", entry: "@frank" },
    ]);
    expect(unmatchableTelegramAllowEntries(undefined)).toEqual([]);
  });

  it("never admit the sender whose username they name; the numeric id does", async () => {
    const h = home();
    const { accounts: _accounts, ...single } = telegram;
    const config = {
      channels: { telegram: { ...single, allowFrom: single.allowFrom.map(String) } },
    } as unknown as PincerConfig;
    const [account] = resolveChannelAccounts(config, h, {});
    const gate = new AccessGate({ config, pairing: new PairingStore({ home: h }) });
    const from = (senderId: string, senderName: string) => ({
      envelope: {
        channel: "telegram",
        accountId: "default",
        chatType: "direct" as const,
        peerId: senderId,
        senderId,
        senderName,
        text: "hi",
        messageId: `m-${senderId}`,
      },
    });
    expect((await gate.decide(from("5001", "@alice"), account!.access)).action).toBe("refuse");
    expect((await gate.decide(from("5002", "alice"), account!.access)).action).toBe("refuse");
    expect((await gate.decide(from("1002", "Bob"), account!.access)).action).toBe("accept");
  });

  it("the security audit reports them with OpenClaw's checkId", async () => {
    const raw = { channels: { telegram } };
    const report = await runAudit({
      config: raw as unknown as PincerConfig,
      rawConfig: raw,
      home: home(),
      env: {},
      stores: [],
      now: 0,
    });
    const finding = report.findings.find((f) => f.checkId === "channels.telegram.allowFrom.invalid_entries");
    expect(finding).toMatchObject({ severity: "warn" });
    expect(finding!.detail).toContain("@alice, @Bob, *nope, @carol, @dave (+2 more)");
  });
});
