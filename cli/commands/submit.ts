import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { type Command, Option } from "commander";
import { checkBudgetPriced } from "../../src/coders/index.ts";
import { UsageError } from "../../src/errors.ts";
import { CODERS } from "../../src/run-options-schema.ts";
import { readTask } from "./run.ts";
import { holdoutFlag, printJson, runOptionFlag, terminalActor, withServices } from "./common.ts";

interface SubmitFlags {
  task: string;
  data: string[];
  steps?: string;
  parallel?: string;
  coder?: (typeof CODERS)[number];
  metric?: string;
  timeout?: string;
  budget?: string;
  /** Commander sets false for --no-holdout. */
  holdout?: string | false;
  json?: boolean;
}

/** A link as the runner takes it: http(s) as given, a local path made absolute (the runner must see it). */
export function normaliseDataArg(arg: string): string {
  if (/^https?:\/\//i.test(arg)) return arg;
  if (/^[a-z]+:\/\//i.test(arg))
    throw new UsageError(`Unsupported data link: ${arg} (use http:// or https://, or a local path).`);
  const abs = resolve(arg);
  if (!existsSync(abs)) throw new UsageError(`Data not found: ${arg}`);
  if (!statSync(abs).isDirectory() && !statSync(abs).isFile())
    throw new UsageError(`Data must be a file or a directory: ${arg}`);
  return abs;
}

export function registerSubmitCommand(program: Command): void {
  program
    .command("submit")
    .description("Queue a run for the runners (aide runner) and print its id.")
    .requiredOption("--task <text|file>", "the task: a file (task.md) or the text itself")
    .requiredOption(
      "--data <link|path...>",
      "data: http(s) links to CSV / zip / tar files, or a local file or directory the runner can read",
    )
    .option("--steps <n>", "number of nodes")
    .option("--parallel <k>", "steps in flight at once")
    .addOption(
      new Option("--coder <name>", "offline (no model) or openai (default: AIDE_CODER or config)").choices(CODERS),
    )
    .option("--metric <name>", "the metric, when the task text does not say")
    .option("--timeout <duration>", "time limit per script, e.g. 10m")
    .option("--budget <dollars>", "stop cleanly when this much is spent, e.g. $2.50")
    .option("--holdout <share>", "share of the labelled rows hidden to judge every script the same way (default 0.15)")
    .option("--no-holdout", "judge scripts by their own validation numbers only")
    .option("--json", "print the run as JSON")
    .action(async (flags: SubmitFlags) => {
      const task = readTask(flags.task);
      const links = flags.data.map(normaliseDataArg);
      // The flags are checked before any service is opened; RunService.start checks the options again.
      const steps = runOptionFlag("steps", flags.steps);
      const parallel = runOptionFlag("parallel", flags.parallel);
      const timeoutSec = runOptionFlag("timeout", flags.timeout);
      const metric = runOptionFlag("metric", flags.metric) ?? null;
      const budgetUsd = runOptionFlag("budgetUsd", flags.budget) ?? null;
      const holdout = holdoutFlag(flags.holdout);
      await withServices(async (ctx, config) => {
        const coder = flags.coder ?? config.coder;
        if (budgetUsd !== null) checkBudgetPriced({ usd: budgetUsd }, { ...config, coder }, "submit without --budget");
        const actor = terminalActor();
        const run = await ctx.runs.start({
          task,
          links,
          options: {
            steps: steps ?? config.search.steps,
            parallel: parallel ?? config.search.parallel,
            coder,
            metric,
            timeoutSec: timeoutSec ?? config.execution.timeoutSec,
            budgetUsd,
            holdout: holdout === undefined ? config.search.holdout : holdout,
          },
          actor,
          origin: { platform: "cli", channel: "terminal", thread: null },
        });
        if (flags.json) printJson(run);
        else process.stdout.write(`${run.id}\n`);
      });
    });
}
