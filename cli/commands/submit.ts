import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { Command, Option } from "commander";
import { checkBudgetPriced } from "../../src/coders/index.ts";
import { UsageError } from "../../src/errors.ts";
import { parseBudget } from "../../src/search/budget.ts";
import { parseDurationSec } from "../../src/runs/duration.ts";
import { readTask } from "./run.ts";
import { positiveIntFlag, printJson, terminalActor, withServices } from "./common.ts";

interface SubmitFlags {
  task: string;
  data: string[];
  steps?: string;
  parallel?: string;
  coder?: "offline" | "openai";
  metric?: string;
  timeout?: string;
  budget?: string;
  json?: boolean;
}

/** A link as the runner takes it: http(s) as given, a local path made absolute (the runner must see it). */
export function normaliseDataArg(arg: string): string {
  if (/^https?:\/\//i.test(arg)) return arg;
  if (/^[a-z]+:\/\//i.test(arg)) throw new UsageError(`Unsupported data link: ${arg} (use http:// or https://, or a local path).`);
  const abs = resolve(arg);
  if (!existsSync(abs)) throw new UsageError(`Data not found: ${arg}`);
  if (!statSync(abs).isDirectory() && !statSync(abs).isFile()) throw new UsageError(`Data must be a file or a directory: ${arg}`);
  return abs;
}

export function registerSubmitCommand(program: Command): void {
  program
    .command("submit")
    .description("Queue a run for the runners (aide runner) and print its id.")
    .requiredOption("--task <text|file>", "the task: a file (task.md) or the text itself")
    .requiredOption("--data <link|path...>", "data: http(s) links to CSV / zip / tar files, or a local file or directory the runner can read")
    .option("--steps <n>", "number of nodes")
    .option("--parallel <k>", "steps in flight at once")
    .addOption(new Option("--coder <name>", "offline (no model) or openai (default: AIDE_CODER or config)").choices(["offline", "openai"]))
    .option("--metric <name>", "the metric, when the task text does not say")
    .option("--timeout <duration>", "time limit per script, e.g. 10m")
    .option("--budget <dollars>", "stop cleanly when this much is spent, e.g. $2.50")
    .option("--json", "print the run as JSON")
    .action(async (flags: SubmitFlags) => {
      const task = readTask(flags.task);
      const links = flags.data.map(normaliseDataArg);
      await withServices(async (ctx, config) => {
        let budgetUsd: number | null = null;
        if (flags.budget !== undefined) {
          const b = parseBudget(flags.budget);
          if (!b || b.usd === undefined) throw new UsageError(`--budget for a queued run is in dollars, e.g. $2.50; got "${flags.budget}".`);
          budgetUsd = b.usd;
          checkBudgetPriced(b, { ...config, coder: flags.coder ?? config.coder }, "submit without --budget");
        }
        const timeoutSec = flags.timeout === undefined ? config.execution.timeoutSec : parseDurationSec(flags.timeout);
        if (timeoutSec === null) throw new UsageError(`--timeout must be a duration such as 90s or 10m, got "${flags.timeout}".`);
        const actor = terminalActor();
        const run = await ctx.runs.start({
          task,
          links,
          options: {
            steps: positiveIntFlag("steps", flags.steps) ?? config.search.steps,
            parallel: positiveIntFlag("parallel", flags.parallel) ?? config.search.parallel,
            coder: flags.coder ?? config.coder,
            metric: flags.metric ?? null,
            timeoutSec,
            budgetUsd,
          },
          actor,
          origin: { platform: "cli", channel: "terminal", thread: null },
        });
        if (flags.json) printJson(run);
        else process.stdout.write(`${run.id}\n`);
      });
    });
}
