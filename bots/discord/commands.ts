/**
 * The `/aide` slash command (discord.js builders) and its registration: `PUT /applications/{app}/commands`
 * (global; may take up to an hour to appear everywhere) or `PUT /applications/{app}/guilds/{guild}/commands`
 * (one server, at once). PUT replaces the whole set, so registering twice is harmless.
 */
import {
  InteractionContextType,
  type REST,
  Routes,
  SlashCommandBuilder,
  type RESTPutAPIApplicationCommandsResult,
} from "discord.js";
import { RUN_OPTION_LIMITS as LIMITS } from "../../src/run-options-schema.ts";

export const COMMAND_NAME = "aide";

/** Names of the attachment options of /aide start. */
export const FILE_OPTIONS = ["file", "file2", "file3"] as const;

export function aideCommand(): SlashCommandBuilder {
  const command = new SlashCommandBuilder()
    .setName(COMMAND_NAME)
    .setDescription("AIDE: an ML engineering agent that searches for the best model script")
    .setContexts(InteractionContextType.Guild);
  command.addSubcommand((s) => {
    s.setName("start")
      .setDescription("Start a search on a task and data")
      .addStringOption((o) =>
        o
          .setName("task")
          .setDescription('What to predict and how it is scored, e.g. "Predict churn; metric ROC AUC"')
          .setRequired(true)
          .setMaxLength(1500),
      )
      .addStringOption((o) =>
        o.setName("data").setDescription("Links to the data (CSV, zip or tar), separated by spaces").setMaxLength(1500),
      );
    for (const name of FILE_OPTIONS)
      s.addAttachmentOption((o) =>
        o.setName(name).setDescription(name === "file" ? "A data file (CSV, zip or tar)" : "Another data file"),
      );
    return s
      .addIntegerOption((o) =>
        o
          .setName("steps")
          .setDescription("How many scripts to try")
          .setMinValue(LIMITS.steps.min)
          .setMaxValue(LIMITS.steps.max),
      )
      .addStringOption((o) =>
        o.setName("metric").setDescription("Metric name, e.g. rmse or roc_auc").setMaxLength(LIMITS.metric.maxLength),
      )
      .addStringOption((o) =>
        o.setName("timeout").setDescription("Time limit per script, e.g. 90s, 10m").setMaxLength(16),
      )
      .addIntegerOption((o) =>
        o
          .setName("parallel")
          .setDescription("Scripts run at once")
          .setMinValue(LIMITS.parallel.min)
          .setMaxValue(LIMITS.parallel.max),
      )
      .addStringOption((o) =>
        o
          .setName("holdout")
          .setDescription("Share of labelled rows hidden to judge scripts, e.g. 0.15, or off")
          .setMaxLength(8),
      );
  });
  command.addSubcommand((s) =>
    s
      .setName("status")
      .setDescription("Status of a run (in a run's thread: that run)")
      .addStringOption((o) => o.setName("run").setDescription("Run id, e.g. r1a2b3c4d").setMaxLength(128)),
  );
  command.addSubcommand((s) => s.setName("list").setDescription("Runs in this channel"));
  command.addSubcommand((s) =>
    s
      .setName("stop")
      .setDescription("Stop a run (its starter or an admin); in a run's thread: that run")
      .addStringOption((o) => o.setName("run").setDescription("Run id").setMaxLength(128)),
  );
  command.addSubcommand((s) =>
    s
      .setName("steer")
      .setDescription('In a run\'s thread: guidance ("try gradient boosting") or a command (pause, more 10, ...)')
      .addStringOption((o) =>
        o.setName("text").setDescription("What the search should do").setRequired(true).setMaxLength(1500),
      ),
  );
  command.addSubcommand((s) => s.setName("help").setDescription("How to use AIDE"));
  return command;
}

/** The JSON bodies registered with Discord. */
export function commandDefinitions() {
  return [aideCommand().toJSON()];
}

/** Registers the commands globally or for one guild; returns what Discord stored. */
export async function registerCommands(options: {
  rest: REST;
  applicationId: string;
  guildId?: string;
}): Promise<RESTPutAPIApplicationCommandsResult> {
  const route = options.guildId
    ? Routes.applicationGuildCommands(options.applicationId, options.guildId)
    : Routes.applicationCommands(options.applicationId);
  return (await options.rest.put(route, { body: commandDefinitions() })) as RESTPutAPIApplicationCommandsResult;
}
