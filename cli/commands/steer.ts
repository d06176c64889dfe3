import type { Command } from "commander";
import { UsageError } from "../../src/errors.ts";
import { parseSteer } from "../../src/runs/steer-parse.ts";
import { terminalActor, withServices } from "./common.ts";

export function registerSteerCommand(program: Command): void {
  program
    .command("steer")
    .description(
      'Steer a run: pause | resume | stop | "more N" | "focus NODE" | "debug NODE" | any other text as guidance for the coder.',
    )
    .argument("<run>", "run id")
    .argument("<message...>", 'the command or guidance, e.g. "try gradient boosting with target encoding"')
    .action(async (runId: string, words: string[]) => {
      const actor = terminalActor();
      const parsed = parseSteer(words.join(" "), actor.userId);
      if ("error" in parsed) throw new UsageError(parsed.error);
      await withServices(async (ctx) => {
        const record = await ctx.runs.steer(runId, parsed.command, actor);
        process.stdout.write(
          `Saved as steering message ${record.seq} of ${runId}; the runner applies it at the next step boundary.\n`,
        );
      });
    });
}
