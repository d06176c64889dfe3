import { Command, CommanderError } from "commander";
import { AideError, userMessageOf } from "../src/errors.ts";

type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when that command runs (all of them for the general help or an unknown
 * command): `aide runner` does not load the Slack and Discord SDKs, `aide slack` not Discord's, which keeps
 * every long-running process smaller (docs/benchmarks.md measures their peak memory).
 */
const COMMANDS: Array<[string[], () => Promise<Register>]> = [
  [["run"], async () => (await import("./commands/run.ts")).registerRunCommand],
  [["demo"], async () => (await import("./commands/demo.ts")).registerDemoCommand],
  [["runner"], async () => (await import("./commands/runner.ts")).registerRunnerCommand],
  [["submit"], async () => (await import("./commands/submit.ts")).registerSubmitCommand],
  [["status", "events"], async () => (await import("./commands/inspect.ts")).registerInspectCommands],
  [["steer"], async () => (await import("./commands/steer.ts")).registerSteerCommand],
  [["export"], async () => (await import("./commands/export.ts")).registerExportCommand],
  [["tree"], async () => (await import("./commands/tree.ts")).registerTreeCommand],
  [["web"], async () => (await import("./commands/web.ts")).registerWebCommand],
  [["services"], async () => (await import("./commands/services.ts")).registerServicesCommand],
  [["models"], async () => (await import("./commands/models.ts")).registerModelsCommand],
  [["slack"], async () => (await import("./commands/slack.ts")).registerSlackCommand],
  [["discord"], async () => (await import("./commands/discord.ts")).registerDiscordCommand],
];

/** The program with the command named in `argv` (node, script, command, ...), or with every command. */
export async function buildProgram(argv: string[] = []): Promise<Command> {
  const program = new Command("aide")
    .description("AIDE in chat: an ML-engineering agent that searches a tree of Python ML scripts.")
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  const named = COMMANDS.filter(([names]) => names.includes(argv[2] ?? ""));
  for (const [, load] of named.length ? named : COMMANDS) (await load())(program);
  const override = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  program.commands.forEach(override);
  return program;
}

/** Runs the CLI; returns the exit code. Errors meant for users become one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
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
