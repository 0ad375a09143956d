/** The `pincer` command line. Each subcommand lives in ./commands; this file only wires them. */
import { Command, CommanderError } from "commander";
import { loadContext, type CliContext } from "./context.ts";
import { processIO, type CliIO } from "./io.ts";
import { exitCodeFor } from "../errors.ts";
import { PINCER_VERSION } from "../version.ts";

// Commands are loaded when they run: a short command does not pay for the others' modules.
const commands = {
  list: () => import("./commands/sessions-list.ts"),
  history: () => import("./commands/sessions-history.ts"),
  mutate: () => import("./commands/sessions-mutate.ts"),
  cleanup: () => import("./commands/sessions-cleanup.ts"),
  resolve: () => import("./commands/sessions-resolve.ts"),
  status: () => import("./commands/status.ts"),
  gateway: () => import("./commands/gateway.ts"),
  chat: () => import("./commands/chat.ts"),
  audit: () => import("./commands/security-audit.ts"),
  store: () => import("./commands/store.ts"),
  config: () => import("./commands/config.ts"),
  pairing: () => import("./commands/pairing.ts"),
  channels: () => import("./commands/channels.ts"),
  doctor: () => import("./commands/doctor.ts"),
};

/** Collapses any error to the one line a user sees. */
function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .join("; ");
}

export async function runCli(argv: string[], io: CliIO = processIO): Promise<number> {
  let exitCode = 0;
  const program = new Command();
  let ctx: CliContext | null = null;
  const context = (): CliContext => (ctx ??= loadContext(io, program.opts<{ config?: string }>().config));
  const run = (work: () => Promise<number>) => async () => {
    exitCode = await work();
  };

  program
    .name("pincer")
    .description("Session engine for multi-channel AI agent gateways")
    .version(PINCER_VERSION)
    .option("--config <path>", "config file (default: $PINCER_CONFIG, then $PINCER_HOME/pincer.json)")
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showSuggestionAfterError(true);

  const storeOpts = (cmd: Command): Command =>
    cmd
      .option("--agent <id>", "agent whose store to use")
      .option("--all-agents", "every agent's store")
      .option("--store <path>", "an explicit sessions.json (or SQLite file: .sqlite, .sqlite3, .db)");

  const sessions = storeOpts(
    program
      .command("sessions")
      .description("list sessions (newest first)")
      .option("--json", "print JSON")
      .option("--active <minutes>", "only sessions updated within N minutes")
      .option("--limit <n>", "at most N sessions")
      .enablePositionalOptions(),
  ).action(async (opts) => run(async () => (await commands.list()).sessionsList(context(), opts))());

  // OpenClaw's seeds spell the listing `sessions list`: the same command.
  storeOpts(
    sessions
      .command("list")
      .description("list sessions (the same as `sessions`)")
      .option("--json", "print JSON")
      .option("--active <minutes>", "only sessions updated within N minutes")
      .option("--limit <n>", "at most N sessions"),
  ).action(async (opts) => run(async () => (await commands.list()).sessionsList(context(), opts))());
  sessions
    .command("clear")
    .description("clear a session's history (transcript archived), keeping its settings")
    .argument("<key>")
    .option("--json", "print JSON")
    .option("--store <path>", "an explicit sessions.json (or SQLite file: .sqlite, .sqlite3, .db)")
    .action(async (key: string, opts) =>
      run(async () => (await commands.mutate()).sessionsClear(context(), key, opts))(),
    );
  storeOpts(
    sessions
      .command("history")
      .description("show a session's messages")
      .argument("<key>")
      .option("--json", "print JSON")
      .option("--limit <n>", "last N messages"),
  ).action(async (key: string, opts) =>
    run(async () => (await commands.history()).sessionsHistory(context(), key, opts))(),
  );
  sessions
    .command("reset")
    .description("start a new session id under the key (old transcript archived)")
    .argument("<key>")
    .option("--json", "print JSON")
    .option("--store <path>", "an explicit sessions.json (or SQLite file: .sqlite, .sqlite3, .db)")
    .action(async (key: string, opts) =>
      run(async () => (await commands.mutate()).sessionsReset(context(), key, opts))(),
    );
  sessions
    .command("delete")
    .description("remove a session (transcript archived as .deleted)")
    .argument("<key>")
    .option("--json", "print JSON")
    .option("--store <path>", "an explicit sessions.json (or SQLite file: .sqlite, .sqlite3, .db)")
    .action(async (key: string, opts) =>
      run(async () => (await commands.mutate()).sessionsDelete(context(), key, opts))(),
    );
  storeOpts(
    sessions
      .command("cleanup")
      .description("run store maintenance now")
      .option("--dry-run", "print what --enforce would do, change nothing")
      .option("--enforce", "apply even when maintenance.mode is warn")
      .option("--fix-missing", "remove rows whose transcript file is gone")
      .option("--active-key <key>", "never remove this session")
      .option("--json", "print JSON"),
  ).action(async (opts) => run(async () => (await commands.cleanup()).sessionsCleanup(context(), opts))());
  sessions
    .command("resolve")
    .description("explain how a message would be routed (envelope JSON on stdin, or flags)")
    .option("--channel <channel>")
    .option("--chat-type <type>", "direct | group | channel")
    .option("--peer <id>")
    .option("--account <id>")
    .option("--group <id>")
    .option("--thread <id>")
    .option("--topic <id>", "Telegram forum topic")
    .option("--parent-peer <id>", "the conversation around the peer (Discord thread's channel, Matrix DM's room)")
    .option("--forum", "Telegram: the group is a forum")
    .option("--sender <id>")
    .option("--text <text>")
    .option("--store <path>", "an explicit sessions.json (or SQLite file: .sqlite, .sqlite3, .db)")
    .action(async (opts) => run(async () => (await commands.resolve()).sessionsResolve(context(), opts))());

  program
    .command("status")
    .description("where state lives and what the session stores hold")
    .option("--json", "print JSON")
    .action(async (opts) => run(async () => (await commands.status()).status(context(), opts))());

  program
    .command("gateway")
    .description("run the gateway (HTTP + WebSocket + WebChat) on 127.0.0.1:18789")
    .option("--port <port>", "port (default 18789; 0 picks a free one)")
    .option("--host <host>", "interface (beyond loopback requires gateway.auth.token)")
    .option("--log-format <format>", "pretty (one line per record) or json (default: pretty on a terminal, else json)")
    .action(async (opts) => run(async () => (await commands.gateway()).gateway(context(), opts))());

  program
    .command("security")
    .description("security checks")
    .command("audit")
    .description(
      "check the config and state for ways one user's context could reach another's (exit 2 on a critical finding)",
    )
    .option("--json", "print JSON")
    .option("--fix", "repair what is safe to repair (file permissions)")
    .action(async (opts) =>
      run(async () => (await commands.audit()).securityAudit(io, program.opts<{ config?: string }>().config, opts))(),
    );

  const store = program
    .command("store")
    .description("copy whole session stores between backends (fs, sqlite, postgres, redis)");
  const collect = (value: string, prev: string[]): string[] => [...prev, value];
  store
    .command("migrate")
    .description("copy every agent's rows and transcripts from one store to another (resumable, verified)")
    .requiredOption("--from <location>", "source: fs:<dir> | <dir> | sqlite:<dir> | postgres://... | redis://...")
    .requiredOption("--to <location>", "destination, same forms")
    .option("--dry-run", "count what would be copied, write nothing")
    .option("--agent <id>", "only this agent (repeatable)", collect, [])
    .option("--json", "print JSON")
    .action(async (opts) => run(async () => (await commands.store()).storeMigrate(io, opts))());
  store
    .command("import-openclaw")
    .description("copy an OpenClaw state dir (agents/<id>/sessions/) into the configured store")
    .argument("<dir>")
    .option("--dry-run", "count what would be copied, write nothing")
    .option("--json", "print JSON")
    .action(async (dir: string, opts) =>
      run(async () => (await commands.store()).storeImportOpenclaw(context(), dir, opts))(),
    );
  store
    .command("export")
    .description("copy the configured store into a directory in OpenClaw's layout")
    .argument("<dir>")
    .option("--format <format>", "output format (only: openclaw)", "openclaw")
    .option("--dry-run", "count what would be copied, write nothing")
    .option("--json", "print JSON")
    .action(async (dir: string, opts) => run(async () => (await commands.store()).storeExport(context(), dir, opts))());

  const configCmd = program.command("config").description("check and edit the config file (comments kept)");
  const cfgPath = (opts: { config?: string }) => opts.config ?? program.opts<{ config?: string }>().config;
  configCmd
    .command("validate")
    .description("load the config and print every problem in it (exit 1 when there is any)")
    .option("--config <path>", "config file (default: the one the other commands use)")
    .action(async (opts: { config?: string }) =>
      run(async () => (await commands.config()).configValidate(io, cfgPath(opts)))(),
    );
  configCmd
    .command("get")
    .description("print the value at a dot path (secrets redacted)")
    .argument("<path>")
    .option("--json", "print JSON")
    .option("--config <path>", "config file")
    .action(async (key: string, opts: { config?: string; json?: boolean }) =>
      run(async () => (await commands.config()).configGet(io, cfgPath(opts), key, opts))(),
    );
  configCmd
    .command("set")
    .description("set the value at a dot path (JSON5 value, else a string); checked before it is written")
    .argument("<path>")
    .argument("<value>")
    .option("--strict-json", "the value must parse as JSON5")
    .option("--json", "alias of --strict-json")
    .option("--config <path>", "config file")
    .action(async (key: string, value: string, opts: { config?: string; strictJson?: boolean; json?: boolean }) =>
      run(async () => (await commands.config()).configSet(io, cfgPath(opts), key, value, opts))(),
    );
  configCmd
    .command("unset")
    .description("remove the value at a dot path")
    .argument("<path>")
    .option("--config <path>", "config file")
    .action(async (key: string, opts: { config?: string }) =>
      run(async () => (await commands.config()).configUnset(io, cfgPath(opts), key))(),
    );
  configCmd
    .command("file")
    .description("print the config file path")
    .option("--config <path>", "config file")
    .action(async (opts: { config?: string }) =>
      run(async () => (await commands.config()).configFile(io, cfgPath(opts)))(),
    );

  program
    .command("doctor")
    .description("check the config, the state dir, the stores and OpenClaw leftovers; --fix repairs what is safe")
    .option("--fix", "repair: permissions, legacy config keys")
    .option("--json", "print JSON")
    .action(async (opts: { fix?: boolean; json?: boolean }) =>
      run(async () => (await commands.doctor()).doctor(io, program.opts<{ config?: string }>().config, opts))(),
    );

  const gatewayOpts = (cmd: Command): Command =>
    cmd
      .option("--url <url>", "gateway URL (default http://127.0.0.1:18789)")
      .option("--token <token>", "gateway token (default: PINCER_GATEWAY_TOKEN or $PINCER_HOME/gateway.token)");
  const pairing = program.command("pairing").description("DM pairing requests of native channels (OpenClaw's files)");
  pairing
    .command("list")
    .description("pending pairing requests of a channel")
    .argument("<channel>", "telegram, slack, discord or signal")
    .option("--account <id>", "only this account's requests")
    .option("--json", "print JSON")
    .action(async (channel: string, opts) =>
      run(async () => (await commands.pairing()).pairingList(context(), channel, opts))(),
    );
  gatewayOpts(
    pairing
      .command("approve")
      .description("approve a pairing code: the sender may message the agent")
      .argument("<channel>")
      .argument("<code>")
      .option("--account <id>", "the account the code was issued on")
      .option("--notify", "tell the sender over the channel (through the running gateway)"),
  ).action(async (channel: string, code: string, opts) =>
    run(async () => (await commands.pairing()).pairingApprove(context(), channel, code, opts))(),
  );
  pairing
    .command("reject")
    .description("drop a pending pairing code without approving it")
    .argument("<channel>")
    .argument("<code>")
    .option("--account <id>", "the account the code was issued on")
    .action(async (channel: string, code: string, opts) =>
      run(async () => (await commands.pairing()).pairingReject(context(), channel, code, opts))(),
    );
  const channelsCmd = program.command("channels").description("native channels of the running gateway");
  gatewayOpts(
    channelsCmd
      .command("status")
      .description("per channel and account: state, connected, last inbound/outbound, errors, queue depth")
      .option("--probe", "also ask each platform who the bot is")
      .option("--json", "print JSON"),
  ).action(async (opts) => run(async () => (await commands.channels()).channelsStatus(context(), opts))());

  program
    .command("chat")
    .description("send a message to the running gateway and print the reply")
    .argument("<text...>")
    .option("--session <key>", "session key (default agent:main:main)")
    .option("--url <url>", "gateway URL (default http://127.0.0.1:18789)")
    .option("--token <token>", "gateway token (default: PINCER_GATEWAY_TOKEN or $PINCER_HOME/gateway.token)")
    .option("--timeout <seconds>", "give up after N seconds (default 120)")
    .option("--json", "print JSON")
    .action(async (text: string[], opts) => run(async () => (await commands.chat()).chat(context(), text, opts))());

  try {
    if (argv.length <= 2) {
      exitCode = await (await commands.status()).status(context(), {});
      io.err("Run `pincer --help` for commands.");
      return exitCode;
    }
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successful exits; commander already printed the message.
      return err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.version" ? 0 : 1;
    }
    io.err(`error: ${oneLine(err)}`);
    return exitCodeFor(err);
  }
}
