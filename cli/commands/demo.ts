import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { Command } from "commander";
import { gradeSubmission, type GradingSpec } from "../../src/workspace/grade.ts";
import { formatNumber } from "../../src/search/metric.ts";
import { runCommand } from "./run.ts";

export const EXAMPLES_DIR = fileURLToPath(new URL("../../examples/", import.meta.url));
export const DEMO_TASKS = ["loan-default", "house-prices", "plant-species"] as const;

/**
 * `aide demo`: a real search on a bundled example task, with the offline coder unless a model is configured
 * (OPENAI_API_KEY or AIDE_CODER=openai). Afterwards the best submission is graded against the example's
 * hidden answers, which no script ever saw.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description(
      "Run a search on a bundled example task (offline coder unless a model is configured) and grade the result.",
    )
    .option("--example <name>", `bundled task: ${DEMO_TASKS.join(", ")}`, "loan-default")
    .option("--steps <n>", "number of nodes", "10")
    .option("--parallel <k>", "steps in flight at once", "2")
    .option("--out <dir>", "output directory", "aide-out/demo")
    .action(async (flags: { example: string; steps: string; parallel: string; out: string }) => {
      const dir = join(EXAMPLES_DIR, flags.example);
      const useModel = Boolean(process.env.OPENAI_API_KEY) || process.env.AIDE_CODER === "openai";
      const summary = await runCommand({
        task: join(dir, "task.md"),
        data: join(dir, "input"),
        steps: flags.steps,
        parallel: flags.parallel,
        out: flags.out,
        coder: useModel ? "openai" : "offline",
      });
      if (summary.bestNodeId === null) return;
      const spec = JSON.parse(await readFile(join(dir, "meta.json"), "utf8")) as GradingSpec;
      const score = await gradeSubmission(join(summary.outDir, "best_submission.csv"), join(dir, "answers.csv"), spec);
      process.stdout.write(
        `Graded against the hidden answers of ${flags.example}: test ${spec.metric} = ${formatNumber(score)} ` +
          `(the search judged it ${summary.bestMetric}).\n`,
      );
    });
}
