import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import { Search, type SearchResult } from "../search/loop.ts";
import { ENSEMBLE_DEFAULTS, GreedyPolicy } from "../search/policy.ts";
import { nodeDirName } from "../search/step.ts";
import type { Budget } from "../search/budget.ts";
import type { Coder, Executor, RunSink, SolutionNode, SteeringInbox } from "../search/types.ts";
import { exists } from "../util/files.ts";
import { judgedMetric } from "../search/metric-names.ts";
import { buildDataPreview, SampleSubmissionChecker } from "../workspace/index.ts";
import { type HoldoutPlanRecord, setUpHoldout } from "./holdout-setup.ts";
import { HoldoutEnsembler } from "./ensemble.ts";
import { HoldoutRefitter } from "./refit.ts";
import { sandboxPackages } from "./sandbox-packages.ts";

export interface ExecuteRunArgs {
  runId: string;
  task: string;
  inputDir: string;
  /** Where node directories (scripts, working dirs, outputs) are kept. */
  runDir: string;
  config: Config;
  coder: Coder;
  executor: Executor;
  sink: RunSink;
  logger: Logger;
  inbox?: SteeringInbox;
  budget?: Budget;
  metricHint?: string;
  resumeFrom?: SolutionNode[];
  guidance?: string[];
  startPaused?: boolean;
  signal?: AbortSignal;
  /**
   * Called when the search fails (not when it is aborted), before the error is thrown on: with what the run has
   * so far, so its outputs can still be written (the journal, the best node so far, why it ended).
   */
  onFailure?: (partial: SearchResult, error: unknown) => Promise<void>;
  /** Keeps the run's holdout plan with its record (the runner's store), so any worker resuming it hides the same rows. */
  holdoutRecord?: HoldoutPlanRecord;
}

/**
 * Runs one search over local data with the given parts: sets up the hidden holdout, builds the data preview and
 * the submission judge from `inputDir`, wires the file operations the search needs, and runs it to the end. Shared by the
 * terminal command and the runner service.
 */
export async function executeRun(args: ExecuteRunArgs): Promise<SearchResult> {
  const { config, runDir } = args;
  await mkdir(runDir, { recursive: true });
  // The scripts read the holdout view (held-out rows among the test rows), and so do their preview and probe.
  const holdout = await setUpHoldout({
    inputDir: args.inputDir,
    runDir,
    share: config.search.holdout,
    metric: judgedMetric(args.task, args.metricHint).name,
    seed: config.search.seed,
    journal: args.resumeFrom ?? [],
    ...(args.holdoutRecord ? { record: args.holdoutRecord } : {}),
    logger: args.logger,
  });
  const inputDir = holdout.scriptsInputDir;
  const dataPreview = await buildDataPreview(inputDir, { maxChars: config.data.previewMaxChars });
  // Asked of the executor itself (once per executor): what its Python really has. With the run's own input
  // and memory limit, beside the node directories, so a warm executor's first interpreter for this run is
  // the one the probe starts.
  const packages = await sandboxPackages(args.executor, {
    inputDir,
    workDir: dirname(join(runDir, nodeDirName(0))),
    memoryMb: config.execution.memoryMb,
    signal: args.signal,
    logger: args.logger,
  });
  const limits = {
    timeoutMs: config.execution.timeoutSec * 1000,
    memoryMb: config.execution.memoryMb,
    outputCap: config.execution.outputCapChars,
  };
  const refit = holdout.plan.on
    ? new HoldoutRefitter({
        executor: args.executor,
        inputDir: args.inputDir,
        runDir,
        limits,
        checker: new SampleSubmissionChecker(args.inputDir),
        labelledRows: holdout.plan.counts.labelledRows,
        logger: args.logger,
      })
    : undefined;
  const clock = { now: () => new Date() };
  // Blends are judged on the holdout: without one there are none.
  const ensembler = holdout.plan.on
    ? new HoldoutEnsembler({
        executor: args.executor,
        runDir,
        limits,
        plan: holdout.plan,
        judge: holdout.judge,
        clock,
        logger: args.logger,
      })
    : undefined;
  const search = new Search(
    {
      runId: args.runId,
      brief: {
        task: args.task,
        dataPreview,
        timeLimitSec: config.execution.timeoutSec,
        packages,
        metricHint: args.metricHint,
        totalSteps: config.search.steps,
      },
      steps: config.search.steps,
      parallel: config.search.parallel,
      seed: config.search.seed,
      limits,
      inputDir,
      budget: args.budget,
      guidance: args.guidance,
      startPaused: args.startPaused,
      holdoutLine: holdout.line,
      signal: args.signal,
    },
    {
      coder: args.coder,
      executor: args.executor,
      judge: holdout.judge,
      ...(refit ? { refit } : {}),
      ...(ensembler ? { ensembler } : {}),
      sink: args.sink,
      inbox: args.inbox,
      logger: args.logger,
      policy: new GreedyPolicy({
        numDrafts: config.search.numDrafts,
        debugProb: config.search.debugProb,
        maxDebugDepth: config.search.maxDebugDepth,
        ...(ensembler ? { ensemble: ENSEMBLE_DEFAULTS } : {}),
      }),
      clock,
      resolve: (rel) => join(runDir, rel),
      exists,
      saveOutput: async (id, output) => {
        const dir = join(runDir, nodeDirName(id));
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, "output.log"), output);
      },
    },
    args.resumeFrom ?? [],
  );
  const scope = { inputDir, runDir, memoryMb: config.execution.memoryMb };
  void args.executor.prepareRun?.(scope);
  try {
    return await search.run();
  } catch (err) {
    if (args.onFailure && !args.signal?.aborted) await args.onFailure(search.snapshot(), err);
    throw err;
  } finally {
    await args.executor.releaseRun?.(scope);
  }
}
