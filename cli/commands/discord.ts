import type { Command } from "commander";
import { REST } from "discord.js";
import { Redis } from "ioredis";
import { DiscordBot } from "../../bots/discord/bot.ts";
import { registerCommands } from "../../bots/discord/commands.ts";
import type { Config } from "../../src/config.ts";
import { UsageError } from "../../src/errors.ts";
import { checkModelsAtStart, serviceSetup } from "./common.ts";
import { serveChatDeployment } from "../support/chat-bot-launch.ts";

function requireToken(config: Config): string {
  if (!config.discord.token)
    throw new UsageError("Set DISCORD_TOKEN to your bot's token (Discord Developer Portal > your application > Bot).");
  return config.discord.token;
}

/** `aide discord` (the bot) and `aide discord register [--guild ID]` (the slash commands). */
export function registerDiscordCommand(program: Command): void {
  const discord = program
    .command("discord")
    .description(
      "Run the Discord bot: /aide slash commands, a status card and a thread per run. Needs DISCORD_TOKEN; see bots/discord/README.md.",
    )
    .option(
      "--message-content",
      "use the privileged MessageContent intent: every reply in a run's thread steers (enable it in the Developer Portal too)",
    )
    .option("--with-runner", "also run a runner worker in this process (one command serves a small team)")
    .action(async (flags: { messageContent?: boolean; withRunner?: boolean }) => {
      const { config, logger } = serviceSetup("info");
      const token = requireToken(config);
      await checkModelsAtStart(config, logger, "aide discord");
      const messageContent = Boolean(flags.messageContent) || config.discord.messageContent;
      await serveChatDeployment({
        config,
        logger,
        label: "aide discord",
        withRunner: Boolean(flags.withRunner),
        makeBot: (ctx) => {
          const redis = new Redis(ctx.urls.redisUrl, { maxRetriesPerRequest: null });
          const bot = new DiscordBot({
            config,
            runs: ctx.runs,
            store: ctx.store,
            redis,
            logger,
            token,
            messageContent,
          });
          return {
            bot,
            ready: () =>
              `connected as ${bot.client.user?.tag ?? "?"} in ${bot.client.guilds.cache.size} server(s); message content intent ${messageContent ? "on" : "off"}.`,
            close: () => redis.disconnect(),
          };
        },
      });
    });

  discord
    .command("register")
    .description(
      "Register the /aide slash command with Discord: globally (may take up to an hour to show everywhere) or for one server with --guild (at once).",
    )
    .option("--guild <id>", "register for this server (guild) id only")
    .action(async (flags: { guild?: string }) => {
      const { config } = serviceSetup("warn");
      const token = requireToken(config);
      const applicationId = config.discord.applicationId;
      if (!applicationId)
        throw new UsageError(
          "Set DISCORD_APPLICATION_ID to your application's id (Developer Portal > General Information).",
        );
      if (flags.guild !== undefined && !/^\d{5,25}$/.test(flags.guild))
        throw new UsageError(`--guild takes a server id (a number), got "${flags.guild}".`);
      const rest = new REST({ ...(config.discord.apiUrl ? { api: config.discord.apiUrl } : {}) }).setToken(token);
      const stored = await registerCommands({ rest, applicationId, ...(flags.guild ? { guildId: flags.guild } : {}) });
      const names = stored.map((c) => `/${c.name}`).join(", ");
      process.stdout.write(
        `Registered ${names} ${flags.guild ? `for server ${flags.guild}` : "globally (may take up to an hour to appear)"}.\n`,
      );
    });
}
