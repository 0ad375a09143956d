/**
 * The Control UI's cron enable/disable written back to the config file: `cron.jobs[i].enabled`
 * set in place by the JSON5 editor `pincer config set` uses (comments, order and quoting kept),
 * the file replaced atomically with its mode kept. A job the file does not list itself (it comes
 * from an `$include`) is not written: the caller keeps the choice in the state file instead.
 */
import * as fs from "node:fs";
import JSON5 from "json5";
import { getAt, setInText } from "../config/json5-edit.ts";
import { writeConfigFileAtomic } from "../config/write-config-file.ts";

/** Written (or nothing to write: enabling a job whose `enabled` is absent), or why not. */
export type CronConfigWrite = { written: true } | { written: false; reason: string };

export function writeCronEnabled(file: string, id: string, enabled: boolean): CronConfigWrite {
  let text: string;
  let raw: unknown;
  try {
    // Read now, not at start: `pincer config set` or an editor may have changed the file since.
    text = fs.readFileSync(file, "utf8");
    raw = text.trim() === "" ? {} : JSON5.parse(text);
  } catch (err) {
    return { written: false, reason: `${file} could not be read (${(err as Error).message})` };
  }
  const jobs = getAt(raw, ["cron", "jobs"]);
  const index = Array.isArray(jobs)
    ? jobs.findIndex((j) => j !== null && typeof j === "object" && (j as { id?: unknown }).id === id)
    : -1;
  if (index < 0) return { written: false, reason: `${file} does not list cron job ${id} itself (an $include?)` };
  const at = ["cron", "jobs", index, "enabled"];
  const current = getAt(raw, at);
  // An absent `enabled` already means enabled: the file stays as it is.
  if (current === enabled || (enabled && current === undefined)) return { written: true };
  try {
    const next = setInText(text, at, enabled);
    if (getAt(JSON5.parse(next), at) !== enabled) throw new Error("the edit did not take");
    writeConfigFileAtomic(file, next);
  } catch (err) {
    return { written: false, reason: `${file} could not be written (${(err as Error).message})` };
  }
  return { written: true };
}
