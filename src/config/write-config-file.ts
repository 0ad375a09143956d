/**
 * Writes a config file over the old one atomically (temp + fsync + rename, then the directory
 * fsynced), keeping the file's mode (0600 for a new file): shared by `pincer config set|unset`
 * and the gateway's cron enable/disable write-back.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export function writeConfigFileAtomic(file: string, text: string): void {
  let mode = 0o600;
  try {
    mode = fs.statSync(file).mode & 0o777;
  } catch {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  }
  const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = fs.openSync(tmp, "wx", mode);
  try {
    fs.writeFileSync(fd, text);
    // The umask may have narrowed the mode given to open.
    fs.fchmodSync(fd, mode);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  // The rename itself durable (best effort: some filesystems cannot fsync a directory).
  try {
    const dir = fs.openSync(path.dirname(file), "r");
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
  } catch {
    // ignored
  }
}
