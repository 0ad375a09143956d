/** `pincer gateway`: runs the gateway in the foreground until SIGINT/SIGTERM, then shuts down gracefully. */
import { startGateway } from "../../gateway/start.ts";
import { GatewaySettingsError } from "../../gateway/settings.ts";
import { LogSettingsError } from "../../gateway/logger.ts";
import type { CliContext } from "../context.ts";
import { CliError, parsePositiveInt } from "../io.ts";

export async function gateway(
  ctx: CliContext,
  opts: { port?: string; host?: string; logFormat?: string },
): Promise<number> {
  const port = opts.port !== undefined ? (opts.port === "0" ? 0 : parsePositiveInt(opts.port, "--port")) : undefined;
  let running;
  try {
    running = await startGateway({
      config: ctx.config,
      home: ctx.home,
      env: ctx.io.env,
      port,
      host: opts.host,
      logFormat: opts.logFormat,
    });
  } catch (err) {
    if (err instanceof GatewaySettingsError || err instanceof LogSettingsError) throw new CliError(err.message);
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE")
      throw new CliError(`port ${port ?? "18789"} is already in use (another gateway running? use --port)`);
    throw err;
  }
  ctx.io.err(
    `Pincer gateway on ${running.url} — WebChat at ${running.url}/ (token: ${running.tokenSource === "file" ? `${ctx.home}/gateway.token` : `from ${running.tokenSource}`})`,
  );
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  await running.stop();
  return 0;
}
