/**
 * `ChannelStateStore` for one account: a small JSON map in
 * `$PINCER_HOME/channels/state/<channel>-<account>.json` (0600, dir 0700), rewritten atomically
 * (temp + fsync + rename) on every `set` — Telegram's update offset must survive a crash exactly
 * as acknowledged, and it changes at most once per poll.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ensurePrivateDirSync } from "./jsonl-journal.ts";
import type { ChannelName, ChannelStateStore } from "./types.ts";

const SAFE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export class FileStateStore implements ChannelStateStore {
  readonly file: string;
  private values: Record<string, string> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(dir: string, channel: ChannelName, accountId: string) {
    // Account ids are checked by the config schema; refuse anything else rather than build a path from it.
    if (!SAFE.test(accountId)) throw new Error(`invalid account id for a state file: ${JSON.stringify(accountId)}`);
    this.file = path.join(dir, `${channel}-${accountId}.json`);
  }

  private load(): Record<string, string> {
    if (this.values) return this.values;
    try {
      const parsed = JSON.parse(fs.readFileSync(this.file, "utf8")) as unknown;
      this.values =
        parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
    } catch {
      this.values = {};
    }
    return this.values;
  }

  get(name: string): Promise<string | undefined> {
    const v = this.load()[name];
    return Promise.resolve(typeof v === "string" ? v : undefined);
  }

  set(name: string, value: string): Promise<void> {
    this.load()[name] = value;
    const snapshot = JSON.stringify(this.values);
    this.writing = this.writing.then(() => this.write(snapshot));
    return this.writing;
  }

  private write(text: string): void {
    ensurePrivateDirSync(path.dirname(this.file));
    const tmp = `${this.file}.${randomBytes(6).toString("hex")}.tmp`;
    const fd = fs.openSync(tmp, "w", 0o600);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }
}
