/**
 * Starts the tree page server for a long-running command (`aide web`, and the bots when `web.enabled`). A port
 * in use is a warning for the bots (another process on this machine probably serves the pages) and an error
 * for `aide web`.
 */
import type { Redis } from "ioredis";
import type { Config } from "../../src/config.ts";
import { UsageError } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import type { Store } from "../../src/store/store.ts";
import { publicBaseUrl } from "../../src/web/links.ts";
import { TreeServer } from "../../src/web/server.ts";

export async function launchTreeServer(args: {
  config: Config;
  store: Store;
  redis: Redis;
  logger: Logger;
  /** Label for messages, e.g. "aide slack". */
  label: string;
  /** A busy port is fatal (aide web) or a warning (the bots). */
  required: boolean;
}): Promise<TreeServer | null> {
  const { config, label } = args;
  if (!config.web.enabled && !args.required) return null;
  const server = new TreeServer({
    store: args.store,
    redis: args.redis,
    logger: args.logger,
    host: config.web.host,
    port: config.web.port,
  });
  try {
    const port = await server.start();
    process.stderr.write(
      `${label}: tree pages on http://${config.web.host}:${port}/runs/<run>?token=...; links in chat point at ${publicBaseUrl(config.web)}.\n`,
    );
    return server;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "EADDRINUSE"
        ? `port ${config.web.port} is in use`
        : code === "EACCES"
          ? `no permission to listen on port ${config.web.port}`
          : (err as Error).message;
    if (args.required)
      throw new UsageError(`Cannot serve the tree pages: ${why}. Choose another with --port or AIDE_WEB_PORT.`, {
        cause: err,
      });
    process.stderr.write(
      `${label}: not serving tree pages (${why}); links in chat work if another process serves ${publicBaseUrl(config.web)}. Set AIDE_WEB_PORT, or AIDE_WEB=0 to turn the links off.\n`,
    );
    return null;
  }
}
