import type { Config } from "../../src/config.ts";
import type { Logger } from "../../src/logger.ts";
import type { ChatBot } from "../../src/runs/chat/types.ts";
import type { Runner } from "../../runner/worker.ts";
import { openServiceContext, type ServiceContext } from "./service-context.ts";
import { untilSignal } from "./signals.ts";
import { launchTreeServer } from "./web-launch.ts";

/** A platform's bot, made once the services are open. */
export interface ChatBotSetup {
  bot: ChatBot;
  /** The ready line's text, read once the bot has started (its port, its user). */
  ready: () => string;
  /** Closes what the bot opened beside the shared services (a connection of its own). */
  close?: () => void;
}

/**
 * How `aide slack` and `aide discord` run: open the services, start a runner in this process with
 * `--with-runner` (its modules loaded only then), the tree page server when `web.enabled`, then the bot; say on
 * stderr that it is ready, serve until SIGINT or SIGTERM, then stop everything in reverse, also when starting
 * failed half-way (a bridge started, a receiver not).
 */
export async function serveChatDeployment(args: {
  config: Config;
  logger: Logger;
  /** Label for messages, e.g. "aide slack". */
  label: string;
  withRunner: boolean;
  concurrency?: number;
  makeBot: (ctx: ServiceContext) => ChatBotSetup;
}): Promise<void> {
  const { config, logger, label } = args;
  const ctx = await openServiceContext(config, logger);
  let runner: Runner | null = null;
  let setup: ChatBotSetup | null = null;
  let web: Awaited<ReturnType<typeof launchTreeServer>> = null;
  try {
    if (args.withRunner) {
      // Loaded only here: a bot without --with-runner does not carry the runner's modules.
      const { launchRunner } = await import("./runner-launch.ts");
      runner = await launchRunner({
        config,
        store: ctx.store,
        redisUrl: ctx.urls.redisUrl,
        dataDir: ctx.urls.dataDir,
        logger,
        concurrency: args.concurrency,
        label,
      });
    }
    web = await launchTreeServer({ config, store: ctx.store, redis: ctx.redis, logger, label, required: false });
    if (!args.withRunner)
      process.stderr.write(
        `${label}: runs are driven by \`aide runner\` processes on the same REDIS_URL and MONGODB_URI (or use --with-runner).\n`,
      );
    setup = args.makeBot(ctx);
    const { bot } = setup;
    try {
      await bot.start();
      process.stderr.write(`${label}: ${setup.ready()} Ctrl-C to stop.\n`);
      await untilSignal();
      process.stderr.write(`${label}: stopping.\n`);
    } finally {
      await bot.stop().catch(() => undefined);
    }
  } finally {
    await web?.stop();
    await runner?.close();
    setup?.close?.();
    await ctx.close();
    logger.flush();
  }
}
