import { type Command, Option } from "commander";
import { SlackBot, slackModeFrom } from "../../bots/slack/bot.ts";
import { UsageError } from "../../src/errors.ts";
import { serveChatDeployment } from "../support/chat-bot-launch.ts";
import { checkModelsAtStart, serviceSetup } from "./common.ts";

interface SlackFlags {
  withRunner?: boolean;
  port?: string;
  executor?: "auto" | "docker" | "sandbox";
  concurrency?: string;
}

function positiveInt(value: string | undefined, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > 65535)
    throw new UsageError(`${flag} must be a whole number${min === 0 ? "" : " from 1"} up to 65535.`);
  return n;
}

export function registerSlackCommand(program: Command): void {
  program
    .command("slack")
    .description(
      "Run the Slack bot: /aide commands, mentions with files, thread replies and buttons. Socket Mode when SLACK_APP_TOKEN is set, " +
        "else HTTP mode on PORT (POST /slack/events, needs SLACK_SIGNING_SECRET). Always needs SLACK_BOT_TOKEN. Install the app from bots/slack/manifest.yaml.",
    )
    .option("--with-runner", "also run a runner worker in this process (one command serves a small team)")
    .option("--port <n>", "HTTP mode port (default: PORT, else 3000)")
    .addOption(
      new Option("--executor <name>", "with --with-runner: where scripts run (default auto)").choices([
        "auto",
        "docker",
        "sandbox",
      ]),
    )
    .option("--concurrency <n>", "with --with-runner: runs driven at once (default from config: 2)")
    .action(async (flags: SlackFlags) => {
      const port = positiveInt(flags.port, "--port", 0);
      const concurrency = positiveInt(flags.concurrency, "--concurrency");
      const { config, logger } = serviceSetup(
        "info",
        flags.executor ? { execution: { executor: flags.executor } } : {},
      );
      // Tokens first: a missing one is a single clear line, before anything is started.
      const { mode } = slackModeFrom(config, port);
      await checkModelsAtStart(config, logger, "aide slack");
      await serveChatDeployment({
        config,
        logger,
        label: "aide slack",
        withRunner: Boolean(flags.withRunner),
        concurrency,
        makeBot: (ctx) => {
          const bot = new SlackBot({ config, logger, runs: ctx.runs, store: ctx.store, redis: ctx.redis, port });
          return {
            bot,
            ready: () =>
              mode.kind === "socket"
                ? "connected in Socket Mode."
                : `HTTP mode, listening on port ${bot.port}; point the app's request URLs at https://YOUR-HOST${bot.eventsPath}.`,
          };
        },
      });
    });
}
