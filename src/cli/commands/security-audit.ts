/**
 * `pincer security audit [--json] [--fix]`: prints findings (critical first) and exits 2 while a
 * critical finding remains. It works even when the config does not load: that is a finding too.
 */
import * as fs from "node:fs";
import JSON5 from "json5";
import { resolveIncludes } from "../../config/includes.ts";
import { ConfigError, loadConfig, resolveHome } from "../../config/load.ts";
import { resolveAgents } from "../../config/resolve.ts";
import { openAgentStore } from "../../session/open-store.ts";
import { applyFixes, runAudit, type AuditReport } from "../../security/audit.ts";
import type { SessionStore } from "../../store/types.ts";
import type { CliIO } from "../io.ts";

const ICON = { critical: "✖ CRITICAL", warn: "▲ WARN", info: "ℹ INFO" } as const;

export async function securityAudit(
  io: CliIO,
  configPath: string | undefined,
  opts: { json?: boolean; fix?: boolean },
): Promise<number> {
  const env = io.env;
  let config = null;
  let configError: string | undefined;
  let file: string | null = null;
  let home = resolveHome(env);
  try {
    const loaded = loadConfig({ configPath, env });
    config = loaded.config;
    file = loaded.path;
    home = loaded.home;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    configError = err.issues.join("; ");
    file = err.file;
  }
  let rawConfig: Record<string, unknown> | null = null;
  if (file) {
    try {
      rawConfig = resolveIncludes(JSON5.parse(fs.readFileSync(file, "utf8")), file) as Record<string, unknown>;
    } catch {
      rawConfig = null;
    }
  }
  const fixes = opts.fix ? applyFixes(home) : [];
  const stores: Array<{ agentId: string; store: SessionStore }> = [];
  if (config) {
    for (const agentId of resolveAgents(config).ids) {
      try {
        stores.push({ agentId, store: await openAgentStore(config, home, agentId, { readOnly: true }) });
      } catch {
        // No store yet for this agent: nothing to inspect.
      }
    }
  }
  let report: AuditReport;
  try {
    report = await runAudit({ config, configError, rawConfig, configFile: file, home, env, stores, now: io.now() });
  } finally {
    for (const s of stores) await s.store.close();
  }
  if (opts.json) io.out(JSON.stringify(opts.fix ? { fix: { ok: true, actions: fixes }, report } : report, null, 2));
  else {
    for (const f of fixes) io.out(`fixed: chmod ${f.to} ${f.file} (was ${f.from})`);
    for (const f of report.findings) {
      io.out(`${ICON[f.severity]} ${f.checkId}: ${f.title}`);
      io.out(`    ${f.detail}`);
      if (f.remediation) io.out(`    → ${f.remediation}`);
    }
    io.out(`Summary: ${report.summary.critical} critical · ${report.summary.warn} warn · ${report.summary.info} info`);
  }
  return report.summary.critical > 0 ? 2 : 0;
}
