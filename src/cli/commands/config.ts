/**
 * `pincer config validate [--config <file>]`: loads the config the other commands would load and
 * prints every problem in it (file, key path, value, what was expected), so a typo is found before
 * a gateway is started on it. Exit 1 when there is any problem, 0 and "config ok" otherwise.
 */
import { ConfigError, loadConfig } from "../../config/load.ts";
import type { CliIO } from "../io.ts";

export function configValidate(io: CliIO, configPath: string | undefined): number {
  try {
    const loaded = loadConfig({ configPath, env: io.env });
    for (const w of loaded.warnings) io.err(`warning: ${loaded.path ?? "config"}: ${w}`);
    io.out(`config ok${loaded.path ? ` (${loaded.path})` : " (no config file: built-in defaults)"}`);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const file = err.file ?? "config";
    for (const issue of err.issues) io.err(`${file}: ${issue}`);
    io.err(`${err.issues.length} problem${err.issues.length === 1 ? "" : "s"} in ${file}`);
    return 1;
  }
}
