/** Bolt's and the Web API's logger interface over the account's pino logger (their chatter at debug). */
import { LogLevel, type Logger as SlackLogger } from "@slack/bolt";
import type { Logger } from "pino";

export function slackLogger(log: Logger): SlackLogger {
  let level: LogLevel = LogLevel.INFO;
  const text = (msg: unknown[]): string => msg.map((m) => (typeof m === "string" ? m : String(m))).join(" ");
  return {
    debug: (...msg: unknown[]) => log.debug(text(msg)),
    // Bolt logs routine reconnects at info/warn; the adapter reports what matters itself.
    info: (...msg: unknown[]) => log.debug(text(msg)),
    warn: (...msg: unknown[]) => log.info(text(msg)),
    error: (...msg: unknown[]) => log.warn(text(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
