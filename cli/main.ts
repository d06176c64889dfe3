import { Command, CommanderError } from "commander";
import { AideError, userMessageOf } from "../src/errors.ts";
import { registerDemoCommand } from "./commands/demo.ts";
import { registerRunCommand } from "./commands/run.ts";
import { registerRunnerCommand } from "./commands/runner.ts";
import { registerSubmitCommand } from "./commands/submit.ts";
import { registerInspectCommands } from "./commands/inspect.ts";
import { registerSteerCommand } from "./commands/steer.ts";
import { registerExportCommand } from "./commands/export.ts";
import { registerServicesCommand } from "./commands/services.ts";
import { registerDiscordCommand } from "./commands/discord.ts";
import { registerSlackCommand } from "./commands/slack.ts";
import { registerTreeCommand } from "./commands/tree.ts";
import { registerWebCommand } from "./commands/web.ts";

export function buildProgram(): Command {
  const program = new Command("aide")
    .description("AIDE in chat: an ML-engineering agent that searches a tree of Python ML scripts.")
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerRunCommand(program);
  registerDemoCommand(program);
  registerRunnerCommand(program);
  registerSubmitCommand(program);
  registerInspectCommands(program);
  registerSteerCommand(program);
  registerExportCommand(program);
  registerTreeCommand(program);
  registerWebCommand(program);
  registerServicesCommand(program);
  registerSlackCommand(program);
  registerDiscordCommand(program);
  const override = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  program.commands.forEach(override);
  return program;
}

/** Runs the CLI; returns the exit code. Errors meant for users become one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its one-line message (or the help / version text).
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof AideError) {
      process.stderr.write(`aide: ${err.userMessage}\n`);
      return err.code === "usage" || err.code === "data" ? 2 : 1;
    }
    process.stderr.write(`aide: unexpected error: ${userMessageOf(err)}\n`);
    if (process.env.AIDE_DEBUG) console.error(err);
    return 1;
  }
}
