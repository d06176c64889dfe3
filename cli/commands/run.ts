import { existsSync, readFileSync, statSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { type Command, Option } from "commander";
import { checkBudgetPriced, checkCoder, createCoder } from "../../src/coders/index.ts";
import { modelCheckLine } from "../../src/coders/openai/index.ts";
import { loadConfig, redactConfig, type Config } from "../../src/config.ts";
import { DataError, UsageError, userMessageOf } from "../../src/errors.ts";
import { createLogger } from "../../src/logger.ts";
import { CODERS } from "../../src/run-options-schema.ts";
import { describeBudget } from "../../src/search/budget.ts";
import { formatScores } from "../../src/search/metric.ts";
import { executeRun } from "../../src/runs/execute.ts";
import type { SearchResult } from "../../src/search/loop.ts";
import { MemoryInbox } from "../../src/runs/memory-inbox.ts";
import { submissionFromRunDir, writeRunOutputs } from "../../src/runs/outputs.ts";
import { formatUsage } from "../../src/runs/usage-text.ts";
import { executorFromConfig } from "../../runner/executors/select.ts";
import { nodesTable, TerminalProgress } from "../support/progress.ts";
import { holdoutFlag, logLevel, positiveIntFlag, runOptionFlag } from "./common.ts";

export interface RunFlags {
  task: string;
  data: string;
  steps?: string;
  parallel?: string;
  seed?: string;
  coder?: string;
  out?: string;
  budget?: string;
  metric?: string;
  /** Commander sets false for --no-holdout. */
  holdout?: string | false;
  timeout?: string;
  memory?: string;
  executor?: string;
  unsafeNoSandbox?: boolean;
  /** Commander sets false for --no-warm. */
  warm?: boolean;
  baseUrl?: string;
  codeModel?: string;
  reviewModel?: string;
  python?: string;
  logLevel?: string;
}

/** Task text from a file path or the literal text given. */
export function readTask(task: string): string {
  const looksLikeFile = /\.(md|txt|markdown)$/i.test(task) && !/\s/.test(task);
  if (existsSync(task) && statSync(task).isFile()) return readFileSync(task, "utf8").trim();
  if (looksLikeFile) throw new UsageError(`Task file not found: ${task}`);
  if (!task.trim()) throw new UsageError("--task is empty: give the task text or a file with it.");
  return task.trim();
}

export function checkDataDir(dir: string): string {
  const abs = resolve(dir);
  if (!existsSync(abs)) throw new DataError(`Data directory not found: ${dir}`);
  if (!statSync(abs).isDirectory())
    throw new DataError(`--data must be a directory with the task's files: ${dir} is a file.`);
  if (readdirSync(abs).length === 0) throw new DataError(`Data directory is empty: ${dir}`);
  return abs;
}

/** Turns flags into config overrides (the flags win over files and environment). */
export function configFromFlags(flags: RunFlags): Config {
  const search: Record<string, number | null> = {};
  const holdout = holdoutFlag(flags.holdout);
  if (holdout !== undefined) search.holdout = holdout;
  const steps = runOptionFlag("steps", flags.steps);
  if (steps) search.steps = steps;
  const parallel = runOptionFlag("parallel", flags.parallel);
  if (parallel) search.parallel = parallel;
  if (flags.seed !== undefined) {
    const seed = Number(flags.seed);
    if (!Number.isInteger(seed)) throw new UsageError(`--seed must be a whole number, got "${flags.seed}".`);
    search.seed = seed;
  }
  const execution: Record<string, unknown> = {};
  const timeoutSec = runOptionFlag("timeout", flags.timeout);
  if (timeoutSec) execution.timeoutSec = timeoutSec;
  const memory = positiveIntFlag("memory", flags.memory);
  if (memory) execution.memoryMb = memory;
  if (flags.python) execution.python = flags.python;
  if (flags.warm === false) execution.warm = false;
  if (flags.unsafeNoSandbox) execution.executor = "local";
  else if (flags.executor === "local") {
    throw new UsageError("Running scripts without a sandbox needs the explicit flag --unsafe-no-sandbox.");
  } else if (flags.executor) execution.executor = flags.executor;
  const openai: Record<string, string> = {};
  if (flags.baseUrl) openai.baseUrl = flags.baseUrl;
  if (flags.codeModel) openai.codeModel = flags.codeModel;
  if (flags.reviewModel) openai.reviewModel = flags.reviewModel;
  const overrides: Record<string, unknown> = { search, execution, openai };
  if (flags.coder) overrides.coder = flags.coder;
  if (flags.logLevel) overrides.log = { level: flags.logLevel };
  return loadConfig({ overrides });
}

export function newRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `run-${stamp}-${randomBytes(2).toString("hex")}`;
}

export interface RunSummary {
  runId: string;
  outDir: string;
  bestNodeId: number | null;
  bestMetric: string;
  nodes: number;
  buggy: number;
}

/** `aide run`: one search over local data, in this process, shown in the terminal. */
export async function runCommand(flags: RunFlags, out: NodeJS.WriteStream = process.stdout): Promise<RunSummary> {
  const task = readTask(flags.task);
  const inputDir = checkDataDir(flags.data);
  const config = configFromFlags(flags);
  const budget = runOptionFlag("budget", flags.budget);
  // Checked here too, though aide run makes no RunService run: a metric within the same limits as everywhere.
  const metric = runOptionFlag("metric", flags.metric);
  checkBudgetPriced(budget, config);
  const runId = newRunId();
  const outDir = resolve(flags.out ?? join("aide-out", runId));
  const logger = createLogger({ level: logLevel(config, "info"), destination: join(outDir, "aide.log") });
  const executor = await executorFromConfig(config, logger);
  const models = await checkCoder(config, logger);
  const coder = createCoder(config, logger);

  out.write(`AIDE run ${runId}\n`);
  out.write(
    `  coder: ${coder.name}   executor: ${executor.name}   steps: ${config.search.steps}   parallel: ${config.search.parallel}   budget: ${describeBudget(budget)}\n`,
  );
  if (models) out.write(`  model: ${modelCheckLine(models)}\n`);
  out.write(`  data: ${inputDir}\n  out: ${outDir}\n\n`);
  logger.info({ runId, config: redactConfig(config), inputDir, outDir }, "run starting");

  const inbox = new MemoryInbox();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      out.write("\nStopping after the steps in flight (Ctrl-C again to abort at once)...\n");
      inbox.push({ kind: "stop" });
    } else process.exit(130);
  };
  process.on("SIGINT", onSigint);
  const writeOutputs = (result: SearchResult, error?: unknown) =>
    writeRunOutputs({
      outDir,
      readSubmission: submissionFromRunDir(outDir, result.refit),
      config: redactConfig(config),
      record: {
        runId,
        task,
        coder: coder.name,
        executor: executor.name,
        lowerIsBetter: result.lowerIsBetter,
        metricName: result.metricName,
        best: result.best,
        nodes: result.journal.nodes,
        usage: result.usage,
        finishReason: result.reason,
        guidance: result.guidance,
        holdout: result.holdoutLine,
        delivered: result.refit?.note ?? null,
        ...(error === undefined ? {} : { error: userMessageOf(error) }),
      },
    });
  const report = (result: SearchResult) => {
    const nodes = result.journal.nodes;
    out.write(`\n${nodesTable(nodes, result.best?.id ?? null, Boolean(out.isTTY))}\n`);
    const buggy = nodes.filter((n) => n.buggy).length;
    const usage = formatUsage(result.usage);
    out.write(
      `\n${result.reason === "failed" ? "Failed" : `Finished (${result.reason})`}: ${nodes.length} nodes, ${buggy} buggy. ` +
        (result.best
          ? `Best: node ${result.best.id}, ${formatScores(result.best)}.`
          : "No working solution was found.") +
        (result.refit ? ` Delivered: ${result.refit.note}.` : "") +
        (usage ? ` Spent: ${usage}.` : "") +
        `\nWrote ${outDir}/journal.json${result.best ? ", best_solution.py" : ""}${result.best?.submissionPath ? ", best_submission.csv" : ""}, config.json, tree.html\n`,
    );
    return buggy;
  };
  try {
    const result = await executeRun({
      runId,
      task,
      inputDir,
      runDir: outDir,
      config,
      coder,
      executor,
      sink: new TerminalProgress(config.search.steps, out),
      logger,
      inbox,
      budget,
      metricHint: metric,
      // A run that must end still leaves what it found: the journal, the best node so far, and why it ended.
      onFailure: async (partial, error) => {
        await writeOutputs(partial, error);
        report(partial);
      },
    });
    await writeOutputs(result);
    const buggy = report(result);
    const nodes = result.journal.nodes;
    return {
      runId,
      outDir,
      bestNodeId: result.best?.id ?? null,
      bestMetric: result.best ? formatScores(result.best) : "-",
      nodes: nodes.length,
      buggy,
    };
  } finally {
    process.off("SIGINT", onSigint);
    // Warm interpreters and containers of this run must not keep the process alive once it has ended.
    await executor.close?.();
    logger.flush();
  }
}

export function registerRunCommand(program: Command): void {
  program
    .command("run")
    .description("Run an AIDE search on local data in this terminal and write the results to --out.")
    .requiredOption(
      "--task <text|file>",
      'the task: a file (task.md) or the text itself, e.g. "Predict churn; metric ROC AUC"',
    )
    .requiredOption("--data <dir>", "directory with the task's data (train.csv, test.csv, sample_submission.csv, ...)")
    .option("--steps <n>", "number of nodes (scripts) to try (default from config: 20)")
    .option("--parallel <k>", "steps in flight at once (default 1)")
    .option(
      "--seed <n>",
      "seed of the policy's random choices, the held-out rows and the offline coder's folds; same seed + same coder outputs = same run",
    )
    .addOption(
      new Option("--coder <name>", "who writes the scripts: offline (no model) or openai (env AIDE_CODER)").choices(
        CODERS,
      ),
    )
    .option(
      "--out <dir>",
      "output directory: journal.json, best_solution.py, best_submission.csv, config.json, tree.html, nodes/, ensemble_members/ when an ensemble is delivered (default ./aide-out/<run id>)",
    )
    .option("--budget <amount>", "stop cleanly when spent: tokens (200k, 1.5M) or dollars ($2.50)")
    .option("--metric <name>", "the metric the task is judged by, when the task text does not say (e.g. rmse, roc_auc)")
    .option(
      "--holdout <share>",
      "share of the labelled rows hidden from the scripts to judge every script the same way (default 0.15)",
    )
    .option("--no-holdout", "judge scripts by their own validation numbers only")
    .option("--timeout <duration>", "time limit per script, e.g. 90s, 10m (default 10m)")
    .option("--memory <mb>", "memory limit per script in MB (default 4096)")
    .addOption(
      new Option(
        "--executor <name>",
        "where scripts run: auto (Docker if available, else sandbox), docker, sandbox (bubblewrap); all without network",
      ).choices(["auto", "docker", "sandbox", "local"]),
    )
    .option("--no-warm", "start a fresh interpreter for every script instead of forking a warm one (env AIDE_WARM=0)")
    .option("--unsafe-no-sandbox", "run scripts directly on this machine with no isolation (only for trusted code)")
    .option("--base-url <url>", "OpenAI-compatible endpoint (env OPENAI_BASE_URL; key from OPENAI_API_KEY)")
    .option(
      "--code-model <model>",
      "model that writes scripts (env AIDE_CODE_MODEL, default gpt-5; `aide models check` tells what it takes)",
    )
    .option("--review-model <model>", "model that reviews runs (env AIDE_REVIEW_MODEL, default gpt-5-mini)")
    .option("--python <path>", "python interpreter with numpy, pandas, scikit-learn (default /usr/bin/python3)")
    .addOption(
      new Option("--log-level <level>", "log level of <out>/aide.log").choices([
        "fatal",
        "error",
        "warn",
        "info",
        "debug",
        "trace",
      ]),
    )
    .action(async (flags: RunFlags) => {
      await runCommand(flags);
    });
}
