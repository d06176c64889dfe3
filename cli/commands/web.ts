import type { Command } from "commander";
import { UsageError } from "../../src/errors.ts";
import { untilSignal } from "../support/runner-launch.ts";
import { openServiceContext } from "../support/service-context.ts";
import { launchTreeServer } from "../support/web-launch.ts";
import { serviceSetup } from "./common.ts";

export function registerWebCommand(program: Command): void {
  program
    .command("web")
    .description(
      "Serve the runs' tree pages (/runs/<run>?token=...: the solution tree, live) on their own, e.g. behind a reverse proxy. " +
        "The Slack and Discord bots serve them too unless AIDE_WEB=0.",
    )
    .option("--host <address>", "address to listen on (default: web.host, 127.0.0.1; 0.0.0.0 in a container)")
    .option("--port <n>", "port (default: AIDE_WEB_PORT, else 3100)")
    .action(async (flags: { host?: string; port?: string }) => {
      const port = flags.port === undefined ? undefined : Number(flags.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
        throw new UsageError(`--port must be a whole number from 0 to 65535, got "${flags.port}".`);
      const web: Record<string, unknown> = { enabled: true };
      if (flags.host) web.host = flags.host;
      if (port !== undefined) web.port = port;
      const { config, logger } = serviceSetup("info", { web });
      const ctx = await openServiceContext(config, logger);
      try {
        const server = await launchTreeServer({
          config,
          store: ctx.store,
          redis: ctx.redis,
          logger,
          label: "aide web",
          required: true,
        });
        process.stderr.write("aide web: Ctrl-C to stop.\n");
        await untilSignal();
        await server?.stop();
      } finally {
        await ctx.close();
        logger.flush();
      }
    });
}
